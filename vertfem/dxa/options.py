"""Options of the DXA-equivalent measure (projected aBMD, BMC, area, TBS-like index, T-score)."""

from __future__ import annotations

import itertools
from typing import Literal

from pydantic import Field, field_validator

from ..options import Options
from ..vertebra import Region, region_field

__all__ = ["DXAOptions", "LinearCalibration", "Mineral", "Sex"]

#: What the projection integrates: the calibration's equivalent density as it is, or hydroxyapatite-equivalent.
Mineral = Literal["calibrated", "hydroxyapatite"]
Sex = Literal["female", "male"]


class LinearCalibration(Options):
    """A line ``y = intercept + slope·x`` (e.g. TBS-like index → DXA TBS), fitted on paired data.

    Examples
    --------
    >>> LinearCalibration(slope=0.5, intercept=0.8).apply(1.0)
    1.3
    """

    slope: float = Field(description="slope of the line")
    intercept: float = Field(description="intercept of the line")
    source: str = Field("user", description="where the line comes from (fit, cohort, n, r)")

    def apply(self, x: float) -> float:
        """The calibrated value of ``x``."""
        return self.intercept + self.slope * x


class DXAOptions(Options):
    """Options of the DXA-equivalent measure.

    Attributes
    ----------
    region : {"whole", "body"}
        Project the whole vertebra with its posterior elements (as DXA sees it; default) or the body alone.
    mineral : {"calibrated", "hydroxyapatite"}
        ``calibrated``: the calibration's K2HPO4-equivalent density, which vertfem takes as ash density
        (Jiang 2023); ``hydroxyapatite``: converted to hydroxyapatite-equivalent density, the mineral DXA
        is calibrated in, by the ratio of the two minerals' mass attenuation coefficients at
        ``effective_energy_keV`` (:func:`~vertfem.dxa.projection.mineral_factor`).
    effective_energy_keV : float
        Effective energy of the CT beam for the ``hydroxyapatite`` conversion (≈ 70 keV at 120 kVp).
    pixel_mm : float
        Pixel size of the projection image (and of the TBS-like variogram), mm; about a DXA spine image's.
    margin_mm : float
        The vertebra mask is dilated by this distance before integrating, so that mineral blurred across
        the segmentation boundary (partial volume, the kernel's point-spread function) is counted.
    band_margin_mm : float
        The region of a vertebra reaches this far beyond the body's endplates along the cranial axis (into
        the disc space, as DXA's inter-vertebral lines lie in the disc).
    lateral_margin_mm : float or None
        The region reaches this far beyond the body's lateral extent (DXA boxes are drawn around the body);
        None: no lateral limit (transverse processes included).
    soft_tissue_baseline : bool
        Subtract the soft-tissue density measured in a shell around the vertebra, as DXA subtracts the soft
        tissue beside the spine.
    baseline_shell_mm : float
        Thickness of that shell, mm (outside the dilated mask).
    tbs_region : {"body", "whole"}
        The projection the TBS-like index reads: the vertebral body alone (default; a CT can leave out the
        posterior elements, whose projected edges otherwise dominate the variogram) or the whole vertebra as DXA
        sees it. Either is projected without the soft-tissue baseline, so that scaling all mineral leaves the index
        unchanged (:mod:`vertfem.dxa.tbs`).
    tbs_lags_px : tuple of int
        Lags (pixels) of the variogram whose log–log slope is the TBS-like index (default 3–8: beyond the CT's
        point-spread function at 1 mm pixels, see :mod:`vertfem.dxa.tbs`).
    tbs_erosion_mm : float
        The variogram's region is the projected body eroded by this distance (edges excluded).
    tbs_calibration : LinearCalibration, optional
        Line from the TBS-like index to DXA TBS (:func:`~vertfem.dxa.tbs.fit_tbs_calibration`).
    abmd_calibration : LinearCalibration, optional
        Line from the projected aBMD to a DXA device's aBMD, fitted on paired data
        (:func:`~vertfem.dxa.measure.fit_abmd_calibration`); T-score and %YAM then use the calibrated value.
    reference : str, optional
        Young-adult reference YAML (default: the shipped one, :mod:`vertfem.data` ``dxa/``).
    sex : {"female", "male"}
        Which reference row the T-score and %YAM use.
    """

    region: Region = region_field("whole")
    mineral: Mineral = Field("calibrated", description="integrate the calibrated density or its hydroxyapatite "
                                                        "equivalent")
    effective_energy_keV: float = Field(70.0, ge=40.0, le=150.0, description="effective CT energy for the "
                                                                               "hydroxyapatite conversion, keV")
    pixel_mm: float = Field(1.0, ge=0.2, le=3.0, description="projection pixel size, mm")
    margin_mm: float = Field(2.0, ge=0.0, le=10.0, description="mask dilation capturing blurred mineral, mm")
    band_margin_mm: float = Field(3.0, ge=0.0, le=10.0, description="region beyond the endplates, mm")
    lateral_margin_mm: float | None = Field(3.0, ge=0.0, le=40.0, description="region beyond the body's sides, "
                                                                               "mm (none: no lateral limit)")
    soft_tissue_baseline: bool = Field(True, description="subtract the soft-tissue density around the vertebra")
    baseline_shell_mm: float = Field(6.0, gt=0.0, le=30.0, description="soft-tissue shell thickness, mm")
    tbs_region: Region = Field("body", description="projection of the TBS-like index: the vertebral body alone "
                                                   "or the whole vertebra")
    tbs_lags_px: tuple[int, ...] = Field((3, 4, 5, 6, 7, 8), min_length=2, description="variogram lags of the TBS-like "
                                                                               "slope, pixels")
    tbs_erosion_mm: float = Field(2.0, ge=0.0, le=10.0, description="TBS region = projected body eroded by "
                                                                    "this, mm")
    tbs_calibration: LinearCalibration | None = Field(None, description="TBS-like index → DXA TBS line")
    abmd_calibration: LinearCalibration | None = Field(None, description="projected aBMD → DXA aBMD line")
    reference: str | None = Field(None, description="young-adult reference YAML (default: shipped)")
    sex: Sex = Field("female", description="reference sex for T-score and %YAM")

    @field_validator("tbs_lags_px")
    @classmethod
    def _increasing(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if min(v) < 1 or any(b <= a for a, b in itertools.pairwise(v)):
            raise ValueError("lags must be positive and strictly increasing")
        return v
