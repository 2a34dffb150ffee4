"""Visualisation: the rendering backend (a real render, and a machine with no backend), colour rules, views ready
for a figure (title, triad, clipped-range marker, legend, dpi) checked in the scene and in the pixels, the CLI."""

from __future__ import annotations

import _ctypes
import os
import shutil
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from helpers import box_vertebra
from matplotlib import colormaps
from PIL import Image

from vertfem import viz
from vertfem.cli import main
from vertfem.errors import ConfigError, OutputError, RenderingError, UnknownFieldError
from vertfem.meshing import write_mesh
from vertfem.solvers import axial_compression, solve_load_case
from vertfem.viz.backend import new_plotter, rendering_backend

LINUX = sys.platform.startswith("linux")


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    mesh = box_vertebra(size=(16.0, 14.0, 20.0), h=3.0, E_field=lambda c: 500.0 + 60.0 * c[:, 0] + 20 * c[:, 1])
    res = solve_load_case(mesh, axial_compression(mesh.height_mm))
    d = tmp_path_factory.mktemp("viz")
    saved = res.save(d)
    return SimpleNamespace(res=res, vtu=saved["vtu"], mesh_only=write_mesh(mesh, d / "mesh_only.vtu"))


def pixels(path):
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), dtype=float)


def size_and_dpi(path):
    with Image.open(path) as img:
        return img.size, img.info["dpi"]


def texts(p):
    """Every 2-D text in a plotter's renderers."""
    return [a.GetInput() for r in p.renderers for a in r.actors.values() if a.IsA("vtkTextActor")]


# --- backend ---------------------------------------------------------------------------------------------------

def test_first_working_backend_renders_the_right_pixels():
    backend = rendering_backend()
    assert backend.name in {"X11", "EGL", "OSMesa", "native"} or backend.name == os.environ.get(
        "VTK_DEFAULT_OPENGL_WINDOW")
    if LINUX and not os.environ.get("DISPLAY"):
        assert backend.name != "X11"
    before = os.environ.get("VTK_DEFAULT_OPENGL_WINDOW")
    p = new_plotter(off_screen=True, window_size=(64, 48))
    assert os.environ.get("VTK_DEFAULT_OPENGL_WINDOW") == before, "the environment is left as it was"
    if backend.window_class:
        assert p.render_window.GetClassName() == backend.window_class
    p.set_background((0.2, 0.4, 0.6))
    p.add_mesh(viz.result_grid(box_vertebra(size=(2.0, 2.0, 2.0), h=2.0)), color=(1.0, 0.0, 0.0), lighting=False)
    p.view_xy()
    img = p.screenshot(None, return_img=True)
    p.close()
    assert img.shape == (48, 64, 3)
    assert tuple(img[0, 0]) == (51, 102, 153), "background"
    assert tuple(img[24, 32]) == (255, 0, 0), "unlit red box in the middle"


_NO_BACKEND = """
import sys
from vertfem import viz
from vertfem.errors import RenderingError
try:
    viz.plot_field(sys.argv[1], "von_mises_MPa", screenshot=sys.argv[2])
except RenderingError as exc:
    print(exc)
    sys.exit(0)
sys.exit(5)
"""


