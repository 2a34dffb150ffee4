"""The texture measure: features of a prepared vertebra's VOIs (body, cortical shell, cancellous core)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import ConfigError
from ..geometry import ImageGeometry
from ..options import parse_options
from ..provenance import Provenance, write_record
from ..vertebra import Vertebra, cortical_split
from .extract import extract_features, prepare_voi, voi_margin_mm, warn_nan_features
from .settings import VOIS, TextureOptions

__all__ = ["VOIS", "TextureOptions", "TextureResult", "texture_features", "vertebra_vois"]



@dataclass(frozen=True, eq=False)
class TextureResult:
    """Texture features of one vertebra: ``features`` maps column name → value."""

    measure: ClassVar[str] = "texture"
    vertebra: str
    kernel: str | None
    preset: str
    features: dict[str, Any]
    provenance: Provenance

    def row(self) -> dict[str, Any]:
        """Vertebra, kernel, preset and every feature (pyradiomics-style or IBSI column names)."""
        return {"vertebra": self.vertebra, "kernel": self.kernel, "texture_preset": self.preset, **self.features}

    def save(self, folder: str | Path) -> dict[str, Path]:
        """Write ``texture.json`` (values + provenance) and ``texture.csv`` (one row)."""
        import csv

        out = Path(folder)
        js = write_record(out / "texture.json", self.row(), self.provenance)
        row = self.row()
        csv_path = out / "texture.csv"
        with open(csv_path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(row))
            w.writeheader()
            w.writerow(row)
        return {"json": js, "csv": csv_path}


def vertebra_vois(body: np.ndarray, geometry: ImageGeometry, vois: tuple[str, ...],
                  shell_mm: float) -> dict[str, np.ndarray]:
    """VOI masks on ``geometry`` from a body mask (shell/core split by depth in mm)."""
    bad = sorted(set(vois) - set(VOIS))
    if bad:
        raise ConfigError(f"unknown VOI(s) {bad}; choose from {list(VOIS)}")
    out = {"body": body}
    if {"cortical", "cancellous"} & set(vois):
        out["cortical"], out["cancellous"] = cortical_split(body, geometry, shell_mm=shell_mm)
    return {v: out[v] for v in vois}


def texture_features(vertebra: Vertebra, options: TextureOptions | dict[str, Any] | None = None,
                     **overrides: Any) -> TextureResult:
    """Texture/radiomics features of a prepared vertebra, one flat row.

    Parameters
    ----------
    vertebra : Vertebra
        From :func:`~vertfem.vertebra.prepare_vertebra` (features are computed
        on HU; no calibration needed).
    options : TextureOptions or mapping, optional
    **overrides
        Fields of :class:`TextureOptions`.

    Returns
    -------
    TextureResult
        ``features``: ``"{voi}_{feature}"`` → value (``"{voi}:{image}:{ibsi key}"`` with IBSI naming).

    Examples
    --------
    >>> import vertfem as vf
    >>> p = vf.example_paths()
    >>> v = vf.prepare_vertebra(p["ct"], p["labels"], "L1")
    >>> len(vf.texture_features(v, preset="goller2023").features)
    8
    """
    opts = parse_options(TextureOptions, options, where="texture options", **overrides)
    settings, vois = opts.resolved()
    # the IBSI interpolation grid is fixed by the whole scan; the crop only has to hold what the filters reach
    crop = vertebra.crop(voi_margin_mm(settings, vertebra.scan.geometry.spacing_mm))
    body = crop.body if opts.region == "body" else crop.mask
    img, body, geom = prepare_voi(crop.hu, body, crop.geometry, settings, grid_of=vertebra.scan.geometry)
    settings = settings.model_copy(update={"resample_mm": None})
    sep = ":" if settings.naming == "ibsi" else "_"
    out: dict[str, Any] = {}
    for name, voi in vertebra_vois(body, geom, vois, opts.shell_mm).items():
        feats = extract_features(img, voi, geom, settings)
        out.update({f"{name}{sep}{k}": v for k, v in feats.items()})
    warn_nan_features(out, f"vertebra {vertebra.name}")
    kernel = vertebra.calibration.kernel if vertebra.calibration is not None else vertebra.scan.kernel
    return TextureResult(vertebra.name, kernel, opts.preset, out,
                         vertebra.provenance("texture", opts, calibrated=False))
