"""Image grids in scanner (physical) space.

An :class:`ImageGeometry` is what SimpleITK calls the image's physical
information: size, origin (mm), spacing (mm) and direction cosines. Arrays in
vertfem are stored in numpy order ``(k, j, i)`` = ``(z, y, x)`` index axes, as
``SimpleITK.GetArrayFromImage`` returns them; points are always physical
``(x, y, z)`` in mm (LPS for DICOM-derived data).

The mapping from a continuous index ``(i, j, k)`` to a physical point is
``p = origin + D @ (spacing * ijk)`` (ITK convention). Nothing here assumes
identity direction cosines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from .errors import GeometryError, MaskImageMismatchError

__all__ = ["ImageGeometry", "array_to_image", "check_on_grid", "mask_box", "resample_to_geometry"]


@dataclass(frozen=True)
class ImageGeometry:
    """Physical grid of a 3D image.

    Parameters
    ----------
    size : tuple of int
        Number of voxels along index axes ``(i, j, k)`` (SimpleITK order).
    origin_mm : tuple of float
        Physical position of voxel ``(0, 0, 0)``'s centre, mm.
    spacing_mm : tuple of float
        Voxel size along ``(i, j, k)``, mm.
    direction : tuple of float
        Row-major 3x3 direction-cosine matrix; column ``c`` is the physical
        direction of index axis ``c``.

    Examples
    --------
    >>> g = ImageGeometry((10, 10, 10), (0.0, 0.0, 0.0), (1.0, 1.0, 2.0),
    ...                   (1, 0, 0, 0, 1, 0, 0, 0, 1))
    >>> g.index_to_physical([[0, 0, 1]]).tolist()
    [[0.0, 0.0, 2.0]]
    """

    size: tuple[int, int, int]
    origin_mm: tuple[float, float, float]
    spacing_mm: tuple[float, float, float]
    direction: tuple[float, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", tuple(int(s) for s in self.size))
        object.__setattr__(self, "origin_mm", tuple(float(v) for v in self.origin_mm))
        object.__setattr__(self, "spacing_mm", tuple(float(v) for v in self.spacing_mm))
        object.__setattr__(self, "direction", tuple(float(v) for v in np.ravel(self.direction)))
        if len(self.size) != 3 or min(self.size) < 1:
            raise GeometryError(f"an image grid needs three positive sizes, got {self.size}")
        if min(self.spacing_mm) <= 0:
            raise GeometryError(f"voxel spacing must be positive, got {self.spacing_mm} mm; check the image header")
        d = self.direction_matrix
        if d.shape != (3, 3) or not np.allclose(d.T @ d, np.eye(3), atol=1e-4):
            raise GeometryError(f"the direction cosines must form an orthonormal 3x3 matrix, got {self.direction}; "
                                "check the image header (a sheared or scaled direction is not a valid CT grid)")

    @classmethod
    def from_image(cls, image: sitk.Image) -> ImageGeometry:
        """Geometry of a SimpleITK image."""
        return cls(image.GetSize(), image.GetOrigin(), image.GetSpacing(), image.GetDirection())

    @property
    def direction_matrix(self) -> np.ndarray:
        """Direction cosines as a 3x3 array (columns = index axes)."""
        return np.asarray(self.direction, dtype=float).reshape(3, 3)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Numpy array shape ``(k, j, i)`` for this grid."""
        return self.size[2], self.size[1], self.size[0]

    @property
    def voxel_volume_mm3(self) -> float:
        """Volume of one voxel, mm³."""
        return float(np.prod(self.spacing_mm))

    @property
    def affine(self) -> np.ndarray:
        """4x4 matrix mapping homogeneous index ``(i, j, k, 1)`` to mm."""
        a = np.eye(4)
        a[:3, :3] = self.direction_matrix * np.asarray(self.spacing_mm)[None, :]
        a[:3, 3] = self.origin_mm
        return a

    def index_to_physical(self, ijk: np.ndarray) -> np.ndarray:
        """Map continuous indices ``(n, 3)`` in ``(i, j, k)`` order to mm."""
        ijk = np.asarray(ijk, dtype=float)
        return ijk @ self.affine[:3, :3].T + self.affine[:3, 3]

    def physical_to_index(self, xyz: np.ndarray) -> np.ndarray:
        """Map physical points ``(n, 3)`` in mm to continuous ``(i, j, k)``."""
        xyz = np.asarray(xyz, dtype=float)
        m = self.affine[:3, :3]
        return np.linalg.solve(m, (xyz - self.affine[:3, 3]).T).T

    def corners_mm(self) -> np.ndarray:
        """Physical positions ``(8, 3)`` of the outer voxel-boundary corners."""
        lo = -0.5
        hi = np.asarray(self.size, dtype=float) - 0.5
        c = np.array([[x, y, z] for x in (lo, hi[0]) for y in (lo, hi[1]) for z in (lo, hi[2])])
        return self.index_to_physical(c)

    def bounds_mm(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned physical bounding box ``(min_xyz, max_xyz)`` of the grid."""
        c = self.corners_mm()
        return c.min(axis=0), c.max(axis=0)

    def voxel_centres_mm(self) -> np.ndarray:
        """Physical coordinates of all voxel centres, shape ``(*shape, 3)``."""
        k, j, i = np.meshgrid(*(np.arange(n) for n in self.shape), indexing="ij")
        ijk = np.stack([i, j, k], axis=-1).reshape(-1, 3)
        return self.index_to_physical(ijk).reshape(*self.shape, 3)

    def same_grid(self, other: ImageGeometry, *, tol: float = 1e-4) -> bool:
        """True when both grids have the same voxels in physical space."""
        return (
            self.size == other.size
            and np.allclose(self.origin_mm, other.origin_mm, atol=tol * max(1.0, max(self.spacing_mm)))
            and np.allclose(self.spacing_mm, other.spacing_mm, rtol=tol)
            and np.allclose(self.direction, other.direction, atol=tol)
        )

    def reference_image(self) -> sitk.Image:
        """An empty SimpleITK image on this grid (for resampling)."""
        img = sitk.Image(list(self.size), sitk.sitkUInt8)
        img.SetOrigin(self.origin_mm)
        img.SetSpacing(self.spacing_mm)
        img.SetDirection(self.direction)
        return img

    def with_spacing(self, spacing_mm: float | tuple[float, float, float]) -> ImageGeometry:
        """A grid covering the same physical box with another voxel size.

        The new grid keeps the direction cosines and the outer boundary of the
        field of view (voxel centres shift so the boxes coincide).
        """
        new_sp = np.broadcast_to(np.asarray(spacing_mm, dtype=float), (3,))
        old_sp = np.asarray(self.spacing_mm)
        extent = np.asarray(self.size) * old_sp
        new_size = np.maximum(1, np.round(extent / new_sp).astype(int))
        start_idx = -0.5 + 0.5 * new_sp / old_sp
        origin = self.index_to_physical(start_idx[None, :])[0]
        return ImageGeometry(tuple(new_size), tuple(origin), tuple(new_sp), self.direction)

    def cropped(self, lo_ijk: np.ndarray, hi_ijk: np.ndarray) -> ImageGeometry:
        """Sub-grid between index bounds ``lo`` (inclusive) and ``hi`` (exclusive)."""
        lo = np.asarray(lo_ijk, dtype=int)
        hi = np.asarray(hi_ijk, dtype=int)
        origin = self.index_to_physical(lo[None, :].astype(float))[0]
        return ImageGeometry(tuple(hi - lo), tuple(origin), self.spacing_mm, self.direction)


def mask_box(
    mask: np.ndarray, geometry: ImageGeometry, margin_vox: int | np.ndarray = 0
) -> tuple[tuple[slice, slice, slice], ImageGeometry]:
    """Array slices and sub-grid of a mask's bounding box grown by ``margin_vox`` (int or per (k, j, i) axis).

    Examples
    --------
    >>> g = ImageGeometry((10, 10, 10), (0, 0, 0), (1, 1, 1), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    >>> m = np.zeros(g.shape, bool); m[4, 5, 6] = True
    >>> box, sub = mask_box(m, g, 1)
    >>> sub.size, sub.origin_mm
    ((3, 3, 3), (5.0, 4.0, 3.0))
    """
    kji = np.argwhere(mask)
    lo = np.maximum(kji.min(axis=0) - margin_vox, 0)
    hi = np.minimum(kji.max(axis=0) + 1 + margin_vox, mask.shape)
    box = (slice(int(lo[0]), int(hi[0])), slice(int(lo[1]), int(hi[1])), slice(int(lo[2]), int(hi[2])))
    return box, geometry.cropped(lo[::-1], hi[::-1])


def check_on_grid(array: np.ndarray, geometry: ImageGeometry, name: str) -> None:
    """Raise :class:`~vertfem.errors.MaskImageMismatchError` unless ``array`` has the shape of ``geometry``'s grid.

    The one place that checks an array against a grid, so every such error reads the same.

    Examples
    --------
    >>> g = ImageGeometry((4, 3, 2), (0, 0, 0), (1, 1, 1), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    >>> check_on_grid(np.zeros((2, 3, 4)), g, "mask")
    >>> check_on_grid(np.zeros((4, 3, 2)), g, "mask")
    Traceback (most recent call last):
    ...
    vertfem.errors.MaskImageMismatchError: mask has shape (4, 3, 2) but the image grid is (2, 3, 4) (k, j, i);
    arrays must lie on the image's grid (resample them in physical space first)
    """
    shape = tuple(np.shape(array))
    if shape != geometry.shape:
        raise MaskImageMismatchError(
            f"{name} has shape {shape} but the image grid is {geometry.shape} (k, j, i); arrays must lie on the "
            "image's grid (resample them in physical space first)"
        )


def array_to_image(array: np.ndarray, geometry: ImageGeometry) -> sitk.Image:
    """Wrap a numpy array ``(k, j, i)`` as a SimpleITK image on ``geometry``."""
    check_on_grid(array, geometry, "array")
    img = sitk.GetImageFromArray(np.ascontiguousarray(array))
    img.SetOrigin(geometry.origin_mm)
    img.SetSpacing(geometry.spacing_mm)
    img.SetDirection(geometry.direction)
    return img


def resample_to_geometry(
    array: np.ndarray,
    source: ImageGeometry,
    target: ImageGeometry,
    *,
    interpolation: str = "linear",
    default: float = 0.0,
) -> np.ndarray:
    """Resample an array from one physical grid onto another.

    Parameters
    ----------
    array : ndarray
        Values on ``source`` in ``(k, j, i)`` order.
    source, target : ImageGeometry
        Grids in scanner space; they may differ in origin, spacing and direction.
    interpolation : {"linear", "nearest", "bspline"}
        SimpleITK interpolator.
    default : float
        Value for target voxels outside the source field of view.

    Returns
    -------
    ndarray
        Values on ``target`` in ``(k, j, i)`` order, same dtype as ``array``
        for nearest, float32/float64 otherwise.
    """
    interp = {
        "linear": sitk.sitkLinear,
        "nearest": sitk.sitkNearestNeighbor,
        "bspline": sitk.sitkBSpline,
    }[interpolation]
    src = array_to_image(array, source)
    out = sitk.Resample(src, target.reference_image(), sitk.Transform(), interp, float(default), src.GetPixelID())
    return sitk.GetArrayFromImage(out)
