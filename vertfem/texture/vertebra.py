"""The texture measure: features of a prepared vertebra's VOIs (body, cortical shell, cancellous core)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator

from ..errors import ConfigError
from ..geometry import ImageGeometry, mask_box
from ..options import Options, parse_options
from ..provenance import Provenance, write_record
from ..vertebra import Region, Vertebra, cortical_split, region_field
from .extract import PRESETS, TextureSettings, extract_features, preset, warn_nan_features
from .preprocess import resample_isotropic

__all__ = ["VOIS", "TextureOptions", "TextureResult", "texture_features", "vertebra_vois"]

VOIS = ("body", "cortical", "cancellous")
VOIName = Literal["body", "cortical", "cancellous"]


class TextureOptions(Options):
    """Options of the texture measure.

    Attributes
    ----------
    preset : str
        ``goller2023``, ``che2025`` or ``ibsi`` (:data:`~vertfem.texture.PRESETS`).
    settings : TextureSettings, optional
        Full settings instead of a preset's.
    vois : tuple of {"body", "cortical", "cancellous"}, optional
        Default: the preset's VOIs, or ``("body",)``.
    shell_mm : float
        Cortical shell thickness, mm; the split is made on the resampled grid so
        that a thin shell survives coarse CT.
    region : {"body", "whole"}
        Analyse the isolated body (default) or the whole vertebra.
    """

    preset: str = Field("goller2023", description="feature preset")
    settings: TextureSettings | None = Field(None, description="full texture settings instead of a preset's")
    vois: tuple[VOIName, ...] | None = Field(None, description="volumes of interest")
    shell_mm: float = Field(2.0, gt=0, le=10.0, description="cortical shell thickness, mm")
    region: Region = region_field()

    @field_validator("preset")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in PRESETS:
            raise ValueError(f"unknown preset; choose from {sorted(PRESETS)}")
        return v

    def resolved(self) -> tuple[TextureSettings, tuple[str, ...]]:
        """The texture settings and VOIs these options stand for."""
        settings, preset_vois = preset(self.preset)
        if self.settings is not None:
            settings = self.settings
        return settings, tuple(self.vois or preset_vois or ("body",))


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
    g0 = vertebra.geometry
    margin_mm = settings.filters.margin_mm(settings.resample_mm or max(g0.spacing_mm)) + 2 * max(g0.spacing_mm)
    crop = vertebra.crop(margin_mm)
    g = crop.geometry
    body = crop.body if opts.region == "body" else crop.mask
    box, geom = mask_box(body, g, np.ceil(margin_mm / np.asarray(g.spacing_mm)[::-1]).astype(int))
    img, body = crop.hu[box].astype(np.float64), body[box]
    if settings.resample_mm is not None:
        img, body, geom = resample_isotropic(img, body, geom, settings.resample_mm,
                                             interpolation=settings.interpolation)
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
