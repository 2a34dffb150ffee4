"""Texture features: invariances, sanity on the phantom generator, naming, presets, bad input, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import flip_axis
from scipy import ndimage

from vertfem.cli import main
from vertfem.ctsim import scan_phantom
from vertfem.errors import FeatureWarning, NonFiniteHUError, VOITooSmallError
from vertfem.geometry import ImageGeometry
from vertfem.phantom import PhantomSpec
from vertfem.texture import FAMILIES, TextureSettings, extract_features, preset, texture_features, vertebra_vois
from vertfem.texture.extract import prepare_voi

IBSI_ALL = TextureSettings(naming="ibsi", families=FAMILIES, discretisation="fbn", n_bins=16)


def _blob(n=26, seed=0, sigma=1.5):
    rng = np.random.default_rng(seed)
    img = 100 + 400 * ndimage.gaussian_filter(rng.normal(size=(n, n, n)), sigma)
    z, y, x = np.indices((n, n, n))
    roi = (x - 12.3) ** 2 + 0.8 * (y - 13.1) ** 2 + 1.3 * (z - 12.7) ** 2 < 9.0**2
    g = ImageGeometry((n, n, n), (3.0, -2.0, 5.0), (0.8, 0.8, 0.8), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    return img, roi, g


def test_flipping_direction_cosines_changes_nothing():
    img, roi, g = _blob()
    ref = extract_features(img, roi, g, IBSI_ALL)
    fi, fg = flip_axis(img, g, 0)
    fi, fg = flip_axis(fi, fg, 2)
    fr, _ = flip_axis(roi, g, 0)
    fr, _ = flip_axis(fr, fg, 2)
    got = extract_features(fi, fr, fg, IBSI_ALL)
    assert set(got) == set(ref)
    worst = max(abs(got[k] - ref[k]) / max(1.0, abs(ref[k])) for k in ref)
    assert worst < 1e-9


@pytest.mark.parametrize("axes", [(1, 2), (0, 1), (0, 2)])
def test_90_degree_rotation_leaves_3d_glcm_glrlm_unchanged(axes):
    img, roi, g = _blob(seed=3)
    s = TextureSettings(naming="ibsi", families=("glcm", "glrlm"), n_bins=16)
    ref = extract_features(img, roi, g, s)
    rot = extract_features(np.rot90(img, axes=axes).copy(), np.rot90(roi, axes=axes).copy(), g, s)
    keys = [k for k in ref if k.endswith(("@3D_avg", "@3D_mrg"))]
    assert len(keys) == 2 * (25 + 16)
    for k in keys:
        assert rot[k] == pytest.approx(ref[k], rel=1e-10, abs=1e-12), k


def test_coarser_trabeculae_give_longer_runs():
    # cancellous VOI: in the whole body the cortex sets the grey-level range and masks the trabecular signal
    s = TextureSettings(families=("glrlm",), naming="ibsi", n_bins=8)
    lre = {}
    for spacing in (0.6, 1.6):
        spec = PhantomSpec(width_mm=24, depth_mm=20, height_mm=14, trabecular_spacing_mm=spacing,
                           cortical_thickness_mm=0.5)
        sim = scan_phantom(spec, "smooth", spacing_mm=0.5, seed=1)
        img, body, g = prepare_voi(sim.scan.hu, sim.labels.labels == 31, sim.scan.geometry, s)
        voi = vertebra_vois(body, g, ("cancellous",), 2.0)["cancellous"]
        lre[spacing] = extract_features(img, voi, g, s)["original:rlm.lre@3D_avg"]
    assert lre[1.6] > 1.2 * lre[0.6]


def test_sharp_kernel_has_higher_variance(phantom_ct_pair):
    s = TextureSettings(families=("firstorder",))
    var = {}
    for sim in phantom_ct_pair:
        f = extract_features(sim.scan.hu, sim.labels.labels == 31, sim.scan.geometry, s)
        var[sim.kernel.name] = f["original_firstorder_Variance"]
    assert var["B70f"] > 1.5 * var["B40f"]


def test_goller_preset_is_on_the_scale_of_the_papers_table_2(phantom_ct_pair):
    # Goller 2023 Table 2: entropy 16.2 bits, energy 2.0e-5, SRE 0.99, LRE 1.01, RLN 0.99, RP 0.99. With 64 grey
    # levels entropy could not pass 12 bits nor energy fall under 2.4e-4, and LRE was 4 and RLN 1.5e6 on the L1.
    settings, vois = preset("goller2023")
    assert vois == ("body",)
    for sim in phantom_ct_pair:
        f = extract_features(sim.scan.hu, sim.labels.labels == 31, sim.scan.geometry, settings)
        v = {k.split(":")[-1]: x for k, x in f.items()}
        assert 15.0 < v["cm.joint.entr@3D_mrg"] < 20.0 and 1e-6 < v["cm.energy@3D_mrg"] < 1e-4
        assert 0.97 < v["rlm.sre@3D_mrg"] < 1.0 and 1.0 < v["rlm.lre@3D_mrg"] < 1.05
        assert 0.97 < v["rlm.rlnu.norm@3D_mrg"] < 1.0 and 0.97 < v["rlm.r.perc@3D_mrg"] < 1.0


def test_radiomics_names_and_kurtosis_convention():
    img, roi, g = _blob(seed=5)
    rad = extract_features(img, roi, g, TextureSettings(families=("firstorder", "glcm", "gldzm")))
    ibsi = extract_features(img, roi, g, TextureSettings(families=("firstorder", "glcm", "gldzm"), naming="ibsi"))
    assert rad["original_glcm_JointEnergy"] == ibsi["original:cm.energy@3D_avg"]
    assert rad["original_firstorder_Kurtosis"] == pytest.approx(ibsi["original:stat.kurt"] + 3.0)
    assert "original_gldzm_sde@3D" in rad
    assert not any("@2D" in k for k in rad)


def test_filters_prefix_names():
    img, roi, g = _blob(seed=6)
    from vertfem.texture import FilterSettings

    s = TextureSettings(families=("firstorder",), filters=FilterSettings(log_sigmas_mm=(1.0, 2.5), wavelet=True))
    f = extract_features(img, roi, g, s)
    prefixes = {k.split("_")[0] for k in f}
    assert prefixes == {"original", "log-sigma-1-0-mm-3D", "log-sigma-2-5-mm-3D", *(
        f"wavelet-{a}{b}{c}" for a in "LH" for b in "LH" for c in "LH")}
    # a low-pass band keeps the mean, a high-pass band removes it
    assert f["wavelet-LLL_firstorder_Mean"] > 10 * abs(f["wavelet-HHH_firstorder_Mean"])


def test_bad_inputs():
    img, roi, g = _blob()
    tiny = np.zeros_like(roi)
    tiny[5, 5, 5:10] = True
    with pytest.raises(VOITooSmallError, match="min_voxels"):
        extract_features(img, tiny, g)
    bad = img.copy()
    bad[roi] = np.nan
    with pytest.raises(NonFiniteHUError, match="NaN"):
        extract_features(bad, roi, g)
    with pytest.warns(FeatureWarning, match="constant"):
        f = extract_features(np.full(img.shape, 7.0), roi, g, TextureSettings(families=("firstorder", "glcm")))
    assert np.isnan(f["original_firstorder_Skewness"]) and f["original_firstorder_Variance"] == 0.0
    with pytest.raises(ValueError, match="unknown feature families"):
        TextureSettings(families=("glcm", "gabor"))


def test_presets_on_real_l1_and_cli(example, tmp_path):
    f = texture_features(example.l1, preset="goller2023").features
    assert len(f) == 8 and all(np.isfinite(list(f.values())))
    assert 0 < f["body:original:rlm.r.perc@3D_mrg"] <= 1
    settings, vois = preset("che2025")
    assert vois == ("cortical", "cancellous") and settings.filters.wavelet
    p = example.paths
    assert main(["texture", str(p["ct"]), str(p["labels"]), "--vertebra", "L1", "--kernel", "B40f",
                 "--preset", "goller2023", "-o", str(tmp_path)]) == 0
    row = pd.read_csv(tmp_path / "texture.csv")
    assert len(row) == 1 and row["vertebra"][0] == "L1"
    assert row["body:original:ih.var"][0] == pytest.approx(f["body:original:ih.var"])
