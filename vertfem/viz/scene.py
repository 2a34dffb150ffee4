"""3-D views of results: a field on the mesh, ready for a figure, and two results side by side.

Every view carries what a reader needs to interpret it: a title (vertebra,
kernel, load case, deformation scale), an orientation triad of the vertebral
frame (right = the frame's +lateral axis, anterior, cranial), a scalar bar
with units that says when the colour range is clipped (a swatch beyond the
bar's end labelled with the true extreme, e.g. "▲ max 14.85"), and a legend
for the constrained and loaded endplate nodes. ``dpi`` scales the pixels,
text, markers and lines together and is written into the PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyvista as pv
from PIL import Image
from vtkmodules.vtkCommonCore import VTK_FONT_FILE

from ..options import parse_options
from .backend import new_plotter
from .grid import field_values, frame_axes, node_set_roles, result_grid, result_info
from .options import ViewOptions
from .style import DIFFERENCE_STYLE, FONT_FILE, ColourScale, colour_scale, field_style

__all__ = ["auto_title", "compare_results", "plot_field", "view_options"]

_CLIP_NORMAL = {"sagittal": "lateral", "frontal": "anterior", "axial": "cranial"}
# view direction (from the centroid towards the camera) and up vector, as frame axes
_CAMERA = {
    "oblique": ({"anterior": 1.0, "lateral": 0.6, "cranial": 0.25}, "cranial"),
    "anterior": ({"anterior": 1.0}, "cranial"),
    "posterior": ({"anterior": -1.0}, "cranial"),
    "right": ({"lateral": 1.0}, "cranial"),
    "left": ({"lateral": -1.0}, "cranial"),
    "cranial": ({"cranial": 1.0}, "anterior"),
    "caudal": ({"cranial": -1.0}, "anterior"),
}
# marker colours of the node sets; other sets are orange
_SET_COLOURS = {"inferior": "royalblue", "superior": "crimson"}
_TEXT = "black"
# share of the viewport's width and height the mesh may fill, and the lift of its centre above the viewport's
_FILL = (0.9, 0.62)
_LIFT = 0.03


def view_options(options: ViewOptions | None = None, /, **overrides: Any) -> ViewOptions:
    """Validated view options from an options object and keyword overrides.

    Raises
    ------
    ConfigError
        A bad value; the message names the option, its flag and the allowed range.

    Examples
    --------
    >>> view_options(clip="axial", dpi=300).dpi
    300
    """
    return parse_options(ViewOptions, options, where="view options", **overrides)


def auto_title(info: dict[str, str], deformed_scale: float | None) -> str:
    """Title of a view: vertebra (kernel) · load case · deformation scale (None: no displacements to show).

    Examples
    --------
    >>> auto_title({"vertebra": "L1", "kernel": "B40f", "load_case": "axial_compression"}, 30.0)
    'L1 (B40f) · axial compression · displacements × 30'
    >>> auto_title({"vertebra": "L1"}, 0.0), auto_title({}, None)
    ('L1 · undeformed', '')
    """
    parts = []
    if "vertebra" in info:
        parts.append(info["vertebra"] + (f" ({info['kernel']})" if info.get("kernel") else ""))
    if "load_case" in info:
        parts.append(info["load_case"].replace("_", " "))
    if deformed_scale is not None:
        parts.append(f"displacements × {deformed_scale:g}" if deformed_scale else "undeformed")
    return " · ".join(parts)


def _deformation(grid: pv.UnstructuredGrid, opts: ViewOptions) -> float | None:
    """The deformation scale a title reports (None when the grid has no displacements)."""
    return opts.deformed_scale if "displacement_mm" in grid.point_data else None


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _use_font(prop: Any, colour: str = _TEXT) -> None:
    """DejaVu Sans (shipped with matplotlib) on a VTK text property: the glyphs VTK's own fonts lack (▲ σ ε ³ −)."""
    prop.SetFontFamily(VTK_FONT_FILE)
    prop.SetFontFile(str(FONT_FILE))
    prop.SetColor(pv.Color(colour).float_rgb)
    prop.ShadowOff()
    prop.ItalicOff()


