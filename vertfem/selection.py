"""Selecting one vertebra from a label map, on the CT's physical grid.

The label map may live on another grid than the CT (other origin, spacing or
direction cosines, e.g. a flipped axis); it is resampled into the CT's
physical space with nearest-neighbour interpolation. Nothing assumes that the
two share an index grid.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .errors import (
    AbsurdHUError,
    EmptyMaskError,
    LabelNotFoundError,
    MaskImageMismatchError,
    VertebraCutByFOVError,
)
from .geometry import ImageGeometry, resample_to_geometry
from .io import LabelMap, Scan
from .labels import label_id, vertebra_name

__all__ = [
    "Vertebra",
    "VertebraInfo",
    "select_vertebra",
    "list_vertebrae",
    "labels_on_scan_grid",
    "HU_RANGE",
]

#: Plausible HU range for voxels inside bone; outside it the data are not CT
#: numbers (unrescaled raw values, metal, corrupt data).
HU_RANGE = (-1100.0, 4000.0)


@dataclass(frozen=True, eq=False)
class Vertebra:
    """One vertebra's mask on the CT grid.

    Attributes
    ----------
    mask : ndarray of bool, shape ``geometry.shape``
        Voxels of the vertebra, on the scan's grid.
    geometry : ImageGeometry
        The scan's grid.
    label : int
        Label id in the label map.
    name : str
        Vertebra name (``"L1"``) or ``"label-<id>"`` for a raw id.
    convention : str
        Label convention used to resolve ``name``.
    cut_by_fov : bool
        True when the vertebra touches the image boundary.
    """

    mask: np.ndarray
    geometry: ImageGeometry
    label: int
    name: str
    convention: str
    cut_by_fov: bool = False

    @property
    def volume_mm3(self) -> float:
        """Mask volume, mm³."""
        return float(self.mask.sum()) * self.geometry.voxel_volume_mm3

    def bounding_box(self, margin_vox: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Index box ``(lo, hi)`` in ``(i, j, k)`` order, ``hi`` exclusive."""
        kji = np.argwhere(self.mask)
        lo = np.maximum(kji.min(axis=0) - margin_vox, 0)[::-1]
        hi = np.minimum(kji.max(axis=0) + 1 + margin_vox, self.geometry.shape)[::-1]
        return lo, hi


@dataclass(frozen=True)
class VertebraInfo:
    """Summary of one label of a label map (for ``vertfem info``)."""

    label: int
    name: str | None
    voxels: int
    volume_mm3: float
    min_mm: tuple[float, float, float]
    max_mm: tuple[float, float, float]
    cut_by_fov: bool


def labels_on_scan_grid(labels: LabelMap, geometry: ImageGeometry) -> np.ndarray:
    """The label array on ``geometry``; resampled (nearest) if grids differ.

    Raises
    ------
    MaskImageMismatchError
        When the label map and the image do not overlap in physical space.
    """
    if labels.geometry.same_grid(geometry):
        return labels.labels
    lo_a, hi_a = labels.geometry.bounds_mm()
    lo_b, hi_b = geometry.bounds_mm()
    if np.any(hi_a <= lo_b) or np.any(hi_b <= lo_a):
        raise MaskImageMismatchError(
            f"label map {labels.path} (physical box {np.round(lo_a, 1).tolist()}–{np.round(hi_a, 1).tolist()} mm) "
            f"does not overlap the CT (box {np.round(lo_b, 1).tolist()}–{np.round(hi_b, 1).tolist()} mm); "
            "check that the mask belongs to this scan and that both headers carry the right origin/direction"
        )
    out = resample_to_geometry(labels.labels, labels.geometry, geometry, interpolation="nearest")
    if labels.labels.any() and not out.any():
        raise MaskImageMismatchError(
            f"label map {labels.path} has no labelled voxel inside the CT's field of view after "
            "resampling to the CT grid; check that the mask belongs to this scan"
        )
    return out


def _touches_boundary(mask: np.ndarray) -> int:
    """Number of mask voxels on the outer faces of the array."""
    n = 0
    for axis in range(3):
        n += int(np.take(mask, 0, axis=axis).sum()) + int(np.take(mask, -1, axis=axis).sum())
    return n


def _outside_fov(labels: LabelMap, label: int, geometry: ImageGeometry) -> int:
    """Voxels of ``label`` whose centres fall outside the CT's field of view."""
    if labels.geometry.same_grid(geometry):
        return 0
    kji = np.argwhere(labels.labels == label)
    if len(kji) == 0:
        return 0
    ijk = geometry.physical_to_index(labels.geometry.index_to_physical(kji[:, ::-1].astype(float)))
    size = np.asarray(geometry.size)
    inside = np.all((ijk >= -0.5) & (ijk <= size - 0.5), axis=1)
    return int((~inside).sum())


