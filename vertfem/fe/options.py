"""Options of the FE measure: one flat model for meshing, materials, solver and load case.

:class:`FEOptions` joins :class:`~vertfem.meshing.options.MeshOptions`,
:class:`~vertfem.solvers.options.SolveOptions` and the load case, so every
option has one name in Python, on the command line (``--mesh-size-mm``) and in
the study YAML (``measures: {fe: {mesh_size_mm: 2}}``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..meshing.options import MeshOptions
from ..solvers.loadcases import LoadCase, LoadCaseModel, load_case_from_mapping
from ..solvers.options import SolveOptions

__all__ = ["BuiltinLoadCase", "FEOptions", "build_load_case"]

BuiltinLoadCase = Literal["axial_compression", "anterior_wedge", "lateral_wedge", "combined"]


class FEOptions(MeshOptions, SolveOptions):
    """Options of the FE measure: meshing, materials, solver and load case.

    Attributes
    ----------
    load_case : str or mapping
        A built-in load case (``axial_compression``, ``anterior_wedge``,
        ``lateral_wedge``, ``combined``) or a custom one as a mapping
        (:class:`~vertfem.solvers.loadcases.LoadCaseModel`).
    transverse_fixed : bool
        Fix the transverse displacements of the loaded endplate in the built-in cases.
    wedge_angle_deg : float
        Rotation of the superior endplate in the wedge cases, degrees.

    See :class:`~vertfem.meshing.MeshOptions` and
    :class:`~vertfem.solvers.SolveOptions` for the other fields.
    """

    load_case: BuiltinLoadCase | LoadCaseModel = Field("axial_compression", description="built-in load case")
    transverse_fixed: bool = Field(False, description="fix the transverse displacements of the loaded endplate")
    wedge_angle_deg: float = Field(1.0, gt=0, le=10.0, description="wedge rotation of the superior endplate, deg")

    def mesh_options(self) -> MeshOptions:
        """The meshing part."""
        return MeshOptions(**{k: getattr(self, k) for k in MeshOptions.model_fields})

    def solve_options(self) -> SolveOptions:
        """The solver part."""
        return SolveOptions(**{k: getattr(self, k) for k in SolveOptions.model_fields})


def build_load_case(options: FEOptions, height_mm: float) -> LoadCase:
    """The load case of ``options`` for a body of height ``height_mm``."""
    lc = options.load_case
    if isinstance(lc, LoadCaseModel):
        return load_case_from_mapping(lc.model_dump(exclude_unset=True), height_mm=height_mm)
    return load_case_from_mapping({"builtin": lc, "transverse_fixed": options.transverse_fixed,
                                   "angle_deg": options.wedge_angle_deg}, height_mm=height_mm)


