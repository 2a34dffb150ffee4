"""The ``dl`` measure: a trained model's BMD/TBS prediction for one prepared vertebra."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from ..io import file_sha256
from ..options import parse_options
from ..provenance import Provenance, write_record
from ..vertebra import Vertebra
from .options import DLPredictOptions

__all__ = ["DLResult", "dl_predict"]


@lru_cache(maxsize=4)
def _model(path: str, mtime_ns: int) -> Any:
    from .model import load_model

    return load_model(path)


@dataclass(frozen=True, eq=False)
class DLResult:
    """Learned predictions of one vertebra.

    Attributes
    ----------
    predictions : dict of str → float
        ``bmd`` (g/cm², the unit of the training targets) and/or ``tbs``.
    model_sha256 : str
    """

    measure: ClassVar[str] = "dl"
    vertebra: str
    predictions: dict[str, float]
    model: str
    model_sha256: str
    options: DLPredictOptions
    provenance: Provenance

    def row(self) -> dict[str, Any]:
        """``dl_bmd_g_cm2`` and ``dl_tbs`` (targets the model has) and the model's hash."""
        names = {"bmd": "dl_bmd_g_cm2", "tbs": "dl_tbs"}
        return {"vertebra": self.vertebra, **{names[k]: v for k, v in self.predictions.items()},
                "dl_model_sha256": self.model_sha256}

    def save(self, folder: str | Path) -> dict[str, Path]:
        """Write ``dl.json`` (values + provenance)."""
        return {"json": write_record(Path(folder) / "dl.json", self.row(), self.provenance, model=self.model)}


def dl_predict(vertebra: Vertebra, options: DLPredictOptions | dict[str, Any] | None = None,
               **overrides: Any) -> DLResult:
    """Predict BMD/TBS of a prepared vertebra with a trained model (``vertfem dl train``); needs torch.

    Raises
    ------
    ConfigError
        No model given, torch missing, or not a vertfem model file.
    """
    opts = parse_options(DLPredictOptions, options, where="dl options", **overrides)
    from . import require_torch

    require_torch()
    p = Path(opts.model)
    model = _model(str(p.resolve()), p.stat().st_mtime_ns if p.exists() else 0)
    preds = model.predict_vertebra(vertebra)
    return DLResult(vertebra.name, preds, str(p), file_sha256(p), opts,
                    vertebra.provenance("dl", opts, calibrated=False))
