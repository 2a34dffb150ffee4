"""FE solver: TET10 linear elasticity, load cases, linear solvers, results."""

from .assembly import BlockPattern, assemble_mass, assemble_stiffness
from .fields import element_fields, project_to_nodes, von_mises
from .linear import SolverInfo, available_solvers, solve_spd
from .loadcases import (
    BUILTIN_LOAD_CASES,
    Displacement,
    Force,
    LoadCase,
    Rotation,
    Selector,
    anterior_wedge,
    axial_compression,
    combined,
    lateral_wedge,
    load_case_from_mapping,
)
from .multigrid import p1_prolongation, pmg_cg
from .results import FEResult, Reaction, save_result
from .static import SolveOptions, solve_load_case

__all__ = [
    "BUILTIN_LOAD_CASES", "BlockPattern", "Displacement", "FEResult", "Force", "LoadCase", "Reaction",
    "Rotation", "Selector", "SolveOptions", "SolverInfo", "anterior_wedge", "assemble_mass",
    "assemble_stiffness", "available_solvers", "axial_compression", "combined", "element_fields",
    "lateral_wedge", "load_case_from_mapping", "p1_prolongation", "pmg_cg", "project_to_nodes", "save_result",
    "solve_load_case", "solve_spd", "von_mises",
]
