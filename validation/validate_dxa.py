"""Validation of the DXA physics route on phantoms (run: python validation/validate_dxa.py; pytest collects it).

1. Projected aBMD against the closed form of a uniform elliptic-cylinder body (BMC = ρ·π·a·b·(H − c), area =
   width × height) over voxel sizes 0.5–1.5 mm and three orientations, with the phantom's concave endplates and
   with flat ones. BMC within 1 % everywhere (mass is conserved). The area is the partial-volume outline
   (:mod:`vertfem.dxa.outline`): aBMD within 2 % in 22 of the 24 cases and within 3 % in all. Two effects remain,
   both of the CT's blur, not of the voxel grid: a concave endplate reaches full height only at its rim, a wedge
   the point-spread function rounds off (≈ −1.2 % area, worst −2.7 % at 1 mm when the faces lie on voxel-centre
   planes); and the outline of a face parallel to the projection rays is the maximum of noisy partial volumes
   along them (≈ +1 % area, worst +2.5 % at 1.5 mm). The label-mask outline used before read up to +6.5 %.
2. A body with a 0.8 mm cortex and plate-like trabeculae, tilted 17°, whose BMC is the rendered ground truth
   (mineral above the soft tissue), 0.5 and 1 mm, both kernels: aBMD within 2 % (worst −1.9 %).
3. The TBS-like index (body alone, 1 mm pixels, lags 3–8 mm) on rod-network and plate phantoms scanned at 0.5 mm
   with both kernels, four seeds: it falls when horizontal rods are removed and the rest thickened at equal BMD
   (connectivity 1 → 0.3; smooth −4.0 %, in 3 of 4; sharp −22.5 %, in 4 of 4) and when plates coarsen
   0.7 → 1.4 mm (smooth −2.6 %, 3 of 4; sharp −45 %, 4 of 4) — the direction of clinical TBS. Its dependence on
   mineral at fixed structure is stated and checked in bands (:data:`TBS_BMD_BANDS`; :mod:`vertfem.dxa.tbs`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import vertfem as vf
from vertfem.dxa import dxa_measure
from vertfem.phantom import PhantomSpec, Pose, render_phantom

UNIFORM = PhantomSpec(texture=False, cortical_thickness_mm=0.0, background_density_mg_cm3=0.0,
                      trabecular_vbmd_mg_cm3=150.0)
FLAT = replace(UNIFORM, endplate_concavity_mm=0.0)
POSES = ((0.0, "x"), (17.0, "x"), (40.0, "y"))
VOXELS_MM = (0.5, 0.75, 1.0, 1.5)
#: aBMD tolerance of every case (see the module notes: 22 of 24 cases are within 2 %).
ABMD_TOL = 0.03
CORTEX = PhantomSpec(seed=3)
#: aBMD tolerance of the cortical body (measured: −1.9 % to +0.6 %).
CORTEX_TOL = 0.025
TBS_SEEDS = (10, 11, 12)


def abmd_sweep(spec: PhantomSpec = UNIFORM) -> list[dict]:
    a, b = spec.width_mm / 2, spec.depth_mm / 2
    bmc = spec.trabecular_vbmd_mg_cm3 * 1e-3 * np.pi * a * b * (spec.height_mm - spec.endplate_concavity_mm) * 1e-3
    area = spec.width_mm * spec.height_mm / 100
    rows = []
    for sp in VOXELS_MM:
        for pose in POSES:
            ct = vf.scan_phantom(spec, "smooth", spacing_mm=sp, pose=Pose.tilted(*pose))
            r = dxa_measure(vf.prepare_vertebra(ct.scan, ct.labels, "L1", kernel="B40f"))
            rows.append({"voxel_mm": sp, "pose": f"{pose[0]:g}° about {pose[1]}", "bmc_err": r.bmc_g / bmc - 1,
                         "area_err": r.area_cm2 / area - 1, "abmd_err": r.abmd_g_cm2 / (bmc / area) - 1})
    return rows


def cortex_cases(kernel: str) -> list[dict]:
    rows = []
    area = CORTEX.width_mm * CORTEX.height_mm / 100
    for sp in (0.5, 1.0):
        ct = vf.scan_phantom(CORTEX, kernel, spacing_mm=sp, pose=Pose.tilted(17.0, "x"))
        truth = ct.truth
        # DXA sees the mineral above the soft tissue: the rendered density minus the background, summed
        bmc = float((truth.density_mg_cm3 - CORTEX.background_density_mg_cm3).sum()) * truth.geometry.voxel_volume_mm3
        bmc *= 1e-6
        r = dxa_measure(vf.prepare_vertebra(ct.scan, ct.labels, "L1", kernel=ct.scan.kernel, hu_check=False))
        rows.append({"voxel_mm": sp, "kernel": ct.scan.kernel, "bmc_err": r.bmc_g / bmc - 1,
                     "area_err": r.area_cm2 / area - 1, "abmd_err": r.abmd_g_cm2 / (bmc / area) - 1})
    return rows


#: TBS-like cases on 0.5 mm CT: intact rods; rod loss at equal BMD (horizontal rods removed, the rest thickened); the
#: same rods thinner (trabecular vBMD 120 → 70 mg/cm³) with the cortex unchanged or thinned alike; every mineral
#: density × 0.6 (same geometry); plate-like trabeculae coarsening at equal BMD.
TBS_CASES: dict[str, dict] = {
    "intact": {"microstructure": "rods"},
    "rod_loss": {"microstructure": "rods", "rod_connectivity": 0.3},
    "thin_70": {"microstructure": "rods", "trabecular_vbmd_mg_cm3": 70.0},
    "thin_70_cortex": {"microstructure": "rods", "trabecular_vbmd_mg_cm3": 70.0,
                       "cortical_density_mg_cm3": 700.0 * 70.0 / 120.0},
    "mineral_x0.6": {"microstructure": "rods", "trabecular_vbmd_mg_cm3": 72.0, "tissue_density_mg_cm3": 600.0,
                     "cortical_density_mg_cm3": 420.0},
    "plates_0.7": {"trabecular_spacing_mm": 0.7},
    "plates_1.4": {"trabecular_spacing_mm": 1.4},
}
TBS_SEEDS = (10, 11, 12, 13)
#: Stated dependence of the index on mineral at fixed structure (relative change, mean over the seeds; measured
#: smooth −2.9 %, −4.5 %, −30.6 %; sharp −16.0 %, −25.2 %, −60.9 %: the sharp kernel's unscaled noise weighs more).
TBS_BMD_BANDS = {
    "smooth": {"all mineral × 0.6": (-0.06, 0.0), "rods thinner, vBMD 120 → 70, cortex × 0.58": (-0.08, 0.0),
               "rods thinner, vBMD 120 → 70, cortex unchanged": (-0.40, -0.20)},
    "sharp": {"all mineral × 0.6": (-0.25, -0.08), "rods thinner, vBMD 120 → 70, cortex × 0.58": (-0.35, -0.15),
              "rods thinner, vBMD 120 → 70, cortex unchanged": (-0.75, -0.45)},
}


def tbs_table(kernel: str, seeds: tuple[int, ...] = TBS_SEEDS) -> dict[str, np.ndarray]:
    """The default TBS-like index of every case of :data:`TBS_CASES`, one value per seed."""
    out: dict[str, list[float]] = {c: [] for c in TBS_CASES}
    for seed in seeds:
        for case, kw in TBS_CASES.items():
            spec = PhantomSpec(seed=seed, **kw)
            ct = vf.simulate_ct(render_phantom(spec, spacing_mm=0.5, oversample=3), kernel, seed=seed)
            v = vf.prepare_vertebra(ct.scan, ct.labels, "L1", kernel=ct.scan.kernel, hu_check=False)
            out[case].append(dxa_measure(v).tbs_like)
    return {c: np.asarray(v) for c, v in out.items()}


def tbs_effects(t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Relative change of the index per seed: each case against its reference."""
    return {"rod loss at equal BMD": t["rod_loss"] / t["intact"] - 1,
            "plates 0.7 → 1.4 mm at equal BMD": t["plates_1.4"] / t["plates_0.7"] - 1,
            "all mineral × 0.6": t["mineral_x0.6"] / t["intact"] - 1,
            "rods thinner, vBMD 120 → 70, cortex × 0.58": t["thin_70_cortex"] / t["intact"] - 1,
            "rods thinner, vBMD 120 → 70, cortex unchanged": t["thin_70"] / t["intact"] - 1}


