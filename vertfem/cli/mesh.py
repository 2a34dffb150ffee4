"""``vertfem mesh``: a mapped TET10 mesh of one vertebra (VTU/XDMF/VTK), optionally a complete CalculiX/Abaqus deck."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from ..errors import ConfigError, OutputError, VertfemError
from ..fe.options import LoadCaseOptions
from ..meshing.options import MeshOptions
from ._args import add_options, options_from_args
from ._common import add_inputs, prepare_from_args

__all__ = ["MESH_FORMATS", "register"]

#: Mesh file formats that hold quadratic tetrahedra with vertfem's cell data.
MESH_FORMATS = (".vtu", ".vtk", ".xdmf")


def _check_target(path: str | None, suffixes: tuple[str, ...], what: str) -> Path | None:
    if path is None:
        return None
    p = Path(path)
    if p.suffix.lower() not in suffixes:
        raise OutputError(f"{what} {p}: format {p.suffix or '(none)'} cannot hold a TET10 mesh with its materials; "
                          f"use one of {', '.join(suffixes)}")
    if p.is_dir():
        raise OutputError(f"{what} {p} is an existing folder; give a file name")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder of {p}: {exc.strerror or exc}") from exc
    return p


def cmd_mesh(args: argparse.Namespace, console: Console) -> int:
    """Mesh one vertebra and write the mesh (and the deck with the load case and the sweep's, one step each)."""
    from ..fe.options import build_load_cases
    from ..meshing import mesh_vertebra, write_mesh  # gmsh loads only when a mesh is made
    from ..solvers.deck import write_deck

    out = _check_target(args.output, MESH_FORMATS, "mesh file")
    deck = _check_target(args.abaqus, (".inp",), "Abaqus/CalculiX deck")
    opts = options_from_args(MeshOptions, args, where="mesh options")
    cases_opts = options_from_args(LoadCaseOptions, args, where="load-case options")
    prepared = prepare_from_args(args)
    if len(prepared) != 1:
        raise ConfigError(f"vertfem mesh meshes one vertebra; --vertebra {args.vertebra!r} names {len(prepared)}")
    ((name, v),) = prepared.items()
    if isinstance(v, VertfemError):
        raise v
    mesh = mesh_vertebra(v, opts)
    assert out is not None  # required argument
    write_mesh(mesh, out)
    q = mesh.quality
    n_cap = mesh.n_elements - (q.n_elements if q else mesh.n_elements)
    console.print(
        f"{name}: {mesh.n_elements} TET10" + (f" ({n_cap} in PMMA caps)" if n_cap else "")
        + f", {mesh.n_nodes} nodes, bone volume {q.volume_mm3 if q else float('nan'):.0f} mm³, "
        + (f"min/mean scaled Jacobian {q.min_scaled_jacobian:.3f}/{q.mean_scaled_jacobian:.3f}, " if q else "")
        + f"height {mesh.height_mm:.1f} mm, {mesh.info['n_clamped']} clamped → {out}"
    )
    if deck is not None:
        cases = build_load_cases(cases_opts, mesh.height_mm)
        written = write_deck(mesh, cases, deck)
        names = ", ".join(c.name for c in cases)
        console.print(f"CalculiX/Abaqus deck ({len(cases)} step(s): {names}; vertebral-frame "
                      f"coordinates, mm/N/MPa) → {written.path}; run: ccx -i {written.path.with_suffix('')}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``mesh``."""
    p = sub.add_parser("mesh", help="mesh one vertebra into mapped TET10 elements (VTU/XDMF/VTK, optional .inp deck)")
    add_inputs(p, levels_help="one level, e.g. L1")
    add_options(p, MeshOptions, title="mesh options")
    add_options(p, LoadCaseOptions, title="load case(s) of the deck (--abaqus)")
    p.add_argument("--abaqus", default=None, metavar="INP",
                   help="also write a complete CalculiX/Abaqus deck (.inp): the model and one static step per load "
                        "case (--load-case, --sweep) with its boundary conditions and reaction output")
    p.add_argument("-o", "--output", required=True, help=f"mesh file ({', '.join(MESH_FORMATS)})")
    p.set_defaults(func=cmd_mesh)
