"""Visualisation: real off-screen renders checked for content, size and field dependence; errors; CLI."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from helpers import box_vertebra
from vertfem import viz
from vertfem.cli import main
from vertfem.meshing import write_mesh
from vertfem.solvers import axial_compression, save_result, solve_load_case


@pytest.fixture(scope="module")
def result_vtu(tmp_path_factory):
    mesh = box_vertebra(size=(16.0, 14.0, 20.0), h=3.0, E_field=lambda c: 500.0 + 60.0 * c[:, 0] + 20 * c[:, 1])
    res = solve_load_case(mesh, axial_compression(mesh.height_mm))
    d = tmp_path_factory.mktemp("viz")
    _, vtu = save_result(res, d)
    return res, vtu, write_mesh(mesh, d / "mesh_only.vtu")


def _pixels(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=float)


def test_field_renders_are_real_and_differ(result_vtu, tmp_path):
    _, vtu, _ = result_vtu
    a = viz.plot_field(vtu, "von_mises_MPa", screenshot=tmp_path / "vm.png", window_size=(400, 300))
    b = viz.plot_field(vtu, "E_MPa", screenshot=tmp_path / "e.png", window_size=(400, 300))
    pa, pb = _pixels(a), _pixels(b)
    assert pa.shape == (300, 400, 3)
    assert pa.std() > 10 and pb.std() > 10, "blank render"
    assert np.abs(pa - pb).mean() > 1.0, "colouring by two fields gave the same picture"
    c = viz.plot_field(vtu, "min_principal_strain", clip="sagittal", deformed_scale=50.0,
                       screenshot=tmp_path / "clip.png", window_size=(400, 300))
    assert np.abs(_pixels(c) - pa).mean() > 1.0


def test_in_memory_result_and_comparison(result_vtu, tmp_path):
    res, vtu, _ = result_vtu
    out = viz.compare_results(res, vtu, "von_mises_MPa", labels=("memory", "file"), screenshot=tmp_path / "cmp.png",
                              window_size=(900, 300))
    px = _pixels(out)
    assert px.shape == (300, 900, 3) and px.std() > 10
    assert set(viz.available_fields(viz.result_grid(res))) >= {"von_mises_MPa", "E_MPa", "min_principal_strain"}


def test_limits_are_percentile_clipped_and_diverging_symmetric():
    v = np.r_[np.linspace(0, 1, 999), 1e6]
    lo, hi = viz._limits(v, (2, 98), False)
    assert hi < 2.0
    lo, hi = viz._limits(np.r_[-0.02, 0.001, -0.01], None, True)
    assert lo == -hi == pytest.approx(-0.02)


def test_unknown_and_missing_fields(result_vtu):
    _, vtu, mesh_only = result_vtu
    with pytest.raises(viz.UnknownFieldError, match="available: .*von_mises_MPa"):
        viz.plot_field(vtu, "stress_in_furlongs")
    with pytest.raises(viz.UnknownFieldError, match="'von_mises_MPa' is not in this result"):
        viz.plot_field(mesh_only, "von_mises_MPa")
    with pytest.raises(FileNotFoundError):
        viz.result_grid("no/such/result.vtu")


def test_ct_overlay(phantom_ct_pair, tmp_path):
    sim = phantom_ct_pair[0]
    mask = sim.labels.labels == 31
    dens = np.where(mask, sim.truth.density_mg_cm3, np.nan)
    out = viz.plot_ct_overlay(sim.scan.hu, mask=mask, overlay=dens, overlay_label="density (mg/cm³)",
                              spacing_mm=(0.5, 0.5), screenshot=tmp_path / "ct.png")
    assert _pixels(out).std() > 10


def test_cli_view(result_vtu, tmp_path):
    _, vtu, _ = result_vtu
    out = tmp_path / "view.png"
    assert main(["view", str(vtu), "--field", "von_mises", "--clip", "axial", "--screenshot", str(out)]) == 0
    assert _pixels(out).std() > 10
    assert main(["view", str(vtu), "--field", "nonsense", "--screenshot", str(out)]) == 1
