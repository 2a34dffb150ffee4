"""The endplates of a vertebral body, found from its anatomy: the body mask and the vertebral frame.

The cranial and caudal surfaces of the body are read off the body mask as two
height fields over the body's footprint (columns parallel to the cranial axis,
:class:`BodyEndplates`). Each endplate is the part of its surface that faces
its own direction rather than the wall: where the surface normal lies closer
to the endplate's normal than to the wall's, i.e. within 45° of the
endplate's plane. On a CT-derived surface the rim, where the endplate turns
into the cortical wall, is a corner rounded over a voxel or two; the 45° line
is that corner's bisector, the point of the rounded surface nearest to the
sharp corner it blurs. The endplate's plane is fitted to the endplate itself
(iterated with the selection), so the two endplates of a wedge-shaped body
(L5, a fracture) each get their own normal, and the region is one connected
patch with its holes filled (CT terraces, a Schmorl's node).

What this module returns is geometry of the body, independent of any mesh:
the footprint (where a model's surface belongs to the body and not to a
posterior element), the height fields (how far below the body's cranial
surface a point lies), and per endplate its fitted normal, centre, projected
area and tilt against the frame. :mod:`vertfem.meshing.endplates` selects a
mesh's endplate faces with it, so a whole-vertebra model loads the body's
endplates only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..errors import EmptyMaskError
from ..geometry import ImageGeometry
from .frame import VertebralFrame

__all__ = ["RIM_BISECTOR_DEG", "EndplateSurface", "BodyEndplates", "find_endplates"]

#: The rim criterion: a surface point belongs to an endplate when its normal lies within this angle of the endplate's
#: normal, i.e. closer to the endplate's normal than to the (perpendicular) wall's: the bisector of the rim's corner.
RIM_BISECTOR_DEG = 45.0

_GRID_MM = 1.0  # column spacing of the height fields
_STEP_MM = 0.25  # sampling step along each column


@dataclass(frozen=True)
class EndplateSurface:
    """One endplate of a body, in scanner coordinates unless named otherwise.

    Attributes
    ----------
    name : str
        ``"superior"`` or ``"inferior"``.
    normal : (3,) tuple
        Outward unit normal of the endplate's fitted plane (cranial-pointing for the superior endplate).
    centre_mm : (3,) tuple
        Centroid of the endplate region (on the surface).
    area_mm2 : float
        Area of the endplate region projected on the plane perpendicular to the frame's cranial axis.
    tilt_deg : float
        Angle between ``normal`` and the frame's outward axis (cranial for the superior endplate).
    """

    name: str
    normal: tuple[float, float, float]
    centre_mm: tuple[float, float, float]
    area_mm2: float
    tilt_deg: float

    def as_dict(self) -> dict:
        """JSON-ready form."""
        return {"normal": list(self.normal), "centre_mm": list(self.centre_mm), "area_mm2": self.area_mm2,
                "tilt_deg": self.tilt_deg}


@dataclass(frozen=True, eq=False)
class BodyEndplates:
    """The body's footprint, its cranial and caudal height fields and its two endplates.

    The grid lies in the frame's plane: cell ``(a, b)`` is the column through
    frame coordinates ``(lateral, anterior) = origin_mm + spacing_mm · (a, b)``.

    Attributes
    ----------
    frame : VertebralFrame
    origin_mm : (2,) tuple
        Frame coordinates (lateral, anterior) of cell (0, 0), mm.
    spacing_mm : float
    top_mm, bottom_mm : ndarray (na, nb)
        Frame cranial coordinate of the body's cranial and caudal surfaces in each column, mm (NaN off the body).
    superior, inferior : EndplateSurface
    superior_region, inferior_region : ndarray of bool (na, nb)
        Columns whose cranial (caudal) surface belongs to the endplate.
    cross_section_mm2 : float
        Area of the body's section perpendicular to the cranial axis, halfway between the endplates' centres.
    """

    frame: VertebralFrame
    origin_mm: tuple[float, float]
    spacing_mm: float
    top_mm: np.ndarray
    bottom_mm: np.ndarray
    superior: EndplateSurface
    inferior: EndplateSurface
    superior_region: np.ndarray
    inferior_region: np.ndarray
    cross_section_mm2: float

    @property
    def footprint(self) -> np.ndarray:
        """Columns that cross the body."""
        return np.isfinite(self.top_mm)

    @property
    def wedge_deg(self) -> float:
        """Angle between the two endplates' planes, degrees (0 for parallel endplates)."""
        c = -np.dot(self.superior.normal, self.inferior.normal)
        return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))

    def cells(self, local_mm: np.ndarray) -> np.ndarray:
        """Grid cell ``(a, b)`` of frame points (n, 3), clipped to the grid."""
        ab = np.rint((np.asarray(local_mm)[:, :2] - np.asarray(self.origin_mm)) / self.spacing_mm).astype(int)
        return np.clip(ab, 0, np.asarray(self.top_mm.shape) - 1)

    def region(self, side: str) -> np.ndarray:
        """The endplate region (columns) of ``side`` (``"superior"`` or ``"inferior"``)."""
        if side not in ("superior", "inferior"):
            raise ValueError(f"side must be 'superior' or 'inferior', got {side!r}")
        return self.superior_region if side == "superior" else self.inferior_region

    def distance_to_region_mm(self, local_mm: np.ndarray, side: str) -> np.ndarray:
        """Distance (mm) of frame points' columns from the endplate region of ``side`` (0 inside)."""
        a, b = self.cells(local_mm).T
        return self._region_maps[side][0][a, b]

    def endplate_height_mm(self, local_mm: np.ndarray, side: str) -> np.ndarray:
        """Cranial coordinate (mm) of the endplate of ``side`` in the columns of frame points.

        Columns outside the region take the endplate's height in the nearest region column, so a point beside
        the body (a process, a pedicle) is compared with the endplate, not with its own surface.
        """
        a, b = self.cells(local_mm).T
        return self._region_maps[side][1][a, b]

    @functools.cached_property
    def _region_maps(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        out = {}
        for side, height in (("superior", self.top_mm), ("inferior", self.bottom_mm)):
            dist, (ia, ib) = ndimage.distance_transform_edt(~self.region(side), return_indices=True)
            out[side] = (dist * self.spacing_mm, height[ia, ib])
        return out

    def as_dict(self) -> dict:
        """JSON-ready summary (no arrays)."""
        return {"superior": self.superior.as_dict(), "inferior": self.inferior.as_dict(), "wedge_deg": self.wedge_deg,
                "cross_section_mm2": self.cross_section_mm2,
                "footprint_mm2": float(self.footprint.sum() * self.spacing_mm**2)}


def _crossings(values: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cranial-most and caudal-most 0.5 crossings of each column of ``values`` (na, nb, nz), NaN when none."""
    inside = values > 0.5
    any_in = inside.any(axis=2)
    nz = len(z)
    first = np.argmax(inside, axis=2)
    last = nz - 1 - np.argmax(inside[:, :, ::-1], axis=2)
    dz = z[1] - z[0]

    def interp(k_in: np.ndarray, k_out: np.ndarray) -> np.ndarray:
        ok = (k_out >= 0) & (k_out < nz)
        ko = np.clip(k_out, 0, nz - 1)
        vi = np.take_along_axis(values, k_in[..., None], axis=2)[..., 0]
        vo = np.where(ok, np.take_along_axis(values, ko[..., None], axis=2)[..., 0], 0.0)
        frac = np.where(ok, (vi - 0.5) / np.maximum(vi - vo, 1e-9), 0.5)
        return z[k_in] + np.sign(k_out - k_in) * frac * dz

    top = np.where(any_in, interp(last, last + 1), np.nan)
    bottom = np.where(any_in, interp(first, first - 1), np.nan)
    return top, bottom


def _largest_filled(region: np.ndarray) -> np.ndarray:
    lab, n = ndimage.label(region)
    if n == 0:
        return region
    sizes = ndimage.sum(region, lab, index=np.arange(1, n + 1))
    return ndimage.binary_fill_holes(lab == 1 + int(np.argmax(sizes)))


def _endplate_region(height: np.ndarray, xy: tuple[np.ndarray, np.ndarray], spacing: float, smooth_mm: float,
                     sign: float) -> tuple[np.ndarray, np.ndarray]:
    """The endplate region of one height field and the outward normal of its fitted plane (frame coordinates).

    Slopes are read from the height field smoothed over ``smooth_mm`` (one voxel): a CT's slices cut a tilted
    endplate into terraces one voxel high, whose steps would otherwise split the region. The plane is fitted to
    the region and the region re-selected against it until both settle (three passes).
    """
    footprint = np.isfinite(height)
    weight = footprint.astype(float)
    sigma = smooth_mm / spacing
    smooth = ndimage.gaussian_filter(np.where(footprint, height, 0.0), sigma) / np.maximum(
        ndimage.gaussian_filter(weight, sigma), 1e-12)
    gx, gy = np.gradient(smooth, spacing)
    # the footprint's edge has no finite slope: one-sided differences across it are not the surface's
    inner = ndimage.binary_erosion(footprint)
    normal_f = np.stack([-sign * gx, -sign * gy, np.ones_like(gx)], axis=-1)
    normal_f /= np.linalg.norm(normal_f, axis=-1, keepdims=True)
    x, y = xy
    plane = np.array([0.0, 0.0, 1.0])
    cos_max = np.cos(np.radians(RIM_BISECTOR_DEG))
    region = inner
    for _ in range(3):
        region = _largest_filled(inner & (normal_f @ plane >= cos_max))
        if region.sum() < 3:
            break
        a = np.column_stack([np.ones(int(region.sum())), x[region], y[region]])
        coef, *_ = np.linalg.lstsq(a, height[region], rcond=None)
        plane = np.array([-sign * coef[1], -sign * coef[2], 1.0])
        plane /= np.linalg.norm(plane)
    return region, plane


def find_endplates(body: np.ndarray, geometry: ImageGeometry, frame: VertebralFrame, *,
                   smoothing_mm: float | None = None) -> BodyEndplates:
    """The endplates of a vertebral body from its mask and frame.

    Parameters
    ----------
    body : ndarray of bool
        The isolated vertebral body on ``geometry``.
    geometry : ImageGeometry
    frame : VertebralFrame
        The body's frame (:func:`~vertfem.vertebra.frame.vertebral_frame`).
    smoothing_mm : float, optional
        σ of the Gaussian applied to the mask before its surfaces are read;
        default a third of the largest voxel size, as the mesher's surface
        (:func:`~vertfem.meshing.surface.mask_to_surface`).

    Returns
    -------
    BodyEndplates

    Raises
    ------
    EmptyMaskError
        The mask is empty, or has no surface facing cranially or caudally.

    Examples
    --------
    A box 16 mm high at its centre with a 10° wedge between its endplates, in 0.5 mm voxels:

    >>> g = ImageGeometry((100, 100, 80), (0, 0, 0), (0.5, 0.5, 0.5), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    >>> z, y, x = np.mgrid[:80, :100, :100] * 0.5
    >>> t = np.tan(np.radians(5.0))
    >>> box = (abs(x - 25) < 15) & (abs(y - 25) < 12) & (abs(z - 20) < 8 + t * (y - 25))
    >>> f = VertebralFrame((25.0, 25.0, 20.0), (0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0), -9.0, 9.0)
    >>> e = find_endplates(box, g, f)
    >>> round(e.wedge_deg, 1), round(e.superior.tilt_deg, 1), e.cross_section_mm2
    (9.4, 4.7, 720.0)
    """
    mask = np.asarray(body, dtype=bool)
    if not mask.any():
        raise EmptyMaskError("cannot find endplates of an empty body mask")
    sigma = max(geometry.spacing_mm) / 3.0 if smoothing_mm is None else smoothing_mm
    soft = ndimage.gaussian_filter(mask.astype(np.float32), sigma / np.asarray(geometry.spacing_mm)[::-1])
    kji = np.argwhere(mask)
    local = frame.to_local(geometry.index_to_physical(kji[:, ::-1].astype(float)))
    margin = 2.0 * max(geometry.spacing_mm)
    lo, hi = local.min(axis=0) - margin, local.max(axis=0) + margin
    xs = np.arange(lo[0], hi[0] + _GRID_MM, _GRID_MM)
    ys = np.arange(lo[1], hi[1] + _GRID_MM, _GRID_MM)
    zs = np.arange(lo[2], hi[2] + _STEP_MM, _STEP_MM)
    pts = np.stack(np.meshgrid(xs, ys, zs, indexing="ij"), axis=-1).reshape(-1, 3)
    ijk = geometry.physical_to_index(frame.to_scanner(pts))
    values = ndimage.map_coordinates(soft, ijk[:, ::-1].T, order=1, mode="constant", cval=0.0)
    values = values.reshape(len(xs), len(ys), len(zs))
    top, bottom = _crossings(values, zs)
    if not np.isfinite(top).any():
        raise EmptyMaskError("the body mask vanished when smoothed; it is thinner than the smoothing kernel")
    xx, yy = np.meshgrid(xs, ys, indexing="ij")
    voxel = max(geometry.spacing_mm)
    sup_region, sup_plane = _endplate_region(top, (xx, yy), _GRID_MM, voxel, 1.0)
    inf_region, inf_plane = _endplate_region(bottom, (xx, yy), _GRID_MM, voxel, -1.0)
    if sup_region.sum() < 3 or inf_region.sum() < 3:
        raise EmptyMaskError("the body mask has no surface facing cranially or caudally; check the vertebral frame")
    rot = frame.rotation

    def surface(name: str, region: np.ndarray, plane: np.ndarray, height: np.ndarray, sign: float) -> EndplateSurface:
        centre = np.array([xx[region].mean(), yy[region].mean(), height[region].mean()])
        outward = np.array([plane[0], plane[1], sign * plane[2]])
        return EndplateSurface(
            name, tuple(float(v) for v in rot @ outward), tuple(float(v) for v in frame.to_scanner(centre[None])[0]),
            float(region.sum() * _GRID_MM**2), float(np.degrees(np.arccos(np.clip(plane[2], -1.0, 1.0)))),
        )

    sup = surface("superior", sup_region, sup_plane, top, 1.0)
    inf = surface("inferior", inf_region, inf_plane, bottom, -1.0)
    mid = 0.5 * (np.mean(top[sup_region]) + np.mean(bottom[inf_region]))
    k_mid = int(np.argmin(np.abs(zs - mid)))
    section = float((values[:, :, k_mid] > 0.5).sum() * _GRID_MM**2)
    return BodyEndplates(frame, (float(xs[0]), float(ys[0])), _GRID_MM, top, bottom, sup, inf, sup_region,
                         inf_region, section)
