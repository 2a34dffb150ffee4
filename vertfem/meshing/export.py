"""Mesh exports: VTU (VTK's XML writer), XDMF and other formats (meshio), Abaqus/CalculiX decks.

VTU and XDMF carry cell data (``rho_ash_g_cm3``, ``rho_app_g_cm3``, ``E_MPa``,
``region``), node sets as 0/1 point data (``set_<name>``) and (VTU only: meshio drops
field data) the vertebral frame and body height as field data, so a VTU is
self-contained for ParaView, pyvista and :func:`read_mesh`.

The Abaqus deck is written by hand: meshio's writer emits ``C3D10MH``, which
CalculiX rejects. Connectivity is already in C3D10 order (same as VTK).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import meshio
import numpy as np
import pyvista as pv

from ..errors import UnknownFieldError
from ..vertebra.frame import VertebralFrame
from .model import REGIONS, VertebraMesh

__all__ = ["material_bins", "read_mesh", "to_meshio", "to_pyvista", "write_abaqus", "write_mesh"]


def to_meshio(mesh: VertebraMesh, *, point_data: dict | None = None, cell_data: dict | None = None) -> meshio.Mesh:
    """The mesh as a ``meshio.Mesh`` with materials, node sets and frame."""
    pdata = {f"set_{k}": np.isin(np.arange(mesh.n_nodes), v).astype(np.uint8) for k, v in mesh.node_sets.items()}
    pdata.update(point_data or {})
    cdata = {
        "rho_ash_g_cm3": [np.asarray(mesh.rho_ash_g_cm3, float)],
        "rho_app_g_cm3": [np.asarray(mesh.rho_app_g_cm3, float)],
        "E_MPa": [np.asarray(mesh.E_MPa, float)],
        "region": [np.asarray(mesh.region, np.int32)],
    }
    for k, v in (cell_data or {}).items():
        cdata[k] = [np.asarray(v)]
    f = mesh.frame
    fdata = {
        "frame_centroid_mm": np.asarray(f.centroid_mm),
        "frame_cranial": np.asarray(f.cranial),
        "frame_anterior": np.asarray(f.anterior),
        "frame_lateral": np.asarray(f.lateral),
        "frame_extremes_mm": np.array([f.inferior_mm, f.superior_mm]),
        "height_mm": np.array([mesh.height_mm]),
        "poisson_ratio": np.array([mesh.poisson_ratio]),
    }
    return meshio.Mesh(mesh.nodes_mm, [("tetra10", mesh.elements)], point_data=pdata, cell_data=cdata, field_data=fdata)


def to_pyvista(
    mesh: VertebraMesh, *, point_data: dict | None = None, cell_data: dict | None = None
) -> pv.UnstructuredGrid:
    """The mesh as a pyvista ``UnstructuredGrid`` (VTK quadratic tetrahedra) with all data."""
    m = to_meshio(mesh, point_data=point_data, cell_data=cell_data)
    cells = np.hstack([np.full((mesh.n_elements, 1), 10), mesh.elements]).ravel()
    grid = pv.UnstructuredGrid(cells, np.full(mesh.n_elements, pv.CellType.QUADRATIC_TETRA, np.uint8), mesh.nodes_mm)
    for k, v in m.point_data.items():
        grid.point_data[k] = v
    for k, v in m.cell_data.items():
        grid.cell_data[k] = v[0]
    for k, v in m.field_data.items():
        grid.field_data[k] = v
    return grid


def write_mesh(mesh: VertebraMesh, path: str | Path, **extra) -> Path:
    """Write ``.vtu`` (VTK) or ``.xdmf`` and other meshio formats (by suffix).

    Extra ``point_data=`` / ``cell_data=`` dicts are added to the file.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.suffix.lower() == ".vtu":
        # uncompressed binary: 0.3 s instead of zlib's 0.7 s on the bundled L1 result, for 22 % more
        # bytes; LZ4 would be as fast but meshio cannot read it
        to_pyvista(mesh, **extra).save(p, compression=None)
    else:
        to_meshio(mesh, **extra).write(p)
    return p


