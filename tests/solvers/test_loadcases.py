"""Each built-in load case reports what its name promises, checked on a homogeneous cylinder against beam theory.

With ν = 0 the exact solutions of uniaxial compression (u_z linear) and pure bending (u_z = −κ·y·z, u_y = κ·z²/2)
lie in the P2 space and satisfy the built-ins' boundary conditions (inferior endplate fixed, superior endplate
with the platen's axial component prescribed, transverse free), so the FE values equal K = E·A/L and
M/θ = E·I/L to round-off, with A and I of the meshed (polygonal) section.
"""

import numpy as np
import pytest
from scipy.spatial import Delaunay

from vertfem.errors import BoundaryConditionError, ConfigError
from vertfem.meshing.model import VertebraMesh, boundary_faces
from vertfem.meshing.tet10 import EDGES
from vertfem.solvers import (
    Displacement,
    LoadCase,
    Selector,
    SolveOptions,
    axial_compression,
    builtin_load_case,
    combined,
    extension,
    flexion,
    lateral_bending,
    load_case_from_mapping,
    solve_load_case,
    solve_load_cases,
)
from vertfem.vertebra import VertebralFrame

E, R, L = 1000.0, 8.0, 30.0
DIRECT = SolveOptions(solver="pardiso", precision="double", nodal_fields=False)


def _prism_cylinder(h: float) -> tuple[np.ndarray, np.ndarray]:
    """TET10 mesh of a right prism over a regular 48-gon inscribed in the circle of radius R, from z = 0 to L.

    The section is exactly the same at every height (an unstructured mesh of a curved cylinder has facets that
    vary along z, so uniaxial stress would not be its exact solution): Delaunay triangles of concentric rings,
    extruded in layers, each prism split into three tetrahedra by global node numbers.
    """
    rings = int(np.ceil(R / h))
    pts = [np.zeros((1, 2))]
    for k in range(1, rings + 1):
        n = 48 if k == rings else max(6, round(2 * np.pi * R * k / rings / h))
        t = 2 * np.pi * np.arange(n) / n
        pts.append(R * k / rings * np.column_stack([np.cos(t), np.sin(t)]))
    xy = np.vstack(pts)
    tri = np.sort(Delaunay(xy).simplices, axis=1)
    layers = int(np.ceil(L / h))
    z = np.linspace(0.0, L, layers + 1)
    nodes = np.column_stack([np.tile(xy, (layers + 1, 1)), np.repeat(z, len(xy))])
    tets = []
    for lay in range(layers):
        lo, hi = lay * len(xy) + tri, (lay + 1) * len(xy) + tri
        a0, b0, c0, a1, b1, c1 = lo[:, 0], lo[:, 1], lo[:, 2], hi[:, 0], hi[:, 1], hi[:, 2]
        tets += [np.column_stack(x) for x in ((a0, b0, c0, a1), (b0, c0, a1, b1), (c0, a1, b1, c1))]
    t4 = np.vstack(tets)
    p = nodes[t4]
    flip = np.einsum("ij,ij->i", p[:, 1] - p[:, 0], np.cross(p[:, 2] - p[:, 0], p[:, 3] - p[:, 0])) < 0
    t4[flip, 1], t4[flip, 2] = t4[flip, 2].copy(), t4[flip, 1].copy()
    edges = np.sort(t4[:, EDGES].reshape(-1, 2), axis=1)
    uniq, inv = np.unique(edges, axis=0, return_inverse=True)
    mids = len(nodes) + inv.reshape(-1, 6)
    return np.vstack([nodes, nodes[uniq].mean(axis=1)]), np.hstack([t4, mids])


def _cylinder(nu: float, h: float = 3.0) -> VertebraMesh:
    x, elements = _prism_cylinder(h)
    _, faces = boundary_faces(elements)
    frame = VertebralFrame((0.0, 0.0, L / 2), (0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0), -L / 2, L / 2)
    sets = {"inferior": np.flatnonzero(np.abs(x[:, 2]) < 1e-6), "superior": np.flatnonzero(np.abs(x[:, 2] - L) < 1e-6),
            "surface": np.unique(faces)}
    m = len(elements)
    return VertebraMesh(x, elements, np.full(m, E), np.full(m, 0.3), np.full(m, 0.5), np.zeros(m, np.int32), sets,
                        frame, L, nu, None, {"n_clamped": 0})


