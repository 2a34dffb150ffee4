import numpy as np
import pytest
from helpers import flip_axis

from vertfem.geometry import ImageGeometry, array_to_image, resample_to_geometry

ROT = (0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0)


def test_index_physical_round_trip_with_rotated_direction():
    g = ImageGeometry((4, 5, 6), (10.0, -3.0, 2.0), (0.5, 0.7, 2.0), ROT)
    ijk = np.array([[0, 0, 0], [1, 2, 3], [3.5, 4.0, 5.0]])
    xyz = g.index_to_physical(ijk)
    np.testing.assert_allclose(xyz[1], [10.0 - 1.4, -3.0 + 0.5, 2.0 + 6.0])
    np.testing.assert_allclose(g.physical_to_index(xyz), ijk, atol=1e-12)


def test_matches_simpleitk_transform():
    g = ImageGeometry((4, 5, 6), (10.0, -3.0, 2.0), (0.5, 0.7, 2.0), ROT)
    img = array_to_image(np.zeros(g.shape, np.float32), g)
    for idx in [(0, 0, 0), (3, 1, 5), (2, 4, 1)]:
        np.testing.assert_allclose(g.index_to_physical([idx])[0], img.TransformIndexToPhysicalPoint(idx))


def test_non_orthonormal_direction_rejected():
    with pytest.raises(ValueError, match="orthonormal"):
        ImageGeometry((2, 2, 2), (0, 0, 0), (1, 1, 1), (1, 0, 0, 0, 2, 0, 0, 0, 1))


def test_resample_flipped_grid_is_exact():
    rng = np.random.default_rng(0)
    g = ImageGeometry((6, 7, 8), (1.0, 2.0, 3.0), (1.0, 1.5, 2.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    a = rng.integers(0, 5, size=g.shape).astype(np.int32)
    fa, fg = flip_axis(a, g, 1)
    back = resample_to_geometry(fa, fg, g, interpolation="nearest")
    np.testing.assert_array_equal(back, a)


def test_with_spacing_keeps_field_of_view():
    g = ImageGeometry((10, 10, 10), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), ROT)
    h = g.with_spacing(0.5)
    assert h.size == (20, 20, 20)
    np.testing.assert_allclose(np.sort(h.corners_mm(), axis=0), np.sort(g.corners_mm(), axis=0), atol=1e-12)
