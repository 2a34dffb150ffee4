"""The TBS-like slope on images with a known variogram: a large-scale pattern plus pixel-scale roughness. Rougher
texture at an unchanged pattern lowers the slope — the direction of clinical TBS — in the closed form and as
measured, at the default lags; ``validation/validate_dxa.py`` checks the direction on CT projections of phantoms."""

from __future__ import annotations

import numpy as np
import pytest

from vertfem.dxa import DXAOptions, tbs_like_index, variogram

N = 512
LAGS = DXAOptions().tbs_lags_px


def _image(gradient: float, roughness_sd: float, seed: int = 0) -> np.ndarray:
    """A ramp along the columns (the large-scale pattern) plus white noise (pixel-scale roughness)."""
    ramp = gradient * np.tile(np.arange(N, dtype=float), (N, 1))
    return ramp + np.random.default_rng(seed).normal(0.0, roughness_sd, (N, N))


def _closed_form_slope(gradient: float, roughness_sd: float, pixel_mm: float) -> float:
    # horizontal pairs differ by g·k + noise, vertical ones by noise only, in equal numbers on a square image:
    # V(k) = (g k)² / 2 + 2 σ²
    k = np.asarray(LAGS, dtype=float)
    v = (gradient * k) ** 2 / 2 + 2 * roughness_sd**2
    return float(np.polyfit(np.log(k * pixel_mm), np.log(v), 1)[0])


@pytest.mark.parametrize("roughness_sd", [0.02, 0.04, 0.08])
def test_slope_of_pattern_plus_roughness_matches_the_closed_form(roughness_sd):
    img = _image(0.05, roughness_sd)
    roi = np.ones_like(img, bool)
    k = np.asarray(LAGS, dtype=float)
    assert variogram(img, roi, LAGS) == pytest.approx((0.05 * k) ** 2 / 2 + 2 * roughness_sd**2, rel=0.01)
    assert tbs_like_index(img, roi, pixel_mm=1.0, lags_px=LAGS) == pytest.approx(
        _closed_form_slope(0.05, roughness_sd, 1.0), abs=0.01)


def test_rougher_texture_at_an_unchanged_pattern_lowers_the_index():
    roi = np.ones((N, N), bool)
    slopes = [tbs_like_index(_image(0.05, sd), roi, pixel_mm=1.0) for sd in (0.02, 0.04, 0.08)]
    expected = [_closed_form_slope(0.05, sd, 1.0) for sd in (0.02, 0.04, 0.08)]
    assert slopes[0] > slopes[1] > slopes[2]
    assert expected[0] - expected[2] > 0.5  # a strong effect, not rounding


def test_scaling_the_image_leaves_the_index_unchanged():
    # twice the mineral everywhere (pattern and roughness alike) is the same texture: the slope is scale-free
    img = _image(0.05, 0.04)
    roi = np.ones_like(img, bool)
    assert tbs_like_index(2.0 * img, roi, pixel_mm=1.0) == pytest.approx(tbs_like_index(img, roi, pixel_mm=1.0),
                                                                          abs=1e-12)
