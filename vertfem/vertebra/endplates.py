"""The endplates of a vertebral body, found from its anatomy: the body mask and the vertebral frame.

The cranial and caudal surfaces of the body are read off the body mask as two
height fields over the body's footprint (columns parallel to the frame's
cranial axis). Each endplate is the part of its surface that faces the
endplate's own direction rather than the wall: where the surface normal lies
within 45° of the endplate's plane normal, i.e. closer to it than to the
(perpendicular) wall's. On a CT-derived surface the rim, where the endplate
turns into the cortical wall, is a corner rounded over a voxel or two; the 45°
line is that corner's bisector, the point of the rounded surface nearest to
the sharp corner it blurs (:data:`RIM_BISECTOR_DEG`). The plane is fitted to
the endplate itself (iterated with the selection), so the two endplates of a
wedge-shaped body (L5, a fracture) each get their own normal; the region is
one connected patch with its holes filled (CT terraces, a pit).

A vertebral body spans from its superior to its inferior endplate: the
*column* is where both endplate regions overlap, and each endplate is kept
within one voxel of it. So a process that a body isolation left on the body
(a thick L5 transverse process, a pedicle stub) — which has a top but no
endplate below it, or a bottom but none above — is not taken for an endplate.

What this module returns is geometry of the body, independent of any mesh:
where each endplate lies (region and height per column, fitted normal, centre,
projected area), which columns belong to the rest of the vertebra (posterior
elements), the body's mid-height cross-section and the wedge angle.
:mod:`vertfem.meshing.endplates` selects a mesh's endplate faces with it, so
a whole-vertebra model loads the body's endplates only.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..errors import ConfigError, EmptyMaskError
from ..geometry import ImageGeometry
from .frame import VertebralFrame

__all__ = ["RIM_BISECTOR_DEG", "BodyEndplates", "EndplateSurface", "find_endplates"]

#: The rim criterion: a surface point belongs to an endplate when its normal lies within this angle of the endplate's
#: normal, i.e. closer to the endplate's normal than to the (perpendicular) wall's: the bisector of the rim's corner.
RIM_BISECTOR_DEG = 45.0

_GRID_MM = 1.0  # column spacing of the height fields
_STEP_MM = 0.5  # sampling step along each column (crossings are interpolated)
_SIDES = ("superior", "inferior")
_MAX_DEVIATION_MM = 4.5  # largest distance of an endplate column from its plane (lumbar concavity ≲ 3 mm)


@dataclass(frozen=True)
class EndplateSurface:
    """One endplate of a body, in scanner coordinates.

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
    """The body's cranial and caudal height fields and its two endplates, on a grid of columns.

    Cell ``(a, b)`` of the grid is the column through frame coordinates
    ``(lateral, anterior) = origin_mm + spacing_mm · (a, b)``, parallel to the frame's cranial axis.

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
    others : ndarray of bool (na, nb)
        Columns crossing the rest of the vertebra (posterior elements), when its mask was given.
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
    others: np.ndarray
    cross_section_mm2: float

    @property
    def wedge_deg(self) -> float:
        """Angle between the two endplates' planes, degrees (0 for parallel endplates)."""
        c = -np.dot(self.superior.normal, self.inferior.normal)
        return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))

    def surface(self, side: str) -> EndplateSurface:
        """The endplate of ``side`` (``"superior"`` or ``"inferior"``)."""
        return self.superior if _side(side) == "superior" else self.inferior

    def region(self, side: str) -> np.ndarray:
        """The endplate region (columns) of ``side``."""
        return self.superior_region if _side(side) == "superior" else self.inferior_region

    def cells(self, local_mm: np.ndarray) -> np.ndarray:
        """Grid cell ``(a, b)`` of frame points (n, 3), clipped to the grid."""
        ab = np.rint((np.asarray(local_mm)[:, :2] - np.asarray(self.origin_mm)) / self.spacing_mm).astype(int)
        return np.clip(ab, 0, np.asarray(self.top_mm.shape) - 1)

    def distance_to_region_mm(self, local_mm: np.ndarray, side: str) -> np.ndarray:
        """Distance (mm) of frame points' columns from the endplate region of ``side`` (0 inside).

        Columns of the rest of the vertebra (:attr:`others`) that are not in the region count as infinitely far,
        so no tolerance reaches onto a pedicle or process.
        """
        a, b = self.cells(local_mm).T
        return self._maps[_side(side)][0][a, b]

    def endplate_height_mm(self, local_mm: np.ndarray, side: str) -> np.ndarray:
        """Cranial coordinate (mm) of the endplate of ``side`` in the columns of frame points.

        Columns outside the endplate's region take its height in the nearest region column, so a point beside the
        endplate (on a process, on the rim's outer slope) is compared with the endplate, not with its own surface.
        """
        a, b = self.cells(local_mm).T
        return self._maps[_side(side)][1][a, b]

    @functools.cached_property
    def _maps(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        out = {}
        for side, height in (("superior", self.top_mm), ("inferior", self.bottom_mm)):
            region = self.region(side)
            dist, (ia, ib) = ndimage.distance_transform_edt(~region, return_indices=True)
            dist = np.where(self.others & ~region, np.inf, dist * self.spacing_mm)
            out[side] = (dist, height[ia, ib])
        return out

    def column_mask(self, geometry: ImageGeometry, margin_mm: float) -> np.ndarray:
        """Voxels of ``geometry`` whose column lies within ``margin_mm`` of an endplate region: the body's column.

        A vertebral body lies between its endplates; what a body isolation left
        beside them (a thick transverse process, a pedicle stub) lies outside.
        """
        union = self.superior_region | self.inferior_region
        dist = ndimage.distance_transform_edt(~union) * self.spacing_mm
        kji = np.indices(geometry.shape).reshape(3, -1).T
        local = self.frame.to_local(geometry.index_to_physical(kji[:, ::-1].astype(float)))
        a, b = self.cells(local).T
        # columns beyond the grid are clipped onto its edge cells, which lie off the body
        return (dist[a, b] <= margin_mm).reshape(geometry.shape)

    def clipped(self, *, superior_mm: float | None = None, inferior_mm: float | None = None) -> BodyEndplates:
        """The body cut by planes perpendicular to the cranial axis at these frame heights (a flat-cut model)."""
        top = self.top_mm if superior_mm is None else np.minimum(self.top_mm, superior_mm)
        bottom = self.bottom_mm if inferior_mm is None else np.maximum(self.bottom_mm, inferior_mm)
        return dataclasses.replace(self, top_mm=top, bottom_mm=bottom)

    def as_dict(self) -> dict:
        """JSON-ready summary (no arrays)."""
        return {"superior": self.superior.as_dict(), "inferior": self.inferior.as_dict(), "wedge_deg": self.wedge_deg,
                "cross_section_mm2": self.cross_section_mm2}


def _vec(v: np.ndarray) -> tuple[float, float, float]:
    return float(v[0]), float(v[1]), float(v[2])


def _side(side: str) -> str:
    if side not in _SIDES:
        raise ConfigError(f"side must be 'superior' or 'inferior', got {side!r}")
    return side


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


def _disk(radius_cells: float) -> np.ndarray:
    r = int(np.ceil(radius_cells))
    a, b = np.mgrid[-r:r + 1, -r:r + 1]
    return a**2 + b**2 <= radius_cells**2 + 1e-9


def _endplate_region(height: np.ndarray, xy: tuple[np.ndarray, np.ndarray], spacing: float, sign: float,
                     allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The endplate region of one height field and the outward normal of its fitted plane (frame coordinates).

    A column belongs to the region when the surface's normal lies within the rim bisector of the plane's and the
    surface lies within :data:`_MAX_DEVIATION_MM` of the plane (concavity and CT terraces do; a process beside
    the body, or a notch at its edge, does not). The terraces' steps, one voxel high, may be steeper than the
    bisector: a closing over two cells joins the region across them, and its holes are filled. The plane starts
    perpendicular to the frame's axis at the median height and is refitted to the region (three passes).
    """
    footprint = np.isfinite(height)
    gx, gy = np.gradient(np.where(footprint, height, 0.0), spacing)
    # the footprint's edge has no finite slope: one-sided differences across it are not the surface's
    inner = ndimage.binary_erosion(footprint) & allowed
    normal_f = np.stack([-sign * gx, -sign * gy, np.ones_like(gx)], axis=-1)
    normal_f /= np.linalg.norm(normal_f, axis=-1, keepdims=True)
    x, y = xy
    cos_max = np.cos(np.radians(RIM_BISECTOR_DEG))
    plane = np.array([0.0, 0.0, 1.0])
    flat = inner & (normal_f[..., 2] >= cos_max)
    if not flat.any():
        return flat, plane
    coef = np.array([np.median(height[flat]), 0.0, 0.0])
    region = flat
    for _ in range(3):
        level = np.abs(height - (coef[0] + coef[1] * x + coef[2] * y)) <= _MAX_DEVIATION_MM
        flat = inner & level & (normal_f @ plane >= cos_max)
        region = ndimage.binary_fill_holes(ndimage.binary_closing(flat, _disk(2.0)) & inner)
        if region.sum() < 3:
            break
        a = np.column_stack([np.ones(int(region.sum())), x[region], y[region]])
        coef, *_ = np.linalg.lstsq(a, height[region], rcond=None)
        plane = np.array([-sign * coef[1], -sign * coef[2], 1.0])
        plane /= np.linalg.norm(plane)
    return region, plane


def _sample(mask: np.ndarray, geometry: ImageGeometry, frame: VertebralFrame, sigma_mm: float,
            axes: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """The mask smoothed by a Gaussian of σ ``sigma_mm``, sampled on the frame grid ``axes`` (lateral, anterior,
    cranial)."""
    soft = mask.astype(np.float32)
    if sigma_mm > 0:
        soft = ndimage.gaussian_filter(soft, sigma_mm / np.asarray(geometry.spacing_mm)[::-1])
    # frame → continuous index is affine: map the origin and the three unit vectors once, then broadcast
    corners = geometry.physical_to_index(frame.to_scanner(np.vstack([np.zeros(3), np.eye(3)])))
    origin, steps = corners[0], corners[1:] - corners[0]
    ijk = (origin + axes[0][:, None, None, None] * steps[0] + axes[1][None, :, None, None] * steps[1]
           + axes[2][None, None, :, None] * steps[2])
    out = ndimage.map_coordinates(soft, ijk[..., ::-1].reshape(-1, 3).T, order=1, mode="constant", cval=0.0)
    return out.reshape(ijk.shape[:3])


def find_endplates(body: np.ndarray, geometry: ImageGeometry, frame: VertebralFrame, *,
                   vertebra_mask: np.ndarray | None = None, smoothing_mm: float | None = None) -> BodyEndplates:
    """The endplates of a vertebral body from its mask and frame.

    Parameters
    ----------
    body : ndarray of bool
        The isolated vertebral body on ``geometry``.
    geometry : ImageGeometry
    frame : VertebralFrame
        The body's frame (:func:`~vertfem.vertebra.frame.vertebral_frame`).
    vertebra_mask : ndarray of bool, optional
        The whole vertebra: its columns outside the body are marked (:attr:`BodyEndplates.others`).
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
    voxel = max(geometry.spacing_mm)
    sigma = voxel / 3.0 if smoothing_mm is None else smoothing_mm
    kji = np.argwhere(mask)
    local = frame.to_local(geometry.index_to_physical(kji[:, ::-1].astype(float)))
    lo, hi = local.min(axis=0) - 2.0 * voxel, local.max(axis=0) + 2.0 * voxel
    axes = (np.arange(lo[0], hi[0] + _GRID_MM, _GRID_MM), np.arange(lo[1], hi[1] + _GRID_MM, _GRID_MM),
            np.arange(lo[2], hi[2] + _STEP_MM, _STEP_MM))
    values = _sample(mask, geometry, frame, sigma, axes)
    top, bottom = _crossings(values, axes[2])
    if not np.isfinite(top).any():
        raise EmptyMaskError("the body mask vanished when smoothed; it is thinner than the smoothing kernel")
    xy = np.meshgrid(axes[0], axes[1], indexing="ij")
    everywhere = np.ones(top.shape, bool)
    sup0, _ = _endplate_region(top, xy, _GRID_MM, 1.0, everywhere)
    inf0, _ = _endplate_region(bottom, xy, _GRID_MM, -1.0, everywhere)
    # the body's column: under the superior endplate and over the inferior one (a process has only one of them)
    column = _largest_filled(sup0 & inf0)
    near = ndimage.binary_dilation(column, _disk(voxel / _GRID_MM)) if column.any() else everywhere
    sup_region, sup_plane = _endplate_region(top, xy, _GRID_MM, 1.0, near)
    inf_region, inf_plane = _endplate_region(bottom, xy, _GRID_MM, -1.0, near)
    if sup_region.sum() < 3 or inf_region.sum() < 3:
        raise EmptyMaskError("the body mask has no surface facing cranially or caudally; check the vertebral frame")
    others: np.ndarray = np.zeros(top.shape, bool)
    if vertebra_mask is not None:
        rest = np.asarray(vertebra_mask, bool) & ~mask
        if rest.any():
            others = np.asarray((_sample(rest, geometry, frame, sigma, axes) > 0.5).any(axis=2))
    rot = frame.rotation

    def surface(name: str, region: np.ndarray, plane: np.ndarray, height: np.ndarray, sign: float) -> EndplateSurface:
        centre = np.array([xy[0][region].mean(), xy[1][region].mean(), height[region].mean()])
        outward = np.array([plane[0], plane[1], sign * plane[2]])
        return EndplateSurface(
            name, _vec(rot @ outward), _vec(frame.to_scanner(centre[None])[0]),
            float(region.sum() * _GRID_MM**2), float(np.degrees(np.arccos(np.clip(plane[2], -1.0, 1.0)))),
        )

    sup = surface("superior", sup_region, sup_plane, top, 1.0)
    inf = surface("inferior", inf_region, inf_plane, bottom, -1.0)
    mid = 0.5 * (np.mean(top[sup_region]) + np.mean(bottom[inf_region]))
    k_mid = int(np.argmin(np.abs(axes[2] - mid)))
    section = float((values[:, :, k_mid] > 0.5).sum() * _GRID_MM**2)
    return BodyEndplates(frame, (float(axes[0][0]), float(axes[1][0])), _GRID_MM, top, bottom, sup, inf, sup_region,
                         inf_region, others, section)
