"""The ``dl`` measure: a trained model's BMD/TBS prediction for one prepared vertebra."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from ..io import file_sha256
from ..options import parse_options
from ..provenance import Provenance, write_record
from ..vertebra import Vertebra
from .options import DLPredictOptions

__all__ = ["DLResult", "dl_predict", "dl_predict_many"]


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
    return dl_predict_many([vertebra], options, **overrides)[0]


def dl_predict_many(vertebrae: Sequence[Vertebra], options: DLPredictOptions | dict[str, Any] | None = None,
                    **overrides: Any) -> list[DLResult]:
    """:func:`dl_predict` for several vertebrae (e.g. the levels of one scan) in one batch through the networks.

    A batch of four costs less per vertebra than four single predictions (``benchmarks/bench_dl.py``); the
    predictions equal the single ones to rounding (the convolution kernels may sum in another order).

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
    preds = model.predict_vertebrae(list(vertebrae), threads=opts.threads)
    sha = file_sha256(p)
    return [DLResult(v.name, pr, str(p), sha, opts, v.provenance("dl", opts, calibrated=False))
            for v, pr in zip(vertebrae, preds)]