def read_mesh(path: str | Path) -> VertebraMesh:
    """Read a VTU written by :func:`write_mesh` back into a :class:`VertebraMesh`."""
    grid = pv.read(path)
    conn = grid.cells_dict[pv.CellType.QUADRATIC_TETRA]
    cd = {k: np.asarray(grid.cell_data[k]) for k in grid.cell_data}
    fd = {k: np.asarray(grid.field_data[k]) for k in grid.field_data}
    if "frame_centroid_mm" not in fd:
        raise UnknownFieldError(f"{path} has no vertebral frame (field data); it was not written by vertfem's "
                                "write_mesh")
    frame = VertebralFrame(
        tuple(fd["frame_centroid_mm"]), tuple(fd["frame_cranial"]), tuple(fd["frame_anterior"]),
        tuple(fd["frame_lateral"]), float(fd["frame_extremes_mm"][0]), float(fd["frame_extremes_mm"][1]),
    )
    sets = {k[4:]: np.flatnonzero(grid.point_data[k]) for k in grid.point_data if k.startswith("set_")}
    return VertebraMesh(
        nodes_mm=np.asarray(grid.points, float), elements=np.asarray(conn, np.int64),
        E_MPa=cd["E_MPa"], rho_ash_g_cm3=cd["rho_ash_g_cm3"], rho_app_g_cm3=cd["rho_app_g_cm3"],
        region=cd["region"].astype(np.int32), node_sets=sets, frame=frame,
        height_mm=float(np.ravel(fd["height_mm"])[0]), poisson_ratio=float(np.ravel(fd["poisson_ratio"])[0]),
        info={"source": str(path)},
    )


def material_bins(E_MPa: np.ndarray, *, rel_tol: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Group moduli into bins.

    ``rel_tol=None``: one material per element (exact). Otherwise moduli are
    binned on a logarithmic grid so every element's modulus is within
    ``rel_tol`` of its bin value.

    Returns
    -------
    bin_of_element : ndarray (m,) of int
    bin_E_MPa : ndarray (n_bins,)
    """
    e = np.asarray(E_MPa, float)
    if rel_tol is None:
        return np.arange(len(e)), e.copy()
    step = np.log1p(rel_tol) * 2.0
    idx = np.floor(np.log(e) / step).astype(np.int64)
    uniq, inv = np.unique(idx, return_inverse=True)
    return inv.ravel(), np.exp((uniq + 0.5) * step)


def _lines(values: np.ndarray, per_line: int = 16) -> list[str]:
    v = [str(int(x)) for x in values]
    return [", ".join(v[i : i + per_line]) for i in range(0, len(v), per_line)]


def write_abaqus(
    mesh: VertebraMesh,
    path: str | Path,
    *,
    rel_tol: float | None = None,
    step_lines: Sequence[str] = (),
    heading: str = "vertfem TET10 vertebra model",
    comments: Sequence[str] = (),
) -> Path:
    """Write an Abaqus/CalculiX deck (C3D10, one material per element or per bin).

    Parameters
    ----------
    mesh : VertebraMesh
    path : str or Path
        ``.inp`` file.
    rel_tol : float, optional
        Bin moduli to this relative tolerance (``None``: exact, one material
        per element).
    step_lines : sequence of str
        Lines appended after the model data (``*STEP`` … ``*END STEP``);
        without them the deck holds the model only.
    heading : str
        Title line of ``*HEADING``.
    comments : sequence of str
        Written as ``**`` comment lines after the heading (units, coordinate system).

    Node and element ids are 1-based; node sets are written as ``*NSET``
    with upper-case names (``SUPERIOR``, ``INFERIOR``, ...).
    """
    mesh.check_materials()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    bins, bin_e = material_bins(mesh.E_MPa, rel_tol=rel_tol)
    out = [f"*HEADING\n{heading}", *(f"** {c}" for c in comments), "*NODE"]
    out += [f"{i + 1}, {x:.9g}, {y:.9g}, {z:.9g}" for i, (x, y, z) in enumerate(mesh.nodes_mm)]
    out.append("*ELEMENT, TYPE=C3D10, ELSET=EALL")
    conn = mesh.elements + 1
    out += [f"{e + 1}, " + ", ".join(str(int(n)) for n in conn[e]) for e in range(len(conn))]
    for name, nodes in mesh.node_sets.items():
        if len(nodes):
            out.append(f"*NSET, NSET={name.upper()}")
            out += _lines(np.asarray(nodes) + 1)
    for code_name, code in REGIONS.items():
        sel = np.flatnonzero(mesh.region == code)
        if len(sel):
            out.append(f"*ELSET, ELSET=R{code_name.upper()}")
            out += _lines(sel + 1)
    order = np.argsort(bins, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(bins[order]) != 0])
    groups = np.split(order, starts[1:])
    for g in groups:
        b = int(bins[g[0]])
        out.append(f"*ELSET, ELSET=M{b + 1}")
        out += _lines(g + 1)
        out.append(f"*MATERIAL, NAME=MAT{b + 1}\n*ELASTIC\n{bin_e[b]:.9g}, {mesh.poisson_ratio:.6g}")
        out.append(f"*SOLID SECTION, ELSET=M{b + 1}, MATERIAL=MAT{b + 1}")
    out += list(step_lines)
    p.write_text("\n".join(out) + "\n")
    return p
