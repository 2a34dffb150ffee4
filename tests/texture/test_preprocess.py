"""IBSI pre-processing: interpolation grid, crop independence, rounding, in-plane resampling, re-segmentation,
fixed-bin-size origin, intensity-volume histogram in HU, GLDZM distances, exact Moran's I / Geary's C."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import ndimage, spatial

from vertfem.errors import FeatureWarning
from vertfem.geometry import ImageGeometry
from vertfem.texture import FAMILIES, FilterSettings, TextureSettings, extract_features
from vertfem.texture.extract import prepare_voi
from vertfem.texture.firstorder import intensity_volume_features, ivh_levels
from vertfem.texture.preprocess import discretise, ibsi_grid, resegment
from vertfem.texture.shape import autocorrelation
from vertfem.texture.zones import zone_triples

EYE = (1, 0, 0, 0, 1, 0, 0, 0, 1)


def _ct(seed=0, size=(64, 60, 20), spacing=(0.8, 0.8, 3.0)):
    """A smooth random CT-like image (HU) with an ellipsoidal ROI in its middle on an anisotropic grid."""
    rng = np.random.default_rng(seed)
    g = ImageGeometry(size, (-12.3, 40.1, -7.0), spacing, EYE)
    img = np.round(40 + 300 * ndimage.gaussian_filter(rng.normal(size=g.shape), (0.7, 2.5, 2.5)))
    z, y, x = np.indices(g.shape)
    c = (np.asarray(size, float) - 1) / 2 + 0.3
    roi = ((x - c[0]) / 13) ** 2 + ((y - c[1]) / 11) ** 2 + ((z - c[2]) / 4.2) ** 2 < 1
    return img, roi, g


def test_interpolation_grid_is_the_manual_example():
    # IBSI "Interpolation grid": 4 × 4 voxels of 3 mm → 6 × 6 of 2 mm, grid centres aligned
    g = ImageGeometry((4, 4, 3), (10.0, 20.0, 30.0), (3.0, 3.0, 3.0), EYE)
    t = ibsi_grid(g, 2.0)
    assert t.size == (6, 6, 5)  # ceil(3·3/2) = 5 along k
    x_bg = 0.5 * (4 - 1 - 2 / 3 * (6 - 1))  # first new point in old grid coordinates
    assert t.origin_mm[0] == pytest.approx(10.0 + 3.0 * x_bg, abs=1e-12)
    centres = [geo.index_to_physical(((np.asarray(geo.size) - 1) / 2)[None])[0] for geo in (t, g)]
    np.testing.assert_allclose(*centres, atol=1e-12)
    # the CT phantom's axes: ceil(204 · 0.977 / 2) = 100, not round() = 100 … and ceil(201 · 0.977 / 2) = 99 vs 98
    ph = ImageGeometry((204, 201, 60), (0, 0, 0), (0.977, 0.977, 3.0), EYE)
    assert ibsi_grid(ph, 2.0).size == (100, 99, 90)
    assert ibsi_grid(ph, (2.0, 2.0, None)).size == (100, 99, 60)


def test_original_features_do_not_depend_on_filters_or_crop():
    img, roi, g = _ct(seed=1)
    base = TextureSettings(resample_mm=2.0, interpolation="cubic", round_intensities=True, naming="ibsi",
                           families=FAMILIES, resegment_range=(-200.0, 600.0), discretisation="fbs")
    ref = {k: v for k, v in extract_features(img, roi, g, base).items() if k.startswith("original:")}
    with_filters = base.model_copy(update={"filters": FilterSettings(log_sigmas_mm=(3.0,), wavelet=True)})
    with warnings.catch_warnings():
        # 25 HU bins leave some high-pass wavelet bands in one bin: their skewness is undefined
        warnings.simplefilter("ignore", FeatureWarning)
        got = extract_features(img, roi, g, with_filters)
    assert len(ref) > 300
    for k, v in ref.items():
        assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-12, nan_ok=True), k
    # a crop of the scan, resampled on the scan's grid, gives the same voxels (trilinear: no far-reaching prefilter;
    # the crop keeps the 6.2 mm local-intensity sphere)
    linear = base.model_copy(update={"interpolation": "linear"})
    ref = {k: v for k, v in extract_features(img, roi, g, linear).items() if k.startswith("original:")}
    box = (slice(2, 18), slice(7, 53), slice(5, 59))
    sub = g.cropped(np.array([5, 7, 2]), np.array([59, 53, 18]))
    got = extract_features(img[box], roi[box], sub, linear, grid_of=g)
    for k, v in ref.items():
        assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-12, nan_ok=True), k


def test_rounding_after_interpolation():
    img, roi, g = _ct(seed=2)
    rounded, _, _ = prepare_voi(img, roi, g, TextureSettings(resample_mm=1.3, round_intensities=True))
    raw, _, _ = prepare_voi(img, roi, g, TextureSettings(resample_mm=1.3))
    assert np.array_equal(rounded, np.round(raw))
    assert not np.array_equal(raw, np.round(raw))


def test_in_plane_resampling_keeps_the_slices():
    img, roi, g = _ct(seed=3, size=(31, 29, 12))
    out, _, sub = prepare_voi(img, roi, g, TextureSettings(resample_mm=2.0, resample_in_plane=True,
                                                           interpolation="linear"))
    assert sub.spacing_mm == (2.0, 2.0, 3.0)
    # every new voxel lies on an original slice; its value is the 2-D bilinear interpolation of that slice
    ijk = np.stack(np.meshgrid(*(np.arange(n) for n in sub.size), indexing="ij"), -1).reshape(-1, 3)
    src = g.physical_to_index(sub.index_to_physical(ijk))
    np.testing.assert_allclose(src[:, 2], np.round(src[:, 2]), atol=1e-9)
    expected = ndimage.map_coordinates(img, [src[:, 2], src[:, 1], src[:, 0]], order=1, mode="nearest")
    got = out.transpose(2, 1, 0).reshape(-1)
    np.testing.assert_allclose(got, expected, atol=1e-9)


def test_fixed_bin_size_starts_at_the_resegmentation_lower_bound():
    img = np.array([[[-950.0, -930.0, -880.0, -860.0]]])
    roi = np.ones(img.shape, bool)
    assert discretise(img, roi, "fbs", bin_width=25.0, min_value=-1000.0).levels.tolist() == [[[3, 3, 5, 6]]]
    g = ImageGeometry((4, 1, 1), (0, 0, 0), (1, 1, 1), EYE)
    s = TextureSettings(discretisation="fbs", bin_width=25.0, naming="ibsi", families=("firstorder",),
                        features=("ih.min", "ih.max"), min_voxels=1)
    assert extract_features(img, roi, g, s) == {"original:ih.min": 1.0, "original:ih.max": 4.0}
    ranged = s.model_copy(update={"resegment_range": (-1000.0, 400.0)})
    assert extract_features(img, roi, g, ranged) == {"original:ih.min": 3.0, "original:ih.max": 6.0}


def test_outlier_resegmentation_follows_the_range():
    rng = np.random.default_rng(4)
    v = rng.normal(0.0, 10.0, 2000)
    v[:3] = (-3000.0, 70.0, 900.0)  # one outside the range, two outliers
    img = v.reshape(1, 40, 50)
    roi = np.ones(img.shape, bool)
    kept = resegment(img, roi, (-1000.0, None), outlier_sigma=3.0)
    inside = v[v >= -1000]
    mu, sd = inside.mean(), inside.std()
    expected = (v >= -1000) & (v >= mu - 3 * sd) & (v <= mu + 3 * sd)
    assert np.array_equal(kept.ravel(), expected)
    assert not kept.ravel()[:3].any()


def test_intensity_volume_histogram_in_hu_bins_and_bin_numbers():
    hu = np.repeat(np.arange(100.0), 10)  # 0 … 99 HU, 10 voxels each
    x, grid = ivh_levels(hu, "none")
    f = intensity_volume_features(x, grid)
    # 10 % of the volume lies at ≥ 90 HU; 90 % at ≥ 10 HU; γ = 0.1 at 9.9 HU → V10 = ν(10 HU)
    assert (f["ivh.I10"], f["ivh.I90"]) == (90.0, 10.0)
    assert (f["ivh.V10"], f["ivh.V90"]) == pytest.approx((0.9, 0.1), abs=1e-12)
    x, grid = ivh_levels(hu, "none", range_=(-100.0, 400.0))
    f = intensity_volume_features(x, grid)
    assert (f["ivh.V10"], f["ivh.V90"]) == (1.0, 0.0)  # γ = 0.1 at −50 HU, γ = 0.9 at 350 HU
    x, grid = ivh_levels(hu, "fbs", bin_width=2.5, range_=(-1000.0, 400.0))
    f = intensity_volume_features(x, grid)
    assert (f["ivh.I10"], f["ivh.I90"]) == (91.25, 11.25)  # bin centres in HU
    x, grid = ivh_levels(hu, "fbn", n_bins=1000)
    assert intensity_volume_features(x, grid)["ivh.I10"] == 900.0  # bin numbers: 89 HU → bin 899, 90 HU → 910


def test_gldzm_distance_is_measured_in_the_morphological_mask():
    morph = np.zeros((9, 9, 9), bool)
    morph[1:8, 1:8, 1:8] = True
    img = np.where(morph, -2000.0, 0.0)
    img[2:7, 2:7, 2:7] = 50.0  # the re-segmentation range keeps this 5³ core only
    q = np.where(img[...] == 50.0, 1, 0).astype(np.int32)
    # one zone; its voxels lie ≥ 2 steps inside the 7³ morphological mask, ≥ 1 inside the intensity mask
    assert zone_triples(q, two_d=False, distance=True, morph=morph).tolist() == [[2, 0, 1]]
    assert zone_triples(q, two_d=False, distance=True).tolist() == [[2, 0, 0]]
    g = ImageGeometry((9, 9, 9), (0, 0, 0), (1, 1, 1), EYE)
    s = TextureSettings(resegment_range=(-1000.0, None), discretisation="fbn", n_bins=4, naming="ibsi",
                        families=("gldzm",), features=("dzm.lde@3D",), min_voxels=1)
    assert extract_features(img, morph, g, s)["original:dzm.lde@3D"] == 4.0


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (0.7, 0.9, 2.5)])
def test_moran_and_geary_are_exact_over_all_voxel_pairs(spacing):
    img, roi, _ = _ct(seed=5, size=(32, 30, 12))
    roi &= img > -100  # an irregular intensity mask
    pts = np.argwhere(roi)[:, ::-1] * np.asarray(spacing)
    x = img[roi]
    n = len(x)
    w = 1.0 / spatial.distance.pdist(pts)
    i, j = np.triu_indices(n, 1)
    d = x - x.mean()
    moran = n / (2 * w.sum()) * 2 * (w * d[i] * d[j]).sum() / (d**2).sum()
    geary = (n - 1) / (4 * w.sum()) * 2 * (w * (x[i] - x[j]) ** 2).sum() / (d**2).sum()
    assert n > 1500
    got = autocorrelation(img, roi, spacing)
    assert got[0] == pytest.approx(moran, rel=1e-9)
    assert got[1] == pytest.approx(geary, rel=1e-9)
