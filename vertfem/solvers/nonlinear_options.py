"""Options of the elastic–plastic analysis (light: importable without the solver's numerical stack)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ..options import Options
from .plasticity import YIELD_LAWS

__all__ = ["NonlinearOptions"]


class NonlinearOptions(Options):
    """Options of the elastic–plastic analysis (the ``nonlinear`` section of a config).

    Examples
    --------
    >>> NonlinearOptions(n_steps=10).max_apparent_strain
    0.02
    """

    material: Literal["bone", "von-mises"] = Field(
        "bone", description="'bone': Drucker–Prager cone through the law's compressive and tensile yield stresses; "
        "'von-mises': J2 plasticity with the law's compressive yield stress (CalculiX's *PLASTIC model)",
    )
    yield_law: str = Field("morgan-keaveny2001-vertebra", description="name in plasticity.YIELD_LAWS")
    post_yield_ratio: float = Field(0.05, ge=0.0, lt=1.0, description="uniaxial post-yield slope / E (1)")
    caps_elastic: bool = Field(True, description="PMMA cap elements never yield")
    max_apparent_strain: float = Field(
        0.02, gt=0.0, lt=0.2, description="apparent strain (1) the run goes to; strength = max force up to it"
    )
    n_steps: int = Field(10, ge=1, le=2000, description="equal displacement steps to max_apparent_strain (1)")
    max_cutbacks: int = Field(8, ge=0, le=30, description="halvings of a step that does not converge (1)")
    max_newton_iterations: int = Field(15, ge=2, le=200, description="per step (1)")
    force_tolerance: float = Field(1e-3, gt=0.0, lt=0.1, description="‖r_free‖ / ‖reactions‖ (1)")
    energy_tolerance: float = Field(1e-6, gt=0.0, lt=0.1, description="|δu·r| / |δu₀·r₀| (1)")
    line_search: bool = Field(True, description="regula-falsi line search on δu·r(u + s·δu)")
    linear_solver: Literal["auto", "cg-pmg", "direct"] = Field(
        "auto", description="'auto': p-multigrid CG from pmg_min_dofs unknowns, else a direct solver"
    )
    cg_rtol: float = Field(1e-2, gt=0.0, lt=0.5, description="CG residual relative to the Newton right-hand side (1)")
    elastic_rtol: float = Field(
        1e-9, gt=0.0, lt=1e-3, description="CG relative residual of the first, elastic solve (1)"
    )
    pmg_min_dofs: int = Field(30_000, ge=0, description="'auto' uses p-multigrid CG from this many unknowns (1)")
    yield_offset_strain: float = Field(0.002, gt=0.0, lt=0.05, description="offset of the yield point (1)")

    @field_validator("yield_law")
    @classmethod
    def _known_yield_law(cls, v: str) -> str:
        if v not in YIELD_LAWS:
            raise ValueError(f"unknown yield law {v!r}; named laws: {', '.join(YIELD_LAWS)}")
        return v
