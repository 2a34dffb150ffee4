"""The scanner model of internal calibration: CT number linear in linear attenuation at one effective energy.

``HU = α + β·μ(E)`` with ``μ_t(E) = ρ_t·(μ/ρ)_t(E)`` for each reference tissue; for every ``E`` the line is the
weighted least-squares fit through the measured medians, and ``E`` minimises its weighted residual (the method is
set out in :mod:`vertfem.phantomless.fit`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .attenuation import linear_attenuation_per_cm, mass_attenuation_cm2_g

__all__ = ["EnergyFit", "fit_energy", "mineral_line", "propagate", "tissue_attenuation", "water_hu", "weighted_line"]


@dataclass(frozen=True)
class EnergyFit:
    """The fitted scanner model: effective energy, ``HU = alpha + beta·μ``, each tissue's fitted HU."""
    energy_keV: float
    alpha: float
    beta: float
    expected: np.ndarray
    at_bound: bool


def tissue_attenuation(tissues: tuple[str, ...], energies: np.ndarray) -> np.ndarray:
    """Linear attenuation (1/cm) of each tissue at each energy, tissues along the last axis."""
    return np.stack([linear_attenuation_per_cm(t, energies) for t in tissues], axis=-1)


def weighted_line(mu: np.ndarray, hu: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted LSQ of hu on [1, mu] for every row of mu (energies × tissues): alpha, beta, weighted SSR."""
    sw = w.sum()
    mx = (mu * w).sum(axis=-1) / sw
    my = float((hu * w).sum() / sw)
    dx = mu - mx[..., None]
    beta = (w * dx * (hu - my)).sum(axis=-1) / (w * dx * dx).sum(axis=-1)
    alpha = my - beta * mx
    r = hu - (alpha[..., None] + beta[..., None] * mu)
    return alpha, beta, (w * r * r).sum(axis=-1)


def fit_energy(tissues: tuple[str, ...], hu: np.ndarray, sd: np.ndarray, e_range: tuple[float, float]) -> EnergyFit:
    """The effective energy with the smallest weighted residual: a 0.1 keV grid, refined by bounded minimisation."""
    w = 1.0 / sd**2
    grid = np.arange(e_range[0], e_range[1] + 1e-9, 0.1)
    _, _, ssr = weighted_line(tissue_attenuation(tissues, grid), hu, w)
    i = int(np.argmin(ssr))

    def cost(e: float) -> float:
        return float(weighted_line(tissue_attenuation(tissues, np.array([e])), hu, w)[2][0])

    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    e = float(optimize.minimize_scalar(cost, bounds=(lo, hi), method="bounded", options={"xatol": 1e-4}).x)
    mu = tissue_attenuation(tissues, np.array([e]))
    a, b, _ = weighted_line(mu, hu, w)
    at_bound = i == 0 or i == grid.size - 1
    return EnergyFit(e, float(a[0]), float(b[0]), a[0] + b[0] * mu[0], at_bound)


def water_hu(f: EnergyFit) -> float:
    """CT number the fitted scanner model gives water, HU."""
    return float(f.alpha + f.beta * linear_attenuation_per_cm("water", f.energy_keV))


def mineral_line(f: EnergyFit, mineral: str = "k2hpo4") -> tuple[float, float]:
    """Slope (g/cm³ per HU) and intercept (g/cm³) of a mineral-in-water equivalent-density line."""
    m = float(mass_attenuation_cm2_g(mineral, f.energy_keV))
    slope = 1.0 / (f.beta * m)
    return slope, -water_hu(f) * slope


def propagate(tissues: tuple[str, ...], hu: np.ndarray, sd: np.ndarray, f: EnergyFit,
              e_range: tuple[float, float]) -> tuple[float, float]:
    """SD of energy and relative SD of the slope from each tissue's σ (finite differences, 1 HU steps)."""
    slope0 = mineral_line(f)[0]
    var_e = var_s = 0.0
    for i in range(len(tissues)):
        h = hu.copy()
        h[i] += 1.0
        fi = fit_energy(tissues, h, sd, e_range)
        var_e += ((fi.energy_keV - f.energy_keV) * sd[i]) ** 2
        var_s += ((mineral_line(fi)[0] / slope0 - 1.0) * sd[i]) ** 2
    return float(np.sqrt(var_e)), float(np.sqrt(var_s))

