"""Focal BMC loss: analytic plates, line averages, spherical voids, monotonicity, per-voxel reference, pipeline."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import flip_axis, phantom_vertebra
from scipy import ndimage, optimize, special

from vertfem.calibration import default_registry
from vertfem.cli import main
from vertfem.data import example_paths
from vertfem.errors import ConfigError, EmptyROIError, ResolutionWarning
from vertfem.focal import FocalOptions, focal_bmc_loss, focal_maps, star_directions
from vertfem.io import read_scan, scan_from_array

REF = 1200.0


def _plates(x, period, thick, sigma, bone, gap):
    """Square wave of plates (centred at multiples of ``period``) blurred by a Gaussian, exact."""
    n = np.arange(-3, int(x.max() / period) + 4)[:, None]
    c = n * period
    phi = special.ndtr
    return gap + (bone - gap) * (phi((x - c + thick / 2) / sigma) - phi((x - c - thick / 2) / sigma)).sum(axis=0)


def _analytic_void(period, thick, sigma, bone, gap):
    """FWHM width, mean focal BMD loss and BMC loss of the valley, by root finding and quadrature."""
    f = lambda x: _plates(np.atleast_1d(x), period, thick, sigma, bone, gap)[0]  # noqa: E731
    big, small = f(0.0), f(period / 2)
    t = 0.5 * (big + small)
    x_cross = optimize.brentq(lambda x: f(x) - t, 0.0, period / 2)
    width = period - 2 * x_cross
    xs = np.linspace(x_cross, period - x_cross, 2001)
    loss = np.trapezoid((REF - _plates(xs, period, thick, sigma, bone, gap)) / REF, xs) / width
    return width, loss, width * loss


@pytest.mark.parametrize("theta_deg", [0.0, 36.0])
def test_periodic_plates_match_analytic_fwhm(theta_deg):
    h, period, thick, sigma = 0.1, 2.0, 0.4, 0.25
    x = np.arange(300) * h
    prof = _plates(x, period, thick, sigma, 900.0, 50.0)
    img = np.broadcast_to(prof, (3, 120, 300)).copy()
    roi = np.ones(img.shape, bool)
    th = np.radians(theta_deg)
    m = focal_maps(img, roi, voxel_mm=h, directions=np.array([[np.cos(th), np.sin(th), 0.0]]))
    width, loss, bmc = _analytic_void(period, thick, sigma, 900.0, 50.0)
    stretch = 1.0 / np.cos(th)  # a line at θ to the plate normal sees the valley stretched
    has = np.isfinite(m.width_mm)
    assert has.mean() > 0.3
    assert np.median(m.width_mm[has]) == pytest.approx(width * stretch, rel=0.05)
    assert np.median(m.bmd_loss[has]) == pytest.approx(loss, rel=0.05)
    assert np.median(m.bmc_loss[has]) == pytest.approx(bmc * stretch, rel=0.05)
    # the void fraction along the line is the FWHM share of the period
    assert has[1, 60, 50:250].mean() == pytest.approx(width / period, abs=0.06)


def test_loss_average_divides_by_all_lines_or_by_void_lines():
    # seen along the plates (90°) the profile is flat: no maxima, no void; so a valley voxel lies in a void on
    # one line of its two-line star, and the all-lines loss is exactly half the void-lines loss
    h, period, thick, sigma = 0.1, 2.0, 0.4, 0.25
    x = np.arange(300) * h
    img = np.broadcast_to(_plates(x, period, thick, sigma, 900.0, 50.0), (3, 120, 300)).copy()
    roi = np.ones(img.shape, bool)
    star = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    every = focal_maps(img, roi, voxel_mm=h, directions=star)
    void = focal_maps(img, roi, voxel_mm=h, directions=star, loss_average="void_lines")
    width, loss, bmc = _analytic_void(period, thick, sigma, 900.0, 50.0)
    has = np.isfinite(every.width_mm)
    assert every.loss_average == "all_lines" and every.n_lines == 2
    assert np.array_equal(has, np.isfinite(void.width_mm)) and set(np.unique(every.n_voids[has])) == {1}
    assert np.median(void.bmd_loss[has]) == pytest.approx(loss, rel=0.05)
    assert np.allclose(every.bmd_loss[has], void.bmd_loss[has] / 2, rtol=1e-6)
    assert np.allclose(every.bmc_loss[has], void.bmc_loss[has] / 2, rtol=1e-6)
    assert np.median(every.bmc_loss[has]) == pytest.approx(bmc / 2, rel=0.05)
    assert np.array_equal(every.width_mm[has], void.width_mm[has])
    # every void once: the 13 valleys between the 14 interior plates of each of the 3 × 120 lateral lines
    assert every.n_intercepts == 3 * 120 * 13
    # linearly interpolated half-maximum crossings on a 0.1 mm grid: 0.2 % short of the exact width
    assert every.intercept_width_mean_mm == pytest.approx(width, rel=4e-3)
    assert every.intercept_width_sd_mm < 1e-6
    with pytest.raises(ConfigError, match="loss_average"):
        focal_maps(img, roi, voxel_mm=h, directions=star, loss_average="paper")


def test_all_orientations_average_the_stretched_widths():
    h, period, thick, sigma = 0.1, 2.0, 0.4, 0.25
    x = np.arange(400) * h
    img = np.broadcast_to(_plates(x, period, thick, sigma, 900.0, 50.0), (3, 400, 400)).copy()
    roi = np.zeros(img.shape, bool)
    roi[1, 150:250, 150:250] = True
    opts = FocalOptions(angles_deg=[0.0, 24.0, 48.0])
    m = focal_maps(img, np.ones(img.shape, bool), voxel_mm=h, directions=opts.directions_frame())
    width, _, _ = _analytic_void(period, thick, sigma, 900.0, 50.0)
    # voxels in the valley centre lie in a void at every one of the three orientations
    centre = m.n_voids[1, 150:250, 150:250] == 3
    expected = width * np.mean(1.0 / np.cos(np.radians([0.0, 24.0, 48.0])))
    assert np.median(m.width_mm[1, 150:250, 150:250][centre]) == pytest.approx(expected, rel=0.05)


def _ball_image(diameters_mm, h, bone, ripple, seed, size=64, fraction=None):
    """Bone with spherical voids (marrow 0 mg/cm³), slightly blurred.

    The bone carries a weak ripple (± ``ripple`` mg/cm³, 1.5–1.9 mm periods)
    so that it has local maxima around the voids, as real bone does; a
    perfectly flat plateau reaching the ROI border has none and its voids are
    rightly not counted. Marrow is flat, so the voids have one minimum.
    """
    rng = np.random.default_rng(seed)
    shape = (size, size, size)
    kk, jj, ii = np.indices(shape) * h
    img = bone + ripple * np.cos(2 * np.pi * ii / 1.5) * np.cos(2 * np.pi * jj / 1.7) * np.cos(2 * np.pi * kk / 1.9)
    centres = []
    if fraction is None:
        for d in diameters_mm:
            c = rng.uniform(0.3 * size * h, 0.7 * size * h, 3) if centres else np.full(3, size * h / 2)
            centres.append((c, d))
    else:
        d = diameters_mm[0]
        n = round(fraction * (size * h) ** 3 / (np.pi / 6 * d**3))
        centres = [(rng.uniform(0, size * h, 3), d) for _ in range(n)]
    for c, d in centres:
        img[(kk - c[2]) ** 2 + (jj - c[1]) ** 2 + (ii - c[0]) ** 2 <= (d / 2) ** 2] = 0.0
    img = ndimage.gaussian_filter(img, 0.2 / h)
    return img, centres


def test_spherical_void_centre_width_is_the_diameter():
    h = 0.2
    for d in (2.0, 3.0, 4.0):
        img, centres = _ball_image([d], h, bone=400.0, ripple=20.0, seed=int(d * 10), size=48)
        roi = np.zeros(img.shape, bool)
        roi[4:-4, 4:-4, 4:-4] = True
        m = focal_maps(img, roi, voxel_mm=h)
        c = np.rint(centres[0][0][::-1] / h).astype(int)
        w = m.width_mm[tuple(c)]
        assert abs(w - d) <= h, f"void of {d} mm: centre width {w:.3f} mm"


def test_larger_voids_give_larger_bmc_loss_and_lower_bmd_larger_bmd_loss():
    h = 0.25
    roi = np.zeros((56, 56, 56), bool)
    roi[3:-3, 3:-3, 3:-3] = True
    small, _ = _ball_image([1.2], h, bone=300.0, ripple=20.0, seed=1, size=56, fraction=0.15)
    large, _ = _ball_image([2.4], h, bone=300.0, ripple=20.0, seed=1, size=56, fraction=0.15)
    assert small[roi].mean() == pytest.approx(large[roi].mean(), rel=0.05)
    ms, ml = focal_maps(small, roi, voxel_mm=h), focal_maps(large, roi, voxel_mm=h)
    assert np.nanmean(ml.bmc_loss) > 1.1 * np.nanmean(ms.bmc_loss)
    assert np.nanmean(ml.width_mm) > np.nanmean(ms.width_mm)
    denser = focal_maps(large * 1.5, roi, voxel_mm=h)
    assert np.nanmean(denser.bmd_loss) < np.nanmean(ml.bmd_loss)


def _reference_module():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "focal_reference.py"
    spec = importlib.util.spec_from_file_location("focal_reference", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_line_sweep_agrees_with_per_voxel_reference():
    # voids of ~6 voxels (as 2 mm voids on the 0.3 mm grid) in a disk 30 voxels across
    ref = _reference_module()
    rng = np.random.default_rng(0)
    n = 32
    img = 200 + 2000 * ndimage.gaussian_filter(rng.normal(size=(n, n, n)), 2.2)
    z, y, x = np.indices((n, n, n))
    roi = ((x - n / 2) ** 2 + (y - n / 2) ** 2 < (n / 2 - 1) ** 2) & (abs(z - n // 2) < 1)
    dirs = star_directions()
    for average in ("all_lines", "void_lines"):
        fast = focal_maps(img, roi, voxel_mm=0.3, directions=dirs, loss_average=average)
        w, lo, bmc = ref.reference_focal_maps(img, roi, voxel_mm=0.3, directions=dirs, loss_average=average)
        assert np.mean(np.isfinite(fast.width_mm[roi]) == np.isfinite(w[roi])) > 0.9
        for a, b in ((fast.width_mm, w), (fast.bmd_loss, lo), (fast.bmc_loss, bmc)):
            assert np.nanmean(a[roi]) == pytest.approx(np.nanmean(b[roi]), rel=0.025), average


# ---------------------------------------------------------------- pipeline on the phantom


@pytest.fixture(scope="module")
def phantom_scan(phantom_ct_pair):
    return phantom_ct_pair[0]


def test_pipeline_on_phantom_and_direction_flip(phantom_scan):
    sim = phantom_scan
    cal = default_registry()["B40f"]
    mask = sim.labels.labels == 31
    res = focal_bmc_loss(phantom_vertebra(sim.scan, mask, cal))
    s = res.row()
    assert 0.05 < s["focal_void_fraction"] < 1.0
    assert s["focal_roi_voxels"] > 50_000
    # ROI volume ≈ elliptic body eroded by 6 mm on every side (concave endplates ignored)
    from vertfem.phantom import PhantomSpec

    sp = PhantomSpec()
    expected = np.pi / 4 * (sp.width_mm - 12) * (sp.depth_mm - 12) * (sp.height_mm - 12 - sp.endplate_concavity_mm)
    assert s["focal_roi_volume_mm3"] == pytest.approx(expected, rel=0.15)
    hu, g = flip_axis(sim.scan.hu, sim.scan.geometry, 0)
    hu, g = flip_axis(hu, g, 2)
    m, _ = flip_axis(mask, sim.scan.geometry, 0)
    m, _ = flip_axis(m, g, 2)
    flipped = focal_bmc_loss(phantom_vertebra(scan_from_array(hu, g), m, cal)).row()
    for key in ("focal_incpt_width_mm_mean", "focal_bmd_loss_fraction_mean", "focal_bmc_loss_fraction_mm_mean",
                "focal_void_fraction", "focal_incpt_width_per_void_mm_mean", "focal_void_line_share_mean"):
        assert flipped[key] == pytest.approx(s[key], rel=0.01), key


def test_loss_average_is_recorded_and_void_lines_are_the_all_lines_values_rescaled(phantom_scan):
    v = phantom_vertebra(phantom_scan.scan, phantom_scan.labels, default_registry()["B40f"])
    every = focal_bmc_loss(v, voxel_mm=0.5)
    void = focal_bmc_loss(v, voxel_mm=0.5, loss_average="void_lines")
    s, t = every.row(), void.row()
    assert (s["focal_loss_average"], t["focal_loss_average"]) == ("all_lines", "void_lines")
    assert s["focal_reference_bmd_mg_cm3"] == 1200.0
    assert every.provenance.options["loss_average"] == "all_lines"
    assert every.provenance.options_sha256 != void.provenance.options_sha256
    has = every.roi & np.isfinite(every.maps.width_mm)
    scale = every.maps.n_lines / every.maps.n_voids[has]
    assert np.allclose(every.maps.bmd_loss[has] * scale, void.maps.bmd_loss[has], rtol=1e-5)
    assert np.allclose(every.maps.bmc_loss[has] * scale, void.maps.bmc_loss[has], rtol=1e-5)
    for key in ("focal_incpt_width_mm_mean", "focal_incpt_width_per_void_mm_mean", "focal_n_voids"):
        assert s[key] == t[key], key
    # a voxel lies in a void on about half of its lines (the half-maximum rule), so the paper's loss is about half
    assert 0.35 < s["focal_void_line_share_mean"] < 0.65
    assert s["focal_bmd_loss_fraction_mean"] / t["focal_bmd_loss_fraction_mean"] == pytest.approx(
        s["focal_void_line_share_mean"], rel=0.05)
    with pytest.raises(ConfigError, match="loss_average"):
        focal_bmc_loss(v, loss_average="literal")


def test_pipeline_outputs_and_sphere_option(phantom_scan, tmp_path):
    sim = phantom_scan
    cal = default_registry()["B40f"]
    res = focal_bmc_loss(phantom_vertebra(sim.scan, sim.labels, cal), voxel_mm=0.5, directions="sphere",
                         n_sphere_directions=9)
    assert res.row()["focal_n_orientations"] == 9
    paths = res.save(tmp_path)
    back = read_scan(paths["bmc_loss"])
    assert back.geometry.same_grid(res.geometry)
    stored = back.hu[res.roi]
    expected = np.nan_to_num(res.maps.bmc_loss[res.roi])
    assert np.allclose(stored, expected, atol=1e-5)
    record = json.loads(paths["json"].read_text())
    assert record["values"]["focal_roi_voxels"] == int(res.roi.sum()) and record["measure"] == "focal"
    assert paths["figure"].stat().st_size > 10_000


def test_errors_and_warnings(phantom_scan, example):
    v = phantom_vertebra(phantom_scan.scan, phantom_scan.labels, default_registry()["B40f"])
    with pytest.raises(EmptyROIError, match="smaller erosion"):
        focal_bmc_loss(v, erosion_mm=20.0)
    with pytest.raises(ConfigError, match=r"voxel_mm \(--voxel-mm\) = -1: must be > 0.05"):
        focal_bmc_loss(v, voxel_mm=-1)
    with pytest.warns(ResolutionWarning, match="resolution-limited"):
        res = focal_bmc_loss(example.l1, voxel_mm=0.6)
    assert res.provenance.row()["flags"] == "resolution_limited"


def test_cli_focal(tmp_path):
    p = example_paths()
    with pytest.warns(ResolutionWarning, match="resolution-limited"):
        rc = main(["focal", str(p["ct"]), str(p["labels"]), "--vertebra", "L1", "--kernel", "B40f", "--voxel-mm",
                   "0.6", "--loss-average", "void_lines", "-o", str(tmp_path)])
    assert rc == 0
    names = sorted(f.name for f in (tmp_path / "L1").iterdir())
    assert names == ["focal.json", "focal_bmc_loss.nii.gz", "focal_bmd_loss.nii.gz", "focal_section.png",
                     "focal_width_mm.nii.gz"]
    table = (tmp_path / "focal.csv").read_text()
    assert "resolution_limited" in table and "focal_bmc_loss_fraction_mm_mean" in table
    assert json.loads((tmp_path / "L1" / "focal.json").read_text())["values"]["focal_loss_average"] == "void_lines"
    assert main(["focal", str(p["ct"]), str(p["labels"]), "--vertebra", "L9", "-o", str(tmp_path)]) == 1
