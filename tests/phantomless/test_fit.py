"""Effective energy and density line of the internal calibration."""

from __future__ import annotations

import numpy as np
import pytest

from vertfem.errors import CalibrationError
from vertfem.phantomless.attenuation import expected_hu, mineral_g_cm3_per_hu
from vertfem.phantomless.fit import TissueDisagreementWarning, fit_internal_calibration

from .test_attenuation import NIST_TABLE4, XCOM

DENSITY = {"adipose": 0.95, "muscle": 1.05, "blood": 1.06, "cortical_bone": 1.92, "air": 1.20479e-3}


def ideal_hu(energy_keV, tissues=("air", "adipose", "muscle", "blood")):
    return {t: float(expected_hu(t, energy_keV)) for t in tissues}


@pytest.mark.parametrize("energy", [45.0, 60.0, 73.3, 100.0, 130.0])
def test_recovers_energy_and_line_of_an_ideal_scanner(energy):
    rep = fit_internal_calibration(ideal_hu(energy))
    assert rep.energy_keV == pytest.approx(energy, abs=0.01)
    assert rep.slope_g_cm3_per_HU == pytest.approx(float(mineral_g_cm3_per_hu("k2hpo4", energy)), rel=1e-4)
    assert rep.intercept_g_cm3 == pytest.approx(0.0, abs=1e-7)
    assert rep.ha_slope_g_cm3_per_HU == pytest.approx(float(mineral_g_cm3_per_hu("hydroxyapatite", energy)), rel=1e-4)
    assert rep.water_hu == pytest.approx(0.0, abs=0.01)
    assert not rep.flagged and rep.dof == 1
    assert max(abs(t.residual_hu) for t in rep.tissues) < 0.01


@pytest.mark.parametrize("i, energy", [(4, 60.0), (5, 80.0)])
def test_recovers_energy_from_nist_tabulated_tissues(i, energy):
    # CT numbers built from NIST Table 4 (not from vertfem's table); the line must match XCOM's K2HPO4
    mu_w, mu_a = NIST_TABLE4["water"][i], 1.20479e-3 * NIST_TABLE4["air"][i]
    hu = {t: 1000 * (DENSITY[t] * NIST_TABLE4[t][i] - mu_w) / (mu_w - mu_a)
          for t in ("air", "adipose", "muscle", "blood", "cortical_bone")}
    rep = fit_internal_calibration(hu)
    assert rep.energy_keV == pytest.approx(energy, abs=0.1)
    want = (mu_w - mu_a) / (1000 * XCOM["k2hpo4"][energy])
    assert rep.slope_g_cm3_per_HU == pytest.approx(want, rel=2e-3)
    assert not rep.flagged


def test_scanner_offset_and_scale_are_absorbed():
    # a K2HPO4 solution of 150 mg/cm³ must read 150 mg/cm³ whatever the scanner's HU offset and scale
    e, c = 70.0, 0.150
    hu_solution = c / float(mineral_g_cm3_per_hu("k2hpo4", e))
    for offset, scale in ((0.0, 1.0), (8.0, 1.0), (-5.0, 1.03), (3.0, 0.97)):
        hu = {t: offset + scale * v for t, v in ideal_hu(e).items()}
        rep = fit_internal_calibration(hu)
        assert rep.energy_keV == pytest.approx(e, abs=0.01)
        assert float(rep.calibration.density_g_cm3(offset + scale * hu_solution)) == pytest.approx(c, abs=1e-6)
        assert rep.water_hu == pytest.approx(offset, abs=0.01)


def test_contrast_enhanced_blood_is_flagged_and_excluded():
    hu = ideal_hu(65.0)
    hu["blood"] += 160.0  # ~6 mg iodine per mL of blood
    with pytest.warns(TissueDisagreementWarning, match="blood.*contrast-enhanced"):
        rep = fit_internal_calibration(hu)
    assert rep.flagged and rep.excluded == ("blood",)
    blood = next(t for t in rep.tissues if t.tissue == "blood")
    assert not blood.used and blood.flagged and blood.residual_hu == pytest.approx(160.0, abs=0.05)
    assert rep.energy_keV == pytest.approx(65.0, abs=0.01)


def test_disagreement_without_exclusion_is_flagged():
    hu = ideal_hu(65.0)
    hu["blood"] += 160.0
    with pytest.warns(TissueDisagreementWarning):
        rep = fit_internal_calibration(hu, exclude_outliers=False)
    assert rep.flagged and rep.excluded == () and all(t.used for t in rep.tissues)
    assert max(abs(t.residual_hu) for t in rep.tissues) > 24.0


def test_three_tissues_fit_exactly_and_say_so():
    rep = fit_internal_calibration(ideal_hu(60.0, ("air", "adipose", "muscle")))
    assert rep.dof == 0 and not rep.flagged
    assert any("no consistency check" in m for m in rep.messages)
    assert rep.energy_keV == pytest.approx(60.0, abs=0.01)


def test_propagated_uncertainty_matches_monte_carlo():
    # linear propagation of the tissue spreads vs 150 refits with normally perturbed CT numbers
    tissues = ("air", "adipose", "muscle", "blood")
    base = ideal_hu(70.0, tissues)
    rep = fit_internal_calibration(base)
    sd = {"air": 5.0, "adipose": 10.0, "muscle": 8.0, "blood": 8.0}
    rng = np.random.default_rng(0)
    slopes = []
    for _ in range(150):
        hu = {t: v + rng.normal(0.0, sd[t] / 10.0) for t, v in base.items()}  # small: linear regime
        slopes.append(fit_internal_calibration(hu, outlier_sigma=100.0).slope_g_cm3_per_HU)
    mc = np.std(slopes) / rep.slope_g_cm3_per_HU * 10.0
    assert rep.slope_rel_sd == pytest.approx(mc, rel=0.15)


def test_calibration_object_carries_method_and_energy():
    rep = fit_internal_calibration(ideal_hu(62.0))
    cal = rep.calibration
    assert cal.kernel == "internal" and "Michalski" in cal.source and "62.0 keV" in cal.source
    assert cal.r2 == pytest.approx(1.0, abs=1e-9) and len(cal.residuals_g_cm3) == 4
    assert {r["tissue"] for r in rep.table()} == {"air", "adipose", "muscle", "blood"}
    assert rep.as_dict()["calibration"]["slope_g_cm3_per_HU"] == cal.slope_g_cm3_per_HU


def test_bad_inputs_raise():
    with pytest.raises(CalibrationError, match="at least three"):
        fit_internal_calibration({"air": -1000.0, "adipose": -90.0})
    with pytest.raises(CalibrationError, match="unknown reference tissues"):
        fit_internal_calibration({"air": -1000.0, "fat": -90.0, "muscle": 40.0})
    with pytest.raises(CalibrationError, match="finite"):
        fit_internal_calibration({"air": -1000.0, "adipose": float("nan"), "muscle": 40.0})


def test_tissues_that_fit_no_energy_are_flagged():
    # fat darker than ICRU-44 adipose at any energy in range relative to muscle: the energy runs to the bound
    hu = {"air": -1000.0, "adipose": -250.0, "muscle": 45.0}
    with pytest.warns(TissueDisagreementWarning, match="search bound"):
        rep = fit_internal_calibration(hu)
    assert rep.flagged and rep.energy_keV == pytest.approx(30.0, abs=0.2)
