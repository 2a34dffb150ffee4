"""P2 → P1 p-multigrid: exact prolongation of linear fields, same answer as a direct solve, flat iteration counts."""

import importlib.util

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import box_vertebra

from vertfem.errors import SolverError
from vertfem.solvers import SolveOptions, axial_compression, solve_load_case
from vertfem.solvers.assembly import assemble_stiffness
from vertfem.solvers.linear import solve_spd
from vertfem.solvers.multigrid import p1_prolongation, pmg_cg
from vertfem.solvers.static import _eliminate

pytestmark = pytest.mark.skipif(importlib.util.find_spec("pyamg") is None, reason="pyamg (the smoother) not installed")


def _bone_like(seed: int):
    """Moduli spread over two decades in smooth blobs plus element noise, like a mapped vertebra."""
    rng = np.random.default_rng(seed)

    def field(c):
        smooth = 1.0 + 0.8 * np.sin(c[:, 0] / 3.0) * np.cos(c[:, 1] / 4.0) * np.sin(c[:, 2] / 5.0)
        return 50.0 * 10.0 ** (smooth + 0.3 * rng.standard_normal(len(c)))

    return field


def _system(h: float, seed: int = 3):
    """Inferior face clamped, superior face pushed down: the eliminated system, its right-hand side and P."""
    m = box_vertebra(size=(16.0, 16.0, 24.0), h=h, E_field=_bone_like(seed))
    k = assemble_stiffness(m.nodes_mm, m.elements, m.E_MPa, 0.3)
    fixed = np.concatenate([
        (3 * m.node_sets["inferior"][:, None] + np.arange(3)).ravel(), 3 * m.node_sets["superior"] + 2,
    ])
    fixed.sort()
    u_p = np.zeros(k.shape[0])
    u_p[3 * m.node_sets["superior"] + 2] = -0.1
    free = np.ones(k.shape[0])
    free[fixed] = 0.0
    a = _eliminate(k, fixed)
    b = free * (-(k @ u_p)) + u_p
    return a, b, p1_prolongation(m.elements, m.n_nodes, fixed), m


def test_prolongation_reproduces_linear_fields_exactly():
    m = box_vertebra(size=(6.0, 8.0, 10.0), h=2.0)
    p = p1_prolongation(m.elements, m.n_nodes)
    corners = np.unique(m.elements[:, :4])
    g = np.array([[0.3, -1.2, 0.5], [2.0, 0.1, -0.7], [-0.4, 0.9, 1.1]])
    field = m.nodes_mm @ g.T + np.array([1.0, -2.0, 0.5])  # (n, 3) linear displacement
    out = (p @ field[corners].ravel()).reshape(-1, 3)
    np.testing.assert_allclose(out, field, atol=1e-12)
    assert p.shape == (3 * m.n_nodes, 3 * len(corners))


def test_prolongation_leaves_prescribed_dofs_alone_and_drops_empty_columns():
    el = np.arange(10)[None]
    fixed = np.arange(30)[np.isin(np.arange(30) // 3, [0, 1, 4])]  # corners 0, 1 and the node between them
    p = p1_prolongation(el, 10, fixed)
    assert abs(p[fixed]).sum() == 0.0
    # corner 0 still reaches the free mid-side nodes of edges (2,0) and (0,3)
    assert p.shape == (30, 12)
    single = p1_prolongation(np.arange(10)[None], 10, np.arange(30))
    assert single.shape == (30, 0)


def test_pmg_matches_the_direct_solution():
    a, b, p, _ = _system(2.0)
    ref = sp.linalg.spsolve(a.tocsc(), b)
    x, its = pmg_cg(a, b, p, rtol=1e-10)
    assert np.linalg.norm(x - ref) <= 1e-8 * np.linalg.norm(ref)
    assert np.linalg.norm(a @ x - b) <= 1e-10 * np.linalg.norm(b)
    assert its <= 30


def test_iterations_do_not_grow_with_refinement():
    """Multigrid, not just a preconditioner: 8× the unknowns, (almost) the same iteration count."""
    its = {}
    for h in (4.0, 2.0):
        a, b, p, _ = _system(h)
        _, its[h] = pmg_cg(a, b, p, rtol=1e-8)
    assert its[2.0] <= its[4.0] + 4, its
    assert max(its.values()) <= 25, its


def test_coarse_solve_without_pardiso(monkeypatch):
    """With pypardiso absent the coarse problem falls back to SuperLU; same solution."""
    import vertfem.solvers.multigrid as mg

    a, b, p, _ = _system(4.0)
    x_fast, _ = pmg_cg(a, b, p, rtol=1e-10)
    real = importlib.util.find_spec
    monkeypatch.setattr(mg.importlib.util, "find_spec",
                        lambda name, *args: None if name == "pypardiso" else real(name, *args))
    x_slow, _ = pmg_cg(a, b, p, rtol=1e-10)
    assert np.linalg.norm(x_fast - x_slow) <= 1e-8 * np.linalg.norm(x_fast)


def test_non_convergence_is_a_solver_error():
    a, b, p, _ = _system(4.0)
    with pytest.raises(SolverError, match="did not reach"):
        pmg_cg(a, b, p, rtol=1e-14, maxiter=2)


def test_auto_picks_pmg_for_large_models_and_a_direct_solver_for_small_ones():
    a, b, p, _ = _system(4.0)
    _, small = solve_spd(a, b, prolongation=p)
    _, large = solve_spd(a, b, prolongation=p, pmg_min_dofs=10)
    assert small.solver.startswith("pardiso") and large.solver == "cg-pmg"
    with pytest.raises(SolverError, match="prolongation"):
        solve_spd(a, b, solver="cg-pmg")


def test_stiffness_from_pmg_agrees_with_pardiso():
    m = box_vertebra(size=(16.0, 16.0, 24.0), h=2.0, E_field=_bone_like(7))
    lc = axial_compression(24.0)
    k_pmg = solve_load_case(m, lc, SolveOptions(solver="cg-pmg", nodal_fields=False))
    k_direct = solve_load_case(m, lc, SolveOptions(solver="pardiso", nodal_fields=False))
    assert k_pmg.solver["solver"] == "cg-pmg" and k_pmg.solver["iterations"] > 0
    assert k_pmg.stiffness_N_per_mm == pytest.approx(k_direct.stiffness_N_per_mm, rel=1e-6)