def _section(mesh: VertebraMesh) -> tuple[float, float, float]:
    """Area and second moments (about the lateral and the anterior axis through the centroid) of the top face."""
    tri, _ = boundary_faces(mesh.elements)
    top = tri[np.all(np.abs(mesh.nodes_mm[tri][:, :, 2] - L) < 1e-6, axis=1)]
    p = mesh.nodes_mm[top][:, :, :2]
    e1, e2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    area = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    q = p - (p.mean(axis=1) * area[:, None]).sum(axis=0) / area.sum()

    def moment(k: int) -> float:  # exact over a triangle: A/6·(a² + b² + c² + ab + bc + ca)
        a, b, c = q[:, 0, k], q[:, 1, k], q[:, 2, k]
        return float((area / 6 * (a * a + b * b + c * c + a * b + b * c + c * a)).sum())

    return float(area.sum()), moment(1), moment(0)


@pytest.fixture(scope="module")
def exact():
    mesh = _cylinder(0.0)
    cases = [axial_compression(L), flexion(1.0), extension(1.0), lateral_bending(1.0, side="right"),
             lateral_bending(1.0, side="left"), combined(L)]
    return mesh, _section(mesh), {r.load_case: r for r in solve_load_cases(mesh, cases, DIRECT)}


def test_axial_stiffness_is_EA_over_L(exact):
    _, (area, _, _), res = exact
    r = res["axial_compression"]
    assert r.stiffness_N_per_mm == pytest.approx(E * area / L, rel=1e-9)
    assert r.rotational_stiffness_Nm_per_deg is None and r.moment_Nm is None
    assert r.strength_N == pytest.approx(r.stiffness_N_per_mm * 0.02 * L, rel=1e-9)
    assert r.bone_apparent_strain == pytest.approx(0.01, rel=1e-9)
    assert r.apparent_modulus_MPa == pytest.approx(E, rel=1e-9)
    assert "transverse free" in r.load_case_description and "0.02·H" in r.strength_definition


@pytest.mark.parametrize("case, inertia", [("flexion", 1), ("extension", 1), ("lateral_bending_right", 2),
                                           ("lateral_bending_left", 2)])
def test_bending_stiffness_is_EI_over_L_in_Nm_per_deg(exact, case, inertia):
    _, section, res = exact
    r = res[case]
    expected = E * section[inertia] / L * np.pi / 180.0 / 1000.0  # N·mm/rad → N·m/deg
    assert r.rotational_stiffness_Nm_per_deg == pytest.approx(expected, rel=1e-9)
    assert r.stiffness_N_per_mm is None and r.strength_N is None
    assert r.axial_force_N == pytest.approx(0.0, abs=1e-9 * E * section[0])  # rotation about the section's centroid
    assert r.applied_rotation_deg == 1.0


def test_combined_is_the_sum_of_its_parts_and_reports_forces_only(exact):
    _, _, res = exact
    c = res["combined"]
    assert c.stiffness_N_per_mm is None and c.rotational_stiffness_Nm_per_deg is None and c.strength_N is None
    axial, flex = res["axial_compression"], res["flexion"]
    assert c.axial_force_N == pytest.approx(axial.axial_force_N + flex.axial_force_N, rel=1e-9)
    assert c.moment_Nm == pytest.approx(-flex.rotational_stiffness_Nm_per_deg, rel=1e-6)


def test_poisson_effect_stays_within_end_effects_of_beam_theory():
    """ν = 0.3: fixed ends restrain the Poisson contraction; on a cylinder of L/D ≈ 1.9 the axial stiffness
    exceeds E·A/L by a few percent (SCIENCE §6: 1.5–3 % on a box), bending stays within the same margin."""
    mesh = _cylinder(0.3)
    area, ixx, _ = _section(mesh)
    ax, fl = solve_load_cases(mesh, [axial_compression(L), flexion(1.0)], DIRECT)
    assert 1.0 < ax.stiffness_N_per_mm / (E * area / L) < 1.05
    assert 1.0 < fl.rotational_stiffness_Nm_per_deg / (E * ixx / L * np.pi / 180e3) < 1.05


