"""The prepared vertebra: the one value every measure takes.

A :class:`Vertebra` holds the scan (shared, not copied), the vertebra's masks
on a crop of the scan grid (whole vertebra and isolated body), the vertebral
frame, the HU → density calibration, the flags the preparation recorded and
the identity of its inputs. It is prepared once by
:func:`~vertfem.vertebra.prepare_vertebra` and handed to every measure, so all
measures see the same body mask and the same frame.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator

from ..calibration import KernelCalibration
from ..errors import ConfigError, UnknownKernelError
from ..geometry import ImageGeometry, mask_box
from ..io import Scan
from ..labels import CONVENTIONS
from ..options import Options
from ..provenance import Flag, InputFile, Provenance, merge_flags
from .depth import surface_depth_mm
from .frame import VertebralFrame

__all__ = ["CROP_MARGIN_VOX", "Crop", "Region", "Vertebra", "VertebraOptions", "region_field"]

#: Voxels kept around the vertebra's bounding box in :attr:`Vertebra.mask` / :attr:`Vertebra.body`.
CROP_MARGIN_VOX = 4

#: Which part of the vertebra a measure analyses: the isolated vertebral body, or the whole vertebra.
Region = Literal["body", "whole"]


def region_field(default: Region = "body") -> Any:
    """The ``region`` option shared by every measure's options (one name, one meaning)."""
    return Field(default, description="analyse the isolated vertebral body, or the whole vertebra with its "
                                      "posterior elements")


class VertebraOptions(Options):
    """How a vertebra is selected, isolated and checked (the vertebra stage's options).

    Attributes
    ----------
    convention : str
        Label convention of the label map (``totalsegmentator``, ``totalsegmentator-v1``, ``verse``).
    mask_label : int, optional
        Label value to select in a binary (single-vertebra) mask; the vertebra
        name then only names the level.
    allow_cut : bool
        Proceed, with a ``cut_by_fov`` flag, when the vertebra is cut by the field of view.
    opening_mm : float
        Opening radius of the body isolation, mm (larger than the pedicles' half-thickness).
    hu_check : bool
        Refuse CTs not in HU and masks off bone (see :mod:`vertfem.vertebra.guards`).
    anatomy_check : bool
        Refuse vertebrae whose volume is outside the anatomical range of their level.
    """

    convention: str = Field("totalsegmentator", description="label convention of the label map")
    mask_label: int | None = Field(None, ge=1, description="label value of a binary single-vertebra mask")
    allow_cut: bool = Field(False, description="proceed (flagged) when the vertebra is cut by the field of view")
    opening_mm: float = Field(5.5, gt=0.5, le=20.0, description="opening radius of the body isolation, mm")
    hu_check: bool = Field(True, description="refuse CTs not in HU and masks that do not lie on bone")
    anatomy_check: bool = Field(True, description="refuse vertebrae outside their level's anatomical volume range")

    @field_validator("convention")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in CONVENTIONS:
            raise ValueError(f"unknown label convention; choose from {sorted(CONVENTIONS)}")
        return v


@dataclass(frozen=True, eq=False)
class Crop:
    """HU, masks and grid of a box around the vertebra."""

    hu: np.ndarray
    mask: np.ndarray
    body: np.ndarray
    geometry: ImageGeometry


