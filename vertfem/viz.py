"""Visualisation with pyvista: fields, deformed shape, clipping in the vertebral frame, boundary sets, comparisons.

Every function renders interactively on a desktop, or off screen to a PNG
when ``screenshot`` is given (VTK's off-screen path works headless; no X
server needed). Colour ranges are percentile-clipped by default so that one
hot element does not wash out the picture; differences use a diverging map
centred on zero.

Examples
--------
>>> import vertfem as vf                                          # doctest: +SKIP
>>> vf.viz.plot_field("out/result.vtu", "von_mises_MPa", clip="sagittal", screenshot="vm.png")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyvista as pv

from .errors import VertfemError

__all__ = ["FIELDS", "FieldStyle", "UnknownFieldError", "available_fields", "compare_results", "plot_ct_overlay",
           "plot_field", "result_grid"]


class UnknownFieldError(VertfemError, KeyError):
    """A field was asked for that the result does not carry."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class FieldStyle:
    """How a field is drawn: its label with units and colour map; ``diverging`` maps centre on zero."""

    label: str
    cmap: str
    diverging: bool = False


FIELDS: dict[str, FieldStyle] = {
    "E_MPa": FieldStyle("E (MPa)", "viridis"),
    "rho_app_g_cm3": FieldStyle("ρapp (g/cm³)", "cividis"),
    "rho_ash_g_cm3": FieldStyle("ρash (g/cm³)", "cividis"),
    "von_mises_MPa": FieldStyle("von Mises stress (MPa)", "inferno"),
    "min_principal_strain": FieldStyle("minimum principal strain (–)", "RdBu_r", diverging=True),
    "sed_MPa": FieldStyle("strain energy density (MPa = mJ/mm³)", "magma"),
    "effective_strain": FieldStyle("effective strain (–)", "inferno"),
    "displacement_magnitude_mm": FieldStyle("|u| (mm)", "plasma"),
    "region": FieldStyle("region", "tab10"),
}
_DIFF_CMAP = "RdBu_r"
_CLIP_AXES = {"sagittal": "frame_lateral", "frontal": "frame_anterior", "axial": "frame_cranial"}


def result_grid(source: Any) -> pv.UnstructuredGrid:
    """A pyvista grid with fields from an ``FEResult``, a ``VertebraMesh`` or a saved ``.vtu``."""
    if isinstance(source, pv.UnstructuredGrid):
        return source
    if isinstance(source, (str, Path)):
        p = Path(source)
        if not p.exists():
            raise FileNotFoundError(f"no result file {p}")
        return pv.read(p)
    from .meshing.export import to_pyvista
    from .solvers.results import FEResult

    if isinstance(source, FEResult):
        f = source.fields
        cell = {k: f[k] for k in ("von_mises_MPa", "sed_MPa", "effective_strain") if k in f}
        if "principal_strain" in f:
            cell["min_principal_strain"] = f["principal_strain"][:, 2]
        point = dict(source.nodal)
        if "displacement_mm" in point:
            point["displacement_magnitude_mm"] = np.linalg.norm(point["displacement_mm"], axis=1)
        return to_pyvista(source.mesh, point_data=point, cell_data=cell)
    return to_pyvista(source)


def available_fields(grid: pv.UnstructuredGrid) -> list[str]:
    """Scalar fields (cell or point) that can colour the mesh."""
    names = [n for n in (*grid.cell_data.keys(), *grid.point_data.keys())
             if not n.startswith("set_") and np.asarray(grid[n]).ndim == 1]
    return sorted(set(names))


def _field(grid: pv.UnstructuredGrid, name: str) -> np.ndarray:
    if name not in available_fields(grid):
        raise UnknownFieldError(f"field {name!r} is not in this result; available: {', '.join(available_fields(grid))}")
    return np.asarray(grid[name], dtype=float)


def _limits(values: np.ndarray, percentile: tuple[float, float] | None, diverging: bool) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(v, percentile) if percentile else (v.min(), v.max())
    if diverging:
        m = max(abs(lo), abs(hi)) or 1.0
        return -m, m
    return (float(lo), float(hi)) if hi > lo else (float(lo) - 0.5, float(lo) + 0.5)


def _frame(grid: pv.UnstructuredGrid) -> dict[str, np.ndarray]:
    fd = grid.field_data
    if "frame_centroid_mm" not in fd:
        c = np.asarray(grid.center)
        return {"frame_centroid_mm": c, "frame_lateral": np.array([1.0, 0, 0]),
                "frame_anterior": np.array([0, -1.0, 0]), "frame_cranial": np.array([0, 0, 1.0])}
    return {k: np.asarray(fd[k], float) for k in ("frame_centroid_mm", "frame_lateral", "frame_anterior",
                                                   "frame_cranial")}


