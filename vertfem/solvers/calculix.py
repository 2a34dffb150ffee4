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
from .static import apply_conditions

__all__ = ["write_calculix_deck", "run_calculix"]


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
    frame_mesh = replace(mesh, nodes_mm=local, node_sets={n: idx for n, idx in zip(names, sets.values())})
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
