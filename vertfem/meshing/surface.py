"""Smooth, watertight surfaces from voxel masks, in scanner coordinates.

The mask is cropped, upsampled to a fine isotropic grid (linear
interpolation of the binary mask, then a light Gaussian), contoured at 0.5
(VTK flying edges) and smoothed with a non-shrinking windowed-sinc filter, so
even a 3 mm mask gives a surface without voxel staircase. Contouring runs in
the grid's index space; points are mapped to scanner mm with the grid's
origin, spacing and direction cosines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyvista as pv
from scipy import ndimage

from ..errors import EmptyMaskError, NonManifoldSurfaceError
from ..geometry import ImageGeometry, resample_to_geometry

__all__ = ["Surface", "cut_surface", "mask_to_surface"]


@dataclass(frozen=True, eq=False)
class Surface:
    """A closed triangle surface in scanner coordinates (mm).

    Attributes
    ----------
    points_mm : ndarray (n, 3)
    triangles : ndarray (m, 3) of int
        Outward-oriented triangles.
    """

    points_mm: np.ndarray
    triangles: np.ndarray

    def to_pyvista(self) -> pv.PolyData:
        faces = np.hstack([np.full((len(self.triangles), 1), 3), self.triangles]).ravel()
        return pv.PolyData(self.points_mm, faces)

    @property
    def volume_mm3(self) -> float:
        p = self.points_mm[self.triangles]
        return float(np.einsum("ij,ij->i", p[:, 0], np.cross(p[:, 1], p[:, 2])).sum() / 6.0)

    @property
    def area_mm2(self) -> float:
        p = self.points_mm[self.triangles]
        return float(0.5 * np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1).sum())


def _plain(poly: pv.PolyData) -> pv.PolyData:
    """A copy with only points and triangles (filters leave arrays behind)."""
    poly = poly.triangulate().clean()
    return pv.PolyData(np.asarray(poly.points), poly.faces)


def _check_closed(poly: pv.PolyData, what: str) -> None:
    n_open = poly.n_open_edges
    if n_open or not poly.is_manifold:
        raise NonManifoldSurfaceError(
            f"{what}: the extracted surface is not a closed manifold ({n_open} open edges); "
            "the mask probably has thin bridges or holes at this resolution — smooth or close the mask "
            "(e.g. larger smoothing_mm) or isolate the vertebral body first"
        )


def mask_to_surface(
    mask: np.ndarray,
    geometry: ImageGeometry,
    *,
    fine_spacing_mm: float | None = None,
    smoothing_mm: float | None = None,
    smoothing_iterations: int = 30,
) -> Surface:
    """Closed smooth surface of a binary mask, in scanner coordinates.

    Parameters
    ----------
    mask : ndarray of bool or float
        On ``geometry``; a float array in [0, 1] (partial-volume fractions or
        segmentation probabilities) gives a sub-voxel accurate surface.
    geometry : ImageGeometry
    fine_spacing_mm : float, optional
        Isotropic spacing of the contouring grid (sets the triangle size that
        gmsh re-meshes from); default 1.0 mm.
    smoothing_mm : float, optional
        σ of the Gaussian applied to the upsampled mask; default a third of
        the largest original voxel size (removes staircase, keeps volume).
    smoothing_iterations : int
        Windowed-sinc iterations on the contour.

    Raises
    ------
    EmptyMaskError, NonManifoldSurfaceError
    """
    soft = np.asarray(mask, dtype=np.float32)
    if not (soft > 0.5).any():
        raise EmptyMaskError("cannot extract a surface from an empty mask")
    kji = np.argwhere(soft > 0)
    pad = 3
    lo = np.maximum(kji.min(axis=0) - pad, 0)
    hi = np.minimum(kji.max(axis=0) + 1 + pad, mask.shape)
    sub = np.zeros(tuple(hi - lo + 2 * pad), dtype=np.float32)
    sub[pad:-pad, pad:-pad, pad:-pad] = soft[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    sub_geom = geometry.cropped(lo[::-1] - pad, hi[::-1] + pad)
    if fine_spacing_mm is None:
        fine_spacing_mm = 1.0
    fine = sub_geom.with_spacing(fine_spacing_mm)
    up = resample_to_geometry(sub, sub_geom, fine, interpolation="linear")
    sigma = max(geometry.spacing_mm) / 3 if smoothing_mm is None else smoothing_mm
    if sigma > 0:
        up = ndimage.gaussian_filter(up, sigma / fine_spacing_mm)
    grid = pv.ImageData(dimensions=up.shape[::-1], spacing=(fine_spacing_mm,) * 3)
    grid.point_data["m"] = up.ravel(order="C")
    surf = grid.contour([0.5], scalars="m", method="flying_edges").triangulate().clean()
    if surf.n_points == 0:
        raise EmptyMaskError("the mask vanished when smoothed; it is thinner than the smoothing kernel")
    surf = surf.connectivity("largest")
    surf.clear_data()
    if not isinstance(surf, pv.PolyData):
        surf = surf.extract_surface(algorithm="dataset_surface")
    surf = _plain(surf)
    if smoothing_iterations:
        surf = surf.smooth_taubin(n_iter=smoothing_iterations, pass_band=0.1)
    _check_closed(surf, "mask_to_surface")
    faces = surf.faces.reshape(-1, 4)[:, 1:]
    pts = fine.index_to_physical(np.asarray(surf.points) / fine_spacing_mm)
    s = Surface(pts, faces.astype(np.int64))
    if s.volume_mm3 < 0:
        s = Surface(pts, faces[:, ::-1].astype(np.int64))
    return s


def cut_surface(surface: Surface, origin_mm: np.ndarray, normal: np.ndarray) -> Surface:
    """Cut a closed surface with a plane, keeping the side ``normal`` points to, and cap it.

    Used for flat loading faces parallel to the endplates.
    """
    src = surface.to_pyvista()
    _check_closed(src, "cut_surface input")
    poly = src.clip_closed_surface(normal=tuple(np.asarray(normal, float)), origin=tuple(origin_mm))
    poly = _plain(poly)
    _check_closed(poly, "cut_surface")
    faces = poly.faces.reshape(-1, 4)[:, 1:].astype(np.int64)
    s = Surface(np.asarray(poly.points, float), faces)
    return s if s.volume_mm3 > 0 else Surface(s.points_mm, faces[:, ::-1].copy())
