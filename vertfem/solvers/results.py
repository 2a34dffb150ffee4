"""FE results: a frozen dataclass with the measure protocol's faces — a flat row, ``save`` and provenance.

``save`` writes ``result.json`` (scalars, reactions, solver record and the
provenance block) and ``result.vtu`` (mesh and fields). Tensors in the VTU
follow VTK's convention: six components in the order xx, yy, zz, xy, yz, xz,
in scanner axes like the mesh points (so ParaView's tensor filters give the
right principal values and directions); the axial (frame zz) components are
written separately as ``axial_stress_MPa`` and ``axial_strain``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..meshing.export import write_mesh
from ..meshing.model import VertebraMesh
from ..provenance import Provenance, jsonable, write_record
from .fields import vtk_tensor

__all__ = ["Reaction", "FEResult"]


@dataclass(frozen=True)
class Reaction:
    """Total reaction of a constrained node set, in frame and scanner components."""

    force_N: tuple[float, float, float]
    moment_Nmm: tuple[float, float, float]
    force_scanner_N: tuple[float, float, float]
    centroid_mm: tuple[float, float, float]
    n_nodes: int


@dataclass(frozen=True, eq=False)
class FEResult:
    """Result of one load case on one vertebra mesh.

    Scalars carry units in their names; ``fields`` holds per-element arrays
    (``von_mises_MPa`` …, tensors in the vertebral frame, vertfem's component
    order xx, yy, zz, yz, xz, xy) and ``nodal`` per-node arrays (displacement
    in scanner coordinates ``displacement_mm``, L2-projected stress and strain).
    """

    measure: ClassVar[str] = "fe"
    vertebra: str
    kernel: str | None
    load_case: str
    load_case_description: str
    stiffness_N_per_mm: float | None
    strength_N: float | None
    strength_definition: str
    strengths_N: dict[str, float]
    apparent_modulus_MPa: float | None
    height_mm: float
    applied_axial_displacement_mm: float | None
    reactions: dict[str, Reaction]
    bone_volume_mm3: float
    bone_mineral_mass_g: float
    n_clamped_elements: int
    solver: dict[str, Any]
    timings_s: dict[str, float]
    provenance: Provenance
    fields: dict[str, np.ndarray] = field(repr=False)
    nodal: dict[str, np.ndarray] = field(repr=False)
    mesh: VertebraMesh = field(repr=False)

    def row(self) -> dict[str, Any]:
        """Scalars as a flat row (units in the column names)."""
        return {
            "vertebra": self.vertebra,
            "kernel": self.kernel,
            "load_case": self.load_case,
            "stiffness_N_per_mm": self.stiffness_N_per_mm,
            "strength_N": self.strength_N,
            "strength_definition": self.strength_definition,
            "apparent_modulus_MPa": self.apparent_modulus_MPa,
            "height_mm": self.height_mm,
            "bone_volume_mm3": self.bone_volume_mm3,
            "bone_mineral_mass_g": self.bone_mineral_mass_g,
            "n_elements": self.mesh.n_elements,
            "n_clamped_elements": self.n_clamped_elements,
        }

    def details(self) -> dict[str, Any]:
        """Everything beyond the row: reactions, all strengths, solver, timings, frame, mesh quality."""
        return {
            "load_case_description": self.load_case_description,
            "strengths_N": self.strengths_N,
            "applied_axial_displacement_mm": self.applied_axial_displacement_mm,
            "reactions": {k: r.__dict__ for k, r in self.reactions.items()},
            "n_nodes": self.mesh.n_nodes,
            "max_von_mises_MPa": float(np.max(self.fields["von_mises_MPa"])),
            "solver": self.solver,
            "timings_s": self.timings_s,
            "frame": self.mesh.frame.as_dict(),
            "mesh_quality": self.mesh.quality.as_dict() if self.mesh.quality else None,
        }

    def vtu_fields(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Point and cell arrays as written to ``result.vtu`` (VTK tensor order, scanner axes)."""
        f = self.fields
        rot = self.mesh.frame.rotation
        cell = {
            "von_mises_MPa": f["von_mises_MPa"],
            "stress_MPa": vtk_tensor(f["stress_MPa"], rot),
            "strain": vtk_tensor(f["strain"], rot),
            "axial_stress_MPa": f["stress_MPa"][:, 2],
            "axial_strain": f["strain"][:, 2],
            "principal_stress_MPa": f["principal_stress_MPa"],
            "principal_strain": f["principal_strain"],
            "min_principal_strain": f["principal_strain"][:, 2],
            "sed_MPa": f["sed_MPa"],
            "effective_strain": f["effective_strain"],
        }
        point: dict[str, np.ndarray] = {"displacement_mm": self.nodal["displacement_mm"],
                                        "displacement_magnitude_mm": np.linalg.norm(self.nodal["displacement_mm"],
                                                                                    axis=1)}
        for name in ("stress_MPa", "strain"):
            if name in self.nodal:
                point[name] = vtk_tensor(self.nodal[name], rot)
        return point, cell

    def save(self, folder: str | Path, *, stem: str = "result") -> dict[str, Path]:
        """Write ``<stem>.json`` (values, details, provenance) and ``<stem>.vtu`` (mesh + fields)."""
        out = Path(folder)
        js = write_record(out / f"{stem}.json", self.row(), self.provenance, **jsonable(self.details()))
        point, cell = self.vtu_fields()
        vtu = write_mesh(self.mesh, out / f"{stem}.vtu", point_data=point, cell_data=cell)
        return {"json": js, "vtu": vtu}
