"""Whether PyTorch is installed (the ``dl`` extra), checked without importing it."""

from __future__ import annotations

import importlib.util

from ..errors import MissingDependencyError

__all__ = ["require_torch"]


def require_torch() -> None:
    """Raise :class:`~vertfem.errors.MissingDependencyError` naming the extra when torch or torchvision is missing.

    Examples
    --------
    >>> require_torch() is None  # doctest: +SKIP
    True
    """
    missing = [m for m in ("torch", "torchvision") if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependencyError(f"the learned route needs {' and '.join(missing)}: pip install 'vertfem[dl]' "
                                     "(torch ≥ 2.2, torchvision ≥ 0.17)")