@dataclass(frozen=True, eq=False)
class Vertebra:
    """One prepared vertebra.

    Attributes
    ----------
    name : str
        Level (``"L1"``) or ``"label-<id>"``.
    label : int
        Label id in the label map.
    scan : Scan
        The whole CT (shared).
    box : tuple of slice
        Array slices ``(k, j, i)`` of the crop on the scan grid.
    geometry : ImageGeometry
        Grid of the crop (scanner space, mm).
    mask : ndarray of bool
        Whole vertebra on the crop (largest connected component).
    body : ndarray of bool
        Isolated vertebral body on the crop.
    frame : VertebralFrame
        Vertebral frame of the body (scanner coordinates).
    calibration : KernelCalibration or None
        HU → ash density line; None when no kernel is known (HU-only measures still run).
    flags : tuple of Flag
        What the preparation recorded (``cut_by_fov``, ``islands_removed``, ``coarse_resolution``).
    inputs : dict of str → InputFile
        ``ct`` and ``mask`` with content hashes.
    options : VertebraOptions
    calibration_report : dict, optional
        How a scan-specific (internal) calibration was obtained: tissues, their HU, fitted energy, residuals.
    """

    name: str
    label: int
    scan: Scan
    box: tuple[slice, slice, slice]
    geometry: ImageGeometry
    mask: np.ndarray
    body: np.ndarray
    frame: VertebralFrame
    calibration: KernelCalibration | None
    flags: tuple[Flag, ...]
    inputs: dict[str, InputFile]
    options: VertebraOptions
    calibration_report: dict[str, Any] | None = None

    @property
    def hu(self) -> np.ndarray:
        """HU on the crop (a view of the scan)."""
        return self.scan.hu[self.box]

    @property
    def convention(self) -> str:
        """Label convention the name was resolved in."""
        return self.options.convention

    @property
    def cut_by_fov(self) -> bool:
        """True when the vertebra was accepted although cut by the field of view."""
        return any(f.code == "cut_by_fov" for f in self.flags)

    @property
    def volume_mm3(self) -> float:
        """Whole-vertebra volume, mm³."""
        return float(self.mask.sum()) * self.geometry.voxel_volume_mm3

    @property
    def body_volume_mm3(self) -> float:
        """Vertebral-body volume, mm³."""
        return float(self.body.sum()) * self.geometry.voxel_volume_mm3

    def region(self, region: Region) -> np.ndarray:
        """The body or the whole-vertebra mask on the crop."""
        if region == "body":
            return self.body
        if region == "whole":
            return self.mask
        raise ConfigError(f"region must be 'body' or 'whole', got {region!r}")

    @functools.cached_property
    def body_depth_mm(self) -> np.ndarray:
        """Depth (mm) of each body voxel below the body surface (:func:`~vertfem.vertebra.depth.surface_depth_mm`)."""
        return surface_depth_mm(self.body, self.geometry)

    def require_calibration(self) -> KernelCalibration:
        """The calibration, or :class:`~vertfem.errors.UnknownKernelError` when none was given."""
        if self.calibration is None:
            raise UnknownKernelError(
                f"no HU → density calibration for {self.name}: the scan {self.scan.path} records no reconstruction "
                "kernel; name it (kernel='B40f', --kernel B40f) or give a calibration"
            )
        return self.calibration

    def density_g_cm3(self) -> np.ndarray:
        """Calibrated ash density (g/cm³) on the crop."""
        return self.require_calibration().density_g_cm3(self.hu)

    def crop(self, margin_mm: float) -> Crop:
        """HU, masks and grid of a box ``margin_mm`` around the vertebra (clipped at the image edge)."""
        full = np.zeros(self.scan.geometry.shape, bool)
        full[self.box] = self.mask
        margin = np.ceil(margin_mm / np.asarray(self.scan.geometry.spacing_mm)[::-1]).astype(int)
        box, geom = mask_box(full, self.scan.geometry, margin)
        body = np.zeros_like(full)
        body[self.box] = self.body
        return Crop(self.scan.hu[box], full[box], body[box], geom)

    def to_scan_grid(self, crop_array: np.ndarray, fill: Any = 0) -> np.ndarray:
        """An array on the crop placed into the full scan grid."""
        out = np.full(self.scan.geometry.shape, fill, dtype=crop_array.dtype)
        out[self.box] = crop_array
        return out

    def describe(self) -> dict[str, Any]:
        """JSON-ready identity of the vertebra for provenance records."""
        return {
            "name": self.name,
            "label": self.label,
            "convention": self.convention,
            "scan_kernel": self.scan.kernel,
            "volume_mm3": self.volume_mm3,
            "body_volume_mm3": self.body_volume_mm3,
            "frame": self.frame.as_dict(),
            "options": self.options.model_dump(mode="json"),
        }

    def provenance(self, measure: str, options: Options | dict[str, Any], *flags: Flag,
                   calibrated: bool = True) -> Provenance:
        """The provenance record of a measure's result on this vertebra."""
        opts = options.model_dump(mode="json") if isinstance(options, Options) else dict(options)
        cal = self.calibration.as_dict() if (calibrated and self.calibration is not None) else None
        if cal is not None and self.calibration_report is not None:
            cal["internal"] = self.calibration_report
        return Provenance(measure, opts, dict(self.inputs), self.describe(), cal, merge_flags(self.flags, flags))
