# The public names of this sub-package, read by type checkers and (through lazy_loader) at run time.
from .assembly import BlockPattern, assemble_mass, assemble_stiffness
from .deck import read_deck_totals, write_deck
from .fields import element_fields, project_to_nodes, von_mises
from .linear import PreparedSolver, SolverInfo, available_solvers, solve_spd
from .loadcases import (
    BUILTIN_LOAD_CASES,
    Displacement,
    Force,
    LoadCase,
    Rotation,
    Selector,
    anterior_wedge,
    axial_compression,
    builtin_load_case,
    combined,
    extension,
    flexion,
    lateral_bending,
    lateral_wedge,
    load_case_from_mapping,
)
from .multigrid import p1_prolongation, pmg_cg
from .options import SolveOptions, SolverName
from .regions import REGION_NAMES, RegionSpec
from .results import FEResult, Reaction
from .static import mesh_provenance, solve_load_case, solve_load_cases

__all__ = [
    "BUILTIN_LOAD_CASES", "REGION_NAMES", "BlockPattern", "Displacement", "FEResult", "Force", "LoadCase",
    "PreparedSolver", "Reaction", "RegionSpec", "Rotation", "Selector", "SolveOptions", "SolverInfo", "SolverName",
    "anterior_wedge", "assemble_mass", "assemble_stiffness", "available_solvers", "axial_compression",
    "builtin_load_case", "combined", "element_fields", "extension", "flexion", "lateral_bending", "lateral_wedge",
    "load_case_from_mapping", "mesh_provenance", "p1_prolongation", "pmg_cg", "project_to_nodes",
    "read_deck_totals", "solve_load_case", "solve_load_cases", "solve_spd", "von_mises", "write_deck",
]
