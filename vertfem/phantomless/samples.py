"""Reference-tissue samples and the options of sampling them (data; :mod:`.tissues` takes the samples)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import Field

from ..options import Options

__all__ = ["REFERENCE_TISSUES", "TissueSample", "TissueSamples", "TissueSamplingOptions"]

#: Reference tissues and the material (``materials.yaml`` key) each one is.
REFERENCE_TISSUES = ("air", "adipose", "muscle", "blood", "cortical_bone")


class TissueSamplingOptions(Options):
    """Options of reference-tissue sampling (lengths mm, CT numbers HU, volumes mm³).

    Attributes
    ----------
    tissues : tuple of str, optional
        Tissues that must be sampled (each one raises if it cannot be).
        Default: air, adipose and muscle, plus blood when a blood mask is
        given; cortical bone is then tried and skipped if unresolved.
    erosion_mm : float
        Every sampled voxel lies wholly this far inside its structure.
    air_margin_mm : float
        Air is sampled at least this far from any non-air voxel.
    bone_erosion_mm : float
        Erosion of the dense-bone region of the vertebra.
    slab_margin_mm : float
        Tissues are sampled within the vertebra's cranio-caudal extent plus
        this margin above and below.
    pool_mm : float
        Smallest voxel size of the block-averaged working grid (blocks of whole voxels).
    fat_window_hu, muscle_window_hu : (float, float)
        Windows on the smoothed CT that define fat and muscle regions
        (Hounsfield-unit ranges in common body-composition use); the sample
        medians use the unsmoothed CT.
    bone_min_hu : float
        Dense-bone threshold for the cortical-bone sample.
    subcutaneous_depth_mm : float
        Deepest subcutaneous fat sampled below the skin.
    muscle_lateral_mm : (float, float)
        Lateral distance range of the paraspinal-muscle zone from the
        vertebra's mid-sagittal plane (clears the spinal canal).
    muscle_posterior_mm : float
        How far behind the vertebra's posterior end the muscle zone reaches.
    min_air_mm3, min_adipose_mm3, min_muscle_mm3, min_blood_mm3, min_cortical_bone_mm3 : float
        Smallest accepted sample volumes. A median of ~40 or more
        independent voxels is within 0.2 noise SD of the tissue's value; the
        soft-tissue minima (1 cm³) hold 37 voxels of a 3 mm CT.
    """

    tissues: tuple[str, ...] | None = None
    erosion_mm: float = Field(3.0, ge=0.0, le=20.0)
    air_margin_mm: float = Field(10.0, ge=0.0, le=100.0)
    bone_erosion_mm: float = Field(1.0, ge=0.0, le=10.0)
    slab_margin_mm: float = Field(20.0, ge=0.0, le=200.0)
    pool_mm: float = Field(2.0, gt=0.0, le=5.0)
    fat_window_hu: tuple[float, float] = (-200.0, -40.0)
    muscle_window_hu: tuple[float, float] = (-10.0, 120.0)
    bone_min_hu: float = Field(800.0, ge=300.0)
    subcutaneous_depth_mm: float = Field(40.0, gt=0.0)
    muscle_lateral_mm: tuple[float, float] = (12.0, 60.0)
    muscle_posterior_mm: float = Field(40.0, gt=0.0)
    min_air_mm3: float = Field(2000.0, gt=0.0)
    min_adipose_mm3: float = Field(1000.0, gt=0.0)
    min_muscle_mm3: float = Field(1000.0, gt=0.0)
    min_blood_mm3: float = Field(500.0, gt=0.0)
    min_cortical_bone_mm3: float = Field(30.0, gt=0.0)


@dataclass(frozen=True)
class TissueSample:
    """The CT numbers of one sampled reference tissue.

    Attributes
    ----------
    tissue : str
    hu_median : float
        Median HU of the sampled voxels (of the block-averaged grid when the
        scan was pooled).
    hu_spread : float
        Robust SD of the sampled voxels, 1.4826 × MAD, HU.
    n_voxels : int
        Sampled voxels of the working grid.
    volume_mm3 : float
        Sampled volume, mm³.
    centroid_mm : tuple of float
        Physical centroid of the sample (LPS, mm), for checking where it lies.
    source : str
        How the sample was found (``"auto: ..."`` or ``"mask: ..."``).
    """

    tissue: str
    hu_median: float
    hu_spread: float
    n_voxels: int
    volume_mm3: float
    centroid_mm: tuple[float, float, float]
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "tissue": self.tissue, "hu_median": self.hu_median, "hu_spread": self.hu_spread,
            "n_voxels": self.n_voxels, "volume_mm3": self.volume_mm3, "centroid_mm": list(self.centroid_mm),
            "source": self.source,
        }


@dataclass(frozen=True, eq=False)
class TissueSamples:
    """Reference-tissue samples of one scan.

    Attributes
    ----------
    samples : dict of str to TissueSample
    skipped : dict of str to str
        Optional tissues that could not be sampled, with the reason.
    scan_path : str
    working_spacing_mm : tuple of float
        Voxel size of the (block-averaged) grid the samples were taken on.
    """

    samples: dict[str, TissueSample]
    skipped: dict[str, str] = field(default_factory=dict)
    scan_path: str = "<memory>"
    working_spacing_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def hu(self) -> dict[str, float]:
        """Tissue → median HU."""
        return {t: s.hu_median for t, s in self.samples.items()}
