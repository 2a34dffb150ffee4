"""Shipped attenuation data against NIST's published tables and XCOM."""

from __future__ import annotations

import numpy as np
import pytest

from vertfem.errors import CalibrationError
from vertfem.phantomless.attenuation import (
    expected_hu,
    get_material,
    linear_attenuation_per_cm,
    mass_attenuation_cm2_g,
    material_names,
    mineral_g_cm3_per_hu,
)

ENERGIES_KEV = np.array([20.0, 30.0, 40.0, 50.0, 60.0, 80.0, 100.0, 150.0])

#: μ/ρ (cm²/g) from NIST SRD 126 (Hubbell & Seltzer), Table 4, at ENERGIES_KEV.
NIST_TABLE4 = {
    "adipose": [5.677e-01, 3.063e-01, 2.396e-01, 2.123e-01, 1.974e-01, 1.800e-01, 1.688e-01, 1.500e-01],
    "air": [7.779e-01, 3.538e-01, 2.485e-01, 2.080e-01, 1.875e-01, 1.662e-01, 1.541e-01, 1.356e-01],
    "blood": [8.428e-01, 3.852e-01, 2.715e-01, 2.278e-01, 2.057e-01, 1.827e-01, 1.695e-01, 1.492e-01],
    "cortical_bone": [4.001e00, 1.331e00, 6.655e-01, 4.242e-01, 3.148e-01, 2.229e-01, 1.855e-01, 1.480e-01],
    "muscle": [8.205e-01, 3.783e-01, 2.685e-01, 2.262e-01, 2.048e-01, 1.823e-01, 1.693e-01, 1.492e-01],
    "water": [8.096e-01, 3.756e-01, 2.683e-01, 2.269e-01, 2.059e-01, 1.837e-01, 1.707e-01, 1.505e-01],
}

#: μ/ρ (cm²/g) of the bone-mineral surrogates computed with NIST XCOM (Berger et al.) by formula.
XCOM = {
    "k2hpo4": {40.0: 9.327e-01, 60.0: 3.890e-01, 80.0: 2.508e-01, 100.0: 1.972e-01},
    "hydroxyapatite": {40.0: 9.877e-01, 60.0: 4.067e-01, 80.0: 2.589e-01, 100.0: 2.019e-01},
}


@pytest.mark.parametrize("material", sorted(NIST_TABLE4))
def test_tissues_match_nist_table4(material):
    # NIST prints 4 digits: 0.05 % covers its rounding; the shipped table agrees to ≤ 0.03 %
    got = mass_attenuation_cm2_g(material, ENERGIES_KEV)
    np.testing.assert_allclose(got, NIST_TABLE4[material], rtol=5e-4)


@pytest.mark.parametrize("mineral", sorted(XCOM))
def test_minerals_match_xcom(mineral):
    e = np.array(list(XCOM[mineral]))
    np.testing.assert_allclose(mass_attenuation_cm2_g(mineral, e), list(XCOM[mineral].values()), rtol=5e-4)


def test_stoichiometry_of_k2hpo4():
    fr = dict(get_material("k2hpo4").mass_fractions)
    # K2HPO4 = 174.175 g/mol; K 2 × 39.098
    assert fr["K"] == pytest.approx(2 * 39.098 / 174.175, rel=1e-4)
    assert sum(fr.values()) == pytest.approx(1.0, abs=1e-12)


def test_expected_hu_from_nist_numbers():
    # HU = 1000 (ρ μ/ρ − μ_w) / (μ_w − μ_air) with NIST Table 4 at 60 and 80 keV
    for i, e in ((4, 60.0), (5, 80.0)):
        mu_w = NIST_TABLE4["water"][i]
        mu_a = 1.20479e-3 * NIST_TABLE4["air"][i]
        for m, rho in (("adipose", 0.95), ("muscle", 1.05), ("blood", 1.06), ("cortical_bone", 1.92)):
            want = 1000 * (rho * NIST_TABLE4[m][i] - mu_w) / (mu_w - mu_a)
            rounding = 1000 * (rho + 1) * 0.5e-4 / mu_w  # NIST's last printed digit, on both μ/ρ
            assert float(expected_hu(m, e)) == pytest.approx(want, abs=rounding), (m, e)
    assert float(expected_hu("water", 70.0)) == pytest.approx(0.0, abs=1e-9)
    assert float(expected_hu("air", 70.0)) == pytest.approx(-1000.0, abs=1e-9)


def test_k2hpo4_per_hu_from_independent_numbers():
    # (μ_w − μ_air) / (1000 (μ/ρ)_K2HPO4) with NIST water/air and XCOM K2HPO4 at 80 keV
    want = (0.1837 - 1.20479e-3 * 0.1662) / (1000 * 0.2508)
    assert float(mineral_g_cm3_per_hu("k2hpo4", 80.0)) == pytest.approx(want, rel=5e-4)


def test_linear_attenuation_uses_density():
    assert float(linear_attenuation_per_cm("muscle", 60.0, density_g_cm3=2.1)) == pytest.approx(
        2 * float(linear_attenuation_per_cm("muscle", 60.0)), rel=1e-12)


def test_errors_name_the_problem():
    with pytest.raises(CalibrationError, match="unknown reference material 'bone'"):
        get_material("bone")
    with pytest.raises(CalibrationError, match="outside the attenuation table"):
        mass_attenuation_cm2_g("water", 250.0)
    with pytest.raises(CalibrationError, match="no nominal density"):
        linear_attenuation_per_cm("k2hpo4", 60.0)
    assert {"air", "adipose", "muscle", "blood", "cortical_bone", "water"} <= set(material_names())
