"""Texture settings, presets and the texture measure's options (light: no feature code imported).

:class:`TextureSettings` says how features are computed (IBSI terms), :data:`PRESETS` names the settings of the
papers vertfem follows, and :class:`TextureOptions` is the measure's options model (the ``texture`` section of a
study YAML, the flags of ``vertfem texture``).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import ConfigError
from ..options import Options
from ..vertebra.model import Region, region_field

__all__ = ["FAMILIES", "PRESETS", "VOIS", "FilterSettings", "TextureOptions", "TextureSettings", "VOIName", "preset"]

FAMILIES = ("firstorder", "shape", "glcm", "glrlm", "glszm", "gldzm", "ngtdm", "ngldm")
VOIS = ("body", "cortical", "cancellous")
VOIName = Literal["body", "cortical", "cancellous"]


class FilterSettings(BaseModel):
    """Filtered images added to the original (radiomics "image types").

    Attributes
    ----------
    log_sigmas_mm : tuple of float
        Laplacian-of-Gaussian scales, mm (``log-sigma-1-0-mm-3D`` …).
    wavelet : bool
        The eight undecimated level-1 wavelet sub-bands (``wavelet-LLH`` …,
        letters for x, y, z as pyradiomics).
    wavelet_name : str
        PyWavelets name (pyradiomics' default ``coif1``).
    mean_vox : int, optional
        Mean filter over a cube of this many voxels.
    gaussian_sigma_mm : float, optional
        Gaussian smoothing, mm.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    log_sigmas_mm: tuple[float, ...] = ()
    wavelet: bool = False
    wavelet_name: str = "coif1"
    mean_vox: int | None = Field(default=None, ge=2)
    gaussian_sigma_mm: float | None = Field(default=None, gt=0)

    @field_validator("log_sigmas_mm")
    @classmethod
    def _positive(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(s <= 0 for s in v):
            raise ValueError(f"LoG sigmas must be positive (mm), got {v}")
        return v

    def margin_vox(self, spacing_mm: Any) -> np.ndarray:
        """Voxels per ``(k, j, i)`` axis the filters reach on a grid of ``spacing_mm`` ((i, j, k) or scalar)."""
        from . import filters  # the filters' code (PyWavelets, SciPy) loads only when margins are computed

        sp = np.broadcast_to(np.asarray(spacing_mm, dtype=float), (3,))
        return filters.filter_margin_vox(sp, log_sigmas_mm=self.log_sigmas_mm,
                                         wavelet_name=self.wavelet_name if self.wavelet else None,
                                         mean_vox=self.mean_vox, gaussian_sigma_mm=self.gaussian_sigma_mm)

    def margin_mm(self, spacing_mm: float) -> float:
        """Physical reach of the filters on an isotropic grid of ``spacing_mm``, mm."""
        return float(self.margin_vox(spacing_mm).max() * spacing_mm)


class TextureSettings(BaseModel):
    """How texture features are computed (IBSI terms).

    Attributes
    ----------
    resample_mm : float, optional
        New voxel size, mm, on the IBSI grid (centred on the original image,
        ``ceil(n·s/s′)`` voxels per axis); None keeps the image grid.
    resample_in_plane : bool
        Resample x and y only and keep the slice spacing (IBSI 2-D
        interpolation, configuration B).
    interpolation : {"cubic", "linear", "nearest"}
        Image interpolation (cubic: interpolating B-spline); the mask is
        always interpolated linearly and kept where ≥ 0.5.
    round_intensities : bool
        Round intensities to integers after interpolation (IBSI for CT).
    resegment_range : (lo, hi), optional
        Intensity range of the intensity mask (HU); None on a side = open.
    outlier_sigma : float, optional
        Also drop voxels outside mean ± k·σ of the ROI (IBSI: k = 3), after
        the range.
    normalise : bool
        Scale ROI intensities to [0, 1] before discretising (Goller 2023).
    discretisation : {"fbn", "fbs", "none"}
        Fixed bin number, fixed bin size (bins start at the lower bound of
        ``resegment_range``, else at the ROI minimum), or integer levels as
        given.
    n_bins, bin_width : int, float
    ih_n_bins : int, optional
        Fixed number of bins for the intensity-histogram features (``ih.*``)
        alone, as Vallières' toolbox's "global" features (100 bins); None =
        the texture discretisation (IBSI).
    ivh_discretisation : {"none", "fbs", "fbn"}
        Intensity-volume histogram of the original image: raw intensities in
        steps of 1 (CT), bins of ``ivh_bin_width`` (IBSI: reported at bin
        centres, in intensity units) or ``ivh_n_bins`` bins (bin numbers).
        Filtered and normalised images always use ``fbn`` (arbitrary units).
    ivh_bin_width : float, optional
        Default ``bin_width``.
    ivh_n_bins : int
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

    resample_mm: float | None = Field(default=None, gt=0)
    resample_in_plane: bool = False
    interpolation: Literal["cubic", "linear", "nearest"] = "cubic"
    round_intensities: bool = False
    resegment_range: tuple[float | None, float | None] | None = None
    outlier_sigma: float | None = Field(default=None, gt=0)
    normalise: bool = False
    discretisation: Literal["fbn", "fbs", "none"] = "fbn"
    n_bins: int = Field(default=32, ge=2)
    bin_width: float = Field(default=25.0, gt=0)
    ih_n_bins: int | None = Field(default=None, ge=2)
    ivh_discretisation: Literal["none", "fbs", "fbn"] = "none"
    ivh_bin_width: float | None = Field(default=None, gt=0)
    ivh_n_bins: int = Field(default=1000, ge=2)
    families: tuple[str, ...] = FAMILIES
    filters: FilterSettings = FilterSettings()
    original: bool = True
    features: tuple[str, ...] | None = None
    naming: Literal["radiomics", "ibsi"] = "radiomics"
    min_voxels: int = Field(default=27, ge=1)

    @field_validator("families")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = sorted(set(v) - set(FAMILIES))
        if bad:
            raise ValueError(f"unknown feature families {bad}; choose from {list(FAMILIES)}")
        return v

    def target_spacing(self) -> tuple[float, float, float | None]:
        """Requested spacing per (i, j, k) axis (None = keep the slice spacing).

        Raises
        ------
        ConfigError
            ``resample_mm`` is not set.
        """
        if self.resample_mm is None:
            raise ConfigError("no resampling requested: resample_mm is None")
        r = float(self.resample_mm)
        return (r, r, None) if self.resample_in_plane else (r, r, r)


#: Goller 2023 used a modified Vallières toolbox (MATLAB; github.com/mvallieres/radiomics): cubic resampling to
#: isotropic voxels, ROI grey levels normalised to [0, 1], one co-occurrence / run-length matrix merged over the 13
#: directions (IBSI 3D_mrg), "global" variance and skewness of a 100-bin histogram (getGlobalTextures). Its Table 2
#: (entropy 16.2 bits, energy 2e-5, SRE/LRE/RP 0.99–1.01, RLN 0.99) needs thousands of grey levels (64 give at most 12
#: bits) and the normalised RLN. 0.5 mm, 2048 levels and 100 histogram bins are our choice: the paper states none.
_GOLLER = TextureSettings(
    resample_mm=0.5, interpolation="cubic", normalise=True, discretisation="fbn", n_bins=2048, ih_n_bins=100,
    families=("firstorder", "glcm", "glrlm"),
    features=("ih.var", "ih.skew", "cm.energy@3D_mrg", "cm.joint.entr@3D_mrg", "rlm.sre@3D_mrg", "rlm.lre@3D_mrg",
              "rlm.rlnu.norm@3D_mrg", "rlm.r.perc@3D_mrg"),
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
