"""Options of the FE measure: one flat model for meshing, materials, solver and load cases.

:class:`FEOptions` joins :class:`~vertfem.meshing.options.MeshOptions`,
:class:`~vertfem.solvers.options.SolveOptions` and :class:`LoadCaseOptions`,
so every option has one name in Python, on the command line
(``--mesh-size-mm``, ``--load-case flexion``, ``--sweep flexion extension``)
and in the study YAML (``measures: {fe: {mesh_size_mm: 2}}``).
"""

from __future__ import annotations

from pydantic import Field

from ..meshing.options import MeshOptions
from ..options import Options
from ..solvers.loadcases import BuiltinName, LoadCase, LoadCaseModel, builtin_load_case, load_case_from_mapping
from ..solvers.options import SolveOptions

__all__ = ["BuiltinLoadCase", "FEOptions", "LoadCaseOptions", "build_load_cases"]

#: Names of the built-in load cases (:mod:`vertfem.solvers.loadcases`).
BuiltinLoadCase = BuiltinName


class LoadCaseOptions(Options):
    """The load case(s) of an FE analysis.

    Attributes
    ----------
    load_case : str or mapping
        The main load case: a built-in (``axial_compression``, ``flexion``,
        ``extension``, ``lateral_bending_right``, ``lateral_bending_left``,
        ``combined``; ``anterior_wedge`` / ``lateral_wedge`` are the earlier
        names of flexion and right lateral bending) or a custom one as a mapping
        (:class:`~vertfem.solvers.loadcases.LoadCaseModel`).
    sweep : tuple
        Further load cases solved on the same assembled model (one
        factorisation for all built-ins); their stiffnesses join the result's
        row and ``sweep.csv``.
    transverse_fixed : bool
        The built-ins prescribe the superior platen's full rigid motion instead of its axial component only.
    applied_strain : float
        Apparent strain applied by the axial built-ins (stiffness does not depend on it).
    wedge_angle_deg : float
        Rotation of the superior endplate in the bending built-ins, degrees.
    """

    load_case: BuiltinLoadCase | LoadCaseModel = Field("axial_compression", description="built-in load case")
    sweep: tuple[BuiltinLoadCase | LoadCaseModel, ...] = Field(
        (), description="further load cases solved on the same model (e.g. flexion extension lateral_bending_right)"
    )
    transverse_fixed: bool = Field(
        False, description="move the superior endplate as a rigid platen (all components) in the built-in cases"
    )
    applied_strain: float = Field(0.01, gt=0, lt=0.2, description="apparent strain applied by the axial built-ins")
    wedge_angle_deg: float = Field(1.0, gt=0, le=10.0, description="rotation of the superior endplate in the "
                                   "bending built-ins, deg")


class FEOptions(MeshOptions, SolveOptions, LoadCaseOptions):
    """Options of the FE measure: meshing, materials, solver and load cases.

    See :class:`~vertfem.meshing.MeshOptions`, :class:`~vertfem.solvers.SolveOptions`
    and :class:`LoadCaseOptions` for the fields.
    """

    def mesh_options(self) -> MeshOptions:
        """The meshing part."""
        return MeshOptions(**{k: getattr(self, k) for k in MeshOptions.model_fields})

    def solve_options(self) -> SolveOptions:
        """The solver part."""
        return SolveOptions(**{k: getattr(self, k) for k in SolveOptions.model_fields})


def _build(spec: str | LoadCaseModel, options: LoadCaseOptions, height_mm: float) -> LoadCase:
    if isinstance(spec, LoadCaseModel):
        return load_case_from_mapping(spec.model_dump(exclude_unset=True), height_mm=height_mm)
    return builtin_load_case(spec, height_mm, apparent_strain=options.applied_strain, angle_deg=options.wedge_angle_deg,
                             transverse_fixed=options.transverse_fixed)


def build_load_cases(options: LoadCaseOptions, height_mm: float) -> list[LoadCase]:
    """The main load case and the sweep's of ``options``, for a body of height ``height_mm``.

    Examples
    --------
    >>> [lc.name for lc in build_load_cases(LoadCaseOptions(sweep=("flexion", "lateral_wedge")), 25.0)]
    ['axial_compression', 'flexion', 'lateral_bending_right']
    """
    return [_build(spec, options, height_mm) for spec in (options.load_case, *options.sweep)]
