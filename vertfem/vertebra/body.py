"""Vertebral-body isolation and the cortical-shell / cancellous-core split.

Body isolation (whole vertebra → body): a morphological opening with a ball
larger than the pedicles' half-thickness (default 5.5 mm, in mm so it works
from 0.5 to 3 mm voxels) disconnects most of the posterior elements; the
connected component holding the thickest point is the body core, which gives
the vertebral frame. The body is the original mask near the core (restoring
the rim the ball rounds off) and anterior of the posterior wall, found as the
front of the spinal canal on the mid-sagittal strip — this cuts the pedicles
at the wall even where thick pedicles survive the opening. A mask that is
already a body passes through (it has no canal).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..errors import EmptyMaskError, EmptyROIError, SegmentationError
from ..geometry import ImageGeometry, mask_box
from .depth import distance_inside_mm, surface_depth_mm
from .frame import VertebralFrame, vertebral_frame

__all__ = ["cortical_split", "isolate_body"]


#: A second thick core this large (fraction of the largest) is a second vertebral body in the same mask.
SECOND_BODY_FRACTION = 0.4


def _largest_thick_component(core: np.ndarray, dist: np.ndarray) -> np.ndarray:
    lab, n = ndimage.label(core)
    if n <= 1:
        return core
    sizes = np.sort(np.bincount(lab.ravel())[1:])[::-1]
    if sizes[1] >= SECOND_BODY_FRACTION * sizes[0]:
        raise SegmentationError(
            f"the mask holds two vertebral bodies (thick cores of {sizes[0]} and {sizes[1]} voxels): probably a "
            "neighbouring vertebra carries the same label (the two touch, so they form one piece); correct the "
            "label map"
        )
    thickest = np.unravel_index(int(np.argmax(np.where(core, dist, -1))), core.shape)
    return lab == lab[thickest]


def _posterior_wall_mm(mask: np.ndarray, geometry: ImageGeometry, frame: VertebralFrame) -> float:
    """Position of the body's posterior wall along the anterior axis (mm from the centroid).

    Walks from the body centroid towards the back along the mid-sagittal
    strip; the wall is where the mask first ends, i.e. the front of the
    spinal canal. Without a canal (body-only mask) it is the back of the mask.
    """
    c = np.asarray(frame.centroid_mm)
    ant, lat, cran = (np.asarray(v) for v in (frame.anterior, frame.lateral, frame.cranial))
    step = 0.25 * min(geometry.spacing_mm)
    t = -np.arange(0.0, 80.0, step)
    offsets = [(s_, z) for s_ in (-3.0, 0.0, 3.0) for z in (-0.2, 0.0, 0.2)]
    h = frame.height_mm
    pts = np.array([[c + ti * ant + s_ * lat + z * h * cran for ti in t] for s_, z in offsets]).reshape(-1, 3)
    ijk = np.rint(geometry.physical_to_index(pts)).astype(int)
    inside_grid = np.all((ijk >= 0) & (ijk < np.asarray(geometry.size)), axis=1)
    vals = np.zeros(len(pts), bool)
    kk = ijk[inside_grid]
    vals[inside_grid] = mask[kk[:, 2], kk[:, 1], kk[:, 0]]
    present = vals.reshape(len(offsets), len(t)).mean(axis=0) > 0.5
    if not present[0]:
        return float(t[-1])
    gap = np.flatnonzero(~present)
    return float(t[gap[0]] + 0.5 * step) if gap.size else float(t[-1])


def isolate_body(
    mask: np.ndarray,
    geometry: ImageGeometry,
    *,
    opening_mm: float = 5.5,
    posterior_margin_mm: float | None = None,
) -> np.ndarray:
    """Vertebral-body mask from a whole-vertebra mask.

    Parameters
    ----------
    mask : ndarray of bool
        Whole vertebra (body, pedicles, posterior elements) or body only.
    geometry : ImageGeometry
    opening_mm : float
        Opening radius; must exceed the pedicles' half-thickness and stay
        below the body's half-height.
    posterior_margin_mm : float, optional
        How far posterior of the posterior wall the cut lies; default half
        the smallest voxel size.

    Returns
    -------
    ndarray of bool

    Raises
    ------
    EmptyMaskError
        Empty mask, or nothing thicker than ``opening_mm`` (not a vertebral body).
    SegmentationError
        Two vertebral bodies in one mask (a neighbour under the same label).
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        raise EmptyMaskError("cannot isolate a vertebral body from an empty mask")
    # distance maps over the whole CT are wasted work: run on the vertebra's bounding box
    box, sub = mask_box(mask, geometry, 2)
    if sub.size != geometry.size:
        out = np.zeros_like(mask)
        out[box] = isolate_body(mask[box], sub, opening_mm=opening_mm, posterior_margin_mm=posterior_margin_mm)
        return out
    dist = distance_inside_mm(mask, geometry)
    core = dist > opening_mm
    if not core.any():
        raise EmptyMaskError(
            f"no part of the mask is thicker than {opening_mm} mm (max inscribed radius {dist.max():.1f} mm); "
            "it is not a vertebral body at this resolution, or pass a smaller opening_mm"
        )
    core = _largest_thick_component(core, dist)
    sampling = np.asarray(geometry.spacing_mm)[::-1]
    to_core = ndimage.distance_transform_edt(~core, sampling=sampling)
    opened = mask & (to_core <= opening_mm)  # the ball-opening of the core component
    # sqrt(2)·r restores the rim that the ball rounds off at the body's edges
    body = mask & (to_core <= np.sqrt(2.0) * opening_mm + max(geometry.spacing_mm))
    frame = vertebral_frame(opened, geometry, vertebra_mask=mask)
    wall = _posterior_wall_mm(mask, geometry, frame)
    kji = np.argwhere(body)
    pts = geometry.index_to_physical(kji[:, ::-1].astype(float))
    ant = (pts - np.asarray(frame.centroid_mm)) @ np.asarray(frame.anterior)
    margin = 0.5 * min(geometry.spacing_mm) if posterior_margin_mm is None else posterior_margin_mm
    keep = ant >= wall - margin
    out = np.zeros_like(mask)
    out[tuple(kji[keep].T)] = True
    lab, n = ndimage.label(out)
    if n > 1:
        sizes = ndimage.sum(out, lab, index=np.arange(1, n + 1))
        out = lab == (1 + int(np.argmax(sizes)))
    return out


def cortical_split(
    mask: np.ndarray, geometry: ImageGeometry, *, shell_mm: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Split a body mask into the outer shell (thickness ``shell_mm``) and the core.

    A voxel belongs to the shell when its centre lies within ``shell_mm`` of
    the mask surface (half a voxel outside the outermost centres).

    Returns
    -------
    shell, core : ndarray of bool

    Raises
    ------
    EmptyROIError
        When the core is empty (shell thicker than the body).
    """
    mask = np.asarray(mask, dtype=bool)
    depth = surface_depth_mm(mask, geometry)
    core = mask & (depth >= shell_mm)
    if not core.any():
        raise EmptyROIError(f"a {shell_mm} mm cortical shell leaves no cancellous core; use a thinner shell")
    return mask & ~core, core
