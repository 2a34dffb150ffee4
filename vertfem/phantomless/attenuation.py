"""Tabulated X-ray attenuation of reference tissues and bone-mineral surrogates.

Mass attenuation coefficients μ/ρ (cm²/g, total with coherent scattering) of
the elements H … I from 10 to 200 keV in 0.5 keV steps are shipped in
``vertfem/data/attenuation/elements_mu_rho.csv`` (Elam, Ravel & Sieber,
Radiat. Phys. Chem. 63 (2002) 121, via the ``xraydb`` package); compositions
and densities of the reference tissues (ICRU Report 44 via NIST SRD 126,
Hubbell & Seltzer, Table 2) in ``materials.yaml``. A mixture's μ/ρ is the
mass-fraction-weighted sum of its elements' (Bragg additivity), interpolated
log-log in energy. The shipped tissues reproduce NIST's Table 4 μ/ρ to better
than 0.05 % between 20 and 150 keV (``tests/phantomless/test_attenuation.py``).

Between 33.0 and 33.5 keV iodine's values straddle its K edge (33.17 keV) and
are not meaningful; every other material has no edge in the table's range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import numpy as np
import yaml

from ..errors import CalibrationError

__all__ = [
    "ENERGY_RANGE_KEV",
    "Material",
    "expected_hu",
    "get_material",
    "linear_attenuation_per_cm",
    "mass_attenuation_cm2_g",
    "material_names",
    "mineral_g_cm3_per_hu",
]

#: Energies (keV) covered by the shipped table.
ENERGY_RANGE_KEV = (10.0, 200.0)

_DATA = files("vertfem.data") / "attenuation"


@dataclass(frozen=True)
class Material:
    """A material of known elemental composition.

    Attributes
    ----------
    key : str
        Short name (``"adipose"``, ``"k2hpo4"``).
    name : str
        Full name as in the source (``"Adipose Tissue (ICRU-44)"``).
    density_g_cm3 : float or None
        Nominal mass density, g/cm³ (``None`` for mineral surrogates, whose
        μ/ρ alone is used).
    mass_fractions : tuple of (str, float)
        Element symbol and mass fraction; fractions sum to 1.
    source : str
        Where composition and density come from.
    """

    key: str
    name: str
    density_g_cm3: float | None
    mass_fractions: tuple[tuple[str, float], ...]
    source: str


def _formula_fractions(formula: str, weights: dict[str, float]) -> dict[str, float]:
    parts = re.findall(r"([A-Z][a-z]?)(\d*)", formula)
    if "".join(el + n for el, n in parts) != formula:
        raise CalibrationError(f"cannot parse chemical formula {formula!r}; write it without brackets (Ca10P6O26H2)")
    mass = {el: weights[el] * (int(n) if n else 1) for el, n in parts}
    total = sum(mass.values())
    return {el: m / total for el, m in mass.items()}


@cache
def _library() -> tuple[dict[str, Material], np.ndarray, dict[str, np.ndarray]]:
    raw = yaml.safe_load((_DATA / "materials.yaml").read_text())
    weights = {k: float(v) for k, v in raw["atomic_weights"].items()}
    mats: dict[str, Material] = {}
    for key, m in raw["materials"].items():
        fr = _formula_fractions(m["formula"], weights) if "formula" in m else dict(m["mass_fractions"])
        total = sum(fr.values())
        mats[key] = Material(
            key=key,
            name=m["name"],
            density_g_cm3=float(m["density_g_cm3"]) if "density_g_cm3" in m else None,
            mass_fractions=tuple((el, float(f) / total) for el, f in fr.items()),
            source=m["source"],
        )
    table = np.loadtxt(str(_DATA / "elements_mu_rho.csv"), delimiter=",", skiprows=4)
    with (_DATA / "elements_mu_rho.csv").open() as fh:
        header = next(line for line in fh if not line.startswith("#")).strip().split(",")
    energies = table[:, 0]
    elements = {el: table[:, i + 1] for i, el in enumerate(header[1:])}
    return mats, energies, elements


def material_names() -> tuple[str, ...]:
    """Keys of the shipped materials.

    Examples
    --------
    >>> "adipose" in material_names() and "k2hpo4" in material_names()
    True
    """
    return tuple(_library()[0])


def get_material(key: str | Material) -> Material:
    """A shipped material by key (a :class:`Material` passes through).

    Raises
    ------
    CalibrationError
        Unknown key.

    Examples
    --------
    >>> m = get_material("muscle")
    >>> m.name, m.density_g_cm3
    ('Muscle, Skeletal (ICRU-44)', 1.05)
    """
    if isinstance(key, Material):
        return key
    mats = _library()[0]
    if key not in mats:
        raise CalibrationError(f"unknown reference material {key!r}; known: {', '.join(mats)}")
    return mats[key]


@cache
def _log_table(key: str) -> np.ndarray:
    mats, _, elements = _library()
    m = mats[key]
    missing = [el for el, _ in m.mass_fractions if el not in elements]
    if missing:
        raise CalibrationError(f"material {key!r} contains elements {missing} absent from the attenuation table")
    return np.log(sum(f * elements[el] for el, f in m.mass_fractions))


def _check_energy(energy_keV: np.ndarray) -> None:
    lo, hi = ENERGY_RANGE_KEV
    if not np.all(np.isfinite(energy_keV)) or energy_keV.min() < lo or energy_keV.max() > hi:
        raise CalibrationError(
            f"energy {energy_keV.min():g}–{energy_keV.max():g} keV is outside the attenuation table ({lo:g}–{hi:g} keV)"
        )


def mass_attenuation_cm2_g(material: str | Material, energy_keV: float | np.ndarray) -> np.ndarray:
    """Mass attenuation coefficient μ/ρ (cm²/g) of a material at photon energies (keV).

    Parameters
    ----------
    material : str or Material
        Key of a shipped material (:func:`material_names`) or a
        :class:`Material` built from the same elements.
    energy_keV : float or array
        Photon energies, 10–200 keV.

    Returns
    -------
    ndarray
        μ/ρ in cm²/g, same shape as ``energy_keV``.

    Examples
    --------
    Water at 60 keV (NIST SRD 126 Table 4: 0.2059 cm²/g):

    >>> round(float(mass_attenuation_cm2_g("water", 60.0)), 4)
    0.2059
    """
    e = np.asarray(energy_keV, dtype=float)
    _check_energy(np.atleast_1d(e))
    _, energies, elements = _library()
    log_e = np.log(energies)
    if isinstance(material, Material):
        log_mu = np.log(sum(f * elements[el] for el, f in material.mass_fractions))
    else:
        get_material(material)
        log_mu = _log_table(material)
    return np.exp(np.interp(np.log(e), log_e, log_mu))


def linear_attenuation_per_cm(
    material: str | Material, energy_keV: float | np.ndarray, *, density_g_cm3: float | None = None
) -> np.ndarray:
    """Linear attenuation coefficient μ = ρ·(μ/ρ) in cm⁻¹ (default: the material's nominal density).

    Examples
    --------
    >>> round(float(linear_attenuation_per_cm("adipose", 60.0)), 4)
    0.1875
    """
    m = get_material(material)
    rho = m.density_g_cm3 if density_g_cm3 is None else density_g_cm3
    if rho is None:
        raise CalibrationError(f"material {m.key!r} has no nominal density; pass density_g_cm3")
    return rho * mass_attenuation_cm2_g(m, energy_keV)


def expected_hu(
    material: str | Material, energy_keV: float | np.ndarray, *, density_g_cm3: float | None = None
) -> np.ndarray:
    """CT number a material has at a monochromatic effective energy.

    ``HU = 1000 · (μ − μ_water) / (μ_water − μ_air)`` with μ the linear
    attenuation at ``energy_keV`` (the definition of the Hounsfield scale).

    Examples
    --------
    ICRU-44 adipose tissue at 60 keV, from NIST's μ/ρ (0.1974, water 0.2059,
    air 0.1875 cm²/g): 1000·(0.95·0.1974 − 0.2059)/(0.2059 − 0.0002259) = −89.3.

    >>> round(float(expected_hu("adipose", 60.0)), 1)
    -89.3
    """
    mu = linear_attenuation_per_cm(material, energy_keV, density_g_cm3=density_g_cm3)
    mu_w = linear_attenuation_per_cm("water", energy_keV)
    mu_a = linear_attenuation_per_cm("air", energy_keV)
    return 1000.0 * (mu - mu_w) / (mu_w - mu_a)


def mineral_g_cm3_per_hu(mineral: str, energy_keV: float | np.ndarray) -> np.ndarray:
    """Equivalent mineral density per HU of an ideal scanner: (μ_water − μ_air) / (1000 · (μ/ρ)_mineral).

    A solution of ``c`` g/cm³ of mineral in water (water density kept at
    1 g/cm³, the definition of a K2HPO4- or hydroxyapatite-equivalent
    density) attenuates ``μ_water + c·(μ/ρ)_mineral``, so one HU is this many
    g/cm³ of mineral.

    Examples
    --------
    >>> round(float(mineral_g_cm3_per_hu("k2hpo4", 80.0)) * 1000, 3)
    0.732
    """
    span = linear_attenuation_per_cm("water", energy_keV) - linear_attenuation_per_cm("air", energy_keV)
    return span / (1000.0 * mass_attenuation_cm2_g(mineral, energy_keV))