def _text(p: pv.Plotter, text: str, position: tuple[float, float], size: float, *, colour: str = _TEXT,
          align: str = "left") -> None:
    """A text (points at the window's DPI) anchored at normalised viewport coordinates."""
    actor = p.add_text(text, position=position, font_size=round(size), color=colour, font_file=str(FONT_FILE),
                       viewport=True)
    prop = actor.GetTextProperty()
    prop.SetFontSize(round(size))  # pyvista doubles the size it is given
    getattr(prop, f"SetJustificationTo{align.capitalize()}")()
    prop.SetVerticalJustificationToTop()


def _label_format(lo: float, hi: float) -> str:
    """printf format of the scalar-bar labels: three significant digits, enough to tell the labels apart.

    Examples
    --------
    >>> _label_format(600.0, 1700.0), _label_format(6.0, 16.4), _label_format(-0.0129, -0.007)
    ('%.0f', '%.1f', '%.4f')
    """
    largest = max(abs(lo), abs(hi)) or 1.0
    span = abs(hi - lo) or largest
    decimals = max(2 - np.floor(np.log10(largest)), 1 - np.floor(np.log10(span)))
    return f"%.{int(np.clip(decimals, 0, 8))}f"


def _prepare(grid: pv.UnstructuredGrid, opts: ViewOptions) -> pv.UnstructuredGrid:
    """The grid as drawn: displaced by ``deformed_scale`` × u, then clipped through the frame's centroid."""
    g = grid.copy()
    if opts.deformed_scale and "displacement_mm" in g.point_data:
        g.points = g.points + opts.deformed_scale * np.asarray(g.point_data["displacement_mm"])
    if opts.clip:
        fr = frame_axes(grid)
        g = g.clip(normal=fr[_CLIP_NORMAL[opts.clip]], origin=fr["centroid"], crinkle=True)
    return g


def _camera(p: pv.Plotter, grid: pv.UnstructuredGrid, opts: ViewOptions) -> None:
    """Look at the frame's centroid from the named side, the mesh fitted between the title and the scalar bar."""
    fr = frame_axes(grid)
    if opts.camera is None and opts.clip:
        # facing the cut face
        direction = fr[_CLIP_NORMAL[opts.clip]]
        up = fr["anterior"] if opts.clip == "axial" else fr["cranial"]
    else:
        weights, up_axis = _CAMERA[opts.camera or "oblique"]
        direction = np.sum([w * fr[axis] for axis, w in weights.items()], axis=0)
        up = fr[up_axis]
    d_hat, up = _unit(np.asarray(direction, float)), _unit(np.asarray(up, float))
    up = _unit(up - (up @ d_hat) * d_hat)
    right = np.cross(-d_hat, up)
    c = fr["centroid"]
    rel = np.asarray(grid.points, float) - c
    x0, y0, x1, y1 = p.renderer.GetViewport()
    w, h = p.window_size
    aspect = (x1 - x0) * w / max((y1 - y0) * h, 1.0)
    half = np.tan(np.radians(p.camera.view_angle / 2))
    # perspective: a point at depth z (towards the camera) is seen at x / (D − z); the smallest distance D
    # that keeps every point inside the band left free by the title, legend and scalar bar
    need = np.maximum(np.abs(rel @ right) / (_FILL[0] * half * aspect), np.abs(rel @ up) / (_FILL[1] * half))
    dist = float(np.max(rel @ d_hat + need)) / opts.zoom if len(rel) else 1.0
    # shifting camera and focal point down moves the picture up, into the middle of that band
    shift = -_LIFT * 2 * dist * half * up
    p.camera_position = [tuple(c + dist * d_hat + shift), tuple(c + shift), tuple(up)]
    p.renderer.ResetCameraClippingRange()


