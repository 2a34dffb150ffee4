"""Feature extraction: settings, presets and the per-VOI pipeline.

Pipeline per VOI (IBSI chapter 2): crop around the VOI on the interpolation
grid of the whole image → optional resampling (+ rounding) → re-segmentation
(range, outliers) into the intensity mask → for the original and each
filtered image: optional [0, 1] normalisation within the ROI (Goller 2023) →
discretisation → feature families. Shape features come from the (resampled)
morphological mask once.

Original-image features do not depend on the crop: the resampling grid is
fixed by the whole image (its centre and ``ceil(n·s/s′)``), and the crop
margin only grows with the filters, never moves a voxel.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..errors import FeatureWarning, MaskImageMismatchError, NonFiniteHUError, VOITooSmallError
from ..geometry import ImageGeometry
from . import filters
from .cooccurrence import glcm_features
from .firstorder import (
    histogram_features,
    intensity_volume_features,
    ivh_levels,
    local_intensity_features,
    statistical_features,
)
from .names import PYRADIOMICS, radiomics_name
from .neighbourhood import ngldm_features, ngtdm_features
from .preprocess import discretise, ibsi_grid, resample, resegment
from .runlength import glrlm_features
from .settings import FilterSettings, TextureSettings
from .shape import shape_features
from .zones import gldzm_features, glszm_features

__all__ = ["extract_features", "prepare_voi", "voi_margin_mm", "warn_nan_features"]

_TEXTURE = {"glcm": glcm_features, "glrlm": glrlm_features, "glszm": glszm_features,
            "ngtdm": ngtdm_features, "ngldm": ngldm_features}

#: radius of the 1 cm³ sphere of the local intensity peak (IBSI §3.2), mm
_PEAK_RADIUS_MM = (3.0 / (4.0 * np.pi)) ** (1.0 / 3.0) * 10.0
#: source voxels kept beyond the target grid for interpolation; the cubic B-spline's prefilter decays as 0.268ᵈ, so
#: 16 voxels leave crop effects below 1e-9 of the local intensity range (no rounding flips)
_INTERP_SUPPORT_VOX = {"cubic": 16, "linear": 1, "nearest": 1}


def _wants_local(s: TextureSettings) -> bool:
    if "firstorder" not in s.families:
        return False
    return s.naming == "ibsi" if s.features is None else any(k.startswith("loc.") for k in s.features)


def _margin_vox(s: TextureSettings, spacing_mm) -> np.ndarray:
    """Voxels per (k, j, i) axis that the filters and the local-intensity sphere need around the VOI."""
    sp = np.asarray(spacing_mm, float)[::-1]
    m = s.filters.margin_vox(spacing_mm)
    if _wants_local(s):
        m = np.maximum(m, np.ceil(_PEAK_RADIUS_MM / sp).astype(int))
    return m + 1


def voi_margin_mm(settings: TextureSettings, spacing_mm) -> float:
    """Margin around a VOI (mm) that a crop of the scan needs so that :func:`prepare_voi` sees the whole image.

    Covers the filters' reach and the local-intensity sphere on the target
    grid plus the interpolation support on the scan grid (``spacing_mm``,
    (i, j, k)). A crop at least this wide gives the same features as the
    whole scan.

    Examples
    --------
    >>> voi_margin_mm(TextureSettings(resample_mm=1.0, naming="ibsi"), (0.8, 0.8, 3.0))  # 9 mm + 17 × 3 mm
    60.0
    """
    sp = np.asarray(spacing_mm, float)
    if settings.resample_mm is None:
        return float((_margin_vox(settings, sp)[::-1] * sp).max())
    target = np.array(settings.target_spacing(), dtype=object)
    tsp = np.array([s if t is None else t for s, t in zip(sp, target)], dtype=float)
    reach = float((_margin_vox(settings, tsp)[::-1] * tsp).max()) + float(tsp.max())
    return reach + (_INTERP_SUPPORT_VOX[settings.interpolation] + 1) * float(sp.max())


def _box(mask: np.ndarray, margin: np.ndarray, shape) -> tuple[slice, ...]:
    kji = np.argwhere(mask)
    lo = np.maximum(kji.min(axis=0) - margin, 0)
    hi = np.minimum(kji.max(axis=0) + 1 + margin, shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))


def _crop_geometry(g: ImageGeometry, box: tuple[slice, ...]) -> ImageGeometry:
    lo = np.array([b.start for b in box][::-1])
    hi = np.array([b.stop for b in box][::-1])
    return g.cropped(lo, hi)


def prepare_voi(
    image: np.ndarray,
    mask: np.ndarray,
    geometry: ImageGeometry,
    settings: TextureSettings,
    *,
    grid_of: ImageGeometry | None = None,
) -> tuple[np.ndarray, np.ndarray, ImageGeometry]:
    """Crop an image around a VOI and resample it onto the IBSI interpolation grid.

    The interpolation grid is that of the whole image ``grid_of`` (default
    ``geometry``): centred on its centre with ``ceil(n·s/s′)`` voxels per axis.
    Only the part of that grid around the VOI is computed (margin: the
    filters' reach and the local-intensity sphere), so a voxel's value never
    depends on the crop. Pass the scan's geometry as ``grid_of`` when
    ``image`` is already a crop of it.

    Returns
    -------
    image, mask, geometry
        On the (cropped) interpolation grid; rounded if the settings say so.
        Without ``settings.resample_mm``: the crop of the original grid.

    Examples
    --------
    >>> g = ImageGeometry((40, 40, 12), (0, 0, 0), (0.7, 0.7, 3.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    >>> img = np.random.default_rng(0).normal(0, 100, g.shape); roi = np.zeros(g.shape, bool)
    >>> roi[4:8, 15:25, 15:25] = True
    >>> im, m, sub = prepare_voi(img, roi, g, TextureSettings(resample_mm=2.0, resample_in_plane=True))
    >>> sub.spacing_mm, int(m.sum())
    ((2.0, 2.0, 3.0), 64)
    """
    mask = np.asarray(mask, bool)
    if settings.resample_mm is None:
        box = _box(mask, _margin_vox(settings, geometry.spacing_mm), mask.shape)
        return np.asarray(image, dtype=np.float64)[box], mask[box], _crop_geometry(geometry, box)
    full = ibsi_grid(grid_of or geometry, settings.target_spacing())
    # the VOI's voxel corners on the target grid, grown by the margin
    kji = np.argwhere(mask)
    lo, hi = kji.min(axis=0)[::-1] - 0.5, kji.max(axis=0)[::-1] + 0.5
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    t = full.physical_to_index(geometry.index_to_physical(corners))
    margin = _margin_vox(settings, full.spacing_mm)[::-1]
    t_lo = np.maximum(np.floor(t.min(axis=0)).astype(int) - margin, 0)
    t_hi = np.minimum(np.ceil(t.max(axis=0)).astype(int) + 1 + margin, full.size)
    target = full.cropped(t_lo, t_hi)
    # the source voxels that the interpolation of the target box reads
    s = geometry.physical_to_index(target.corners_mm())
    support = _INTERP_SUPPORT_VOX[settings.interpolation]
    s_lo = np.maximum(np.floor(s.min(axis=0)).astype(int) - support, 0)
    s_hi = np.minimum(np.ceil(s.max(axis=0)).astype(int) + 1 + support, geometry.size)
    box = tuple(slice(int(a), int(b)) for a, b in zip(s_lo[::-1], s_hi[::-1]))
    img, msk = resample(np.asarray(image)[box], mask[box], _crop_geometry(geometry, box), target,
                        interpolation=settings.interpolation, round_intensities=settings.round_intensities)
    return img, msk, target


def _needed_aggregations(s: TextureSettings) -> frozenset[str] | None:
    """Aggregations worth computing: those named in ``features``, pyradiomics' defaults, or all (IBSI naming)."""
    if s.features is not None:
        return frozenset(k.split("@", 1)[1] for k in s.features if "@" in k)
    return None if s.naming == "ibsi" else frozenset({"3D_avg", "3D"})


def _wanted(s: TextureSettings, prefix: str) -> bool:
    return s.features is None or any(k.startswith(prefix) for k in s.features)


def _image_features(name: str, img: np.ndarray, mask: np.ndarray, imask: np.ndarray, s: TextureSettings,
                    spacing) -> dict[str, float]:
    vals = img[imask]
    original = name == "original"
    x = img
    if s.normalise:
        lo, hi = float(vals.min()), float(vals.max())
        x = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    # IBSI: fixed bins start at the re-segmentation lower bound, which is in the original image's units
    fbs_min = s.resegment_range[0] if (s.resegment_range and original and not s.normalise) else None
    d = discretise(x, imask, s.discretisation, n_bins=s.n_bins, bin_width=s.bin_width, min_value=fbs_min)
    out: dict[str, float] = {}
    if "firstorder" in s.families:
        if _wanted(s, "stat."):
            out.update(statistical_features(vals))
        if _wanted(s, "ih."):
            h = d if s.ih_n_bins is None else discretise(x, imask, "fbn", n_bins=s.ih_n_bins)
            out.update(histogram_features(h.levels[imask], h.n_levels))
        if _wanted(s, "ivh."):
            raw_units = original and not s.normalise
            method = s.ivh_discretisation if raw_units else "fbn"
            xv, grid = ivh_levels(x[imask], method, bin_width=s.ivh_bin_width or s.bin_width, n_bins=s.ivh_n_bins,
                                  range_=s.resegment_range if raw_units else None)
            out.update(intensity_volume_features(xv, grid))
        if original and _wants_local(s):
            out.update(local_intensity_features(img, imask, spacing))
    only = _needed_aggregations(s)
    for fam, fn in _TEXTURE.items():
        if fam in s.families and _wanted(s, {"glcm": "cm.", "glrlm": "rlm.", "glszm": "szm.", "ngtdm": "ngt.",
                                             "ngldm": "ngl."}[fam]):
            out.update(fn(d.levels, d.n_levels, only))
    if "gldzm" in s.families and _wanted(s, "dzm."):
        out.update(gldzm_features(d.levels, d.n_levels, only, morph=mask))
    return out


def _filtered_images(image: np.ndarray, spacing, f: FilterSettings) -> dict[str, np.ndarray]:
    images: dict[str, np.ndarray] = {}
    if f.log_sigmas_mm:
        images.update(filters.laplacian_of_gaussian(image, spacing, f.log_sigmas_mm))
    if f.wavelet:
        images.update(filters.wavelet(image, f.wavelet_name))
    if f.mean_vox:
        images.update(filters.mean(image, f.mean_vox))
    if f.gaussian_sigma_mm:
        images.update(filters.gaussian(image, spacing, f.gaussian_sigma_mm))
    return images


def extract_features(
    image: np.ndarray,
    mask: np.ndarray,
    geometry: ImageGeometry,
    settings: TextureSettings | None = None,
    *,
    grid_of: ImageGeometry | None = None,
) -> dict[str, float]:
    """Texture/radiomics features of one VOI.

    Parameters
    ----------
    image : ndarray (k, j, i)
        Intensities (HU for CT) on ``geometry``.
    mask : ndarray of bool
        VOI on the same grid (the morphological mask).
    geometry : ImageGeometry
    settings : TextureSettings, optional
    grid_of : ImageGeometry, optional
        Grid of the whole image when ``image`` is a crop of it: the
        interpolation grid is centred on it (:func:`prepare_voi`).

    Returns
    -------
    dict
        Feature name → value (names per ``settings.naming``).

    Raises
    ------
    VOITooSmallError
        Fewer than ``settings.min_voxels`` voxels (before or after resampling
        or re-segmentation).
    NonFiniteHUError
        NaN/inf intensities inside the VOI.

    Examples
    --------
    >>> from vertfem.geometry import ImageGeometry
    >>> g = ImageGeometry((12, 12, 12), (0, 0, 0), (1, 1, 1), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    >>> img = np.random.default_rng(0).normal(100, 20, g.shape); roi = np.ones(g.shape, bool)
    >>> f = extract_features(img, roi, g, TextureSettings(families=("glcm",)))
    >>> 0 < f["original_glcm_JointEnergy"] < 1
    True
    """
    s = settings or TextureSettings()
    mask = np.asarray(mask, bool)
    image = np.asarray(image)
    if image.shape != mask.shape or image.shape != geometry.shape:
        raise MaskImageMismatchError(f"image {image.shape}, mask {mask.shape} and geometry {geometry.shape} must "
                                     "agree; resample the mask onto the image grid first")
    n = int(mask.sum())
    if n < s.min_voxels:
        raise VOITooSmallError(f"VOI has {n} voxels, fewer than min_voxels={s.min_voxels}; use a larger VOI, a "
                               "finer image or lower min_voxels")
    bad = int((~np.isfinite(image[mask])).sum())
    if bad:
        raise NonFiniteHUError(f"{bad} NaN/inf intensities inside the VOI; fill or mask them before texture analysis")
    image, mask, geometry = prepare_voi(image, mask, geometry, s, grid_of=grid_of)
    if s.resample_mm is not None and mask.sum() < s.min_voxels:
        raise VOITooSmallError(f"VOI has {int(mask.sum())} voxels after resampling to {s.resample_mm} mm, fewer "
                               f"than min_voxels={s.min_voxels}")
    imask = resegment(image, mask, s.resegment_range, outlier_sigma=s.outlier_sigma)
    if imask.sum() < s.min_voxels:
        raise VOITooSmallError(f"only {int(imask.sum())} VOI voxels lie in the re-segmentation range "
                               f"{s.resegment_range} (outliers: {s.outlier_sigma} σ)")
    sp = geometry.spacing_mm
    images: dict[str, np.ndarray] = {"original": image} if s.original else {}
    images.update(_filtered_images(image, sp, s.filters))
    raw = {name: _image_features(name, img, mask, imask, s, sp) for name, img in images.items()}
    if "shape" in s.families and _wanted(s, "morph."):
        raw.setdefault("original", {}).update(shape_features(mask, sp, image, imask))
    out: dict[str, float] = {}
    for name, feats in raw.items():
        for key, val in feats.items():
            if s.features is not None and key not in s.features:
                continue
            if s.naming == "ibsi":
                out[f"{name}:{key}"] = val
            elif s.features is not None or key in PYRADIOMICS or (key.startswith("dzm.") and key.endswith("@3D")):
                # pyradiomics reports kurtosis, not excess kurtosis
                out[radiomics_name(key, name)] = val + 3.0 if key == "stat.kurt" else val
    return out


def warn_nan_features(features: dict[str, Any], where: str) -> None:
    """One :class:`FeatureWarning` listing features that came out NaN."""
    bad = sorted(k for k, v in features.items() if isinstance(v, float) and np.isnan(v))
    if bad:
        warnings.warn(f"{len(bad)} features undefined (NaN) for {where}: {', '.join(bad[:8])}"
                      + (" …" if len(bad) > 8 else ""), FeatureWarning, stacklevel=2)
