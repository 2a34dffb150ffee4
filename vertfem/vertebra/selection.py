"""Selecting one vertebra from a label map, on the CT's physical grid.

The label map may live on another grid than the CT (other origin, spacing or
direction cosines, e.g. a flipped axis); it is resampled into the CT's
physical space with nearest-neighbour interpolation. Nothing assumes that the
two share an index grid.

The selected mask is checked for what a label map of a clinical CT can get
wrong: stray islands carrying the vertebra's label (the largest connected
component is kept, the rest recorded; a second component the size of a
vertebra is refused as a mislabelled neighbour), and a vertebra cut by the
field of view of the CT *or of the label map* (a label map that ends inside
the vertebra while the CT goes on).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..errors import (
    EmptyMaskError,
    LabelNotFoundError,
    MaskImageMismatchError,
    SegmentationError,
    VertebraCutByFOVError,
)
from ..geometry import ImageGeometry, resample_to_geometry
from ..io import LabelMap
from ..labels import label_id, vertebra_name
from ..provenance import Flag

__all__ = ["SECOND_COMPONENT_MAX", "Selection", "VertebraInfo", "labels_on_scan_grid", "list_vertebrae", "select_mask"]

#: A second connected component larger than this fraction of the largest is a mislabelled neighbour, not an island.
SECOND_COMPONENT_MAX = 0.25

_CONNECTIVITY = np.ones((3, 3, 3), bool)


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


@dataclass(frozen=True, eq=False)
class Selection:
    """One vertebra's voxels on the CT grid, with what the selection had to record.

    Attributes
    ----------
    mask : ndarray of bool, shape of the CT grid
    label : int
        Label id in the label map.
    name : str
        Vertebra name (``"L1"``) or ``"label-<id>"``.
    flags : tuple of Flag
        ``cut_by_fov``, ``islands_removed``.
    """

    mask: np.ndarray
    label: int
    name: str
    flags: tuple[Flag, ...]


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


def touches_boundary(mask: np.ndarray) -> int:
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


def _edge_voxels(labels: LabelMap, label: int, mask: np.ndarray, geometry: ImageGeometry) -> tuple[int, int]:
    """Voxels on the CT's edge or beyond it, and voxels on the label map's own edge."""
    on_ct = touches_boundary(mask) + _outside_fov(labels, label, geometry)
    on_labels = 0 if labels.geometry.same_grid(geometry) else touches_boundary(labels.labels == label)
    return on_ct, on_labels


def _resolve(labels: LabelMap, vertebra: str | int, convention: str, mask_label: int | None) -> tuple[int, str]:
    """Label id to select and the name the outputs carry."""
    if mask_label is not None:
        text = str(vertebra).strip()
        return int(mask_label), (text.upper() if text.lower() != "sacrum" else "sacrum")
    lid = label_id(vertebra, convention)
    if isinstance(vertebra, (int, np.integer)) or str(vertebra).strip().isdigit():
        return lid, f"label-{lid}"
    return lid, vertebra_name(lid, convention) or str(vertebra).upper()


def _largest_component(mask: np.ndarray, name: str, path: str, voxel_mm3: float) -> tuple[np.ndarray, list[Flag]]:
    lab, n = ndimage.label(mask, structure=_CONNECTIVITY)
    if n <= 1:
        return mask, []
    sizes = np.bincount(lab.ravel())[1:]
    order = np.argsort(sizes)[::-1]
    first, second = int(sizes[order[0]]), int(sizes[order[1]])
    if second > SECOND_COMPONENT_MAX * first:
        raise SegmentationError(
            f"vertebra {name} in {path} consists of {n} separate pieces, the two largest of {first} and {second} "
            f"voxels ({first * voxel_mm3 / 1000:.1f} and {second * voxel_mm3 / 1000:.1f} cm³): the second is too large "
            "to be a stray island — probably a neighbouring vertebra carries the same label. Correct the label map"
        )
    removed = int(mask.sum()) - first
    msg = (f"{n - 1} stray island(s) with the label of {name} removed ({removed} voxels, "
           f"{removed * voxel_mm3:.0f} mm³); the largest connected component ({first} voxels) is analysed")
    return lab == order[0] + 1, [Flag("islands_removed", msg)]


def select_mask(
    labels: LabelMap,
    on_grid: np.ndarray,
    geometry: ImageGeometry,
    vertebra: str | int,
    *,
    convention: str = "totalsegmentator",
    mask_label: int | None = None,
    allow_cut: bool = False,
) -> Selection:
    """Select one vertebra's voxels on the CT grid and check them.

    Parameters
    ----------
    labels : LabelMap
        The label map as read (its own grid).
    on_grid : ndarray of int
        The label map on the CT grid (:func:`labels_on_scan_grid`).
    geometry : ImageGeometry
        The CT grid.
    vertebra : str or int
        Name in ``convention`` (``"L1"``) or a raw label id.
    convention : str
        Label convention used to resolve the name.
    mask_label : int, optional
        For a binary (or any single-vertebra) mask: the label value to
        select; ``vertebra`` then only names the level in the outputs.
    allow_cut : bool
        Proceed, with a ``cut_by_fov`` flag, when the vertebra is cut by the
        field of view of the CT or of the label map.

    Raises
    ------
    EmptyMaskError, LabelNotFoundError, VertebraCutByFOVError, SegmentationError
    """
    lid, name = _resolve(labels, vertebra, convention, mask_label)
    present = labels.present_labels()
    if not present:
        raise EmptyMaskError(f"label map {labels.path} is empty (all zeros); segment the spine first")
    if lid not in present:
        listing = ", ".join(f"{i} ({vertebra_name(i, convention) or '?'})" for i in sorted(present))
        hint = ("; it holds a single label — a binary mask of one vertebra? Select it with mask_label "
                f"(--mask-label {next(iter(present))} --vertebra <level>)") if len(present) == 1 else (
                "; check the vertebra name and the label convention")
        raise LabelNotFoundError(
            f"vertebra {vertebra!r} (label {lid}"
            + (f" in the {convention!r} convention" if mask_label is None else ", given as mask_label")
            + f") is not in {labels.path}; labels present: {listing}{hint}"
        )
    mask = on_grid == lid
    if not mask.any():
        raise EmptyMaskError(
            f"vertebra {name} (label {lid}) of {labels.path} has no voxel on the CT grid after resampling; "
            "it lies outside the CT's field of view or is thinner than one CT voxel"
        )
    mask, flags = _largest_component(mask, name, labels.path, geometry.voxel_volume_mm3)
    on_ct, on_labels = _edge_voxels(labels, lid, mask, geometry)
    if on_ct or on_labels:
        where = []
        if on_ct:
            where.append(f"{on_ct} voxels on or beyond the edge of the CT's field of view")
        if on_labels:
            where.append(f"{on_labels} voxels on the edge of the label map {labels.path}, which ends inside it")
        msg = (f"vertebra {name} (label {lid}) is probably cut ({'; '.join(where)}): volume, vBMD and FE results "
               "of a cut vertebra are wrong")
        if not allow_cut:
            raise VertebraCutByFOVError(msg + "; pick another vertebra or pass allow_cut=True (--allow-cut) to "
                                        "proceed with the result flagged")
        flags.append(Flag("cut_by_fov", msg))
    return Selection(mask=mask, label=lid, name=name, flags=tuple(flags))


def _xyz(p: np.ndarray) -> tuple[float, float, float]:
    return float(round(p[0], 2)), float(round(p[1], 2)), float(round(p[2], 2))


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

    Examples
    --------
    >>> import vertfem as vf
    >>> p = vf.example_paths()
    >>> infos = list_vertebrae(vf.read_labels(p["labels"]))
    >>> [(i.name, i.cut_by_fov) for i in infos][-3:]
    [('L1', False), ('T12', True), ('T11', True)]
    """
    geom = geometry or labels.geometry
    arr = labels_on_scan_grid(labels, geom) if geometry is not None else labels.labels
    out = []
    for lid in sorted(int(i) for i in np.unique(arr) if i != 0):
        m = arr == lid
        kji = np.argwhere(m)
        pts = geom.index_to_physical(kji[:, ::-1].astype(float))
        cut = sum(_edge_voxels(labels, lid, m, geom)) if geometry is not None else touches_boundary(m)
        out.append(
            VertebraInfo(
                label=lid,
                name=vertebra_name(lid, convention),
                voxels=int(m.sum()),
                volume_mm3=float(m.sum() * geom.voxel_volume_mm3),
                min_mm=_xyz(pts.min(axis=0)),
                max_mm=_xyz(pts.max(axis=0)),
                cut_by_fov=bool(cut),
            )
        )
    return out
