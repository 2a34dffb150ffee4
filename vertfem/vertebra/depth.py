"""Distances inside a mask in millimetres: surface depth, physical erosion.

All distances are Euclidean in physical units (the voxel spacing enters the
distance transform), so anisotropic voxels are handled in mm, not in voxel
counts.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..geometry import ImageGeometry

__all__ = ["distance_inside_mm", "erode_mm", "surface_depth_mm"]


def distance_inside_mm(mask: np.ndarray, geometry: ImageGeometry) -> np.ndarray:
    """Distance (mm) from each mask voxel centre to the nearest background voxel centre.

    Examples
    --------
    >>> g = ImageGeometry((7, 7, 7), (0, 0, 0), (1.0, 1.0, 1.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    >>> distance_inside_mm(np.ones(g.shape, bool), g)[3, 3].tolist()
    [1.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.0]
    """
    sampling = np.asarray(geometry.spacing_mm)[::-1]
    return ndimage.distance_transform_edt(np.pad(mask, 1), sampling=sampling)[1:-1, 1:-1, 1:-1]


def surface_depth_mm(mask: np.ndarray, geometry: ImageGeometry) -> np.ndarray:
    """Depth (mm) of each mask voxel centre below the mask surface.

    The surface is taken half a voxel (of the smallest spacing) outside the
    outermost voxel centres, so the outer voxels have a depth of half a voxel.

    Examples
    --------
    >>> g = ImageGeometry((7, 7, 7), (0, 0, 0), (1.0, 1.0, 1.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    >>> surface_depth_mm(np.ones(g.shape, bool), g)[3, 3].tolist()
    [0.5, 1.5, 2.5, 3.5, 2.5, 1.5, 0.5]
    """
    return distance_inside_mm(mask, geometry) - 0.5 * min(geometry.spacing_mm)


def erode_mm(mask: np.ndarray, geometry: ImageGeometry, distance_mm: float) -> np.ndarray:
    """Erode a mask by a physical distance (mm) with an exact Euclidean distance map.

    A voxel is kept when its centre lies at least ``distance_mm`` inside the
    mask surface (:func:`surface_depth_mm`).

    Examples
    --------
    >>> g = ImageGeometry((7, 7, 7), (0, 0, 0), (1.0, 1.0, 1.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    >>> erode_mm(np.ones(g.shape, bool), g, 2.0)[3, 3].astype(int).tolist()
    [0, 0, 1, 1, 1, 0, 0]
    """
    if distance_mm <= 0:
        return np.asarray(mask, bool).copy()
    return surface_depth_mm(mask, geometry) >= distance_mm
