"""FE results: a frozen dataclass with the measure protocol's faces — a flat row, ``save`` and provenance.

Every result states what it measured and how: the load case and its boundary
conditions in words, the quantity its name promises (axial stiffness N/mm,
rotational stiffness N·m/deg, or the forces of a combined case), the strength
rule and its definition, the body height H and its definition, and the bone's
actual apparent strain at the applied load (which differs from the applied
one when PMMA caps take part of the displacement).

``save`` writes ``result.json`` (scalars, per-region values, reactions,
endplates, solver record, the sweep's table and the provenance block),
``result.vtu`` (mesh and fields) and, for a sweep, ``sweep.csv``. Tensors in
the VTU follow VTK's convention: six components in the order xx, yy, zz, xy,
yz, xz, in scanner axes like the mesh points (so ParaView's tensor filters
give the right principal values and directions); the axial (frame zz)
components are written separately as ``axial_stress_MPa`` and
``axial_strain``. The other cases of a sweep add their displacement, von
Mises stress, strain energy density and effective strain under
``<case>/<field>`` names.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..meshing.export import write_mesh
from ..meshing.model import VertebraMesh
from ..provenance import Provenance, jsonable, write_record
from .fields import vtk_tensor

__all__ = ["FEResult", "Reaction"]


@dataclass(frozen=True)
class Reaction:
    """Total reaction of a constrained node set, in frame and scanner components.

    ``moment_Nmm`` is taken about ``centroid_mm`` (the area-weighted centre of the set's boundary faces).
    """

    force_N: tuple[float, float, float]
    moment_Nmm: tuple[float, float, float]
    force_scanner_N: tuple[float, float, float]
    centroid_mm: tuple[float, float, float]
    n_nodes: int


@dataclass(frozen=True, eq=False)
class FEResult:
    """Result of one load case on one vertebra mesh (and, for a sweep, of the other cases on the same model).

    Scalars carry units in their names; ``fields`` holds per-element arrays
    (``von_mises_MPa`` …, tensors in the vertebral frame, vertfem's component
    order xx, yy, zz, yz, xz, xy) and ``nodal`` per-node arrays (displacement
    in scanner coordinates ``displacement_mm``, L2-projected stress and strain).

    Attributes
    ----------
    stiffness_N_per_mm : float or None
        Axial stiffness (axial cases): axial reaction / applied axial displacement.
    rotational_stiffness_Nm_per_deg : float or None
        Bending cases: moment about the rotation axis / rotation angle.
    axial_force_N, moment_Nm : float or None
        Axial reaction of the loaded set (compression negative) and its moment about the rotation axis
        (bending and combined cases), at the applied load.
    strength_N : float or None
        By ``strength_rule`` (axial cases only); all rules in ``strengths_N``.
    strength_definition, height_definition : str
        What the strength and the height H are.
    bone_apparent_strain : float or None
        The bone's apparent strain at the applied load: mean axial displacement of the inferior minus the
        superior bone endplate, over H (equal to the applied strain without caps).
    regions : dict
        Per-region values (:mod:`vertfem.solvers.regions`).
    endplates : dict
        Endplate sets of the model (sizes, areas, normals, wedge angle).
    sweep : tuple of FEResult
        The other load cases solved on the same model.
    set_roles : dict
        ``fixed`` or ``loaded`` per constrained node set (:attr:`~vertfem.solvers.loadcases.LoadCase.set_roles`).
    """

    measure: ClassVar[str] = "fe"
    vertebra: str
    kernel: str | None
    load_case: str
    load_case_description: str
    stiffness_N_per_mm: float | None
    rotational_stiffness_Nm_per_deg: float | None
    axial_force_N: float | None
    moment_Nm: float | None
    strength_N: float | None
    strength_rule: str | None
    strength_definition: str
    strengths_N: dict[str, float]
    apparent_modulus_MPa: float | None
    height_mm: float
    height_definition: str
    applied_axial_displacement_mm: float | None
    applied_rotation_deg: float | None
    bone_apparent_strain: float | None
    reactions: dict[str, Reaction]
    regions: dict[str, dict[str, float | None]]
    endplates: dict[str, Any]
    bone_volume_mm3: float
    bone_mineral_mass_g: float
    n_clamped_elements: int
    solver: dict[str, Any]
    timings_s: dict[str, float]
    provenance: Provenance
    fields: dict[str, np.ndarray] = field(repr=False)
    nodal: dict[str, np.ndarray] = field(repr=False)
    mesh: VertebraMesh = field(repr=False)
    sweep: tuple[FEResult, ...] = ()
    set_roles: dict[str, str] = field(default_factory=dict)

    def case_row(self) -> dict[str, Any]:
        """This load case's own values (no sweep columns)."""
        row: dict[str, Any] = {
            "vertebra": self.vertebra,
            "kernel": self.kernel,
            "load_case": self.load_case,
            "stiffness_N_per_mm": self.stiffness_N_per_mm,
            "rotational_stiffness_Nm_per_deg": self.rotational_stiffness_Nm_per_deg,
            "axial_force_N": self.axial_force_N,
            "moment_Nm": self.moment_Nm,
            "strength_N": self.strength_N,
            "strength_rule": self.strength_rule,
            "strength_definition": self.strength_definition,
            "apparent_modulus_MPa": self.apparent_modulus_MPa,
            "height_mm": self.height_mm,
            "height_definition": self.height_definition,
            "bone_apparent_strain": self.bone_apparent_strain,
            "boundary_conditions": self.load_case_description,
            "bone_volume_mm3": self.bone_volume_mm3,
            "bone_mineral_mass_g": self.bone_mineral_mass_g,
            "n_elements": self.mesh.n_elements,
            "n_clamped_elements": self.n_clamped_elements,
        }
        for k in ("superior_nodes", "inferior_nodes", "superior_area_mm2", "inferior_area_mm2", "cross_section_mm2",
                  "wedge_deg"):
            if k in self.endplates:
                row[f"endplate_{k}"] = self.endplates[k]
        if "axis_to_endplates_deg" in self.endplates:
            row["axis_to_endplates_deg"] = self.endplates["axis_to_endplates_deg"]
        row.update({f"cranial_{c}": float(v) for c, v in zip("xyz", self.mesh.frame.cranial)})
        for name, values in self.regions.items():
            for k in ("load_share", "sed_mean_MPa", "strained_fraction"):
                row[f"{name}_{k}"] = values[k]
        return row

    def row(self) -> dict[str, Any]:
        """Scalars as a flat row (units in the column names); a sweep adds each other case's stiffness and forces."""
        row = self.case_row()
        for other in self.sweep:
            for k in ("stiffness_N_per_mm", "rotational_stiffness_Nm_per_deg", "axial_force_N", "moment_Nm"):
                if getattr(other, k) is not None:
                    row[f"{other.load_case}_{k}"] = getattr(other, k)
        return row

    def details(self) -> dict[str, Any]:
        """Everything beyond the row: regions, reactions, all strengths, endplates, solver, timings, frame, quality."""
        return {
            "load_case_description": self.load_case_description,
            "set_roles": self.set_roles,
            "strengths_N": self.strengths_N,
            "applied_axial_displacement_mm": self.applied_axial_displacement_mm,
            "applied_rotation_deg": self.applied_rotation_deg,
            "regions": self.regions,
            "reactions": {k: r.__dict__ for k, r in self.reactions.items()},
            "endplates": self.endplates,
            "n_nodes": self.mesh.n_nodes,
            "max_von_mises_MPa": float(np.max(self.fields["von_mises_MPa"])),
            "solver": self.solver,
            "timings_s": self.timings_s,
            "frame": self.mesh.frame.as_dict(),
            "mesh_quality": self.mesh.quality.as_dict() if self.mesh.quality else None,
            "sweep": [{**other.case_row(), "regions": other.regions,
                       "reactions": {k: r.__dict__ for k, r in other.reactions.items()},
                       "solver": other.solver} for other in self.sweep],
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
        for other in self.sweep:
            point[f"{other.load_case}/displacement_mm"] = other.nodal["displacement_mm"]
            for name in ("von_mises_MPa", "sed_MPa", "effective_strain"):
                cell[f"{other.load_case}/{name}"] = other.fields[name]
        return point, cell

    def save(self, folder: str | Path, *, stem: str = "result") -> dict[str, Path]:
        """Write ``<stem>.json`` (values, details, provenance), ``<stem>.vtu`` (mesh + fields) and, for a sweep,
        ``sweep.csv`` (one row per load case)."""
        out = Path(folder)
        js = write_record(out / f"{stem}.json", self.row(), self.provenance, **jsonable(self.details()))
        point, cell = self.vtu_fields()
        vtu = write_mesh(self.mesh, out / f"{stem}.vtu", point_data=point, cell_data=cell)
        paths = {"json": js, "vtu": vtu}
        if self.sweep:
            rows = [r.case_row() for r in (self, *self.sweep)]
            cols = list(dict.fromkeys(k for r in rows for k in r))
            paths["sweep"] = out / "sweep.csv"
            with open(paths["sweep"], "w", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=cols, restval="")
                w.writeheader()
                w.writerows(jsonable(rows))
        return paths