def _add_field(p: pv.Plotter, g: pv.UnstructuredGrid, field: str, label: str, scale: ColourScale, *,
               bar: tuple[float, float, float, float] = (0.25, 0.08, 0.5, 0.1)) -> None:
    """The mesh coloured by ``field`` with a horizontal scalar bar (x, y, width, height in the viewport).

    Values beyond a clipped end keep the end colour; a swatch beyond that end
    of the bar is labelled with the true extreme ("▲ max 14.85").
    """
    end_colours = scale.cmap([0.0, 1.0])
    fmt = _label_format(*scale.clim)
    args: Any = {"title": label, "vertical": False, "n_labels": 5, "fmt": fmt, "color": _TEXT,
                            "position_x": bar[0], "position_y": bar[1], "width": bar[2], "height": bar[3],
                            "unconstrained_font_size": True, "title_font_size": 11, "label_font_size": 10}
    if scale.clipped_above:
        args["above_label"] = f"▲ max {scale.data_max:.4g}"
    if scale.clipped_below:
        args["below_label"] = f"▼ min {scale.data_min:.4g}"
    p.add_mesh(
        g, scalars=field, cmap=scale.cmap, clim=scale.clim, show_edges=False, ambient=0.25, diffuse=0.75,
        below_color=tuple(end_colours[0][:3]) if scale.clipped_below else None,
        above_color=tuple(end_colours[1][:3]) if scale.clipped_above else None,
        categories=scale.kind == "categorical", scalar_bar_args=args,
    )
    bar_actor = p.scalar_bars[label]
    for prop in (bar_actor.GetTitleTextProperty(), bar_actor.GetLabelTextProperty(),
                 bar_actor.GetAnnotationTextProperty()):
        _use_font(prop)


def _add_sets(p: pv.Plotter, grid: pv.UnstructuredGrid, opts: ViewOptions, f: float) -> None:
    """Markers on the boundary-condition node sets (every set but the surface), with a legend (upper left)."""
    pts = np.asarray(grid.points, float)
    if opts.deformed_scale and "displacement_mm" in grid.point_data:
        pts = pts + opts.deformed_scale * np.asarray(grid.point_data["displacement_mm"])
    keep = np.ones(len(pts), bool)
    if opts.clip:
        # only the nodes of the half that is drawn
        fr = frame_axes(grid)
        keep = (np.asarray(grid.points) - fr["centroid"]) @ fr[_CLIP_NORMAL[opts.clip]] <= 1e-9
    roles = node_set_roles(grid)
    lines = []
    for name in grid.point_data.keys():
        if not name.startswith("set_") or name == "set_surface":
            continue
        sel = (np.asarray(grid.point_data[name]) > 0) & keep
        if not sel.any():
            continue
        key = name[4:]
        colour = _SET_COLOURS.get(key, "orange")
        p.add_points(pts[sel], color=colour, point_size=5 * f, render_points_as_spheres=True)
        role = roles.get(key)
        text = f"{key} endplate nodes" if key in _SET_COLOURS else f"{key} nodes"
        lines.append((f"● {text}: {role}" if role else f"● {text}", colour))
    for i, (text, colour) in enumerate(lines):
        _text(p, text, (0.02, 0.9 - 0.045 * i), 10, colour=colour)


