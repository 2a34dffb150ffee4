"""Virtual PMMA embedding caps: conformity, the series-spring solution, every load case, errors."""

import numpy as np
import pytest
from helpers import box_vertebra, patch_test_error, phantom_vertebra
from pydantic import ValidationError

from vertfem.calibration import default_registry
from vertfem.ctsim import simulate_ct
from vertfem.errors import MeshingError
from vertfem.meshing import MeshOptions, mesh_vertebra
from vertfem.meshing.caps import add_caps
from vertfem.meshing.model import REGIONS, boundary_faces
from vertfem.meshing.tet10 import EDGES
from vertfem.phantom import PhantomSpec, render_phantom
from vertfem.solvers import (
    Displacement,
    LoadCase,
    Selector,
    SolveOptions,
    anterior_wedge,
    axial_compression,
    combined,
    lateral_wedge,
    solve_load_case,
)


def _roller(delta: float, bottom_mm: float) -> LoadCase:
    """Frictionless ends in the frame of a 20 × 20 mm box: uz on the faces, two corners against drift/spin."""
    c0 = ((-10.01, -10.01, bottom_mm - 0.01), (-9.99, -9.99, bottom_mm + 0.01))
    c1 = ((9.99, -10.01, bottom_mm - 0.01), (10.01, -9.99, bottom_mm + 0.01))
    return LoadCase(
        "roller",
        (
            Displacement("inferior", uz=0.0),
            Displacement(Selector("corner0", box=c0), ux=0.0, uy=0.0),
            Displacement(Selector("corner1", box=c1), uy=0.0),
            Displacement("superior", uz=-delta),
        ),
        "superior",
        -delta,
    )


def test_caps_in_series_with_bone_match_the_spring_formula():
    """ν = 0 makes uniaxial stress exact in both materials: K = A / (L/E_bone + 2 t/E_cap)."""
    length, t, e_bone, e_cap = 30.0, 5.0, 1000.0, 250.0
    m = box_vertebra(size=(20.0, 20.0, length), h=2.0, E=e_bone, nu=0.0)
    capped = add_caps(m, t, e_cap)
    z = capped.frame.to_local(capped.nodes_mm)[:, 2]
    np.testing.assert_allclose(z[capped.node_sets["superior"]], length / 2 + t, atol=1e-9)
    np.testing.assert_allclose(z[capped.node_sets["inferior"]], -length / 2 - t, atol=1e-9)
    # direct solve: the check is to 1e-9, beyond the iterative solvers' default residual of 1e-8
    res = solve_load_case(capped, _roller(0.4, -length / 2 - t), SolveOptions(solver="pardiso", nodal_fields=False))
    expected = 400.0 / (length / e_bone + 2 * t / e_cap)
    assert res.stiffness_N_per_mm == pytest.approx(expected, rel=1e-9)
    np.testing.assert_allclose(res.fields["stress_MPa"][:, 2], -expected * 0.4 / 400.0, rtol=1e-9)
    assert res.bone_volume_mm3 == pytest.approx(20 * 20 * length, rel=1e-9)  # caps are not bone
    assert res.height_mm == length


def test_caps_are_conforming_a_linear_field_passes_through_the_interface():
    m = box_vertebra(size=(20.0, 20.0, 30.0), h=2.5, E=1000.0)
    capped = add_caps(m, 4.0, 2500.0)
    x = capped.nodes_mm
    np.testing.assert_allclose(x[capped.elements[:, 4:]], x[capped.elements[:, EDGES]].mean(axis=2), atol=1e-12)
    # interface faces are interior: only the bone's endplate faces disappear from the boundary
    n_bone_faces = len(boundary_faces(m.elements)[0])
    n_cap_faces = len(boundary_faces(capped.elements)[0])
    sup = len(capped.node_sets["superior_endplate"])
    assert n_cap_faces > n_bone_faces and sup > 0
    bnd = np.unique(boundary_faces(capped.elements)[1])
    a = np.array([[1e-3, 2e-4, -3e-4], [5e-4, -2e-3, 1e-4], [-1e-4, 3e-4, 1.5e-3]])
    assert patch_test_error(x, capped.elements, bnd, a) < 1e-10


