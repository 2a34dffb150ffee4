"""The sub-voxel outline: the exact area of a level set of a piecewise-linear image (closed forms, second-order
convergence on a disk) and the partial-volume bone fraction (placement, the label's half-voxel band, bright cortex)."""

from __future__ import annotations

import numpy as np
import pytest

from vertfem.dxa.outline import bone_fraction, superlevel_area_mm2


def test_area_of_a_half_plane_is_exact_in_any_direction():
    # F linear in both axes: the interpolant is F itself inside the pixel centres' hull, so the area above a level
    # crossing the image away from its border strips is exact
    y, x = np.mgrid[0:40, 0:60] + 0.5  # pixel centres, pixel units
    f = 0.3 * x + 0.1 * y
    for level in (5.2, 7.9, 11.3):
        # F ≥ level ⇔ x ≥ (level − 0.1 y)/0.3; the line stays within x ∈ [4, 38] for these levels
        expected = sum(60.0 - (level - 0.1 * yy) / 0.3 for yy in np.linspace(0, 40, 400001)[:-1] + 0.5 / 1e4) / 1e4
        assert superlevel_area_mm2(f, level, 1.0) == pytest.approx(expected, rel=1e-6)


def test_area_of_a_disk_converges_at_second_order():
    errs = []
    for h in (0.4, 0.2, 0.1):
        n = round(24 / h)
        y, x = (np.mgrid[0:n, 0:n] + 0.5) * h
        r = np.hypot(x - 12.03, y - 11.97)
        errs.append(abs(superlevel_area_mm2(7.3 - r, 0.0, h) / (np.pi * 7.3**2) - 1))
    assert errs[-1] < 2e-4
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(rates > 1.7), (errs, rates)


def test_area_counts_what_touches_the_image_border():
    f = np.ones((6, 8))  # everything above the level: the whole image, border half-pixels included
    assert superlevel_area_mm2(f, 0.5, 0.7) == pytest.approx(6 * 8 * 0.49, rel=1e-12)
    assert superlevel_area_mm2(f, 1.5, 0.7) == 0.0


def _slab(offset: float, n: int = 9) -> np.ndarray:
    """Excess density of a slab filling voxels 0–5 and ``offset`` of voxel 6 along the last axis (partial volume)."""
    row = np.zeros(14)
    row[:6] = 1.0
    row[6] = offset
    return np.broadcast_to(row, (n, n, 14)).copy()


@pytest.mark.parametrize("offset", [0.1, 0.35, 0.49])
def test_partial_volume_of_an_unlabelled_voxel_places_the_face(offset):
    rho = _slab(offset)
    f = bone_fraction(rho, rho > 0.5, np.ones(3))
    line = f[4, 4]
    assert line[6] == pytest.approx(offset, abs=1e-6)  # the face lies `offset` into voxel 6
    assert np.all(line[:6] == 1.0) and np.all(line[7:] == 0.0)


def test_fractions_stay_on_the_labels_side_of_one_half():
    rho = _slab(0.3)
    mask = rho > 0.5
    rho[..., 6] = 0.9  # a bright unlabelled neighbour (another bone, blur of a cortex): at most half bone
    rho[..., 5] = 0.2  # a dark labelled voxel (noise): at least half bone
    rho[..., 9] = 1.0  # bone beyond the first layer outside the label: not this vertebra
    f = bone_fraction(rho, mask, np.ones(3))[4, 4]
    assert f[6] == 0.5 and f[5] == 0.5 and f[9] == 0.0


def test_a_bright_surface_layer_sets_the_level():
    # a cortex brighter than the interior: the outer layer's partial volume is measured against the cortex
    rho = _slab(0.0, n=25)  # wide enough that the block's sides are beyond the level's neighbourhood
    rho[..., :5] = 0.2
    rho[..., 5] = 1.0
    rho[..., 6] = 0.25
    mask = np.zeros(rho.shape, bool)
    mask[..., :6] = True
    f = bone_fraction(rho, mask, np.ones(3))[12, 12]
    assert f[6] == pytest.approx(0.25, abs=0.02)  # against the interior (0.2) it would be clipped to 0.5
