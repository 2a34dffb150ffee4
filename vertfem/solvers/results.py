"""FE results: a frozen dataclass saved as JSON (scalars) + VTU (fields)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..meshing.export import write_mesh
from ..meshing.model import VertebraMesh

__all__ = ["Reaction", "FEResult", "save_result"]


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
    (``von_mises_MPa`` …) and ``nodal`` per-node arrays (displacement in
    scanner coordinates ``displacement_mm``, L2-projected stress and strain).
    """

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
    provenance: dict[str, Any]
    fields: dict[str, np.ndarray] = field(repr=False)
    nodal: dict[str, np.ndarray] = field(repr=False)
    mesh: VertebraMesh = field(repr=False)

    def summary(self) -> dict[str, Any]:
        """JSON-ready scalars and reactions."""
        return {
            "load_case": self.load_case,
            "load_case_description": self.load_case_description,
            "stiffness_N_per_mm": self.stiffness_N_per_mm,
            "strength_N": self.strength_N,
            "strength_definition": self.strength_definition,
            "strengths_N": self.strengths_N,
            "apparent_modulus_MPa": self.apparent_modulus_MPa,
            "height_mm": self.height_mm,
            "applied_axial_displacement_mm": self.applied_axial_displacement_mm,
            "reactions": {k: r.__dict__ for k, r in self.reactions.items()},
            "bone_volume_mm3": self.bone_volume_mm3,
            "bone_mineral_mass_g": self.bone_mineral_mass_g,
            "n_elements": self.mesh.n_elements,
            "n_nodes": self.mesh.n_nodes,
            "n_clamped_elements": self.n_clamped_elements,
            "max_von_mises_MPa": float(np.max(self.fields["von_mises_MPa"])),
            "solver": self.solver,
            "timings_s": self.timings_s,
            "frame": self.mesh.frame.as_dict(),
            "mesh_quality": self.mesh.quality.as_dict() if self.mesh.quality else None,
            "provenance": self.provenance,
        }


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    return x


def save_result(result: FEResult, outdir: str | Path, *, stem: str = "result") -> tuple[Path, Path]:
    """Write ``<stem>.json`` (scalars, provenance) and ``<stem>.vtu`` (mesh + fields)."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    js = out / f"{stem}.json"
    tmp = js.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(_jsonable(result.summary()), indent=2))
    tmp.replace(js)
    f = result.fields
    cell = {
        "von_mises_MPa": f["von_mises_MPa"],
        "stress_MPa": f["stress_MPa"],
        "strain": f["strain"],
        "principal_stress_MPa": f["principal_stress_MPa"],
        "principal_strain": f["principal_strain"],
        "min_principal_strain": f["principal_strain"][:, 2],
        "sed_MPa": f["sed_MPa"],
        "effective_strain": f["effective_strain"],
    }
    point = dict(result.nodal)
    point["displacement_magnitude_mm"] = np.linalg.norm(result.nodal["displacement_mm"], axis=1)
    vtu = write_mesh(result.mesh, out / f"{stem}.vtu", point_data=point, cell_data=cell)
    return js, vtu