def _prepare(grid: pv.UnstructuredGrid, clip: str | None, scale: float) -> pv.DataSet:
    g = grid.copy()
    if scale and "displacement_mm" in g.point_data:
        g.points = g.points + scale * np.asarray(g.point_data["displacement_mm"])
    if clip:
        if clip not in _CLIP_AXES:
            raise ValueError(f"clip must be one of {sorted(_CLIP_AXES)}, got {clip!r}")
        fr = _frame(grid)
        g = g.clip(normal=fr[_CLIP_AXES[clip]], origin=fr["frame_centroid_mm"], crinkle=True)
    return g


def _view(p: pv.Plotter, grid: pv.UnstructuredGrid, clip: str | None) -> None:
    fr = _frame(grid)
    c = fr["frame_centroid_mm"]
    # look along the clip normal at the cut face; otherwise from anterior-lateral
    normal = fr[_CLIP_AXES[clip]] if clip else fr["frame_anterior"] + 0.6 * fr["frame_lateral"]
    size = float(np.linalg.norm(np.ptp(np.asarray(grid.points), axis=0)))
    up = fr["frame_anterior"] if clip == "axial" else fr["frame_cranial"]
    p.camera_position = [tuple(c + 1.9 * size * normal / np.linalg.norm(normal)), tuple(c), tuple(up)]


def _sets(p: pv.Plotter, grid: pv.UnstructuredGrid, scale: float) -> None:
    """Glyphs on the boundary-condition node sets (every named set except the whole surface)."""
    colours = {"inferior": "royalblue", "superior": "crimson"}
    pts = np.asarray(grid.points)
    if scale and "displacement_mm" in grid.point_data:
        pts = pts + scale * np.asarray(grid.point_data["displacement_mm"])
    for name in grid.point_data.keys():
        if not name.startswith("set_") or name == "set_surface":
            continue
        sel = np.asarray(grid.point_data[name]) > 0
        if sel.any():
            key = name[4:]
            p.add_points(pts[sel], color=colours.get(key, "orange"), point_size=6, render_points_as_spheres=True,
                         label=key)


def _plotter(off_screen: bool, **kw) -> pv.Plotter:
    if off_screen and not os.environ.get("DISPLAY"):
        # headless: go straight to VTK's OSMesa window instead of failing over from X with a warning
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkOSOpenGLRenderWindow")
    return pv.Plotter(off_screen=off_screen, **kw)


def _finish(p: pv.Plotter, screenshot: str | Path | None) -> Path | pv.Plotter:
    if screenshot is None:
        return p
    out = Path(screenshot)
    out.parent.mkdir(parents=True, exist_ok=True)
    p.screenshot(str(out))
    p.close()
    return out


def plot_field(
    source: Any,
    field: str = "von_mises_MPa",
    *,
    clip: str | None = None,
    deformed_scale: float = 0.0,
    show_sets: bool = True,
    clim: tuple[float, float] | None = None,
    percentile: tuple[float, float] | None = (2.0, 98.0),
    screenshot: str | Path | None = None,
    window_size: tuple[int, int] = (900, 750),
    plotter: pv.Plotter | None = None,
) -> Path | pv.Plotter:
    """Render a result coloured by a field.

    Parameters
    ----------
    source : FEResult, VertebraMesh, pyvista grid or path to a ``.vtu``
    field : str
        E.g. ``E_MPa``, ``rho_app_g_cm3``, ``von_mises_MPa``,
        ``min_principal_strain``, ``sed_MPa``, ``displacement_magnitude_mm``.
    clip : {"sagittal", "frontal", "axial"}, optional
        Cut through the vertebral frame's centroid to show the inside.
    deformed_scale : float
        Draw the deformed shape, displacements × this factor (0 = undeformed).
    show_sets : bool
        Mark the node sets (inferior blue, superior red, others orange).
    clim : (lo, hi), optional
        Colour range; default the 2nd–98th percentile (symmetric for diverging fields).
    screenshot : path, optional
        Render off screen to this PNG and return its path; otherwise return
        the plotter (call ``.show()``).

    Raises
    ------
    UnknownFieldError
        The field is not in the result; the message lists the available ones.
    """
    grid = result_grid(source)
    values = _field(grid, field)
    style = FIELDS.get(field, FieldStyle(field, "viridis"))
    lims = clim or _limits(values, percentile, style.diverging)
    g = _prepare(grid, clip, deformed_scale)
    p = plotter or _plotter(screenshot is not None, window_size=window_size)
    p.add_mesh(g, scalars=field, cmap=style.cmap, clim=lims, show_edges=False,
               scalar_bar_args={"title": style.label, "vertical": True, "position_x": 0.82, "position_y": 0.1,
                                "title_font_size": 14})
    if show_sets:
        _sets(p, grid, deformed_scale)
    _view(p, grid, clip)
    return _finish(p, screenshot) if plotter is None else p


