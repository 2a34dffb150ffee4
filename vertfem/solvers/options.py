"""Solver options (light: importable without the solver's numerical stack)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..options import Options

__all__ = ["SolveOptions", "SolverName"]

#: Linear solvers by name (:func:`~vertfem.solvers.linear.solve_spd`).
SolverName = Literal["auto", "cg-pmg", "pardiso", "cholmod", "cg-amg", "cg-jacobi", "superlu"]


class SolveOptions(Options):
    """Solver and post-processing options (part of the FE measure's options)."""

    solver: SolverName = Field("auto", description="linear solver (auto chooses by model size)")
    precision: Literal["mixed", "double"] = Field(
        "mixed", description="PARDISO factor precision (mixed: float32 factor refined to float64 by CG)"
    )
    rtol: float = Field(1e-8, gt=0, lt=1e-2, description="relative residual of iterative solvers")
    strength: Literal["apparent_strain", "pistoia"] = Field(
        "apparent_strain", description="which definition gives strength_N"
    )
    strength_strain: float = Field(
        0.02, gt=0, lt=0.2, description="the bone's apparent strain at failure (Jiang 2023: 0.02); with caps it "
        "refers to the bone's endplates, not the caps' faces"
    )
    pistoia_volume_fraction: float = Field(0.07, gt=0, lt=1, description="critical bone volume fraction")
    pistoia_strain: float = Field(0.011, gt=0, lt=0.2, description="critical effective strain")
    nodal_fields: bool = Field(True, description="L2-project stress and strain to the nodes")
    region_shell_mm: float = Field(2.0, gt=0, le=10.0, description="depth of the outer-shell region, mm")
    region_endplate_mm: float = Field(3.0, gt=0, le=10.0, description="thickness of the endplate-zone regions, mm")
    region_strain_threshold: float = Field(
        0.011, gt=0, lt=0.2, description="effective strain above which a region's tissue counts as strained"
    )
