"""Feature extraction: settings, presets and the per-VOI pipeline.

Pipeline per VOI (IBSI chapter 2): crop around the VOI → optional isotropic
resampling → re-segmentation → for the original and each filtered image:
optional [0, 1] normalisation within the ROI (Goller 2023) → discretisation →
feature families. Shape features come from the (resampled) mask once.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import ConfigError, FeatureWarning, NonFiniteHUError, VOITooSmallError
from ..geometry import ImageGeometry, mask_box
from . import filters
from .cooccurrence import glcm_features
from .firstorder import histogram_features, intensity_volume_features, local_intensity_features, statistical_features
from .names import PYRADIOMICS, radiomics_name
from .neighbourhood import ngldm_features, ngtdm_features
from .preprocess import discretise, resample_isotropic, resegment
from .runlength import glrlm_features
from .shape import shape_features
from .zones import gldzm_features, glszm_features

__all__ = ["FAMILIES", "PRESETS", "FilterSettings", "TextureSettings", "extract_features", "preset",
           "warn_nan_features"]

FAMILIES = ("firstorder", "shape", "glcm", "glrlm", "glszm", "gldzm", "ngtdm", "ngldm")

_TEXTURE = {"glcm": glcm_features, "glrlm": glrlm_features, "glszm": glszm_features, "gldzm": gldzm_features,
            "ngtdm": ngtdm_features, "ngldm": ngldm_features}


class FilterSettings(BaseModel):
    """Filtered images added to the original (radiomics "image types")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    log_sigmas_mm: tuple[float, ...] = ()
    wavelet: bool = False
    wavelet_name: str = "coif1"
    mean_vox: int | None = Field(None, ge=2)
    gaussian_sigma_mm: float | None = Field(None, gt=0)

    def margin_mm(self, spacing_mm: float) -> float:
        sig = max((*self.log_sigmas_mm, self.gaussian_sigma_mm or 0.0, 0.0))
        return 4.0 * sig + 4.0 * spacing_mm * (1 + (self.mean_vox or 0))


class TextureSettings(BaseModel):
    """How texture features are computed (IBSI terms).

    Attributes
    ----------
    resample_mm : float, optional
        Isotropic voxel size; None keeps the image grid.
    interpolation : {"cubic", "linear"}
    resegment_range : (lo, hi), optional
        Intensity range kept in the intensity mask (HU); None = all.
    normalise : bool
        Scale ROI intensities to [0, 1] before discretising (Goller 2023).
    discretisation : {"fbn", "fbs", "none"}
        Fixed bin number, fixed bin size, or integer levels as given.
    n_bins, bin_width : int, float
    families : tuple of str
        Subset of :data:`FAMILIES`.
    filters : FilterSettings
    original : bool
        Include the unfiltered image.
    features : tuple of str, optional
        Keep only these IBSI keys (texture keys with aggregation, e.g.
        ``"cm.energy@3D_mrg"``).
    naming : {"radiomics", "ibsi"}
        Column names: pyradiomics style (``original_glcm_JointEnergy``) with
        pyradiomics' default aggregation only, or every IBSI key and
        aggregation (``original:cm.energy@3D_avg``).
    min_voxels : int
        VOIs with fewer voxels raise :class:`~vertfem.errors.VOITooSmallError`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    resample_mm: float | None = Field(None, gt=0)
    interpolation: Literal["cubic", "linear"] = "cubic"
    resegment_range: tuple[float | None, float | None] | None = None
    normalise: bool = False
    discretisation: Literal["fbn", "fbs", "none"] = "fbn"
    n_bins: int = Field(32, ge=2)
    bin_width: float = Field(25.0, gt=0)
    families: tuple[str, ...] = FAMILIES
    filters: FilterSettings = FilterSettings()
    original: bool = True
    features: tuple[str, ...] | None = None
    naming: Literal["radiomics", "ibsi"] = "radiomics"
    min_voxels: int = Field(27, ge=1)

    @field_validator("families")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = sorted(set(v) - set(FAMILIES))
        if bad:
            raise ValueError(f"unknown feature families {bad}; choose from {list(FAMILIES)}")
        return v


#: Goller 2023 (Vallières' toolbox): 13 directions merged into one matrix (IBSI 3D_mrg); global moments of the
#: quantised ROI. 64 levels is our choice (the paper does not state it).
_GOLLER = TextureSettings(
    resample_mm=0.5, interpolation="cubic", normalise=True, discretisation="fbn", n_bins=64,
    families=("firstorder", "glcm", "glrlm"),
    features=("ih.var", "ih.skew", "cm.energy@3D_mrg", "cm.joint.entr@3D_mrg", "rlm.sre@3D_mrg", "rlm.lre@3D_mrg",
              "rlm.rlnu@3D_mrg", "rlm.r.perc@3D_mrg"),
    naming="ibsi",
)
#: Che 2025: pyradiomics-style, all families, original + LoG (1, 2, 3 mm) + 8 wavelet sub-bands, 25 HU bins.
_CHE = TextureSettings(
    resample_mm=1.0, interpolation="cubic", discretisation="fbs", bin_width=25.0,
    families=("firstorder", "shape", "glcm", "glrlm", "glszm", "ngtdm", "ngldm"),
    filters=FilterSettings(log_sigmas_mm=(1.0, 2.0, 3.0), wavelet=True),
)
PRESETS: dict[str, tuple[TextureSettings, tuple[str, ...]]] = {
    "goller2023": (_GOLLER, ("body",)),
    "che2025": (_CHE, ("cortical", "cancellous")),
    "ibsi": (TextureSettings(naming="ibsi"), ("body",)),
}


def preset(name: str) -> tuple[TextureSettings, tuple[str, ...]]:
    """Settings and VOIs of a named preset (``goller2023``, ``che2025``, ``ibsi``)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown texture preset {name!r}; choose from {sorted(PRESETS)}") from None


