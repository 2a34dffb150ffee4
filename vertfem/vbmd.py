"""Trabecular volumetric BMD of a prepared vertebra.

Trabecular vBMD (mg/cm³) is the mean calibrated density inside the
vertebral body eroded by a distance (default 6 mm, which removes the cortex;
Li et al. 2022 §2.3), classified by the ACR thresholds (< 80 osteoporosis,
80–120 osteopenia, > 120 mg/cm³ normal; ACR–SPR–SSR practice parameter for
QCT, 2018). BMD (mg/cm³) = 1000 × the calibrated equivalent density (g/cm³).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from .errors import EmptyROIError, VOITooSmallError
from .io import write_image
from .options import Options, parse_options
from .provenance import Provenance, write_record
from .vertebra import Region, Vertebra, erode_mm, region_field

__all__ = ["VBMDOptions", "VBMDResult", "acr_class", "trabecular_vbmd"]


def acr_class(vbmd_mg_cm3: float) -> str:
    """ACR clinical class of a trabecular vBMD (mg/cm³).

    Examples
    --------
    >>> acr_class(75.0), acr_class(100.0), acr_class(150.0)
    ('osteoporosis', 'osteopenia', 'normal')
    """
    if not np.isfinite(vbmd_mg_cm3):
        return "unknown"
    if vbmd_mg_cm3 < 80.0:
        return "osteoporosis"
    if vbmd_mg_cm3 <= 120.0:
        return "osteopenia"
    return "normal"


class VBMDOptions(Options):
    """Options of the vBMD measure.

    Attributes
    ----------
    erosion_mm : float
        Distance removed from the body surface, mm.
    region : {"body", "whole"}
        Erode the isolated body (default) or the whole vertebra.
    min_roi_voxels : int
        Smallest ROI (voxels) that gives a vBMD; fewer raise
        :class:`~vertfem.errors.VOITooSmallError` (a 10 mm CT leaves a handful).
    """

    erosion_mm: float = Field(6.0, ge=0.0, le=20.0, description="ROI = body eroded by this distance, mm")
    region: Region = region_field()
    min_roi_voxels: int = Field(64, ge=1, description="smallest ROI, voxels")


@dataclass(frozen=True, eq=False)
class VBMDResult:
    """Trabecular vBMD of one vertebra.

    Attributes
    ----------
    vertebra : str
    vbmd_mg_cm3 : float
        Mean calibrated density in the ROI, mg/cm³.
    sd_mg_cm3 : float
        Standard deviation over ROI voxels, mg/cm³.
    acr_class : str
    roi_voxels : int
    roi_volume_mm3 : float
    kernel : str
    options : VBMDOptions
    roi : ndarray of bool
        The eroded ROI on the vertebra's crop (:attr:`Vertebra.geometry`).
    provenance : Provenance
    """

    measure: ClassVar[str] = "vbmd"
    vertebra: str
    vbmd_mg_cm3: float
    sd_mg_cm3: float
    acr_class: str
    roi_voxels: int
    roi_volume_mm3: float
    kernel: str
    options: VBMDOptions
    roi: np.ndarray
    source: Vertebra
    provenance: Provenance

    def row(self) -> dict[str, Any]:
        """Scalars as a flat row (units in the column names)."""
        return {
            "vertebra": self.vertebra,
            "kernel": self.kernel,
            "vbmd_mg_cm3": self.vbmd_mg_cm3,
            "vbmd_sd_mg_cm3": self.sd_mg_cm3,
            "acr_class": self.acr_class,
            "vbmd_roi_voxels": self.roi_voxels,
            "vbmd_roi_volume_mm3": self.roi_volume_mm3,
            "vbmd_erosion_mm": self.options.erosion_mm,
        }

    def save(self, folder: str | Path) -> dict[str, Path]:
        """Write ``vbmd.json`` (values + provenance) and the ROI (``vbmd_roi.nii.gz``, on the CT grid)."""
        out = Path(folder)
        roi = self.source.to_scan_grid(self.roi.astype(np.uint8))
        return {"json": write_record(out / "vbmd.json", self.row(), self.provenance),
                "roi": write_image(roi, self.source.scan.geometry, out / "vbmd_roi.nii.gz")}


def trabecular_vbmd(vertebra: Vertebra, options: VBMDOptions | dict[str, Any] | None = None,
                    **overrides: Any) -> VBMDResult:
    """Trabecular vBMD (mg/cm³) of a prepared vertebra.

    Parameters
    ----------
    vertebra : Vertebra
        From :func:`~vertfem.vertebra.prepare_vertebra` (with a calibration).
    options : VBMDOptions or mapping, optional
    **overrides
        Fields of :class:`VBMDOptions`.

    Raises
    ------
    UnknownKernelError
        The vertebra has no calibration.
    EmptyROIError, VOITooSmallError
        Nothing, or fewer than ``min_roi_voxels``, left after erosion.

    Examples
    --------
    >>> import vertfem as vf
    >>> p = vf.example_paths()
    >>> v = vf.prepare_vertebra(p["ct"], p["labels"], "L1", kernel="B40f")
    >>> r = vf.trabecular_vbmd(v)
    >>> round(r.vbmd_mg_cm3, 1), r.acr_class
    (80.0, 'osteopenia')
    """
    opts = parse_options(VBMDOptions, options, where="vbmd options", **overrides)
    cal = vertebra.require_calibration()
    g = vertebra.geometry
    roi = erode_mm(vertebra.region(opts.region), g, opts.erosion_mm)
    n = int(roi.sum())
    if n == 0:
        raise EmptyROIError(
            f"the vBMD ROI of {vertebra.name} is empty after eroding the {opts.region} "
            f"({int(vertebra.region(opts.region).sum())} voxels) by {opts.erosion_mm:g} mm; use a smaller "
            "erosion_mm or a finer scan"
        )
    if n < opts.min_roi_voxels:
        raise VOITooSmallError(
            f"the vBMD ROI of {vertebra.name} holds {n} voxels of {tuple(round(s, 2) for s in g.spacing_mm)} mm, "
            f"fewer than the {opts.min_roi_voxels} a mean density needs: the CT is too coarse for vBMD "
            "(use a CT of ≤ 3 mm voxels, or lower min_roi_voxels knowingly)"
        )
    rho = cal.density_g_cm3(vertebra.hu[roi].astype(float)) * 1000.0
    mean = float(rho.mean())
    return VBMDResult(
        vertebra=vertebra.name, vbmd_mg_cm3=mean, sd_mg_cm3=float(rho.std(ddof=1)) if n > 1 else 0.0,
        acr_class=acr_class(mean), roi_voxels=n, roi_volume_mm3=n * g.voxel_volume_mm3, kernel=cal.kernel,
        options=opts, roi=roi, source=vertebra, provenance=vertebra.provenance("vbmd", opts),
    )
