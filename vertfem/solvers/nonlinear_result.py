"""The result of an elastic–plastic analysis: the curve, yield point, strength, fields; JSON, CSV, plot, VTU."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..meshing.export import write_mesh
from ..meshing.model import VertebraMesh
from ..provenance import Provenance, jsonable, write_record
from .fields import vtk_tensor

__all__ = ["NonlinearResult", "offset_yield_point"]


def offset_yield_point(
    displacement_mm: np.ndarray, force_N: np.ndarray, stiffness_N_per_mm: float, offset_mm: float
) -> tuple[float, float] | None:
    """Where a force–displacement curve meets the line ``F = K·(d − offset)`` (0.2 %-offset yield).

    Linear interpolation between the recorded points; ``None`` if the curve
    stays above the line.

    Examples
    --------
    >>> import numpy as np
    >>> d = np.array([0.0, 1.0, 2.0, 3.0])
    >>> f = np.array([0.0, 100.0, 110.0, 120.0])  # K = 100, yield at 1, post-yield slope 10
    >>> [round(v, 4) for v in offset_yield_point(d, f, 100.0, 0.2)]  # 100 + 10 (d − 1) = 100 (d − 0.2)
    [1.2222, 102.2222]
    """
    d = np.asarray(displacement_mm, float)
    f = np.asarray(force_N, float)
    g = f - stiffness_N_per_mm * (d - offset_mm)
    below = np.flatnonzero(g <= 0.0)
    if len(below) == 0 or below[0] == 0:
        return None
    i = below[0]
    s = g[i - 1] / (g[i - 1] - g[i])
    return float(d[i - 1] + s * (d[i] - d[i - 1])), float(f[i - 1] + s * (f[i] - f[i - 1]))


@dataclass(frozen=True, eq=False)
class NonlinearResult:
    """Result of an elastic–plastic analysis to failure (measure ``fe_nonlinear``).

    The curve holds one point per converged (sub)step, starting at the
    origin: ``force_N`` is the axial reaction of the loaded node set in the
    loading direction (compression positive for axial compression) and
    ``reactions_N`` the total reaction (frame components, (points, 3)) of
    every constrained node set. ``fields`` are per-element values at the
    strength point: ``equivalent_plastic_strain`` (volume mean of ᾱ),
    ``yielded`` (a point of the element is plastic, 0/1), ``stress_MPa``
    (frame, xx, yy, zz, yz, xz, xy) and ``von_mises_MPa``; ``nodal`` holds
    ``displacement_mm`` (scanner axes) there.
    """

    measure: ClassVar[str] = "fe_nonlinear"
    vertebra: str
    kernel: str | None
    load_case: str
    load_case_description: str
    material: dict[str, Any]
    height_mm: float
    load_factor: np.ndarray
    displacement_mm: np.ndarray
    force_N: np.ndarray
    reactions_N: dict[str, np.ndarray]
    stiffness_N_per_mm: float
    strength_nonlinear_N: float
    displacement_at_strength_mm: float
    yield_force_N: float | None
    yield_displacement_mm: float | None
    max_apparent_strain: float | None
    yielded_volume_fraction: float
    steps: list[dict[str, Any]]
    convergence: dict[str, Any]
    solver: dict[str, Any]
    timings_s: dict[str, float]
    provenance: Provenance
    fields: dict[str, np.ndarray] = field(repr=False)
    nodal: dict[str, np.ndarray] = field(repr=False)
    mesh: VertebraMesh = field(repr=False)
    set_roles: dict[str, str] = field(default_factory=dict)

    @property
    def apparent_strain(self) -> np.ndarray:
        """Displacement / body height at every point of the curve (1)."""
        return self.displacement_mm / self.height_mm

    @property
    def apparent_strain_at_strength(self) -> float:
        return self.displacement_at_strength_mm / self.height_mm

    @property
    def yield_apparent_strain(self) -> float | None:
        return None if self.yield_displacement_mm is None else self.yield_displacement_mm / self.height_mm

    @property
    def linear_strength_N(self) -> float | None:
        """The linear rule at the same apparent strain, K·ε·H (the 2 % rule by default)."""
        if self.max_apparent_strain is None:
            return None
        return self.stiffness_N_per_mm * self.max_apparent_strain * self.height_mm

    def row(self) -> dict[str, Any]:
        """Scalars as a flat row (units in the column names)."""
        lin = self.linear_strength_N
        return {
            "vertebra": self.vertebra,
            "kernel": self.kernel,
            "load_case": self.load_case,
            "material_model": self.material.get("name"),
            "strength_nonlinear_N": self.strength_nonlinear_N,
            "apparent_strain_at_strength": self.apparent_strain_at_strength,
            "yield_force_N": self.yield_force_N,
            "yield_apparent_strain": self.yield_apparent_strain,
            "stiffness_initial_N_per_mm": self.stiffness_N_per_mm,
            "strength_linear_same_strain_N": lin,
            "strength_nonlinear_to_linear": None if not lin else self.strength_nonlinear_N / lin,
            "max_apparent_strain": self.max_apparent_strain,
            "yielded_volume_fraction_at_strength": self.yielded_volume_fraction,
            "n_steps": self.solver["n_steps"],
            "n_newton_iterations": self.solver["n_newton_iterations"],
            "n_cg_iterations": self.solver["n_cg_iterations"],
            "nonlinear_time_s": self.timings_s["total"],
        }

    def details(self) -> dict[str, Any]:
        """Everything beyond the row: definitions, the curve, the step log, solver and timings."""
        return {
            "load_case_description": self.load_case_description,
            "set_roles": self.set_roles,
            "height_mm": self.height_mm,
            "strength_definition": "maximum axial reaction of the loaded node set up to max_apparent_strain",
            "yield_definition": f"intersection with the initial stiffness line offset by "
                                f"{self.convergence['yield_offset_strain']:g} apparent strain",
            "material": self.material,
            "curve": {"load_factor": self.load_factor, "displacement_mm": self.displacement_mm,
                      "apparent_strain": self.apparent_strain, "force_N": self.force_N,
                      "reactions_N": self.reactions_N},
            "steps": self.steps,
            "convergence": self.convergence,
            "solver": self.solver,
            "timings_s": self.timings_s,
            "n_elements": self.mesh.n_elements,
            "n_nodes": self.mesh.n_nodes,
        }

    def save(self, folder: str | Path, *, stem: str = "nonlinear") -> dict[str, Path]:
        """Write ``<stem>.json``, ``<stem>_curve.csv``, ``<stem>_curve.png`` and ``<stem>.vtu``.

        Returns the paths by kind (``json``, ``csv``, ``png``, ``vtu``). The VTU
        stress tensor is in VTK's order (xx, yy, zz, xy, yz, xz), scanner axes.
        """
        out = Path(folder)
        paths = {"json": write_record(out / f"{stem}.json", self.row(), self.provenance, **jsonable(self.details()))}
        paths["csv"] = out / f"{stem}_curve.csv"
        table = np.column_stack([self.load_factor, self.displacement_mm, self.apparent_strain, self.force_N])
        np.savetxt(paths["csv"], table, delimiter=",", fmt="%.10g", comments="",
                   header="load_factor,displacement_mm,apparent_strain,force_N")
        paths["png"] = out / f"{stem}_curve.png"
        self._plot(paths["png"])
        cell = {**self.fields, "stress_MPa": vtk_tensor(self.fields["stress_MPa"], self.mesh.frame.rotation),
                "axial_stress_MPa": self.fields["stress_MPa"][:, 2]}
        point = {**self.nodal,
                 "displacement_magnitude_mm": np.linalg.norm(self.nodal["displacement_mm"], axis=1)}
        paths["vtu"] = write_mesh(self.mesh, out / f"{stem}.vtu", point_data=point, cell_data=cell)
        return paths

    def _plot(self, path: Path) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(5.5, 4.0), dpi=120)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        eps = 100.0 * self.apparent_strain
        ax.plot(eps, self.force_N / 1000.0, "o-", ms=3, label="elastic–plastic FE")
        lim = eps.max()
        ax.plot([0, lim], [0, self.stiffness_N_per_mm * lim / 100.0 * self.height_mm / 1000.0], "--", lw=1,
                label="linear (initial stiffness)")
        ax.plot([100.0 * self.apparent_strain_at_strength], [self.strength_nonlinear_N / 1000.0], "r*", ms=10,
                label=f"strength {self.strength_nonlinear_N:.0f} N")
        if self.yield_force_N is not None and self.yield_displacement_mm is not None:
            offset = 100.0 * self.convergence["yield_offset_strain"]
            ax.plot([100.0 * self.yield_displacement_mm / self.height_mm], [self.yield_force_N / 1000.0], "ks", ms=5,
                    label=f"{offset:g} % offset yield {self.yield_force_N:.0f} N")
        ax.set_xlabel("apparent strain (%)")
        ax.set_ylabel("axial force (kN)")
        ax.set_ylim(0, 1.3 * self.force_N.max() / 1000.0)
        ax.set_title(f"{self.load_case}, {self.material.get('name')}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path)
