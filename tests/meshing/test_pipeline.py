import os
import subprocess

import numpy as np
import pytest
from ccx import ccx_or_skip
from helpers import flip_axis, permute_axes, phantom_vertebra

from vertfem.calibration import default_registry
from vertfem.ctsim import simulate_ct
from vertfem.geometry import ImageGeometry
from vertfem.io import LabelMap, Scan
from vertfem.meshing import mesh_vertebra, read_mesh, write_abaqus, write_mesh
from vertfem.meshing.mapping import map_element_materials
from vertfem.meshing.surface import mask_to_surface
from vertfem.meshing.volume import tetrahedralize
from vertfem.phantom import PhantomSpec, render_phantom
from vertfem.vertebra import prepare_vertebra

CAL = default_registry()["B40f"]


@pytest.fixture(scope="module")
def smooth_ct():
    img = render_phantom(PhantomSpec(texture=False, trabecular_vbmd_mg_cm3=140.0), spacing_mm=1.0)
    return simulate_ct(img, "smooth", seed=3)


def test_linear_hu_field_maps_to_analytic_element_means():
    g = ImageGeometry((50, 45, 40), (25.0, -22.0, -20.0), (1.0, 1.1, 1.2), (0, -1, 0, 1, 0, 0, 0, 0, 1))
    pts = g.voxel_centres_mm()
    grad = np.array([3.0, -2.0, 5.0])
    hu = 200.0 + pts @ grad
    rho = CAL.density_g_cm3(hu)
    img = render_phantom(PhantomSpec(texture=False, width_mm=30, depth_mm=24, height_mm=20), spacing_mm=1.0)
    mesh = tetrahedralize(mask_to_surface(img.body_mask, img.geometry), mesh_size_mm=2.5)
    m = map_element_materials(mesh.nodes_mm, mesh.elements, rho, g)
    centroid = mesh.nodes_mm[mesh.elements[:, :4]].mean(axis=1)
    expected = CAL.density_g_cm3(200.0 + centroid @ grad)
    np.testing.assert_allclose(m.rho_ash_g_cm3, expected, rtol=0.01, atol=1e-9)
    m2 = map_element_materials(mesh.nodes_mm, mesh.elements, rho, g, integration="modulus")
    assert np.all(m2.E_MPa >= m.E_MPa * (1 - 1e-9))  # Jensen: law is convex


def _mesh_stats(scan, labels):
    m = mesh_vertebra(phantom_vertebra(scan, labels, CAL), mesh_size_mm=2.5)
    return m.quality.volume_mm3, float(np.average(m.E_MPa)), m.height_mm


def test_flipped_and_rotated_direction_cosines_give_same_mesh(smooth_ct):
    scan, labels = smooth_ct.scan, smooth_ct.labels
    ref = _mesh_stats(scan, labels)
    hu, g = flip_axis(scan.hu, scan.geometry, 0)
    hu, g = permute_axes(hu, g, (1, 0, 2))
    lab, gl = flip_axis(labels.labels, labels.geometry, 2)
    other = _mesh_stats(Scan(hu, g, {"path": "flipped"}), LabelMap(lab, gl, {"path": "flipped labels"}))
    assert other[0] == pytest.approx(ref[0], rel=0.005)
    assert other[1] == pytest.approx(ref[1], rel=0.01)
    assert other[2] == pytest.approx(ref[2], abs=0.5)


def test_exports_round_trip_and_load_in_calculix(smooth_ct, tmp_path):
    v = phantom_vertebra(smooth_ct.scan, smooth_ct.labels, CAL)
    mesh = mesh_vertebra(v, mesh_size_mm=4.0, cortical_shell_mm=1.0, cortical_E_MPa=12000.0)
    assert (mesh.region == 1).any() and np.all(mesh.E_MPa[mesh.region == 1] == 12000.0)
    back = read_mesh(write_mesh(mesh, tmp_path / "m.vtu"))
    np.testing.assert_allclose(back.nodes_mm, mesh.nodes_mm)
    np.testing.assert_array_equal(back.elements, mesh.elements)
    np.testing.assert_allclose(back.E_MPa, mesh.E_MPa)
    assert set(back.node_sets) == {"superior", "inferior", "surface"}
    np.testing.assert_array_equal(back.node_sets["superior"], mesh.node_sets["superior"])
    assert back.height_mm == pytest.approx(mesh.height_mm)
    write_mesh(mesh, tmp_path / "m.xdmf")
    assert (tmp_path / "m.h5").exists() or (tmp_path / "m.xdmf").stat().st_size > 0

    exe = ccx_or_skip()
    deck = write_abaqus(mesh, tmp_path / "job.inp", rel_tol=0.01, step_lines=[
        "*BOUNDARY", "INFERIOR, 1, 3", "*STEP", "*STATIC, SOLVER=SPOOLES", "*BOUNDARY", "SUPERIOR, 3, 3, -0.05",
        "*NODE PRINT, NSET=SUPERIOR, TOTALS=ONLY", "RF", "*END STEP",
    ])
    run = subprocess.run([exe, "-i", "job"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "OMP_NUM_THREADS": "2"})
    assert run.returncode == 0, run.stdout[-2000:]
    assert "*ERROR" not in run.stdout
    assert "total force" in (tmp_path / "job.dat").read_text()
    assert deck.read_text().count("*MATERIAL") < len(mesh.E_MPa)


@pytest.mark.parametrize("name", ["L1", "L2", "L3", "L4"])
def test_real_ct_meshes_at_2mm_from_3mm_data(name, example):
    m = mesh_vertebra(prepare_vertebra(example.scan, example.labels, name, kernel=CAL))
    assert 10_000 < m.n_elements < 80_000
    assert 20.0 < m.height_mm < 35.0
    assert m.quality.volume_mm3 == pytest.approx(m.info["body_mask_volume_mm3"], rel=0.1)
    assert len(m.node_sets["superior"]) > 100 and len(m.node_sets["inferior"]) > 100
    assert m.info["n_clamped"] < 0.01 * m.n_elements
