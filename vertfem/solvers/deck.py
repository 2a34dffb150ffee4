"""Complete, runnable CalculiX/Abaqus input decks of a model and its load cases.

:func:`write_deck` writes the mesh (C3D10, one material per element or per
modulus bin), every node set of the mesh and of the load cases, and one
``*STEP`` per load case: ``*STATIC``, the case's prescribed displacements
node by node (``*BOUNDARY, OP=NEW``), its forces (``*CLOAD, OP=NEW``), the
reaction totals of every constrained set (``*NODE PRINT, TOTALS=ONLY``) and
displacement/reaction/stress/strain output (``*NODE FILE``, ``*EL FILE``).
The deck is written in the vertebral frame (x lateral, y anterior, z cranial,
mm from the body centroid), the coordinates vertfem's solver uses, so every
prescribed component is a plain degree of freedom; its header comments give
the transformation back to scanner coordinates. Units: mm, N, MPa.

Each step replaces the previous step's conditions (``OP=NEW``), so the steps
are independent load cases of one model, as in a sweep
(:func:`~vertfem.solvers.static.solve_load_cases`); their reactions are read
back per step by :func:`read_deck_totals` (CalculiX's ``.dat``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .._version import __version__
from ..errors import BoundaryConditionError
from ..meshing.export import write_abaqus
from ..meshing.model import VertebraMesh
from .loadcases import LoadCase
from .static import apply_conditions

__all__ = ["Deck", "read_deck_totals", "write_deck"]


@dataclass(frozen=True)
class Deck:
    """A written deck: its path and, per step, the load case's name and the node sets whose reactions it prints.

    Attributes
    ----------
    path : Path
    steps : tuple of (str, tuple of str)
        Load-case name and vertfem's names of the printed sets, in print order.
    set_names : dict of str → str
        vertfem's set name → the deck's ``*NSET`` name.
    """

    path: Path
    steps: tuple[tuple[str, tuple[str, ...]], ...]
    set_names: dict[str, str]


def _deck_name(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", name).upper().strip("_") or "SET"
    if not base[0].isalpha():
        base = "S" + base
    out, i = base[:70], 1
    while out in taken:
        out, i = f"{base[:64]}_{i}", i + 1
    taken.add(out)
    return out


def write_deck(mesh: VertebraMesh, load_cases: LoadCase | Sequence[LoadCase], path: str | Path, *,
               rel_tol: float | None = None) -> Deck:
    """Write a complete CalculiX/Abaqus deck: the model and one static step per load case.

    Parameters
    ----------
    mesh : VertebraMesh
        Mapped mesh with its node sets.
    load_cases : LoadCase or sequence of LoadCase
        Any built-in or custom case (displacements, platen rotations, forces).
    path : str or Path
        ``.inp`` file.
    rel_tol : float, optional
        Bin the moduli to this relative tolerance (``None``: one material per element, exact).

    Returns
    -------
    Deck

    Raises
    ------
    BoundaryConditionError, UnderConstrainedError
        A case cannot be applied to this mesh.

    Examples
    --------
    >>> deck = write_deck(mesh, [axial_compression(mesh.height_mm), flexion(1.0)], "l1.inp")  # doctest: +SKIP
    >>> # ccx -i l1  → l1.dat holds the reaction totals of each step; read_deck_totals("l1.dat")
    """
    cases = [load_cases] if isinstance(load_cases, LoadCase) else list(load_cases)
    if not cases:
        raise BoundaryConditionError("write_deck needs at least one load case")
    local = mesh.frame.to_local(mesh.nodes_mm)
    taken: set[str] = set()
    set_names = {k: _deck_name(k, taken) for k in mesh.node_sets}
    node_sets = {set_names[k]: v for k, v in mesh.node_sets.items()}
    steps: list[str] = []
    printed: list[tuple[str, tuple[str, ...]]] = []
    for lc in cases:
        dofs, vals, force, sets = apply_conditions(lc, local, mesh)
        for name, idx in sets.items():
            if name not in set_names:
                set_names[name] = _deck_name(name, taken)
                node_sets[set_names[name]] = idx
            elif not np.array_equal(np.sort(node_sets[set_names[name]]), np.sort(idx)):
                raise BoundaryConditionError(f"load case {lc.name!r} selects a node set {name!r} that differs from "
                                             "the set of that name in another case or the mesh; rename it")
        steps += [f"** load case {lc.name}: {lc.description or 'custom'}", "*STEP", "*STATIC", "*BOUNDARY, OP=NEW"]
        steps += [f"{d // 3 + 1}, {d % 3 + 1}, {d % 3 + 1}, {v:.12g}" for d, v in zip(dofs, vals)]
        loads = np.flatnonzero(force)
        if len(loads):
            steps.append("*CLOAD, OP=NEW")
            steps += [f"{d // 3 + 1}, {d % 3 + 1}, {force[d]:.12g}" for d in loads]
        for name in sets:
            steps += [f"*NODE PRINT, NSET={set_names[name]}, TOTALS=ONLY", "RF"]
        steps += ["*NODE FILE", "U, RF", "*EL FILE", "S, E", "*END STEP"]
        printed.append((lc.name, tuple(sets)))
    f = mesh.frame
    comments = [
        f"written by vertfem {__version__}; units mm, N, MPa",
        "coordinates in the vertebral frame: x lateral (the patient's right), y anterior, z cranial, mm from the "
        "body centroid",
        f"scanner point = {list(np.round(f.centroid_mm, 6))} + x*{list(np.round(f.lateral, 9))} "
        f"+ y*{list(np.round(f.anterior, 9))} + z*{list(np.round(f.cranial, 9))}",
        f"{len(cases)} step(s), one per load case; each replaces the previous step's conditions (OP=NEW)",
    ]
    frame_mesh = replace(mesh, nodes_mm=local, node_sets=node_sets)
    deck = write_abaqus(frame_mesh, path, rel_tol=rel_tol, step_lines=steps,
                        heading=f"vertfem {mesh.info.get('vertebra', 'model')}: " + ", ".join(c.name for c in cases),
                        comments=comments)
    return Deck(deck, tuple(printed), set_names)


def read_deck_totals(dat: str | Path, deck: Deck) -> list[dict[str, np.ndarray]]:
    """The reaction totals (N, frame components) CalculiX printed, per step: ``[{set name: (fx, fy, fz)}, ...]``.

    Raises
    ------
    BoundaryConditionError
        The file does not hold one total per printed set of every step (the run failed or is another deck's).
    """
    text = Path(dat).read_text()
    blocks = re.findall(r"total force \(fx,fy,fz\) for set (\S+) and time\s+\S+\s*\n\s*\n\s*(\S+)\s+(\S+)\s+(\S+)",
                        text)
    expected = sum(len(sets) for _, sets in deck.steps)
    if len(blocks) != expected:
        raise BoundaryConditionError(f"{dat} holds {len(blocks)} reaction totals, the deck prints {expected}; "
                                     "did the CalculiX run finish?")
    out, pos = [], 0
    for _, sets in deck.steps:
        step = {}
        for name in sets:
            printed, *values = blocks[pos]
            if printed.upper() != deck.set_names[name]:
                raise BoundaryConditionError(f"{dat}: expected the total of set {deck.set_names[name]}, "
                                             f"found {printed}")
            step[name] = np.array([float(v) for v in values])
            pos += 1
        out.append(step)
    return out
