"""Small-strain elastic–plastic materials: the yield surface, per-element parameters and named yield laws of bone.

One return mapping covers every model here: an associative
Drucker–Prager cone with linear isotropic hardening,

    f(σ, ᾱ) = q + β·I₁ − (k₀ + H·ᾱ) ≤ 0,    q = √(3 J₂),  I₁ = tr σ,

fitted to a uniaxial compressive yield stress σc and a tensile one σt
(β = (σc − σt)/(σc + σt), k₀ = 2 σc σt/(σc + σt)), so that a bar yields at
exactly −σc and +σt. ``σc = σt`` gives β = 0: isotropic von Mises (J2)
plasticity with yield stress σy = k₀ and hardening modulus H = dσy/dε̄ᵖ,
the model CalculiX's ``*PLASTIC`` card implements (used for the
cross-check). ᾱ is the accumulated von Mises equivalent plastic strain of
the deviatoric flow (for J2 it is CalculiX's equivalent plastic strain PEEQ).

The return mapping and its consistent tangent are in :mod:`.return_mapping`.
Stress and strain are Mandel vectors (xx, yy, zz, √2·yz, √2·xz, √2·xy): the
6 × 6 tangent is then a symmetric matrix and σ·ε is the double contraction.

Bone: vertebral QCT-FE models make each element yield when its strain or
stress reaches a limit tied to its density. The yield laws in
:data:`YIELD_LAWS` give the uniaxial compressive yield stress of every
element; tension yields at ``tension_ratio`` times that (by default the
ratio of the Morgan & Keaveny 2001 vertebral yield strains, 0.70/0.77).
After yield the uniaxial compressive stress–strain slope is
``post_yield_ratio`` × E (a few percent of E, which also keeps the tangent
positive definite for the conjugate-gradient solver); 0 gives perfect
plasticity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..errors import MaterialLawError
from ..materials import ASH_APP_RATIO

__all__ = [
    "YIELD_LAWS",
    "PlasticMaterial",
    "YieldLaw",
    "bone_material",
    "drucker_prager_parameters",
    "from_mandel",
    "get_yield_law",
    "to_mandel",
    "von_mises_material",
]

_SQ2 = np.sqrt(2.0)


def to_mandel(tensor_components: np.ndarray) -> np.ndarray:
    """Tensor components (…, 6) xx, yy, zz, yz, xz, xy → Mandel vector (shear × √2)."""
    out = np.array(tensor_components, dtype=float, copy=True)
    out[..., 3:] *= _SQ2
    return out


def from_mandel(mandel: np.ndarray) -> np.ndarray:
    """Mandel vector (…, 6) → tensor components xx, yy, zz, yz, xz, xy (the order of :mod:`.fields`)."""
    out = np.array(mandel, dtype=float, copy=True)
    out[..., 3:] /= _SQ2
    return out


def drucker_prager_parameters(
    yield_compression_MPa: np.ndarray | float, yield_tension_MPa: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """Cone slope β and cohesion k₀ (MPa) with uniaxial yield at −σc and +σt.

    Uniaxial tension σ gives q = σ, I₁ = σ; compression q = σ, I₁ = −σ, so
    ``σt (1 + β) = k₀ = σc (1 − β)``.

    Examples
    --------
    >>> beta, k0 = drucker_prager_parameters(7.7, 7.0)
    >>> round(float(beta), 6), round(float(k0), 6)
    (0.047619, 7.333333)
    """
    c = np.asarray(yield_compression_MPa, float)
    t = np.asarray(yield_tension_MPa, float)
    with np.errstate(invalid="ignore"):  # both infinite: an element that never yields
        beta = np.where(np.isfinite(c) & np.isfinite(t), (c - t) / (c + t), 0.0)
        k0 = np.where(np.isfinite(c) & np.isfinite(t), 2.0 * c * t / (c + t), np.inf)
    return beta, k0


@dataclass(frozen=True, eq=False)
class PlasticMaterial:
    """Per-element elastic–plastic parameters (Drucker–Prager cone; von Mises when σc = σt).

    Attributes
    ----------
    name : str
        Model name recorded in results (``"von-mises"``, ``"bone/<law>"``).
    E_MPa : ndarray (m,)
        Young's modulus per element.
    nu : float
        Poisson's ratio (all elements).
    yield_compression_MPa, yield_tension_MPa : ndarray (m,)
        Uniaxial yield stresses (positive; ``inf`` = the element never yields).
    hardening_MPa : ndarray (m,)
        H = dk/dᾱ, the slope of the cohesion against equivalent plastic strain
        (for von Mises: the slope of the yield stress–plastic strain curve).
    source : str
        Citation of the yield law.
    info : dict
        Law parameters (yield strains, post-yield ratio, density kind …).

    Examples
    --------
    >>> import numpy as np
    >>> m = von_mises_material(np.array([1000.0, 2000.0]), 0.3, np.array([10.0, 20.0]))
    >>> m.beta.tolist(), m.cohesion_MPa.tolist()
    ([0.0, 0.0], [10.0, 20.0])
    """

    name: str
    E_MPa: np.ndarray
    nu: float
    yield_compression_MPa: np.ndarray
    yield_tension_MPa: np.ndarray
    hardening_MPa: np.ndarray
    source: str = "user"
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        m = len(self.E_MPa)
        for key in ("yield_compression_MPa", "yield_tension_MPa", "hardening_MPa"):
            v = np.asarray(getattr(self, key), float)
            if v.shape != (m,):
                raise MaterialLawError(f"{key} has shape {v.shape}, expected ({m},) (one value per element)")
        e = np.asarray(self.E_MPa, float)
        if not np.all(np.isfinite(e) & (e > 0)):
            raise MaterialLawError("E_MPa must be finite and positive for every element; map materials first")
        if not 0 <= self.nu < 0.5:
            raise MaterialLawError(f"Poisson's ratio must be in [0, 0.5), got {self.nu}")
        c, t = np.asarray(self.yield_compression_MPa, float), np.asarray(self.yield_tension_MPa, float)
        if np.any(~(c > 0)) or np.any(~(t > 0)):
            raise MaterialLawError("yield stresses must be positive (inf for an element that never yields)")
        if np.any(np.isinf(c) != np.isinf(t)):
            raise MaterialLawError("an element that never yields needs inf in both yield_compression and yield_tension")
        h = np.asarray(self.hardening_MPa, float)
        if np.any(~np.isfinite(h)) or np.any(h < 0):
            raise MaterialLawError("hardening_MPa must be finite and ≥ 0")

    @property
    def n_elements(self) -> int:
        return len(self.E_MPa)

    @property
    def beta(self) -> np.ndarray:
        """Cone slope β (0 for von Mises)."""
        return drucker_prager_parameters(self.yield_compression_MPa, self.yield_tension_MPa)[0]

    @property
    def cohesion_MPa(self) -> np.ndarray:
        """Initial cohesion k₀ (MPa); the von Mises yield stress when β = 0."""
        return drucker_prager_parameters(self.yield_compression_MPa, self.yield_tension_MPa)[1]

    @property
    def is_von_mises(self) -> bool:
        b = self.beta
        return bool(np.all(b[np.isfinite(self.cohesion_MPa)] == 0.0))

    def kernel_parameters(self) -> np.ndarray:
        """Per-element ``(G, K, β, k₀, H)`` as an (m, 5) array for the return-mapping kernel (MPa)."""
        e = np.asarray(self.E_MPa, float)
        g = e / (2.0 * (1.0 + self.nu))
        k = e / (3.0 * (1.0 - 2.0 * self.nu))
        beta, k0 = drucker_prager_parameters(self.yield_compression_MPa, self.yield_tension_MPa)
        return np.column_stack([g, k, beta, k0, np.asarray(self.hardening_MPa, float)])

    def uniaxial_tangent_MPa(self, *, tension: bool = False) -> np.ndarray:
        """Post-yield slope of the uniaxial stress–strain curve, ``1 / (1/E + (1 ∓ β)²/H)`` (MPa).

        Derivation: uniaxial stress σ gives flow n_zz = ±1 + β, consistency
        ``(1 ± β) dσ = H dγ``, so ``dε = dσ/E + (1 ± β)² dσ / H``.
        """
        e = np.asarray(self.E_MPa, float)
        h = np.asarray(self.hardening_MPa, float)
        s = (1.0 + self.beta) if tension else (1.0 - self.beta)
        with np.errstate(divide="ignore"):
            return np.where(h > 0, 1.0 / (1.0 / e + s**2 / np.where(h > 0, h, 1.0)), 0.0)

    def with_elements_elastic(self, mask: np.ndarray) -> PlasticMaterial:
        """A copy in which the masked elements never yield (e.g. PMMA caps)."""
        c = np.where(mask, np.inf, self.yield_compression_MPa)
        t = np.where(mask, np.inf, self.yield_tension_MPa)
        return PlasticMaterial(self.name, self.E_MPa, self.nu, c, t, self.hardening_MPa, self.source, dict(self.info))

    def summary(self) -> dict:
        """JSON-ready description (ranges, not arrays)."""
        fin = np.isfinite(self.yield_compression_MPa)
        c = np.asarray(self.yield_compression_MPa)[fin]
        return {
            "name": self.name,
            "source": self.source,
            "nu": self.nu,
            "n_elements": self.n_elements,
            "n_never_yield": int((~fin).sum()),
            "yield_compression_MPa_range": [float(c.min()), float(c.max())] if len(c) else None,
            "beta_range": [float(self.beta[fin].min()), float(self.beta[fin].max())] if len(c) else None,
            **self.info,
        }


def _per_element(value: np.ndarray | float, m: int, name: str) -> np.ndarray:
    v = np.asarray(value, float)
    if v.ndim and v.shape != (m,):
        raise MaterialLawError(f"{name} has shape {v.shape}, expected ({m},) (one value per element) or a scalar")
    return np.broadcast_to(v, (m,)).copy()


def von_mises_material(
    E_MPa: np.ndarray, nu: float, yield_stress_MPa: np.ndarray | float, *, hardening_MPa: np.ndarray | float = 0.0
) -> PlasticMaterial:
    """Isotropic von Mises plasticity with linear hardening, per element.

    Parameters
    ----------
    E_MPa : ndarray (m,)
    nu : float
    yield_stress_MPa : float or ndarray (m,)
        Initial yield stress σy.
    hardening_MPa : float or ndarray (m,)
        H = dσy/dε̄ᵖ (0: perfectly plastic). CalculiX ``*PLASTIC`` table
        ``σy, 0`` / ``σy + H·ε̄, ε̄`` is the same model.

    Examples
    --------
    >>> import numpy as np
    >>> m = von_mises_material(np.array([1000.0]), 0.3, 10.0, hardening_MPa=100.0)
    >>> round(float(m.uniaxial_tangent_MPa()[0]), 4)  # E·H/(E + H)
    90.9091
    """
    e = np.asarray(E_MPa, float)
    sy = _per_element(yield_stress_MPa, len(e), "yield_stress_MPa")
    h = _per_element(hardening_MPa, len(e), "hardening_MPa")
    return PlasticMaterial("von-mises", e, float(nu), sy, sy.copy(), h, "isotropic J2 plasticity, linear hardening")


DensityKind = Literal["apparent", "ash", "qct"]

#: Morgan & Keaveny 2001 (J Biomech 34:569-577), vertebral trabecular bone:
#: apparent yield strains 0.77 ± 0.06 % (compression) and 0.70 ± 0.05 % (tension).
MORGAN_KEAVENY_2001_VERTEBRA = (0.0077, 0.0070)


@dataclass(frozen=True)
class YieldLaw:
    """The uniaxial compressive yield stress of bone as a function of modulus or density.

    Attributes
    ----------
    name : str
    kind : {"strain", "power"}
        ``"strain"``: σc = E · ``yield_strain_compression`` (density-independent
        yield strain); ``"power"``: σc = aᵢ ρ^bᵢ with pieces ``(a, b, ρ_from)``
        applying from ``ρ_from`` upwards (g/cm³, MPa).
    yield_strain_compression, yield_strain_tension : float
        For ``kind="strain"``.
    pieces : tuple of (a, b, rho_from)
        For ``kind="power"``, sorted by ``rho_from``; below the first
        piece's ``rho_from`` the first piece applies.
    density : {"apparent", "ash", "qct"}
        Which density a power law takes (``qct`` = the calibrated K2HPO4
        equivalent, numerically ``rho_ash`` in vertfem).
    tension_ratio : float
        σt/σc. Default: the ratio of the Morgan & Keaveny 2001 vertebral yield
        strains, 0.70/0.77 (E is the same in tension and compression).
    source : str
    """

    name: str
    kind: Literal["strain", "power"]
    source: str
    yield_strain_compression: float | None = None
    yield_strain_tension: float | None = None
    pieces: tuple[tuple[float, float, float], ...] = ()
    density: DensityKind = "apparent"
    tension_ratio: float = MORGAN_KEAVENY_2001_VERTEBRA[1] / MORGAN_KEAVENY_2001_VERTEBRA[0]

    def __post_init__(self) -> None:
        if self.kind == "strain":
            ec, et = self.yield_strain_compression, self.yield_strain_tension
            if ec is None or et is None or not (0 < ec < 0.2 and 0 < et < 0.2):
                raise MaterialLawError(f"yield law {self.name!r}: strain laws need yield strains in (0, 0.2)")
        elif self.kind == "power":
            if not self.pieces or any(a <= 0 or b <= 0 for a, b, _ in self.pieces):
                raise MaterialLawError(f"yield law {self.name!r}: power pieces need a > 0 and b > 0")
            if list(self.pieces) != sorted(self.pieces, key=lambda p: p[2]):
                raise MaterialLawError(f"yield law {self.name!r}: pieces must be sorted by rho_from")
        else:
            raise MaterialLawError(f"yield law {self.name!r}: kind must be 'strain' or 'power', got {self.kind!r}")
        if not 0 < self.tension_ratio <= 1.5:
            raise MaterialLawError(f"yield law {self.name!r}: tension_ratio must be in (0, 1.5]")

    def yield_stresses_MPa(
        self, E_MPa: np.ndarray, rho_ash_g_cm3: np.ndarray, *, ash_app_ratio: float = ASH_APP_RATIO
    ) -> tuple[np.ndarray, np.ndarray]:
        """Compressive and tensile uniaxial yield stress (MPa, positive) per element.

        Densities ≤ 0 get the yield stress of the smallest positive density
        in the model under power laws (they carry the clamped minimum modulus
        and yield almost at once either way).

        Examples
        --------
        >>> import numpy as np
        >>> c, t = YIELD_LAWS["morgan-keaveny2001-vertebra"].yield_stresses_MPa(np.array([1000.0]), np.array([0.1]))
        >>> round(float(c[0]), 6), round(float(t[0]), 6)
        (7.7, 7.0)
        >>> c, _ = YIELD_LAWS["kopperdahl2002"].yield_stresses_MPa(np.array([500.0]), np.array([0.2]))
        >>> round(float(c[0]), 4)  # 37.4 · 0.2^1.39
        3.993
        """
        e = np.asarray(E_MPa, float)
        if self.kind == "strain":
            return e * self.yield_strain_compression, e * self.yield_strain_tension
        rho = np.asarray(rho_ash_g_cm3, float)
        if self.density == "apparent":
            rho = rho / ash_app_ratio
        positive = rho[rho > 0]
        floor = positive.min() if len(positive) else 1e-3
        rho = np.where(rho > 0, rho, floor)
        c = np.empty_like(rho)
        starts = [p[2] for p in self.pieces]
        idx = np.clip(np.searchsorted(starts, rho, side="right") - 1, 0, len(self.pieces) - 1)
        for i, (a, b, _) in enumerate(self.pieces):
            sel = idx == i
            c[sel] = a * rho[sel] ** b
        return c, self.tension_ratio * c


_MK01 = "Morgan & Keaveny 2001, J Biomech 34:569-577 (vertebral trabecular bone yield strains)"
YIELD_LAWS: dict[str, YieldLaw] = {
    law.name: law
    for law in [
        YieldLaw(
            "morgan-keaveny2001-vertebra", "strain", _MK01,
            yield_strain_compression=MORGAN_KEAVENY_2001_VERTEBRA[0],
            yield_strain_tension=MORGAN_KEAVENY_2001_VERTEBRA[1],
            tension_ratio=MORGAN_KEAVENY_2001_VERTEBRA[1] / MORGAN_KEAVENY_2001_VERTEBRA[0],
        ),
        YieldLaw(
            "kopperdahl2002", "power",
            "Kopperdahl, Morgan & Keaveny 2002, J Orthop Res 20:801-805: σc = 37.4 ρQCT^1.39 (vertebral "
            "trabecular bone, QCT density); tension from the Morgan & Keaveny 2001 strain ratio",
            pieces=((37.4, 1.39, 0.0),), density="qct",
        ),
        YieldLaw(
            "keyak1998", "power",
            "Keyak et al. 1998, J Biomech 31:125-133 (used for vertebrae by Imai et al. 2006, Spine "
            "31:1789-1794; tabulated in J Orthop Surg Res 2018, 13:192, Table 1, PMC6069821): σ = 137 ρash^1.88 "
            "(ρash < 0.317), 114 ρash^1.72 (ρash ≥ 0.317); the no-yield clause for ρash ≤ 0.2 is not applied",
            pieces=((137.0, 1.88, 0.0), (114.0, 1.72, 0.317)), density="ash",
        ),
        YieldLaw(
            "keller1994-vertebra", "power",
            "Keller 1994, J Biomech 27:1159-1168, vertebral bone: σ = 284 ρash^2.27 (as tabulated in J Orthop "
            "Surg Res 2018, 13:192, Table 1, PMC6069821); the no-yield clause for ρash ≤ 0.2 is not applied",
            pieces=((284.0, 2.27, 0.0),), density="ash",
        ),
    ]
}
"""Named yield laws. ``morgan-keaveny2001-vertebra`` is the default bone model."""


def get_yield_law(law: str | YieldLaw) -> YieldLaw:
    """A yield law by name (see :data:`YIELD_LAWS`) or the law itself.

    Examples
    --------
    >>> get_yield_law("kopperdahl2002").density
    'qct'
    """
    if isinstance(law, YieldLaw):
        return law
    try:
        return YIELD_LAWS[law]
    except KeyError:
        raise MaterialLawError(f"unknown yield law {law!r}; named laws: {', '.join(YIELD_LAWS)}") from None


def bone_material(
    E_MPa: np.ndarray,
    rho_ash_g_cm3: np.ndarray,
    nu: float,
    *,
    law: str | YieldLaw = "morgan-keaveny2001-vertebra",
    post_yield_ratio: float = 0.05,
    ash_app_ratio: float = ASH_APP_RATIO,
    elastic: np.ndarray | None = None,
) -> PlasticMaterial:
    """The bone model: Drucker–Prager cone through the law's compressive and tensile yield stresses.

    Parameters
    ----------
    E_MPa, rho_ash_g_cm3 : ndarray (m,)
        Element modulus and ash (= calibrated QCT) density.
    nu : float
    law : str or YieldLaw
        See :data:`YIELD_LAWS`.
    post_yield_ratio : float
        Uniaxial compressive post-yield slope as a fraction of E (0 ≤ r < 1;
        0 = perfectly plastic). Sets ``H = (1 − β)² E r / (1 − r)``.
    ash_app_ratio : float
        ρash/ρapp for laws of apparent density.
    elastic : ndarray of bool (m,), optional
        Elements that never yield (PMMA caps).

    Examples
    --------
    >>> import numpy as np
    >>> m = bone_material(np.array([1000.0]), np.array([0.15]), 0.3, post_yield_ratio=0.05)
    >>> round(float(m.yield_compression_MPa[0]), 9), round(float(m.yield_tension_MPa[0]), 9)
    (7.7, 7.0)
    >>> round(float(m.uniaxial_tangent_MPa()[0] / 1000.0), 12)
    0.05
    """
    if not 0 <= post_yield_ratio < 1:
        raise MaterialLawError(f"post_yield_ratio must be in [0, 1), got {post_yield_ratio}")
    lw = get_yield_law(law)
    e = np.asarray(E_MPa, float)
    c, t = lw.yield_stresses_MPa(e, rho_ash_g_cm3, ash_app_ratio=ash_app_ratio)
    beta, _ = drucker_prager_parameters(c, t)
    h = (1.0 - beta) ** 2 * e * post_yield_ratio / (1.0 - post_yield_ratio)
    info = {"yield_law": lw.name, "post_yield_ratio": post_yield_ratio, "tension_ratio": lw.tension_ratio}
    if lw.kind == "strain":
        info.update(yield_strain_compression=lw.yield_strain_compression, yield_strain_tension=lw.yield_strain_tension)
    else:
        info.update(density=lw.density, pieces=[list(p) for p in lw.pieces])
    mat = PlasticMaterial(f"bone/{lw.name}", e, float(nu), c, t, h, lw.source, info)
    return mat.with_elements_elastic(np.asarray(elastic, bool)) if elastic is not None else mat
