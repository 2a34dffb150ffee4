"""Cross-checking against CalculiX: the same TET10 model, BCs and moduli as an input deck.

The deck is written in the vertebral frame (the coordinates the vertfem solver
uses), so every prescribed component of a load case is a plain ``*BOUNDARY``
entry; reaction totals are read from ``*NODE PRINT ... TOTALS=ONLY``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import SolverError
from ..meshing.export import write_abaqus
from ..meshing.model import VertebraMesh
from .loadcases import LoadCase
from .plasticity import PlasticMaterial
from .static import apply_conditions

__all__ = ["read_calculix_totals", "run_calculix", "write_calculix_deck", "write_calculix_plastic_deck"]


def write_calculix_deck(
    mesh: VertebraMesh, load_case: LoadCase, path: str | Path, *, rel_tol: float | None = None
) -> tuple[Path, list[str]]:
    """Write a CalculiX deck of a load case; returns the path and the node-set names printed."""
    local = mesh.frame.to_local(mesh.nodes_mm)
    dofs, vals, force, sets = apply_conditions(load_case, local, mesh)
    if np.any(force):
        raise SolverError("write_calculix_deck supports displacement-driven load cases only")
    lines = ["*STEP", "*STATIC, SOLVER=SPOOLES", "*BOUNDARY"]
    lines += [f"{d // 3 + 1}, {d % 3 + 1}, {d % 3 + 1}, {v:.12g}" for d, v in zip(dofs, vals)]
    names = [f"RS{i}" for i in range(len(sets))]
    for n in names:
        lines += [f"*NODE PRINT, NSET={n}, TOTALS=ONLY", "RF"]
    lines.append("*END STEP")
    frame_mesh = replace(mesh, nodes_mm=local, node_sets=dict(zip(names, sets.values())))
    deck = write_abaqus(frame_mesh, path, rel_tol=rel_tol, step_lines=lines)
    return deck, list(sets)


def run_calculix(deck: str | Path, *, ccx: str | None = None, timeout_s: float = 1800) -> list[np.ndarray]:
    """Run ``ccx`` on a deck; total reaction force (N) of each printed set, in order."""
    exe = ccx or shutil.which("ccx")
    if exe is None:
        raise SolverError("CalculiX 'ccx' is not installed (Debian: apt-get install calculix-ccx)")
    deck = Path(deck)
    run = subprocess.run([exe, "-i", deck.stem], cwd=deck.parent, capture_output=True, text=True,
                         timeout=timeout_s, env={**os.environ, "OMP_NUM_THREADS": "2"})
    if run.returncode != 0 or "*ERROR" in run.stdout:
        raise SolverError(f"ccx failed on {deck}: {run.stdout[-1500:]}")
    text = deck.with_suffix(".dat").read_text()
    blocks = re.findall(r"total force \(fx,fy,fz\) for set \S+.*?\n\s*\n\s*(\S+)\s+(\S+)\s+(\S+)", text)
    return [np.array([float(v) for v in b]) for b in blocks]


def write_calculix_plastic_deck(
    mesh: VertebraMesh,
    load_case: LoadCase,
    material: PlasticMaterial,
    path: str | Path,
    *,
    max_apparent_strain: float = 0.02,
    n_increments: int = 20,
    residual_tolerance: float = 1e-4,
    correction_tolerance: float = 1e-3,
) -> tuple[Path, list[str]]:
    """A CalculiX deck of the same elastic–plastic problem :func:`~vertfem.solvers.nonlinear.solve_nonlinear` solves.

    Small-strain von Mises plasticity with linear isotropic hardening
    (``*PLASTIC`` with two points), one ``*MATERIAL`` per distinct
    (E, σy, H) of ``material``: bin the moduli first (e.g. with
    :func:`~vertfem.meshing.export.material_bins`) so that there are a few
    hundred. No ``NLGEOM``: CalculiX then solves the geometrically linear
    problem, as vertfem does. The load case is scaled to
    ``max_apparent_strain`` as in :class:`~vertfem.solvers.nonlinear.NonlinearOptions`
    and applied in ``n_increments`` equal increments (``*STATIC, DIRECT``),
    with the reaction totals printed at every increment. The field
    convergence controls are tightened to ``residual_tolerance`` (CalculiX's
    R_n, residual over mean force; default 0.005) and ``correction_tolerance``
    (C_n; default 0.01).

    Returns
    -------
    path : Path
    set_names : list of str
        The load case's node sets, in the order of the printed totals.

    Raises
    ------
    SolverError
        The material is not von Mises, or the load case applies forces.
    """
    if not material.is_von_mises:
        raise SolverError("CalculiX's *PLASTIC is von Mises plasticity: give a material with equal yield stresses in "
                          "tension and compression (von_mises_material)")
    local = mesh.frame.to_local(mesh.nodes_mm)
    dofs, vals, force, sets = apply_conditions(load_case, local, mesh)
    if np.any(force):
        raise SolverError("write_calculix_plastic_deck supports displacement-driven load cases only")
    d_axial = load_case.axial_displacement_mm
    scale = max_apparent_strain * mesh.height_mm / abs(d_axial) if d_axial else 1.0
    props = np.column_stack([material.E_MPa, material.yield_compression_MPa, material.hardening_MPa])
    groups, group_of = np.unique(props, axis=0, return_inverse=True)
    group_of = group_of.ravel()
    # write_abaqus writes one material per modulus bin; the group number as "modulus" makes its bins our groups
    names = [f"RS{i}" for i in range(len(sets))]
    lines = ["*STEP, INC=100000", "*STATIC, DIRECT", f"{1.0 / n_increments:.12g}, 1.0",
             "*CONTROLS, PARAMETERS=FIELD", f"{residual_tolerance:g}, {correction_tolerance:g}",
             "*CONTROLS, PARAMETERS=TIME INCREMENTATION", "12, 24, 9, 200, 10, 4, 12, 5", "*BOUNDARY"]
    lines += [f"{d // 3 + 1}, {d % 3 + 1}, {d % 3 + 1}, {v * scale:.12g}" for d, v in zip(dofs, vals)]
    for n in names:
        lines += [f"*NODE PRINT, NSET={n}, TOTALS=ONLY", "RF"]
    lines.append("*END STEP")
    frame_mesh = replace(mesh, nodes_mm=local, E_MPa=group_of + 1.0, node_sets=dict(zip(names, sets.values())))
    deck = write_abaqus(frame_mesh, path, rel_tol=1e-9, step_lines=lines)
    text = deck.read_text()

    def plastic(m: re.Match) -> str:
        e, sy, h = groups[int(m.group(1)) - 1]
        table = f"{sy:.9g}, 0\n{sy + h:.9g}, 1" if np.isfinite(sy) else ""
        return (f"*MATERIAL, NAME=MAT{m.group(1)}\n*ELASTIC\n{e:.9g}, {material.nu:.6g}"
                + (f"\n*PLASTIC\n{table}" if table else ""))

    text, n_mat = re.subn(r"\*MATERIAL, NAME=MAT(\d+)\n\*ELASTIC\n[^\n]*", plastic, text)
    if n_mat != len(groups):
        raise SolverError(f"deck has {n_mat} materials for {len(groups)} material groups")
    deck.write_text(text)
    return deck, list(sets)


def read_calculix_totals(dat: str | Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Reaction totals printed at every increment: step times and the (times, 3) force of each set (N).

    Set names are CalculiX's (upper case, ``RS0``, ``RS1``, … for decks of this module).
    """
    text = Path(dat).read_text()
    blocks = re.findall(r"total force \(fx,fy,fz\) for set (\S+) and time\s+(\S+)\s*\n\s*\n\s*(\S+)\s+(\S+)\s+(\S+)",
                        text)
    times = sorted({float(b[1]) for b in blocks})
    out: dict[str, np.ndarray] = {}
    for name in dict.fromkeys(b[0] for b in blocks):
        rows = {float(b[1]): [float(v) for v in b[2:]] for b in blocks if b[0] == name}
        out[name] = np.array([rows[t] for t in times])
    return np.array(times), out
