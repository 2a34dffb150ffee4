import numpy as np
import pytest
from helpers import box_vertebra, flip_axis, phantom_vertebra

from vertfem.calibration import default_registry
from vertfem.ctsim import simulate_ct
from vertfem.errors import BoundaryConditionError, MissingMaterialError, SolverError, UnderConstrainedError
from vertfem.io import LabelMap, Scan
from vertfem.meshing import mesh_vertebra, read_mesh
from vertfem.phantom import PhantomSpec, Pose, phantom_geometry, render_phantom
from vertfem.solvers import (
    Displacement,
    LoadCase,
    SolveOptions,
    anterior_wedge,
    axial_compression,
    combined,
    lateral_wedge,
    load_case_from_mapping,
    solve_load_case,
)
from vertfem.solvers.linear import solve_spd

FAST = SolveOptions(nodal_fields=False)
SPEC = PhantomSpec(texture=False, width_mm=32, depth_mm=26, height_mm=22, trabecular_vbmd_mg_cm3=130)


def _stiffness(scan, labels, cal, **kw):
    mesh = mesh_vertebra(phantom_vertebra(scan, labels, cal), mesh_size_mm=2.5, **kw)
    return solve_load_case(mesh, axial_compression(mesh.height_mm), FAST).stiffness_N_per_mm


def test_flipped_direction_cosines_and_rigid_rotation_give_same_stiffness():
    cal = default_registry()["B40f"]
    img = render_phantom(SPEC, spacing_mm=1.0)
    ct = simulate_ct(img, "smooth", seed=0)
    ref = _stiffness(ct.scan, ct.labels, cal)
    hu, g = flip_axis(ct.scan.hu, ct.scan.geometry, 1)
    lab, gl = flip_axis(ct.labels.labels, ct.labels.geometry, 1)
    flipped = _stiffness(Scan(hu, g, {"path": "flipped"}), LabelMap(lab, gl, {"path": "flipped"}), cal)
    assert flipped == pytest.approx(ref, rel=0.01)
    pose = Pose.tilted(25.0, "y", centre_mm=(10.0, -5.0, 40.0))
    img_r = render_phantom(SPEC, phantom_geometry(SPEC, spacing_mm=1.0, pose=pose), pose=pose)
    ct_r = simulate_ct(img_r, "smooth", seed=0)
    assert _stiffness(ct_r.scan, ct_r.labels, cal) == pytest.approx(ref, rel=0.02)


def test_kernel_direction_sharp_is_stiffer():
    img = render_phantom(PhantomSpec(trabecular_vbmd_mg_cm3=100.0), spacing_mm=0.5)
    k = {}
    for kernel in ("smooth", "sharp"):
        ct = simulate_ct(img, kernel, seed=4)
        k[kernel] = _stiffness(ct.scan, ct.labels, default_registry()[ct.scan.kernel])
    assert k["sharp"] > 1.05 * k["smooth"]


def test_load_cases_reactions_balance_and_signs(tmp_path):
    m = box_vertebra(size=(20.0, 16.0, 24.0), h=3.0)
    for lc in (axial_compression(24.0), anterior_wedge(1.0), lateral_wedge(1.0), combined(24.0)):
        r = solve_load_case(m, lc, FAST)
        sup, inf = r.reactions["superior"], r.reactions["inferior"]
        np.testing.assert_allclose(np.add(sup.force_N, inf.force_N), 0.0,
                                   atol=1e-6 * max(1.0, np.abs(sup.force_N).max()))
        assert np.isfinite(r.fields["von_mises_MPa"]).all()
    wedge = solve_load_case(m, anterior_wedge(1.0), FAST)
    assert wedge.reactions["superior"].moment_Nmm[0] < 0  # the applied moment turns the endplate about -lateral
    ax = solve_load_case(m, axial_compression(24.0))
    assert ax.stiffness_N_per_mm > 0 and ax.strength_N == pytest.approx(ax.stiffness_N_per_mm * 0.02 * 24.0)
    assert "pistoia" in ax.strengths_N and ax.nodal["stress_MPa"].shape == (m.n_nodes, 6)
    # the L2-projected nodal stress of a uniform field is that field
    np.testing.assert_allclose(np.median(ax.nodal["stress_MPa"][:, 2]), np.median(ax.fields["stress_MPa"][:, 2]),
                               rtol=0.05)
    paths = ax.save(tmp_path)
    js, vtu = paths["json"], paths["vtu"]
    back = read_mesh(vtu)
    assert back.n_elements == m.n_elements and js.stat().st_size > 0


def test_yaml_load_case_with_selector():
    m = box_vertebra(size=(20.0, 16.0, 24.0), h=3.0)
    lc = load_case_from_mapping(
        {"name": "front_push", "loaded": "front", "axial_displacement_mm": -0.1, "conditions": [
            {"type": "displacement", "nodes": "inferior", "ux": 0, "uy": 0, "uz": 0},
            {"type": "displacement", "nodes": {"name": "front", "box": [[-99, 0, 11.9], [99, 99, 99]]}, "uz": -0.1},
        ]},
        height_mm=24.0,
    )
    r = solve_load_case(m, lc, FAST)
    assert r.stiffness_N_per_mm > 0 and r.reactions["front"].n_nodes > 10


def test_missing_node_set_is_reported():
    m = box_vertebra(size=(10.0, 10.0, 12.0), h=3.0)
    lc = LoadCase("bad", (Displacement("inferior", 0, 0, 0), Displacement("cap_top", uz=-0.1)))
    with pytest.raises(BoundaryConditionError, match="cap_top"):
        solve_load_case(m, lc, FAST)


def test_under_constrained_model_is_reported():
    m = box_vertebra(size=(10.0, 10.0, 12.0), h=3.0)
    lc = LoadCase("free", (Displacement("inferior", uz=0.0), Displacement("superior", uz=-0.1)), "superior", -0.1)
    with pytest.raises(UnderConstrainedError, match="rigid-body"):
        solve_load_case(m, lc, FAST)


def test_mesh_without_moduli_is_reported():
    m = box_vertebra(size=(10.0, 10.0, 12.0), h=3.0)
    bad = m.with_materials(E_MPa=np.full(m.n_elements, np.nan))
    with pytest.raises(MissingMaterialError, match="no valid modulus"):
        solve_load_case(bad, axial_compression(12.0), FAST)


def test_non_converging_solver_is_reported():
    m = box_vertebra(size=(10.0, 10.0, 12.0), h=3.0)
    from vertfem.solvers.assembly import assemble_stiffness

    k = assemble_stiffness(m.nodes_mm, m.elements, m.E_MPa, 0.3)
    k = k + 1e-3 * abs(k).max() * __import__("scipy.sparse").sparse.eye(k.shape[0])
    with pytest.raises(SolverError, match="did not converge"):
        solve_spd(k.tocsr(), np.ones(k.shape[0]), solver="cg-jacobi", maxiter=3)


def test_result_vtu_is_readable_by_meshio(tmp_path):
    """Researchers read results with meshio as well as pyvista: the VTU must not use a compressor meshio lacks."""
    import meshio

    m = box_vertebra(size=(6.0, 6.0, 8.0), h=2.0)
    res = solve_load_case(m, axial_compression(8.0))
    res.save(tmp_path)
    back = meshio.read(tmp_path / "result.vtu")
    assert len(back.points) == m.n_nodes
    np.testing.assert_allclose(back.point_data["displacement_mm"], res.nodal["displacement_mm"])
