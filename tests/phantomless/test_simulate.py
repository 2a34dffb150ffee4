"""The body-phantom CT: tissue CT numbers follow from composition at the chosen energy."""

from __future__ import annotations

import numpy as np
import pytest

from vertfem.ctsim import SimulatedKernel
from vertfem.phantomless.attenuation import expected_hu, mass_attenuation_cm2_g, mineral_g_cm3_per_hu
from vertfem.phantomless.simulate import TISSUE_TYPE_IDS, TOTAL_IDS, simulate_body_ct
from vertfem.vertebra.depth import erode_mm

from .test_attenuation import NIST_TABLE4

NOISE_FREE = SimulatedKernel("B40f", 0.6, 0.0, 1.0, 0.0, 0.6)


def _interior(mask, geometry, mm=4.0):
    return erode_mm(mask, geometry, mm)


@pytest.mark.parametrize("energy", [60.0, 80.0])
def test_tissue_ct_numbers_follow_nist_composition(body_2mm, energy):
    ct = simulate_body_ct(body_2mm, energy_keV=energy, kernel=NOISE_FREE)
    g, hu = body_2mm.geometry, ct.scan.hu
    i = {60.0: 4, 80.0: 5}[energy]
    mu_w, mu_a = NIST_TABLE4["water"][i], 1.20479e-3 * NIST_TABLE4["air"][i]

    def nist_hu(t, rho):
        return 1000 * (rho * NIST_TABLE4[t][i] - mu_w) / (mu_w - mu_a)

    regions = {
        ("blood", 1.06): body_2mm.total_labels == TOTAL_IDS["aorta"],
        ("muscle", 1.05): body_2mm.tissue_types == TISSUE_TYPE_IDS["skeletal_muscle"],
        ("adipose", 0.95): body_2mm.tissue_types == TISSUE_TYPE_IDS["subcutaneous_fat"],
    }
    for (t, rho), m in regions.items():
        vals = hu[_interior(m, g)]
        assert vals.size > 50
        # exact to float32 against vertfem's table; to NIST's 4-digit rounding against NIST
        np.testing.assert_allclose(vals, float(expected_hu(t, energy)), atol=0.01)
        assert float(np.median(vals)) == pytest.approx(nist_hu(t, rho), abs=1000 * (rho + 1) * 0.5e-4 / mu_w)


def test_vertebra_is_k2hpo4_in_water(body_2mm):
    # homogeneous trabecular bone of 120 mg/cm³: HU = c / (K2HPO4 g/cm³ per HU) at every energy
    for energy in (55.0, 90.0):
        ct = simulate_body_ct(body_2mm, energy_keV=energy, kernel=NOISE_FREE)
        core = _interior(body_2mm.body_mask, body_2mm.geometry, 6.0)
        want = 0.120 / float(mineral_g_cm3_per_hu("k2hpo4", energy))
        np.testing.assert_allclose(ct.scan.hu[core], want, atol=0.05)


def test_iodine_and_scanner_distortion(body_2mm):
    g = body_2mm.geometry
    aorta = _interior(body_2mm.total_labels == TOTAL_IDS["aorta"], g)
    plain = simulate_body_ct(body_2mm, energy_keV=70.0, kernel=NOISE_FREE)
    dyed = simulate_body_ct(body_2mm, energy_keV=70.0, kernel=NOISE_FREE, blood_iodine_mg_ml=5.0)
    span = 1.0 * float(mass_attenuation_cm2_g("water", 70.0)) - 1.20479e-3 * float(mass_attenuation_cm2_g("air", 70.0))
    want = 1000 * 0.005 * float(mass_attenuation_cm2_g("iodine", 70.0)) / span
    np.testing.assert_allclose(dyed.scan.hu[aorta] - plain.scan.hu[aorta], want, atol=0.01)
    assert 100.0 < want < 200.0
    bent = simulate_body_ct(body_2mm, energy_keV=70.0, kernel=NOISE_FREE, hu_offset=5.0, hu_scale=1.02)
    np.testing.assert_allclose(bent.scan.hu, 5.0 + 1.02 * plain.scan.hu, atol=0.02)


def test_noise_and_metadata(body_2mm):
    ct = simulate_body_ct(body_2mm, energy_keV=70.0, kernel="sharp", seed=4)
    assert ct.scan.kernel == "B70f" and ct.energy_keV == 70.0
    fat = _interior(body_2mm.tissue_types == TISSUE_TYPE_IDS["subcutaneous_fat"], body_2mm.geometry)
    assert float(np.std(ct.scan.hu[fat])) == pytest.approx(45.0, rel=0.1)
    assert body_2mm.vertebra_mask.sum() == body_2mm.truth.vertebra_mask.sum()
    with pytest.raises(ValueError, match="axial"):
        from vertfem.phantomless.simulate import render_body_phantom

        render_body_phantom(spacing_mm=2.0, direction=(1, 0, 0, 0, 0, 1, 0, 1, 0))