def compare_results(
    a: Any,
    b: Any,
    field: str = "von_mises_MPa",
    *,
    labels: tuple[str, str] = ("A", "B"),
    clip: str | None = "sagittal",
    percentile: tuple[float, float] | None = (2.0, 98.0),
    screenshot: str | Path | None = None,
    window_size: tuple[int, int] = (1500, 600),
) -> Path | pv.Plotter:
    """Two results side by side with one colour range, plus ``B − A`` when the meshes match.

    The meshes match when they have the same elements (the same vertebra
    meshed once, e.g. kernel A vs kernel B mapped on one mesh); otherwise only
    the two panels are drawn.
    """
    ga, gb = result_grid(a), result_grid(b)
    va, vb = _field(ga, field), _field(gb, field)
    style = FIELDS.get(field, FieldStyle(field, "viridis"))
    lims = _limits(np.concatenate([va, vb]), percentile, style.diverging)
    same = ga.n_cells == gb.n_cells and ga.n_points == gb.n_points and np.allclose(ga.points, gb.points)
    cols = 3 if same else 2
    p = _plotter(screenshot is not None, shape=(1, cols), window_size=window_size)
    for i, (g, lab) in enumerate(((ga, labels[0]), (gb, labels[1]))):
        p.subplot(0, i)
        p.add_text(lab, font_size=10)
        p.add_mesh(_prepare(g, clip, 0.0), scalars=field, cmap=style.cmap, clim=lims,
                   scalar_bar_args={"title": f"{style.label} ", "vertical": False})
        _view(p, g, clip)
    if same:
        diff = gb.copy()
        diff[f"{field}_difference"] = vb - va
        p.subplot(0, 2)
        p.add_text(f"{labels[1]} − {labels[0]}", font_size=10)
        dl = _limits(vb - va, percentile, True)
        p.add_mesh(_prepare(diff, clip, 0.0), scalars=f"{field}_difference", cmap=_DIFF_CMAP, clim=dl,
                   scalar_bar_args={"title": f"Δ {style.label}", "vertical": False})
        _view(p, gb, clip)
    p.link_views()
    return _finish(p, screenshot)


def plot_ct_overlay(
    ct: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    overlay: np.ndarray | None = None,
    overlay_label: str = "",
    slice_index: int | None = None,
    axis: int = 0,
    spacing_mm: tuple[float, float] = (1.0, 1.0),
    window: tuple[float, float] = (-200.0, 1000.0),
    cmap: str = "magma",
    screenshot: str | Path | None = None,
):
    """A CT slice with the mask outline and a map (density, focal BMC loss, …) on top (matplotlib).

    ``ct``, ``mask`` and ``overlay`` share one grid (``k, j, i``); ``axis``
    picks the slicing direction (0 = axial for axial CT); NaN in the overlay is
    transparent. ``spacing_mm`` gives the in-slice pixel size for the axes.
    """
    import matplotlib

    if screenshot is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    ct = np.asarray(ct, float)
    if slice_index is None:
        if mask is not None and np.any(mask):
            idx = np.flatnonzero(np.any(np.moveaxis(np.asarray(mask, bool), axis, 0), axis=(1, 2)))
            slice_index = int(idx[len(idx) // 2])
        else:
            slice_index = ct.shape[axis] // 2
    take = lambda a: np.take(a, slice_index, axis=axis)  # noqa: E731
    sl = take(ct)
    extent = (0, sl.shape[1] * spacing_mm[1], 0, sl.shape[0] * spacing_mm[0])
    fig, ax = plt.subplots(figsize=(6, 5), dpi=110)
    ax.imshow(sl, cmap="gray", vmin=window[0], vmax=window[1], origin="lower", extent=extent)
    if overlay is not None:
        im = ax.imshow(np.ma.masked_invalid(take(np.asarray(overlay, float))), cmap=cmap, origin="lower",
                       extent=extent, alpha=0.8)
        fig.colorbar(im, ax=ax, label=overlay_label)
    if mask is not None:
        ax.contour(take(np.asarray(mask, float)), levels=[0.5], colors="cyan", linewidths=0.8, origin="lower",
                   extent=extent)
    ax.set_xlabel("mm")
    ax.set_ylabel("mm")
    ax.set_title(f"slice {slice_index} (axis {axis})")
    if screenshot is None:
        return fig
    out = Path(screenshot)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)
    return out
