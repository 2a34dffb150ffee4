"""Texture features of a vertebra's VOIs: body, cortical shell, cancellous core."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError
from ..geometry import mask_box
from ..io import Scan
from ..meshing.body import cortical_split, isolate_body
from .extract import TextureSettings, extract_features, preset, warn_nan_features
from .preprocess import resample_isotropic

__all__ = ["VOIS", "texture_features", "vertebra_vois"]

VOIS = ("body", "cortical", "cancellous")


def vertebra_vois(body: np.ndarray, geometry, vois, shell_mm: float) -> dict[str, np.ndarray]:
    """VOI masks on ``geometry`` from a body mask (shell/core split by depth in mm)."""
    bad = sorted(set(vois) - set(VOIS))
    if bad:
        raise ConfigError(f"unknown VOI(s) {bad}; choose from {list(VOIS)}")
    out = {"body": body}
    if {"cortical", "cancellous"} & set(vois):
        out["cortical"], out["cancellous"] = cortical_split(body, geometry, shell_mm=shell_mm)
    return {v: out[v] for v in vois}


def texture_features(
    scan: Scan,
    mask: np.ndarray,
    *,
    preset_name: str | None = "goller2023",
    settings: TextureSettings | None = None,
    vois: tuple[str, ...] | None = None,
    shell_mm: float = 2.0,
    isolate: bool = True,
) -> dict[str, Any]:
    """Texture/radiomics features of one vertebra, one flat row.

    Parameters
    ----------
    scan : Scan
        CT in HU.
    mask : ndarray of bool
        Vertebra on the scan grid (``Vertebra.mask``).
    preset_name : str, optional
        ``goller2023`` (8 features, body), ``che2025`` (all families, original
        + LoG + wavelet, cortical and cancellous) or ``ibsi``; ignored when
        ``settings`` is given.
    settings : TextureSettings, optional
    vois : tuple of {"body", "cortical", "cancellous"}, optional
        Default: the preset's VOIs, or ``("body",)``.
    shell_mm : float
        Cortical shell thickness, mm; the split is made on the resampled grid
        so that a thin shell survives coarse CT.
    isolate : bool
        Cut the posterior elements off first.

    Returns
    -------
    dict
        ``"{voi}_{feature}"`` → value (``"{voi}:{image}:{ibsi key}"`` with
        IBSI naming).

    Examples
    --------
    >>> import vertfem as vf
    >>> p = vf.example_paths()
    >>> scan = vf.read_scan(p["ct"])
    >>> v = vf.select_vertebra(scan, vf.read_labels(p["labels"]), "L1")
    >>> f = vf.texture_features(scan, v.mask, preset_name="goller2023")
    >>> len(f)
    8
    """
    if settings is None:
        settings, preset_vois = preset(preset_name or "ibsi")
        vois = vois or preset_vois
    vois = tuple(vois or ("body",))
    g = scan.geometry
    mask = np.asarray(mask, bool)
    body = isolate_body(mask, g) if isolate else mask
    margin_mm = settings.filters.margin_mm(settings.resample_mm or max(g.spacing_mm)) + 2 * max(g.spacing_mm)
    box, geom = mask_box(body, g, np.ceil(margin_mm / np.asarray(g.spacing_mm)[::-1]).astype(int))
    img, body = scan.hu[box].astype(np.float64), body[box]
    if settings.resample_mm is not None:
        img, body, geom = resample_isotropic(img, body, geom, settings.resample_mm,
                                             interpolation=settings.interpolation)
        settings = settings.model_copy(update={"resample_mm": None})
    sep = ":" if settings.naming == "ibsi" else "_"
    out: dict[str, Any] = {}
    for name, voi in vertebra_vois(body, geom, vois, shell_mm).items():
        feats = extract_features(img, voi, geom, settings)
        out.update({f"{name}{sep}{k}": v for k, v in feats.items()})
    warn_nan_features(out, "this vertebra")
    return out
