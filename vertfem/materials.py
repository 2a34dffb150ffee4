"""Density → Young's modulus laws for bone (where HU-derived density becomes modulus).

Density chain: calibrated equivalent density ``rho_ash`` (g/cm³, K2HPO4
equivalent, see :mod:`vertfem.calibration`) → apparent density
``rho_app = rho_ash / ash_app_ratio`` (default ratio 0.6, Jiang 2023 §2.3).
Each law states which density it takes: apparent, ash, or QCT-equivalent
(the calibrated K2HPO4-equivalent density, numerically ``rho_ash`` here).

Moduli are in MPa, densities in g/cm³. Non-physical densities (≤ 0, e.g. fat
or partial-volume voxels at the surface) and moduli below a minimum are
clamped to ``min_modulus_MPa`` (default 1 MPa) and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .errors import MaterialLawError

__all__ = [
    "ASH_APP_RATIO",
    "LAWS",
    "POISSON_RATIO",
    "MaterialLaw",
    "MaterialValues",
    "apparent_density",
    "get_law",
    "map_materials",
    "modulus_from_ash_density",
]

#: Ash/apparent density ratio (Jiang 2023 §2.3, after Morgan 2003).
ASH_APP_RATIO = 0.6
#: Poisson's ratio for all elements (Jiang 2023 §2.3).
POISSON_RATIO = 0.3

DensityKind = Literal["apparent", "ash", "qct"]


@dataclass(frozen=True)
class MaterialLaw:
    """A density–modulus relation ``E = a·ρ^b`` (power) or ``E = a + b·ρ`` (linear).

    Attributes
    ----------
    name : str
    form : {"power", "linear"}
    a, b : float
        Coefficients; E in MPa, ρ in g/cm³.
    density : {"apparent", "ash", "qct"}
        Which density the law takes.
    source : str
        Citation.
    """

    name: str
    form: Literal["power", "linear"]
    a: float
    b: float
    density: DensityKind
    source: str = "user"

    def __post_init__(self) -> None:
        if self.form not in ("power", "linear"):
            raise MaterialLawError(f"law {self.name!r}: form must be 'power' or 'linear', got {self.form!r}")
        if self.density not in ("apparent", "ash", "qct"):
            raise MaterialLawError(
                f"law {self.name!r}: density must be 'apparent', 'ash' or 'qct', got {self.density!r}"
            )
        if not (np.isfinite(self.a) and np.isfinite(self.b)):
            raise MaterialLawError(f"law {self.name!r}: coefficients must be finite")
        if self.form == "power" and (self.a <= 0 or self.b <= 0):
            raise MaterialLawError(f"law {self.name!r}: power law needs a > 0 and b > 0, got a={self.a}, b={self.b}")

    def modulus_MPa(self, rho_g_cm3: np.ndarray | float) -> np.ndarray:
        """Raw law value (no clamping) for densities of this law's kind.

        Examples
        --------
        >>> round(float(LAWS["morgan2003-vertebra"].modulus_MPa(0.5)), 2)
        1604.18
        """
        rho = np.asarray(rho_g_cm3, dtype=float)
        if self.form == "power":
            with np.errstate(invalid="ignore"):
                return self.a * np.where(rho > 0, rho, 0.0) ** self.b
        return self.a + self.b * rho


_M03 = "Morgan, Bayraktar & Keaveny 2003, J Biomech 36:897-904"
LAWS: dict[str, MaterialLaw] = {
    law.name: law
    for law in [
        MaterialLaw("morgan2003-vertebra", "power", 4730.0, 1.56, "apparent", _M03 + " (vertebra)"),
        MaterialLaw("morgan2003-femoral-neck", "power", 6850.0, 1.49, "apparent", _M03 + " (femoral neck)"),
        MaterialLaw("morgan2003-tibia", "power", 15520.0, 1.93, "apparent", _M03 + " (proximal tibia)"),
        MaterialLaw("morgan2003-trochanter", "power", 15010.0, 2.18, "apparent", _M03 + " (greater trochanter)"),
        MaterialLaw("morgan2003-pooled", "power", 8920.0, 1.83, "apparent", _M03 + " (pooled sites)"),
        MaterialLaw(
            "kopperdahl2002", "power", 2980.0, 1.05, "qct",
            "Kopperdahl, Morgan & Keaveny 2002, J Orthop Res 20:801-805 (vertebral trabecular, QCT density)",
        ),
        MaterialLaw(
            "crawford2003-linear", "linear", -34.7, 3230.0, "qct",
            "Crawford, Cann & Keaveny 2003, Bone 33:744-750 (linear, QCT density)",
        ),
        MaterialLaw(
            "keller1994", "power", 10500.0, 2.29, "ash",
            "Keller 1994, J Biomech 27:1159-1168 (ash density)",
        ),
    ]
}
"""Named laws. ``morgan2003-vertebra`` is the default (Jiang 2023)."""


def get_law(law: str | MaterialLaw) -> MaterialLaw:
    """A law by name (see :data:`LAWS`) or the law itself."""
    if isinstance(law, MaterialLaw):
        return law
    try:
        return LAWS[law]
    except KeyError:
        raise MaterialLawError(
            f"unknown material law {law!r}; named laws: {', '.join(LAWS)}, or define a power/linear law"
        ) from None


def apparent_density(rho_ash_g_cm3: np.ndarray | float, ash_app_ratio: float = ASH_APP_RATIO) -> np.ndarray:
    """ρapp = ρash / ratio (g/cm³)."""
    if not 0 < ash_app_ratio <= 1:
        raise MaterialLawError(f"ash_app_ratio must be in (0, 1], got {ash_app_ratio}")
    return np.asarray(rho_ash_g_cm3, dtype=float) / ash_app_ratio


@dataclass(frozen=True, eq=False)
class MaterialValues:
    """Densities and moduli of a set of points or elements.

    Attributes
    ----------
    rho_ash_g_cm3, rho_app_g_cm3, E_MPa : ndarray
    n_clamped : int
        Values raised to the minimum modulus.
    law : str
    """

    rho_ash_g_cm3: np.ndarray
    rho_app_g_cm3: np.ndarray
    E_MPa: np.ndarray
    n_clamped: int
    law: str


def modulus_from_ash_density(
    rho_ash_g_cm3: np.ndarray | float,
    law: str | MaterialLaw = "morgan2003-vertebra",
    *,
    ash_app_ratio: float = ASH_APP_RATIO,
    min_modulus_MPa: float = 1.0,
) -> tuple[np.ndarray, int]:
    """Young's modulus (MPa) from ash density, with clamping.

    Returns
    -------
    E_MPa : ndarray
    n_clamped : int
        Number of values whose density was ≤ 0 or whose modulus fell below
        ``min_modulus_MPa``; they are set to ``min_modulus_MPa``.
    """
    lw = get_law(law)
    if min_modulus_MPa <= 0:
        raise MaterialLawError(f"min_modulus_MPa must be positive, got {min_modulus_MPa}")
    rho_ash = np.asarray(rho_ash_g_cm3, dtype=float)
    rho = apparent_density(rho_ash, ash_app_ratio) if lw.density == "apparent" else rho_ash
    e = lw.modulus_MPa(rho)
    low = (rho <= 0) | ~(e >= min_modulus_MPa)
    return np.where(low, min_modulus_MPa, e), int(np.count_nonzero(low))


def map_materials(
    rho_ash_g_cm3: np.ndarray,
    law: str | MaterialLaw = "morgan2003-vertebra",
    *,
    ash_app_ratio: float = ASH_APP_RATIO,
    min_modulus_MPa: float = 1.0,
) -> MaterialValues:
    """Densities and clamped moduli for an array of ash densities."""
    rho_ash = np.asarray(rho_ash_g_cm3, dtype=float)
    e, n = modulus_from_ash_density(rho_ash, law, ash_app_ratio=ash_app_ratio, min_modulus_MPa=min_modulus_MPa)
    return MaterialValues(rho_ash, apparent_density(rho_ash, ash_app_ratio), e, n, get_law(law).name)