def _crop(image, mask, geometry: ImageGeometry, margin_mm: float):
    box, sub = mask_box(mask, geometry, np.ceil(margin_mm / np.asarray(geometry.spacing_mm)[::-1]).astype(int))
    return image[box], mask[box], sub


def _needed_aggregations(s: TextureSettings) -> frozenset[str] | None:
    """Aggregations worth computing: those named in ``features``, pyradiomics' defaults, or all (IBSI naming)."""
    if s.features is not None:
        return frozenset(k.split("@", 1)[1] for k in s.features if "@" in k)
    return None if s.naming == "ibsi" else frozenset({"3D_avg", "3D"})


def _image_features(img: np.ndarray, imask: np.ndarray, s: TextureSettings, spacing, with_local: bool) -> dict:
    vals = img[imask]
    x = img
    if s.normalise:
        lo, hi = float(vals.min()), float(vals.max())
        x = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    d = discretise(x, imask, s.discretisation, n_bins=s.n_bins, bin_width=s.bin_width)
    out: dict[str, float] = {}
    if "firstorder" in s.families:
        out.update(statistical_features(vals))
        out.update(histogram_features(d.levels[imask], d.n_levels))
        out.update(intensity_volume_features(d.levels[imask], np.arange(1, d.n_levels + 1)))
        if with_local:
            out.update(local_intensity_features(img, imask, spacing))
    only = _needed_aggregations(s)
    for fam, fn in _TEXTURE.items():
        if fam in s.families:
            out.update(fn(d.levels, d.n_levels, only))
    return out


def extract_features(
    image: np.ndarray,
    mask: np.ndarray,
    geometry: ImageGeometry,
    settings: TextureSettings | None = None,
) -> dict[str, float]:
    """Texture/radiomics features of one VOI.

    Parameters
    ----------
    image : ndarray (k, j, i)
        Intensities (HU for CT) on ``geometry``.
    mask : ndarray of bool
        VOI on the same grid.
    geometry : ImageGeometry
    settings : TextureSettings, optional

    Returns
    -------
    dict
        Feature name → value (names per ``settings.naming``).

    Raises
    ------
    VOITooSmallError
        Fewer than ``settings.min_voxels`` voxels (before or after resampling).
    NonFiniteHUError
        NaN/inf intensities inside the VOI.

    Examples
    --------
    >>> import numpy as np
    >>> from vertfem.geometry import ImageGeometry
    >>> g = ImageGeometry((12, 12, 12), (0, 0, 0), (1, 1, 1), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    >>> img = np.random.default_rng(0).normal(100, 20, g.shape); roi = np.ones(g.shape, bool)
    >>> f = extract_features(img, roi, g, TextureSettings(families=("glcm",)))
    >>> 0 < f["original_glcm_JointEnergy"] < 1
    True
    """
    s = settings or TextureSettings()
    mask = np.asarray(mask, bool)
    image = np.asarray(image, dtype=np.float64)
    if image.shape != mask.shape or image.shape != geometry.shape:
        raise ValueError(f"image {image.shape}, mask {mask.shape} and geometry {geometry.shape} must agree")
    n = int(mask.sum())
    if n < s.min_voxels:
        raise VOITooSmallError(f"VOI has {n} voxels, fewer than min_voxels={s.min_voxels}; use a larger VOI, a "
                               "finer image or lower min_voxels")
    bad = int((~np.isfinite(image[mask])).sum())
    if bad:
        raise NonFiniteHUError(f"{bad} NaN/inf intensities inside the VOI; fill or mask them before texture analysis")
    spacing = max(geometry.spacing_mm) if s.resample_mm is None else s.resample_mm
    image, mask, geometry = _crop(image, mask, geometry, s.filters.margin_mm(spacing) + 2 * max(geometry.spacing_mm))
    if s.resample_mm is not None:
        image, mask, geometry = resample_isotropic(image, mask, geometry, s.resample_mm,
                                                   interpolation=s.interpolation)
        if mask.sum() < s.min_voxels:
            raise VOITooSmallError(f"VOI has {int(mask.sum())} voxels after resampling to {s.resample_mm} mm, fewer "
                                   f"than min_voxels={s.min_voxels}")
    imask = resegment(image, mask, s.resegment_range) if s.resegment_range else mask
    if imask.sum() < s.min_voxels:
        raise VOITooSmallError(f"only {int(imask.sum())} VOI voxels lie in the re-segmentation range "
                               f"{s.resegment_range}")
    sp = geometry.spacing_mm
    images: dict[str, np.ndarray] = {"original": image} if s.original else {}
    f = s.filters
    if f.log_sigmas_mm:
        images.update(filters.laplacian_of_gaussian(image, sp, f.log_sigmas_mm))
    if f.wavelet:
        images.update(filters.wavelet(image, f.wavelet_name))
    if f.mean_vox:
        images.update(filters.mean(image, f.mean_vox))
    if f.gaussian_sigma_mm:
        images.update(filters.gaussian(image, sp, f.gaussian_sigma_mm))
    raw: dict[str, dict[str, float]] = {}
    for name, img in images.items():
        local = name == "original" and (s.naming == "ibsi" if s.features is None else any(
            k.startswith("loc.") for k in s.features))
        raw[name] = _image_features(img, imask, s, sp, with_local=local)
    if "shape" in s.families:
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