def select_vertebra(
    scan: Scan,
    labels: LabelMap,
    vertebra: str | int,
    *,
    convention: str = "totalsegmentator",
    allow_cut: bool = False,
    hu_range: tuple[float, float] = HU_RANGE,
) -> Vertebra:
    """Select one vertebra of a label map on the CT's physical grid.

    Parameters
    ----------
    scan : Scan
        The CT.
    labels : LabelMap
        Label map, on any grid overlapping the CT.
    vertebra : str or int
        Name in ``convention`` (``"L1"``) or a raw label id.
    convention : str
        ``"totalsegmentator"`` (v2 total), ``"totalsegmentator-v1"`` or ``"verse"``.
    allow_cut : bool
        Proceed (with a warning) when the vertebra touches the image boundary.
    hu_range : (float, float)
        Plausible HU range inside the vertebra.

    Returns
    -------
    Vertebra

    Raises
    ------
    LabelNotFoundError, EmptyMaskError, MaskImageMismatchError,
    VertebraCutByFOVError, AbsurdHUError

    Examples
    --------
    >>> import vertfem as vf
    >>> p = vf.example_paths()
    >>> v = vf.select_vertebra(vf.read_scan(p["ct"]), vf.read_labels(p["labels"]), "L1")
    >>> v.label
    31
    """
    lid = label_id(vertebra, convention)
    name = vertebra_name(lid, convention) if not str(vertebra).strip().isdigit() else None
    name = name or (str(vertebra).upper() if isinstance(vertebra, str) and not vertebra.isdigit() else f"label-{lid}")
    present = labels.present_labels()
    if not present:
        raise EmptyMaskError(f"label map {labels.path} is empty (all zeros); segment the spine first")
    if lid not in present:
        listing = ", ".join(f"{i} ({vertebra_name(i, convention) or '?'})" for i in sorted(present))
        raise LabelNotFoundError(
            f"vertebra {vertebra!r} (label {lid} in the {convention!r} convention) is not in {labels.path}; "
            f"labels present: {listing}. Check the vertebra name and the label convention"
        )
    on_grid = labels_on_scan_grid(labels, scan.geometry)
    mask = on_grid == lid
    if not mask.any():
        raise EmptyMaskError(
            f"vertebra {name} (label {lid}) of {labels.path} has no voxel on the CT grid of {scan.path} "
            "after resampling; it lies outside the CT's field of view or is thinner than one CT voxel"
        )
    n_edge = _touches_boundary(mask) + _outside_fov(labels, lid, scan.geometry)
    cut = n_edge > 0
    if cut:
        msg = (
            f"vertebra {name} (label {lid}) touches the boundary of the CT {scan.path} "
            f"({n_edge} voxels on or beyond the edge of the field of view): it is probably cut, "
            "and volume, vBMD and FE results would be wrong"
        )
        if not allow_cut:
            raise VertebraCutByFOVError(msg + "; pick another vertebra or pass allow_cut=True (--allow-cut) to proceed anyway")
        warnings.warn(msg, stacklevel=2)
    _check_hu(scan, mask, name, hu_range)
    return Vertebra(mask=mask, geometry=scan.geometry, label=lid, name=name, convention=convention, cut_by_fov=cut)


def _check_hu(scan: Scan, mask: np.ndarray, name: str, hu_range: tuple[float, float]) -> None:
    values = scan.hu[mask]
    lo, hi = hu_range
    n_bad = int(((values < lo) | (values > hi)).sum())
    median = float(np.median(values))
    if n_bad or not (-300.0 <= median <= 2000.0):
        raise AbsurdHUError(
            f"CT {scan.path}: HU inside vertebra {name} are implausible (median {median:.0f} HU, "
            f"{n_bad} voxels outside [{lo:.0f}, {hi:.0f}] HU, range {values.min():.0f}..{values.max():.0f}); "
            "the image may not be rescaled to HU (check RescaleSlope/Intercept), contain metal, or the mask "
            "may belong to another scan"
        )


def list_vertebrae(
    labels: LabelMap,
    geometry: ImageGeometry | None = None,
    *,
    convention: str = "totalsegmentator",
) -> list[VertebraInfo]:
    """Every label of a label map with name, size, physical extent and FOV cut flag.

    Parameters
    ----------
    labels : LabelMap
    geometry : ImageGeometry, optional
        The CT's grid; labels are resampled onto it first when given.
    convention : str
        Label convention used to name the ids.
    """
    geom = geometry or labels.geometry
    arr = labels_on_scan_grid(labels, geom) if geometry is not None else labels.labels
    out = []
    for lid in sorted(int(i) for i in np.unique(arr) if i != 0):
        m = arr == lid
        kji = np.argwhere(m)
        pts = geom.index_to_physical(kji[:, ::-1].astype(float))
        cut = _touches_boundary(m) > 0 or (geometry is not None and _outside_fov(labels, lid, geom) > 0)
        out.append(
            VertebraInfo(
                label=lid,
                name=vertebra_name(lid, convention),
                voxels=int(m.sum()),
                volume_mm3=float(m.sum() * geom.voxel_volume_mm3),
                min_mm=tuple(np.round(pts.min(axis=0), 2).tolist()),
                max_mm=tuple(np.round(pts.max(axis=0), 2).tolist()),
                cut_by_fov=bool(cut),
            )
        )
    return out