@pytest.mark.slow
def test_abmd_against_closed_form_concave_endplates():
    for r in abmd_sweep(UNIFORM):
        assert abs(r["bmc_err"]) < 0.01, r
        assert abs(r["abmd_err"]) < ABMD_TOL, r


@pytest.mark.slow
def test_abmd_against_closed_form_flat_endplates():
    rows = abmd_sweep(FLAT)
    for r in rows:
        assert abs(r["bmc_err"]) < 0.01, r
        assert abs(r["abmd_err"]) < ABMD_TOL, r
    assert np.median([abs(r["abmd_err"]) for r in rows]) < 0.015


@pytest.mark.slow
@pytest.mark.parametrize("kernel", ["smooth", "sharp"])
def test_abmd_of_a_cortical_textured_body(kernel):
    for r in cortex_cases(kernel):
        assert abs(r["bmc_err"]) < 0.015, r
        assert abs(r["abmd_err"]) < CORTEX_TOL, r


@pytest.mark.slow
@pytest.mark.parametrize("kernel", ["smooth", "sharp"])
def test_tbs_like_falls_when_trabeculae_degrade_at_equal_bmd(kernel):
    e = tbs_effects(tbs_table(kernel))
    for case in ("rod loss at equal BMD", "plates 0.7 → 1.4 mm at equal BMD"):
        assert e[case].mean() < 0 and (e[case] < 0).sum() >= 3, (case, e[case])
    # the stated BMD dependence (module notes of vertfem.dxa.tbs), mean over the seeds within its band
    for case, (lo, hi) in TBS_BMD_BANDS[kernel].items():
        assert lo < e[case].mean() < hi, (case, e[case])