@pytest.fixture(scope="module")
def phantom_meshes():
    """A phantom with concave endplates, meshed without and with 4 mm PMMA caps."""
    img = render_phantom(PhantomSpec(width_mm=30, depth_mm=24, height_mm=20, trabecular_vbmd_mg_cm3=110),
                         spacing_mm=1.0)
    ct = simulate_ct(img, "smooth", seed=3)
    v = phantom_vertebra(ct.scan, ct.labels, default_registry()["B40f"])
    bare = mesh_vertebra(v, mesh_size_mm=3.0)
    capped = mesh_vertebra(v, mesh_size_mm=3.0, cap_thickness_mm=4.0)
    return bare, capped


def test_caps_fill_the_concave_endplates_up_to_flat_faces(phantom_meshes):
    bare, capped = phantom_meshes
    local = capped.frame.to_local(capped.nodes_mm)[:, 2]
    top = local[capped.node_sets["superior_endplate"]].max()
    bottom = local[capped.node_sets["inferior_endplate"]].min()
    np.testing.assert_allclose(local[capped.node_sets["superior"]], top + 4.0, atol=1e-9)
    np.testing.assert_allclose(local[capped.node_sets["inferior"]], bottom - 4.0, atol=1e-9)
    cap = capped.region == REGIONS["cap"]
    assert np.all(capped.E_MPa[cap] == 2500.0) and np.all(capped.rho_ash_g_cm3[cap] == 0.0)
    np.testing.assert_array_equal(capped.E_MPa[~cap], bare.E_MPa)  # the bone is untouched
    assert capped.height_mm == bare.height_mm
    # concave endplates: the cement is thicker than 4 mm over part of each endplate
    sup_cap = capped.info["caps"]["superior"]
    assert sup_cap["n_layers"] >= 2 and sup_cap["min_scaled_jacobian"] > 0.05
    assert "caps" in capped.info["timings_s"]


@pytest.mark.parametrize("make", [axial_compression, lambda h: anterior_wedge(1.0), lambda h: lateral_wedge(1.0),
                                  combined])
def test_every_builtin_load_case_runs_through_the_caps(phantom_meshes, make):
    bare, capped = phantom_meshes
    lc = make(capped.height_mm)
    r_bare = solve_load_case(bare, lc, SolveOptions(nodal_fields=False))
    r_cap = solve_load_case(capped, lc, SolveOptions(nodal_fields=False))
    assert r_cap.bone_volume_mm3 == pytest.approx(r_bare.bone_volume_mm3, rel=1e-12)
    assert r_cap.bone_mineral_mass_g == pytest.approx(r_bare.bone_mineral_mass_g, rel=1e-12)
    f = np.asarray(r_cap.reactions["superior"].force_N)
    assert np.all(np.isfinite(f)) and np.linalg.norm(f) > 1.0
    np.testing.assert_allclose(f, -np.asarray(r_cap.reactions["inferior"].force_N), atol=1e-6 * np.linalg.norm(f))
    if r_bare.stiffness_N_per_mm is not None:
        # cement in series softens the construct, but a stiff cement only slightly
        assert 0.6 * r_bare.stiffness_N_per_mm < r_cap.stiffness_N_per_mm < r_bare.stiffness_N_per_mm


def test_cap_errors_say_what_to_change(phantom_meshes):
    bare, capped = phantom_meshes
    with pytest.raises(MeshingError, match="already has caps"):
        add_caps(capped, 4.0)
    with pytest.raises(ValueError, match="positive"):
        add_caps(bare, 0.0)
    with pytest.raises(ValidationError, match="cap_thickness_mm"):
        MeshOptions(cap_thickness_mm=-1.0)
