"""Patch test, prism in compression (E·A/L) and a cantilever against Timoshenko beam theory."""

import numpy as np
import pytest
from helpers import box_vertebra, patch_test_error

from vertfem.meshing.tet10 import EDGES
from vertfem.solvers import Displacement, Force, LoadCase, Selector, SolveOptions, axial_compression, solve_load_case


def test_patch_test_on_distorted_mesh_reproduces_linear_field():
    m = box_vertebra(size=(10.0, 10.0, 10.0), h=2.5)
    x = m.nodes_mm.copy()
    boundary = np.zeros(len(x), bool)
    boundary[m.node_sets["surface"]] = True
    verts = np.unique(m.elements[:, :4])
    inner = verts[~boundary[verts]]
    rng = np.random.default_rng(1)
    x[inner] += rng.uniform(-0.4, 0.4, size=(len(inner), 3))
    x[m.elements[:, 4:]] = x[m.elements[:, EDGES]].mean(axis=2)  # keep straight edges
    a = np.array([[1e-3, 2e-4, -3e-4], [5e-4, -2e-3, 1e-4], [-1e-4, 3e-4, 1.5e-3]])
    c = np.array([0.01, -0.02, 0.03])
    assert patch_test_error(x, m.elements, np.flatnonzero(boundary), a, c) < 1e-10


def _roller_case(delta):
    return LoadCase(
        "roller",
        (
            Displacement("inferior", uz=0.0),
            Displacement(Selector("corner0", box=((-10.01, -10.01, -20.01), (-9.99, -9.99, -19.99))), ux=0.0, uy=0.0),
            Displacement(Selector("corner1", box=((9.99, -10.01, -20.01), (10.01, -9.99, -19.99))), uy=0.0),
            Displacement("superior", uz=-delta),
        ),
        "superior",
        -delta,
    )


def test_prism_with_free_lateral_ends_gives_EA_over_L():
    m = box_vertebra(size=(20.0, 20.0, 40.0), h=2.0, E=1000.0)
    res = solve_load_case(m, _roller_case(0.4), SolveOptions(nodal_fields=False))
    assert res.stiffness_N_per_mm == pytest.approx(1000.0 * 400.0 / 40.0, rel=0.005)
    assert np.allclose(res.fields["stress_MPa"][:, 2], -1000.0 * 0.01, rtol=1e-6)
    # fully fixed ends are stiffer than the roller solution by a few percent (SCIENCE §6)
    fixed = solve_load_case(m, axial_compression(40.0, transverse_fixed=True), SolveOptions(nodal_fields=False))
    free = solve_load_case(m, axial_compression(40.0), SolveOptions(nodal_fields=False))
    assert (1.0 < free.stiffness_N_per_mm / res.stiffness_N_per_mm
            < fixed.stiffness_N_per_mm / res.stiffness_N_per_mm < 1.06)


def test_cantilever_matches_timoshenko_within_2_percent():
    L, b, h, E, nu, P = 200.0, 10.0, 10.0, 10000.0, 0.3, 10.0
    m = box_vertebra(size=(b, h, L), h=2.5, E=E, nu=nu)
    lc = LoadCase(
        "cantilever",
        (Displacement("inferior", 0.0, 0.0, 0.0), Force("superior", (0.0, P, 0.0))),
        loaded="inferior",
    )
    res = solve_load_case(m, lc, SolveOptions(nodal_fields=False))
    tip = res.nodal["displacement_mm"][m.node_sets["superior"], 1].mean()
    inertia = b * h**3 / 12
    kappa = 10 * (1 + nu) / (12 + 11 * nu)
    g = E / (2 * (1 + nu))
    expected = P * L**3 / (3 * E * inertia) + P * L / (kappa * g * b * h)
    assert tip == pytest.approx(expected, rel=0.02)
    np.testing.assert_allclose(res.reactions["inferior"].force_N, (0.0, -P, 0.0), atol=1e-6)
