"""Focal BMC loss on the scale of Li et al. 2022, Table 2: phantoms scanned with the paper's protocol.

Li 2022 (JOR Spine 5:e1195) report, fracture vs control group (Table 2):
focal BMD loss 0.45 ± 0.03 vs 0.42 ± 0.03, focal BMC loss 1.03 ± 0.13 vs
0.93 ± 0.11 (100 % × mm), IncptWidth 1.95 ± 0.18 vs 1.87 ± 0.18 mm, at mean
trabecular BMD 77.65 vs 124.41 mg/cm³; CT 0.4 × 0.4 mm in-plane, 1 mm slices
every 0.7 mm, kernel B30s.

Protocol here: the L1-sized phantom (``PhantomSpec()``, 42 × 32 × 26 mm) at
those two vBMDs, rendered on 0.4 × 0.4 × 0.7 mm voxels and scanned with the
B30s-like simulated kernel (``"b30s"``: Gaussian PSF σ = 0.55 mm, 25 HU noise),
analysed with the paper's settings and either loss average.

What it shows (numbers printed by ``python -m pytest -s`` on this file; the
spread over two texture and two noise seeds in brackets):

* ``loss_average="all_lines"`` (default) gives focal BMD loss 0.50 / 0.48
  (0.496–0.505 / 0.469–0.484) against Table 2's 0.45 / 0.42: 10–13 % high,
  1.5–2 SD; its group difference +0.02 (Table 2 +0.03, both rounded to 0.01).
  Focal BMC loss 1.05 / 1.03 (1.02–1.05 / 0.98–1.03) against 1.03 / 0.93.
  ``"void_lines"`` (equations 2–4 alone) gives 0.94 / 0.90 and BMC loss 1.9:
  twice Table 2, 7–8 SD off. The all-lines loss is the void-lines loss times
  the share of a voxel's lines on which it lies in a void: 0.53 here, 0.47–0.48
  in the paper's data if its voids hold about the ROI's mean BMD.
* Reference levels taken from the profile's own maxima instead of 1200 mg/cm³
  (the "area above the curve" between the neighbouring maxima and the valley)
  give 0.15–0.25 per void: they do not reproduce Table 2 (independent numpy
  check on the axis-aligned lines).
* Table 2 has BMC loss / (BMD loss × IncptWidth) = 1.17–1.19 in every group;
  with the width averaged per void (each void once) the phantoms give 1.17–1.18,
  with the voxel-mean width 1.03. The per-void width (1.80 / 1.85 mm; 1.75–1.85
  over the seeds) is the one comparable with the paper's 1.95 / 1.87 mm.
* Scan–rescan precision with this protocol (two noise realisations of four
  phantoms, 45–190 mg/cm³) is that of Table 1: RMS-SD 0.008 (BMC loss), 0.004
  (BMD loss), 0.016 mm (IncptWidth) against 0.011, 0.002, 0.016 mm; ICC 0.97,
  0.98, 0.93 (Table 1: 0.97, 0.98, 0.96). An ICC also depends on how much the
  subjects differ, which phantoms do not model; ``validate_focal.py`` checks
  ICC ≥ 0.9 on a six-phantom cohort with the smooth kernel.
* Not reproduced: the group difference of the width (phantom −0.05 to 0.00 mm
  over the seeds, paper +0.08 mm) and therefore most of the BMC-loss difference
  (+0.02 to +0.04 vs +0.10): both phantoms share one trabecular texture,
  which a 0.55 mm PSF does not resolve, so their voids are set by noise and
  blur, not by the bone.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from vertfem.ctsim import SIMULATED_KERNELS, simulate_ct, synthetic_cohort
from vertfem.focal import focal_bmc_loss, focal_maps
from vertfem.phantom import PhantomSpec, phantom_geometry, render_phantom
from vertfem.stats import precision
from vertfem.vertebra import prepare_vertebra

SPACING_MM = (0.4, 0.4, 0.7)
GROUPS = {"fracture": 77.65, "control": 124.41}
# Table 2, overall: mean, SD
TABLE2 = {
    "fracture": {"bmd_loss": (0.45, 0.03), "bmc_loss": (1.03, 0.13), "width_mm": (1.95, 0.18)},
    "control": {"bmd_loss": (0.42, 0.03), "bmc_loss": (0.93, 0.11), "width_mm": (1.87, 0.18)},
}
L = "focal_bmd_loss_fraction_mean"
B = "focal_bmc_loss_fraction_mm_mean"
W = "focal_incpt_width_mm_mean"
WV = "focal_incpt_width_per_void_mm_mean"


@pytest.fixture(scope="module")
def li2022_results():
    """Both groups' phantoms with the paper's protocol, analysed with both loss averages."""
    kernel = SIMULATED_KERNELS["b30s"]
    out = {}
    for group, vbmd in GROUPS.items():
        spec = PhantomSpec(trabecular_vbmd_mg_cm3=vbmd)
        # 3 sub-samples per axis: the 0.55 mm PSF hides the texture; the ROI means move by < 1 % against 7
        truth = render_phantom(spec, phantom_geometry(spec, spacing_mm=SPACING_MM), oversample=3)
        sim = simulate_ct(truth, kernel, seed=1)
        v = prepare_vertebra(sim.scan, sim.labels, "L1", kernel=kernel.calibration)
        out[group] = {avg: focal_bmc_loss(v, loss_average=avg) for avg in ("all_lines", "void_lines")}
    return out


@pytest.mark.slow
def test_all_lines_average_reproduces_table2(li2022_results):
    rows = {g: {a: r.row() for a, r in res.items()} for g, res in li2022_results.items()}
    for g, by_avg in rows.items():
        for avg, s in by_avg.items():
            print(f"{g:8s} {avg:10s}: BMD loss {s[L]:.3f}, BMC loss {s[B]:.3f}, IncptWidth voxel mean {s[W]:.3f} / "
                  f"per void {s[WV]:.3f} mm, BMC/(BMD·W_void) {s[B] / (s[L] * s[WV]):.3f}, "
                  f"void-line share {s['focal_void_line_share_mean']:.3f}, ROI BMD {s['focal_mean_bmd_mg_cm3']:.1f}")
        paper = TABLE2[g]
        s = by_avg["all_lines"]
        assert s["focal_loss_average"] == "all_lines"
        # BMC loss and width within one of the paper's SDs of its mean (printed to two decimals: ± 0.005 more);
        # the BMD loss within two (it is 0.05 high: a voxel lies in a void on 53 % of its lines here, ~48 % in
        # the paper's data if its BMD in the voids is about the ROI mean)
        assert abs(s[L] - paper["bmd_loss"][0]) < 2 * paper["bmd_loss"][1] + 0.005
        assert abs(s[B] - paper["bmc_loss"][0]) < paper["bmc_loss"][1] + 0.005
        assert abs(s[WV] - paper["width_mm"][0]) < paper["width_mm"][1] + 0.005
        assert abs(s[W] - paper["width_mm"][0]) < 1.5 * paper["width_mm"][1]
        # Table 2's BMC / (BMD loss × IncptWidth) is 1.17–1.19 in all six groups
        assert s[B] / (s[L] * s[WV]) == pytest.approx(1.18, abs=0.03)
        # equations 2–4 alone: the loss in a trabecular void is (1200 − ~BMD)/1200, twice the paper's
        lit = by_avg["void_lines"]
        assert lit[L] > 0.85 and lit[B] > 1.7
        assert lit[L] * s["focal_void_line_share_mean"] == pytest.approx(s[L], rel=0.05)
    d_loss = rows["fracture"]["all_lines"][L] - rows["control"]["all_lines"][L]
    d_bmc = rows["fracture"]["all_lines"][B] - rows["control"]["all_lines"][B]
    d_w = rows["fracture"]["all_lines"][WV] - rows["control"]["all_lines"][WV]
    print(f"fracture − control: BMD loss {d_loss:+.3f} (Table 2 +0.03), BMC loss {d_bmc:+.3f} (+0.10), "
          f"IncptWidth per void {d_w:+.3f} mm (+0.08)")
    # the BMD-loss difference follows the BMD: half of (124.4 − 77.7)/1200 ≈ 0.019; Table 2's 0.45 vs 0.42 is 0.02–0.04
    assert 0.012 < d_loss < 0.04


def _axis_voids(bmd: np.ndarray, roi: np.ndarray, axis: int, voxel_mm: float) -> dict[str, list[float]]:
    """Per-void width and candidate losses along the grid lines of one axis (plain numpy, independent of the kernel)."""
    out: dict[str, list[float]] = {"width_mm": [], "literal": [], "maxima_mean": [], "maxima_higher": []}
    vol = np.moveaxis(bmd.astype(np.float64), axis, -1)
    inside = np.moveaxis(roi, axis, -1)
    for idx in zip(*np.nonzero(inside.any(axis=-1)), strict=True):
        line, mask = vol[idx], inside[idx]
        edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
        for s, e in zip(edges[::2], edges[1::2], strict=True):
            v = line[s:e]
            i = np.arange(1, len(v) - 1)
            peaks = i[(v[i] > v[i - 1]) & (v[i + 1] <= v[i])]
            for a, b in itertools.pairwise(peaks):
                m = a + int(np.argmin(v[a:b + 1]))
                tl, tr = (v[a] + v[m]) / 2, (v[b] + v[m]) / 2
                if not (v[m] < tl and v[m] < tr):
                    continue
                kl = m - int(np.argmax(v[m::-1] >= tl))
                kr = m + int(np.argmax(v[m:] >= tr))
                xl = kl + (v[kl] - tl) / (v[kl] - v[kl + 1])
                xr = kr - (v[kr] - tr) / (v[kr] - v[kr - 1])
                seg = v[kl + 1:kr]
                out["width_mm"].append((xr - xl) * voxel_mm)
                out["literal"].append(float(np.mean((1200.0 - seg) / 1200.0)))
                top = (v[a] + v[b]) / 2
                out["maxima_mean"].append(float(np.mean((top - seg) / top)))
                high = max(v[a], v[b])
                out["maxima_higher"].append(float(np.mean((high - seg) / high)))
    return out


@pytest.mark.slow
def test_maxima_reference_levels_do_not_reproduce_table2(li2022_results):
    for g, res in li2022_results.items():
        r = res["all_lines"]
        h = r.geometry.spacing_mm[0]
        voids: dict[str, list[float]] = {}
        for axis in (2, 1):  # lateral and anterior grid lines of the frame-aligned grid
            for k, vals in _axis_voids(r.bmd_mg_cm3, r.roi, axis, h).items():
                voids.setdefault(k, []).extend(vals)
        means = {k: float(np.mean(v)) for k, v in voids.items()}
        print(f"{g:8s}: {len(voids['width_mm'])} voids on the lateral and anterior lines; per-void means: "
              + ", ".join(f"{k} {v:.3f}" for k, v in means.items()))
        # the line kernel finds the same voids on the same two axis-aligned star lines
        m = focal_maps(r.bmd_mg_cm3, r.roi, voxel_mm=h, directions=np.array([[1.0, 0, 0], [0, 1.0, 0]]))
        assert m.n_intercepts == len(voids["width_mm"])
        assert m.intercept_width_mean_mm == pytest.approx(means["width_mm"], rel=1e-9)
        assert means["literal"] > 0.85
        # maxima-referenced losses are less than 60 % of Table 2's 0.42–0.45
        assert means["maxima_mean"] < 0.25 and means["maxima_higher"] < 0.3


@pytest.mark.slow
def test_scan_rescan_precision_matches_table1():
    """Two noise realisations of four phantoms (45–190 mg/cm³): RMS-SD against Li 2022 Table 1."""
    table1_rms_sd = {B: 0.011, L: 0.002, W: 0.016}
    kernel = SIMULATED_KERNELS["b30s"]
    pairs: dict[str, list[list[float]]] = {m: [] for m in table1_rms_sd}
    for spec in synthetic_cohort(4, seed=3):
        truth = render_phantom(spec, phantom_geometry(spec, spacing_mm=SPACING_MM), oversample=3)
        rows = []
        for seed in (11, 12):
            sim = simulate_ct(truth, kernel, seed=seed)
            rows.append(focal_bmc_loss(prepare_vertebra(sim.scan, sim.labels, "L1", kernel=kernel.calibration)).row())
        for m in table1_rms_sd:
            pairs[m].append([r[m] for r in rows])
    for m, paper in table1_rms_sd.items():
        p = precision(np.array(pairs[m]))
        print(f"{m}: RMS-SD {p.rms_sd:.4f} (Table 1: {paper}), RMS-CV {p.rms_cv_pct:.2f} %, ICC(2,1) {p.icc:.3f}")
        assert paper / 2 < p.rms_sd < 2 * paper, m
        assert p.rms_cv_pct < 2.0, m