def _add_triad(p: pv.Plotter, grid: pv.UnstructuredGrid, f: float,
               viewport: tuple[float, float, float, float] = (0.0, 0.0, 0.2, 0.2)) -> None:
    """Orientation triad of the vertebral frame (turns with the camera) in ``viewport`` (lower left by default)."""
    fr = frame_axes(grid)
    plotter: Any = p  # pyvista's decorated add_axes is opaque to mypy
    axes = plotter.add_axes(xlabel="right", ylabel="anterior", zlabel="cranial", line_width=max(1, round(2 * f)),
                      viewport=viewport, color=_TEXT)
    for caption in (axes.GetXAxisCaptionActor2D(), axes.GetYAxisCaptionActor2D(), axes.GetZAxisCaptionActor2D()):
        _use_font(caption.GetCaptionTextProperty())
    matrix = np.eye(4)
    matrix[:3, :3] = np.column_stack([fr["lateral"], fr["anterior"], fr["cranial"]])
    axes.SetUserMatrix(pv.vtkmatrix_from_array(matrix))


def _scale_factor(opts: ViewOptions, screenshot: str | Path | None) -> float:
    return opts.dpi / 100.0 if screenshot is not None else 1.0


def _new(opts: ViewOptions, screenshot: str | Path | None, f: float, **kwargs: Any) -> pv.Plotter:
    size = [round(s * f) for s in opts.window_size]
    p = new_plotter(off_screen=screenshot is not None, window_size=size, border=False, **kwargs)
    p.background_color = pv.Color("white")
    # VTK sizes text in points at the window's DPI: at the PNG's dpi a 10-point label prints at 10 points
    if p.render_window is not None:
        p.render_window.SetDPI(round(100 * f))
    return p


def _finish(p: pv.Plotter, screenshot: str | Path | None, dpi: int) -> Path | pv.Plotter:
    if screenshot is None:
        return p
    out = Path(screenshot)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        img = p.screenshot(None, return_img=True)
    finally:
        p.close()
    Image.fromarray(np.asarray(img)).save(out, dpi=(dpi, dpi))
    return out


def plot_field(
    source: Any,
    field: str = "von_mises_MPa",
    *,
    options: ViewOptions | None = None,
    screenshot: str | Path | None = None,
    plotter: pv.Plotter | None = None,
    **overrides: Any,
) -> Path | pv.Plotter:
    """Render a result coloured by a field.

    Parameters
    ----------
    source : FEResult, VertebraMesh, pyvista grid or path to a ``.vtu``
    field : str
        E.g. ``E_MPa``, ``rho_app_g_cm3``, ``von_mises_MPa``,
        ``min_principal_strain``, ``axial_stress_MPa``, ``sed_MPa``,
        ``displacement_magnitude_mm`` (:func:`available_fields` lists them).
    options : ViewOptions, optional
        View settings; keyword ``overrides`` change single ones
        (``clip="sagittal"``, ``deformed_scale=30``, ``clim=(0, 8)``,
        ``cmap="viridis"``, ``camera="anterior"``, ``dpi=300``,
        ``title="…"``, …; see :class:`ViewOptions`).
    screenshot : path, optional
        Render off screen to this PNG and return its path; otherwise return
        the plotter (call ``.show()``).
    plotter : pyvista.Plotter, optional
        Draw into this plotter (e.g. one subplot) and return it.

    Returns
    -------
    Path or pyvista.Plotter

    Raises
    ------
    UnknownFieldError
        The field is not in the result; the message lists the available ones.
    ConfigError
        A bad view option (named, with its allowed range).
    RenderingError
        No OpenGL backend works on this machine (the message names the packages to install).

    Examples
    --------
    >>> import vertfem as vf                                                       # doctest: +SKIP
    >>> vf.viz.plot_field("out/result.vtu", "von_mises_MPa", clip="sagittal", dpi=300,
    ...                   screenshot="vm.png")                                       # doctest: +SKIP
    PosixPath('vm.png')
    """
    opts = view_options(options, **overrides)
    grid = result_grid(source)
    values = field_values(grid, field)
    style = field_style(field)
    scale = colour_scale(values, style, clim=opts.clim, percentile=opts.percentile, cmap=opts.cmap)
    f = _scale_factor(opts, screenshot) if plotter is None else 1.0
    p = plotter or _new(opts, screenshot, f)
    _add_field(p, _prepare(grid, opts), field, style.label, scale)
    if opts.show_sets:
        _add_sets(p, grid, opts, f)
    if opts.triad:
        _add_triad(p, grid, f)
    title = auto_title(result_info(grid), _deformation(grid, opts)) if opts.title is None else opts.title
    if title:
        _text(p, title, (0.5, 0.985), 13, align="centered")
    _camera(p, grid, opts)
    return _finish(p, screenshot, opts.dpi) if plotter is None else p