def test_transverse_fixed_applies_to_every_builtin_alike(exact):
    mesh, (area, ixx, _), _ = exact
    ax, fl = solve_load_cases(mesh, [axial_compression(L, transverse_fixed=True), flexion(1.0, transverse_fixed=True)],
                              DIRECT)
    # ν = 0: a rigid platen does not change uniaxial compression; it restrains the bending's u_y = κ·z²/2
    assert ax.stiffness_N_per_mm == pytest.approx(E * area / L, rel=1e-9)
    assert fl.rotational_stiffness_Nm_per_deg > E * ixx / L * np.pi / 180e3
    assert "rigid platen" in fl.load_case_description


def test_a_sweep_equals_separate_solves():
    mesh = _cylinder(0.3, h=4.0)
    opts = SolveOptions(nodal_fields=True)
    cases = [axial_compression(L), flexion(1.0), lateral_bending(1.0)]
    swept = solve_load_cases(mesh, cases, opts)
    for lc, r in zip(cases, swept):
        alone = solve_load_case(mesh, lc, opts)
        np.testing.assert_allclose(r.nodal["displacement_mm"], alone.nodal["displacement_mm"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(r.nodal["stress_MPa"], alone.nodal["stress_MPa"], rtol=1e-7, atol=1e-9)
    assert swept[0].solver["setup_time_s"] > 0 and swept[1].solver["setup_time_s"] == 0  # one factorisation


def test_selector_restricted_to_a_named_set_takes_only_its_nodes():
    mesh = _cylinder(0.3, h=4.0)
    front = Selector("anterior_endplate", within="superior", plane=((0.0, 0.0, 0.0), (0.0, 1.0, 0.0)))
    local = mesh.frame.to_local(mesh.nodes_mm)
    idx = front.select(local, mesh.node_sets)
    assert set(idx) <= set(mesh.node_sets["superior"]) and np.all(local[idx, 1] >= 0)
    assert 0.4 < len(idx) / len(mesh.node_sets["superior"]) < 0.65
    lc = LoadCase("anterior_push", (Displacement("inferior", 0, 0, 0), Displacement(front, uz=-0.3)),
                  loaded="anterior_endplate", axial_displacement_mm=-0.3)
    r = solve_load_case(mesh, lc, SolveOptions(nodal_fields=False))
    assert r.reactions["anterior_endplate"].n_nodes == len(idx) and r.stiffness_N_per_mm > 0
    with pytest.raises(BoundaryConditionError, match="restricts to node set 'cap_top'"):
        Selector("x", within="cap_top", plane=((0, 0, 0), (0, 1, 0))).select(local, mesh.node_sets)


def test_builtin_names_and_yaml():
    assert builtin_load_case("anterior_wedge", 20.0).name == "flexion"
    assert builtin_load_case("lateral_wedge", 20.0).name == "lateral_bending_right"
    lc = load_case_from_mapping({"builtin": "extension", "angle_deg": 2.0, "transverse_fixed": True}, height_mm=20.0)
    assert lc.name == "extension" and lc.rotation is not None and lc.rotation.angle_deg == 2.0
    assert not lc.rotation.axial_only and lc.reports == "rotational"
    custom = load_case_from_mapping({"name": "front", "loaded": "front", "axial_displacement_mm": -0.1, "conditions": [
        {"type": "displacement", "nodes": "inferior", "ux": 0, "uy": 0, "uz": 0},
        {"type": "displacement", "nodes": {"name": "front", "within": "superior", "plane": [[0, 0, 0], [0, 1, 0]]},
         "uz": -0.1}]}, height_mm=20.0)
    assert custom.conditions[1].nodes.within == "superior" and custom.reports == "axial"
    # the roles a view's legend shows come from the conditions, not from the description's words
    assert custom.set_roles == {"inferior": "fixed", "front": "loaded"}
    assert builtin_load_case("flexion", 20.0).set_roles == {"inferior": "fixed", "superior": "loaded"}
    roller = LoadCase("roller", (Displacement("inferior", uz=0.0), Displacement("superior", uz=-0.1)))
    assert roller.set_roles == {"inferior": "loaded", "superior": "loaded"}  # a roller is not clamped
    with pytest.raises(ConfigError, match="unknown built-in"):
        builtin_load_case("torsion", 20.0)
    with pytest.raises(BoundaryConditionError, match="bending angle"):
        flexion(45.0)