@pytest.mark.skipif(not LINUX, reason="X11/EGL/OSMesa selection exists on Linux only")
def test_machine_without_any_backend_gets_a_clear_error_not_a_crash(box, tmp_path):
    """No X display, no EGL vendor library (glvnd finds none), and a libOSMesa without OSMesa's symbols."""
    fake = tmp_path / "lib"
    fake.mkdir()
    for name in ("libOSMesa.so", "libOSMesa.so.8", "libOSMesa.so.6"):
        shutil.copy(_ctypes.__file__, fake / name)  # a valid shared library that is not OSMesa
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "VTK_DEFAULT_OPENGL_WINDOW")}
    env["__EGL_VENDOR_LIBRARY_FILENAMES"] = str(tmp_path / "no_such_vendor.json")
    env["LD_LIBRARY_PATH"] = os.pathsep.join([str(fake), env.get("LD_LIBRARY_PATH", "")])
    png = tmp_path / "never.png"
    proc = subprocess.run([sys.executable, "-c", _NO_BACKEND, str(box.vtu), str(png)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    message = proc.stdout
    assert "no OpenGL backend renders on this machine" in message
    assert "X11: skipped, DISPLAY is unset" in message and "EGL: " in message and "OSMesa: " in message
    assert "apt install libegl1 libegl-mesa0 libgl1-mesa-dri" in message and "libosmesa6" in message
    assert not png.exists()


@pytest.mark.skipif(not LINUX, reason="X11/EGL/OSMesa selection exists on Linux only")
def test_a_failing_explicit_choice_is_reported_not_overridden(monkeypatch, tmp_path):
    monkeypatch.setenv("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    monkeypatch.setenv("__EGL_VENDOR_LIBRARY_FILENAMES", str(tmp_path / "no_such_vendor.json"))
    with pytest.raises(RenderingError, match=r"VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow set .* unset it"):
        rendering_backend()


@pytest.mark.skipif(not LINUX, reason="on-screen windows need X11 on Linux only")
def test_window_without_display_is_refused(monkeypatch, box):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("VTK_DEFAULT_OPENGL_WINDOW", raising=False)
    with pytest.raises(RenderingError, match=r"no display for an interactive window.*screenshot"):
        viz.plot_field(box.vtu)
    assert main(["view", str(box.vtu)]) == 1


# --- colour rules ----------------------------------------------------------------------------------------------

def luminance(rgba):
    return 0.2126 * rgba[0] + 0.7152 * rgba[1] + 0.0722 * rgba[2]


def test_one_signed_fields_get_sequential_maps_signed_ranges_diverging():
    strain = viz.field_style("min_principal_strain")
    neg = viz.colour_scale(np.linspace(-0.03, -0.002, 200), strain, percentile=None)
    assert neg.kind == "sequential" and neg.clim == (-0.03, -0.002)
    assert luminance(neg.cmap(0.0)) < luminance(neg.cmap(1.0)) < 0.95, "darkest at the largest compression"
    pos = viz.colour_scale(np.linspace(0.001, 0.02, 200), strain, percentile=None)
    assert pos.kind == "sequential" and luminance(pos.cmap(1.0)) < luminance(pos.cmap(0.0)) < 0.95
    both = viz.colour_scale(np.r_[-0.02, 0.005, 0.01], strain, percentile=None)
    assert both.kind == "diverging" and both.clim == (-0.02, 0.02) and both.cmap.name == "RdBu_r"
    # a positive tail under 10 % of the negative side: sequential, clipped at zero and reported
    tail = viz.colour_scale(np.r_[np.linspace(-0.02, -0.001, 99), 0.0015], strain, percentile=None)
    assert tail.kind == "sequential" and tail.clim == (-0.02, 0.0) and tail.clipped_above
    vm = viz.colour_scale(np.linspace(0.0, 10.0, 101), viz.field_style("von_mises_MPa"), percentile=None)
    assert vm.kind == "sequential" and vm.cmap.name == "inferno" and not (vm.clipped_above or vm.clipped_below)
    region = viz.colour_scale(np.array([0, 1, 1, 2]), viz.field_style("region"))
    assert region.kind == "categorical" and region.clim == (0.0, 2.0)


def test_user_range_and_map_are_kept_and_checked():
    s = viz.colour_scale(np.linspace(0, 20, 50), viz.field_style("von_mises_MPa"), clim=(0.0, 7.6), cmap="viridis")
    assert s.clim == (0.0, 7.6) and s.cmap.name == "viridis" and s.clipped_above and not s.clipped_below
    assert s.data_max == 20.0
    with pytest.raises(ConfigError, match="'jet2' is not a matplotlib colour map"):
        viz.view_options(cmap="jet2")
    with pytest.raises(ConfigError, match=r"clim \(--clim\).*low < high"):
        viz.view_options(clim=(5.0, 1.0))
    with pytest.raises(ConfigError, match=r"dpi \(--dpi\) = 10: must be ≥ 50"):
        viz.view_options(dpi=10)
    with pytest.raises(ConfigError, match=r"window_size.*64–8192"):
        viz.view_options(window_size=(10, 10))
    with pytest.raises(ConfigError, match="unknown option"):
        viz.view_options(colour="red")


# --- what a view carries ---------------------------------------------------------------------------------------

def test_view_carries_title_triad_legend_and_clipped_range_marker(box):
    vm = box.res.fields["von_mises_MPa"]
    p = new_plotter(off_screen=True, window_size=(300, 240))
    viz.plot_field(box.vtu, "von_mises_MPa", clim=(float(np.percentile(vm, 20)), float(np.percentile(vm, 80))),
                   deformed_scale=30.0, plotter=p)
    bar = p.scalar_bars["von Mises stress (MPa)"]
    assert bar.GetDrawAboveRangeSwatch() and bar.GetAboveRangeAnnotation() == f"▲ max {vm.max():.4g}"
    assert bar.GetDrawBelowRangeSwatch() and bar.GetBelowRangeAnnotation() == f"▼ min {vm.min():.4g}"
    shown = texts(p)
    # the title's vertebra and load case and the sets' roles (from the load case's conditions, not its wording)
    # come from the result.json beside the VTU
    assert "mesh · axial compression · displacements × 30" in shown
    assert "● inferior endplate nodes: fixed" in shown and "● superior endplate nodes: loaded" in shown
    assert viz.result_info(viz.result_grid(box.vtu))["set_roles"] == "inferior=fixed;superior=loaded"
    frame = viz.frame_axes(viz.result_grid(box.vtu))
    m = np.array([[p.renderer.axes_actor.GetUserMatrix().GetElement(i, j) for j in range(3)] for i in range(3)])
    np.testing.assert_allclose(m, np.column_stack([frame["lateral"], frame["anterior"], frame["cranial"]]))
    p.close()
    p = new_plotter(off_screen=True, window_size=(300, 240))
    viz.plot_field(box.res, "E_MPa", percentile=(0, 100), title="", show_sets=False, triad=False, plotter=p)
    bar = p.scalar_bars["E (MPa)"]
    assert not bar.GetDrawAboveRangeSwatch() and not bar.GetDrawBelowRangeSwatch()
    assert texts(p) == [] and p.renderer.axes_actor is None
    p.close()


def test_field_renders_are_real_and_differ(box, tmp_path):
    a = viz.plot_field(box.vtu, "von_mises_MPa", screenshot=tmp_path / "vm.png", window_size=(300, 240))
    b = viz.plot_field(box.vtu, "E_MPa", screenshot=tmp_path / "e.png", window_size=(300, 240))
    pa, pb = pixels(a), pixels(b)
    assert pa.shape == (240, 300, 3)
    assert (pa[:3, :3] == 255).all() and (pa[-3:, -3:] == 255).all(), "white background in the corners"
    assert pa.std() > 10 and pb.std() > 10, "blank render"
    assert np.abs(pa - pb).mean() > 1.0, "colouring by two fields gave the same picture"
    c = viz.plot_field(box.res, "min_principal_strain", clip="sagittal", deformed_scale=50.0, camera="anterior",
                       screenshot=tmp_path / "clip.png", window_size=(300, 240))
    assert np.abs(pixels(c) - pa).mean() > 1.0


def test_colours_on_screen_are_the_maps(box, tmp_path):
    """Every element above the range: the mesh is drawn in the map's top colour (shaded, so only scaled)."""
    out = viz.plot_field(box.vtu, "E_MPa", clim=(-1e5, 1.0), cmap="viridis", show_sets=False, triad=False,
                         title="", screenshot=tmp_path / "top.png", window_size=(300, 240))
    px = pixels(out)[30:160, 60:240].reshape(-1, 3)  # above the scalar bar
    mesh = px[np.abs(px - 255).max(axis=1) > 30]
    top = np.asarray(colormaps["viridis"](1.0)[:3])
    cos = mesh @ top / (np.linalg.norm(mesh, axis=1) * np.linalg.norm(top))
    assert len(mesh) > 0.3 * len(px) and np.median(cos) > 0.995


def test_dpi_scales_pixels_and_layout_together(box, tmp_path):
    def render(name, **kw):
        return viz.plot_field(box.res, "von_mises_MPa", screenshot=tmp_path / name, window_size=(400, 320), **kw)

    def blocks(px, b):
        h, w = px.shape[:2]
        return px.reshape(h // b, b, w // b, b, 3).mean(axis=(1, 3))

    hi = render("300.png", dpi=300)
    size, dpi = size_and_dpi(hi)
    assert size == (1200, 960) and dpi == pytest.approx((300, 300), abs=0.05)
    lo = blocks(pixels(render("100.png")), 8)
    # the 300-dpi picture is the 100-dpi one with 3 × 3 pixels per pixel (text, markers and mesh alike): closer
    # to it than a 10 % zoom is (text left at 100-dpi size would double the difference)
    same = np.abs(blocks(pixels(hi), 24) - lo).mean()
    zoomed = np.abs(blocks(pixels(render("zoom.png", zoom=1.1)), 8) - lo).mean()
    assert same < 0.5 * zoomed


def test_in_memory_result_and_comparison(box, tmp_path):
    out = viz.compare_results(box.res, box.vtu, "von_mises_MPa", labels=("memory", "file"),
                              screenshot=tmp_path / "cmp.png", window_size=(900, 300))
    px = pixels(out)
    assert px.shape == (300, 900, 3)
    for panel in np.split(px, 3, axis=1):
        assert panel.std() > 10, "empty panel"
    assert set(viz.available_fields(viz.result_grid(box.res))) >= {"von_mises_MPa", "E_MPa", "min_principal_strain"}


def test_unknown_and_missing_fields(box):
    with pytest.raises(UnknownFieldError, match=r"available: .*von_mises_MPa"):
        viz.plot_field(box.vtu, "stress_in_furlongs", screenshot="never.png")
    with pytest.raises(UnknownFieldError, match="'von_mises_MPa' is not in this result"):
        viz.plot_field(box.mesh_only, "von_mises_MPa", screenshot="never.png")
    with pytest.raises(OutputError, match=r"no result file no/such/result\.vtu; give the result\.vtu"):
        viz.result_grid("no/such/result.vtu")


def test_ct_overlay(tmp_path):
    ct = np.full((5, 40, 50), -50.0)
    ct[:, 10:30, 15:35] = 300.0
    mask = ct > 0
    dens = np.where(mask, 150.0 + np.arange(50.0)[None, None, :], np.nan)
    out = viz.plot_ct_overlay(ct, mask=mask, overlay=dens, overlay_label="density (mg/cm³)", spacing_mm=(0.5, 0.5),
                              dpi=300, screenshot=tmp_path / "ct.png")
    assert pixels(out).std() > 10
    assert size_and_dpi(out)[1] == pytest.approx((300, 300), abs=0.05)


# --- command line ----------------------------------------------------------------------------------------------

def test_cli_view_options(box, tmp_path):
    out = tmp_path / "view.png"
    assert main(["view", str(box.vtu), "--field", "von_mises", "--clip", "axial", "--clim", "5", "12", "--cmap",
                 "viridis", "--camera", "cranial", "--zoom", "1.2", "--window-size", "320", "240", "--dpi", "200",
                 "--title", "Figure 3", "--deformed", "20", "--no-triad", "--screenshot", str(out)]) == 0
    size, dpi = size_and_dpi(out)
    assert size == (640, 480) and dpi == pytest.approx((200, 200), abs=0.05)
    assert pixels(out).std() > 10
    assert main(["view", str(box.vtu), "--field", "nonsense", "--screenshot", str(out)]) == 1
    assert main(["view", str(box.vtu), "--dpi", "10", "--screenshot", str(out)]) == 1
    assert main(["view", str(box.vtu), "--cmap", "nonsense", "--screenshot", str(out)]) == 1
    assert main(["view", str(box.vtu), "--screenshot", str(tmp_path / "view.jpg")]) == 1
    assert main(["view", str(tmp_path / "missing.vtu"), "--screenshot", str(out)]) == 1
    assert not (tmp_path / "view.jpg").exists()