def compare_results(
    a: Any,
    b: Any,
    field: str = "von_mises_MPa",
    *,
    labels: Sequence[str] = ("A", "B"),
    options: ViewOptions | None = None,
    screenshot: str | Path | None = None,
    **overrides: Any,
) -> Path | pv.Plotter:
    """Two results side by side on one colour range, plus ``B − A`` when the meshes match.

    The meshes match when they have the same nodes and elements (the same
    vertebra meshed once, e.g. kernel A vs kernel B mapped on one mesh);
    otherwise only the two panels are drawn. The difference is coloured like
    any signed field: diverging around zero, sequential when one-signed.
    View options as in :func:`plot_field`; here ``clip`` defaults to
    ``"sagittal"`` and ``window_size`` to 1500 × 600.

    Examples
    --------
    >>> vf.viz.compare_results(res_a, res_b, "von_mises_MPa", labels=("B40f", "B70f"),
    ...                        screenshot="kernels.png")                            # doctest: +SKIP
    PosixPath('kernels.png')
    """
    base = ViewOptions(clip="sagittal", window_size=(1500, 600))
    opts = view_options(base.model_copy(update=(options.model_dump(exclude_unset=True) if options else {})),
                        **overrides)
    ga, gb = result_grid(a), result_grid(b)
    va, vb = field_values(ga, field), field_values(gb, field)
    style = field_style(field)
    scale = colour_scale(np.concatenate([va, vb]), style, clim=opts.clim, percentile=opts.percentile, cmap=opts.cmap)
    same = ga.n_cells == gb.n_cells and ga.n_points == gb.n_points and np.allclose(ga.points, gb.points)
    cols = 3 if same else 2
    f = _scale_factor(opts, screenshot)
    # the panels may differ in kernel: the title names what they share
    shared = {k: v for k, v in result_info(ga).items() if k != "kernel"}
    title = auto_title(shared, _deformation(ga, opts)) if opts.title is None else opts.title
    # a thin first row spanning all columns holds the title
    p = _new(opts, screenshot, f, shape=(2, cols), row_weights=[1, 11] if title else [0.001, 1],
             groups=[(0, np.s_[:])])
    if title:
        p.subplot(0, 0)
        _text(p, title, (0.5, 0.95), 13, align="centered")
    for i, (g, lab) in enumerate(((ga, labels[0]), (gb, labels[1]))):
        p.subplot(1, i)
        _text(p, lab, (0.5, 0.985), 12, align="centered")
        _add_field(p, _prepare(g, opts), field, style.label, scale, bar=(0.15, 0.08, 0.7, 0.1))
        if opts.triad and i == 0:
            _add_triad(p, g, f, viewport=(0.0, 0.7, 0.25, 0.95))
        _camera(p, g, opts)
    if same:
        diff = gb.copy()
        name = f"{field}_difference"
        diff[name] = vb - va
        dscale = colour_scale(vb - va, DIFFERENCE_STYLE, percentile=opts.percentile)
        p.subplot(1, 2)
        _text(p, f"{labels[1]} − {labels[0]}", (0.5, 0.985), 12, align="centered")
        _add_field(p, _prepare(diff, opts), name, f"Δ {style.label}", dscale, bar=(0.15, 0.08, 0.7, 0.1))
        _camera(p, gb, opts)
    p.link_views([p.renderers.loc_to_index((1, i)) for i in range(cols)])
    return _finish(p, screenshot, opts.dpi)
