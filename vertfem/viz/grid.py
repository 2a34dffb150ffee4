"""Results as pyvista grids: from an ``FEResult``, a ``VertebraMesh`` or a saved ``.vtu``, with what the title needs.

An in-memory result is converted with the same arrays ``FEResult.save``
writes (:meth:`~vertfem.solvers.results.FEResult.vtu_fields`), so a picture
of a result and of its saved file are the same picture. The vertebra, kernel
and load case come from the result, or for a file from the ``result.json``
written beside it; they are kept as string field data (``vertfem_<key>``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyvista as pv

from ..errors import ConfigError, OutputError, UnknownFieldError

__all__ = ["available_fields", "field_values", "frame_axes", "node_set_roles", "result_grid", "result_info"]

_INFO_KEYS = ("vertebra", "kernel", "load_case", "load_case_description", "set_roles")


def _set_info(grid: pv.UnstructuredGrid, info: dict[str, Any]) -> None:
    for k in _INFO_KEYS:
        if info.get(k):
            grid.field_data[f"vertfem_{k}"] = [str(info[k])]


def _info_from_json(vtu: Path) -> dict[str, Any]:
    """Vertebra, kernel and load case from the record written beside a result VTU (empty when absent)."""
    record = vtu.with_suffix(".json")
    if not record.is_file():
        return {}
    try:
        doc = json.loads(record.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict) or doc.get("measure") != "fe":
        return {}
    return {**doc.get("values", {}), "load_case_description": doc.get("load_case_description"),
            "set_roles": _roles_text(doc.get("set_roles") or {})}


def _roles_text(roles: dict[str, str]) -> str:
    """The node sets' roles as one string, ``inferior=fixed;superior=loaded`` (field data holds strings)."""
    return ";".join(f"{k}={v}" for k, v in roles.items())


def result_grid(source: Any) -> pv.UnstructuredGrid:
    """A pyvista grid with the fields of a result.

    Parameters
    ----------
    source : FEResult, VertebraMesh, pyvista UnstructuredGrid, or path to a ``.vtu``
        A grid is returned as it is; a path is read (with the vertebra and
        load case from the ``.json`` beside it, when there is one).

    Raises
    ------
    OutputError
        The path does not exist.
    UnknownFieldError
        The file holds no mesh.
    ConfigError
        ``source`` is none of the above.

    Examples
    --------
    >>> grid = result_grid(pv.ImageData(dimensions=(2, 2, 2)).cast_to_unstructured_grid())
    >>> grid.n_cells
    1
    """
    if isinstance(source, pv.UnstructuredGrid):
        return source
    if isinstance(source, (str, Path)):
        p = Path(source)
        if not p.is_file():
            raise OutputError(f"no result file {p}; give the result.vtu written by FEResult.save or vertfem analyze")
        read = pv.read(p)
        if not isinstance(read, pv.UnstructuredGrid):
            raise UnknownFieldError(f"{p} holds a {type(read).__name__}, not a mesh; give the result.vtu written by "
                                    "FEResult.save or a mesh written by write_mesh")
        _set_info(read, _info_from_json(p))
        return read
    from ..meshing.export import to_pyvista
    from ..meshing.model import VertebraMesh
    from ..solvers.results import FEResult

    if isinstance(source, FEResult):
        point, cell = source.vtu_fields()
        grid = to_pyvista(source.mesh, point_data=point, cell_data=cell)
        _set_info(grid, {"vertebra": source.vertebra, "kernel": source.kernel, "load_case": source.load_case,
                         "load_case_description": source.load_case_description,
                         "set_roles": _roles_text(source.set_roles)})
        return grid
    if isinstance(source, VertebraMesh):
        return to_pyvista(source)
    raise ConfigError(f"cannot draw a {type(source).__name__}; give an FEResult, a VertebraMesh, a pyvista grid or "
                      "the path of a .vtu")


def result_info(grid: pv.UnstructuredGrid) -> dict[str, str]:
    """Vertebra, kernel, load case, its description and the node sets' roles (``set=role;…``) carried by a grid
    (keys absent when unknown)."""
    fd = grid.field_data
    return {k: str(np.ravel(fd[f"vertfem_{k}"])[0]) for k in _INFO_KEYS if f"vertfem_{k}" in fd}


def node_set_roles(grid: pv.UnstructuredGrid) -> dict[str, str]:
    """Role (``fixed`` / ``loaded``) of each node set of the result a grid shows (empty when unknown).

    Examples
    --------
    >>> g = pv.ImageData(dimensions=(2, 2, 2)).cast_to_unstructured_grid()
    >>> _set_info(g, {"set_roles": _roles_text({"inferior": "fixed", "superior": "loaded"})})
    >>> node_set_roles(g)
    {'inferior': 'fixed', 'superior': 'loaded'}
    """
    parts = (part.partition("=") for part in result_info(grid).get("set_roles", "").split(";"))
    return {k: v for k, sep, v in parts if sep}


def available_fields(grid: pv.UnstructuredGrid) -> list[str]:
    """Scalar fields (cell or point) that can colour the mesh, sorted.

    Examples
    --------
    >>> g = pv.ImageData(dimensions=(2, 2, 2)).cast_to_unstructured_grid()
    >>> g.cell_data["E_MPa"] = [1000.0]
    >>> g.point_data["displacement_mm"] = np.zeros((8, 3))
    >>> available_fields(g)
    ['E_MPa']
    """
    names = [n for n in (*grid.cell_data.keys(), *grid.point_data.keys())
             if not n.startswith("set_") and np.asarray(grid[n]).ndim == 1]
    return sorted(set(names))


def field_values(grid: pv.UnstructuredGrid, name: str) -> np.ndarray:
    """One scalar field as floats.

    Raises
    ------
    UnknownFieldError
        The grid does not carry it; the message lists the fields it does.
    """
    if name not in available_fields(grid):
        raise UnknownFieldError(f"field {name!r} is not in this result; available: {', '.join(available_fields(grid))}")
    return np.asarray(grid[name], dtype=float)


def frame_axes(grid: pv.UnstructuredGrid) -> dict[str, np.ndarray]:
    """Centroid and unit axes (lateral, anterior, cranial) of the vertebral frame, scanner coordinates.

    A grid without a frame (not written by vertfem) gets the LPS scanner
    axes at its centre: anterior −y, cranial +z, lateral (patient's right) −x.
    """
    fd = grid.field_data
    if "frame_centroid_mm" not in fd:
        return {"centroid": np.asarray(grid.center, float), "lateral": np.array([-1.0, 0, 0]),
                "anterior": np.array([0, -1.0, 0]), "cranial": np.array([0, 0, 1.0])}
    return {k: np.asarray(fd[f"frame_{k}" if k != "centroid" else "frame_centroid_mm"], float)
            for k in ("centroid", "lateral", "anterior", "cranial")}
