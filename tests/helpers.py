"""Shared helpers for tests: grid flips, shared-data lookup, write/read round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vertfem.geometry import ImageGeometry

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with the reason."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared data not available: {p} is missing (tests that use ../shared need the workspace copy)")
    return p


def flip_axis(array: np.ndarray, geometry: ImageGeometry, axis_ijk: int) -> tuple[np.ndarray, ImageGeometry]:
    """Store the same physical image with one index axis reversed.

    Every voxel keeps its physical position: the array is reversed along the
    axis, the direction column negated and the origin moved to the far end.
    """
    np_axis = 2 - axis_ijk
    flipped = np.flip(array, axis=np_axis).copy()
    d = geometry.direction_matrix.copy()
    far = np.zeros(3)
    far[axis_ijk] = geometry.size[axis_ijk] - 1
    origin = geometry.index_to_physical(far[None, :])[0]
    d[:, axis_ijk] *= -1
    return flipped, ImageGeometry(geometry.size, tuple(origin), geometry.spacing_mm, tuple(d.ravel()))


def permute_axes(array: np.ndarray, geometry: ImageGeometry, order_ijk: tuple[int, int, int]):
    """Store the same image with index axes permuted (a rotation of the grid)."""
    np_order = tuple(2 - a for a in order_ijk[::-1])
    out = np.transpose(array, np_order).copy()
    d = geometry.direction_matrix[:, list(order_ijk)]
    size = tuple(geometry.size[a] for a in order_ijk)
    spacing = tuple(geometry.spacing_mm[a] for a in order_ijk)
    return out, ImageGeometry(size, geometry.origin_mm, spacing, tuple(d.ravel()))
