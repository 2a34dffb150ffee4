"""Collection settings for the whole repository (the docstring examples of ``vertfem/`` and ``tests/``).

The modules of the learned predictor that import PyTorch at the top (the optional ``[dl]`` extra) cannot even be
imported without it, so their docstring examples are not collected on a machine without PyTorch; the tests of
``tests/dl/`` skip there with that reason.
"""

import importlib.util
import re
from pathlib import Path

_TORCH_IMPORT = re.compile(r"^(import torch|from torch|import torchvision)", re.M)

collect_ignore = (
    []
    if importlib.util.find_spec("torch") is not None
    else [str(p) for p in sorted(Path(__file__).parent.joinpath("vertfem").rglob("*.py"))
          if _TORCH_IMPORT.search(p.read_text(encoding="utf-8"))]
)
