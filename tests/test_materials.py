import numpy as np
import pytest

from vertfem.errors import MaterialLawError
from vertfem.materials import LAWS, MaterialLaw, apparent_density, map_materials, modulus_from_ash_density


def test_morgan_vertebra_known_point():
    assert LAWS["morgan2003-vertebra"].modulus_MPa(0.5) == pytest.approx(1604.18, abs=0.01)


@pytest.mark.parametrize(
    "name, rho, expected",
    [
        ("morgan2003-femoral-neck", 0.5, 6850 * 0.5**1.49),
        ("morgan2003-tibia", 0.3, 15520 * 0.3**1.93),
        ("morgan2003-trochanter", 0.3, 15010 * 0.3**2.18),
        ("morgan2003-pooled", 0.4, 8920 * 0.4**1.83),
        ("kopperdahl2002", 0.2, 2980 * 0.2**1.05),
        ("crawford2003-linear", 0.2, -34.7 + 3230 * 0.2),
        ("keller1994", 0.6, 10500 * 0.6**2.29),
    ],
)
def test_named_laws(name, rho, expected):
    assert LAWS[name].modulus_MPa(rho) == pytest.approx(expected, rel=1e-12)


def test_chain_from_ash_density_uses_the_right_density():
    rho_ash = np.array([0.3])
    e, _ = modulus_from_ash_density(rho_ash, "morgan2003-vertebra")
    assert e[0] == pytest.approx(4730 * 0.5**1.56)
    e, _ = modulus_from_ash_density(rho_ash, "kopperdahl2002")
    assert e[0] == pytest.approx(2980 * 0.3**1.05)
    assert apparent_density(0.3)[()] == pytest.approx(0.5)


def test_clamping_counts_non_physical_values():
    m = map_materials(np.array([-0.05, 0.0, 1e-6, 0.3]), min_modulus_MPa=1.0)
    assert m.n_clamped == 3
    np.testing.assert_allclose(m.E_MPa[:3], 1.0)
    assert m.E_MPa[3] > 1000


def test_linear_law_negative_values_clamped():
    e, n = modulus_from_ash_density(np.array([0.005, 0.2]), "crawford2003-linear", min_modulus_MPa=5.0)
    assert n == 1 and e[0] == 5.0


def test_user_law_and_validation():
    law = MaterialLaw("mine", "power", 1000.0, 2.0, "apparent")
    assert law.modulus_MPa(2.0) == pytest.approx(4000.0)
    with pytest.raises(MaterialLawError, match="unknown material law"):
        modulus_from_ash_density(0.3, "nope")
    with pytest.raises(MaterialLawError, match="density must be"):
        MaterialLaw("bad", "power", 1.0, 1.0, "wet")
    with pytest.raises(MaterialLawError, match="a > 0"):
        MaterialLaw("bad", "power", -1.0, 1.0, "ash")
