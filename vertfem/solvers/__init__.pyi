# The public names of this sub-package, read by type checkers and (through lazy_loader) at run time.
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
from .results import FEResult, Reaction
from .options import SolveOptions, SolverName
from .static import mesh_provenance, solve_load_case

__all__ = [
    "BUILTIN_LOAD_CASES", "BlockPattern", "Displacement", "FEResult", "Force", "LoadCase", "Reaction",
    "Rotation", "Selector", "SolveOptions", "SolverInfo", "SolverName", "anterior_wedge", "assemble_mass",
    "assemble_stiffness", "available_solvers", "axial_compression", "combined", "element_fields",
    "lateral_wedge", "load_case_from_mapping", "mesh_provenance", "p1_prolongation", "pmg_cg", "project_to_nodes",
    "solve_load_case", "solve_spd", "von_mises",
]