if __name__ == "__main__":
    for name, spec in (("concave endplates (the phantom's)", UNIFORM), ("flat endplates", FLAT)):
        print(f"uniform body, {name}\nvoxel_mm  pose            BMC err   area err  aBMD err")
        for r in abmd_sweep(spec):
            print(f"{r['voxel_mm']:<9} {r['pose']:<15} {100 * r['bmc_err']:+7.2f} %  {100 * r['area_err']:+7.2f} %  "
                  f"{100 * r['abmd_err']:+7.2f} %")
    print("\ncortical, textured body (17°)")
    for r in cortex_cases("smooth") + cortex_cases("sharp"):
        print(f"{r['voxel_mm']} mm {r['kernel']}: BMC {100 * r['bmc_err']:+.2f} %, area {100 * r['area_err']:+.2f} %, "
              f"aBMD {100 * r['abmd_err']:+.2f} %")
    for kernel in ("smooth", "sharp"):
        print(f"\nTBS-like index, {kernel} kernel (0.5 mm CT, 1 mm pixels, lags 3–8 mm; seeds {TBS_SEEDS})")
        t = tbs_table(kernel)
        print(f"intact rods {t['intact'].mean():.3f} ± {t['intact'].std():.3f}")
        for case, rel in tbs_effects(t).items():
            print(f"{case}: {100 * rel.mean():+.1f} % ({100 * rel.min():+.1f} … {100 * rel.max():+.1f} %), falls in "
                  f"{int((rel < 0).sum())} of {len(rel)}")
