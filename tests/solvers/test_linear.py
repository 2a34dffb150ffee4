"""Linear solvers: every solver gives the same solution; mixed precision is exact to double; failures are clear."""

import importlib.util

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import box_vertebra

from vertfem.errors import SolverError
from vertfem.solvers import SolveOptions, axial_compression, solve_load_case
from vertfem.solvers.assembly import assemble_stiffness
from vertfem.solvers.linear import available_solvers, rigid_body_modes, solve_spd

needs_pardiso = pytest.mark.skipif(importlib.util.find_spec("pypardiso") is None, reason="pypardiso not installed")


@pytest.fixture(scope="module")
def spd_system():
    """A clamped heterogeneous box: SPD, moduli spread over four decades like bone."""
    m = box_vertebra(size=(10.0, 10.0, 14.0), h=2.0)
    e = np.random.default_rng(5).uniform(1.0, 1e4, m.n_elements)
    k = assemble_stiffness(m.nodes_mm, m.elements, e, 0.3)
    fixed = (3 * m.node_sets["inferior"][:, None] + np.arange(3)).ravel()
    free = np.setdiff1d(np.arange(k.shape[0]), fixed)
    a = k[free][:, free].tocsr()
    b = np.random.default_rng(6).normal(size=a.shape[0])
    return a, b, rigid_body_modes(m.nodes_mm)[free]


@pytest.mark.parametrize("solver", ["pardiso", "cg-amg", "cg-jacobi", "cholmod"])
def test_solvers_agree_with_superlu(spd_system, solver):
    a, b, _ = spd_system
    if solver not in available_solvers():
        pytest.skip(f"{solver} not installed here")
    ref, _ = solve_spd(a, b, solver="superlu")
    x, info = solve_spd(a, b, solver=solver, rtol=1e-10)
    assert np.linalg.norm(x - ref) <= 1e-7 * np.linalg.norm(ref)
    assert info.relative_residual < 1e-9


@needs_pardiso
def test_mixed_precision_reaches_double_precision_in_a_few_steps(spd_system):
    a, b, _ = spd_system
    x_mixed, info = solve_spd(a, b, solver="pardiso", precision="mixed")
    x_double, info_d = solve_spd(a, b, solver="pardiso", precision="double")
    assert info.solver == "pardiso-mixed" and 1 <= info.iterations <= 6
    assert info_d.solver == "pardiso"
    assert info.relative_residual < 1e-11 and info_d.relative_residual < 1e-11
    assert np.linalg.norm(x_mixed - x_double) <= 1e-10 * np.linalg.norm(x_double)


@needs_pardiso
def test_mixed_precision_falls_back_to_double_when_float32_cannot_hold_the_matrix():
    from vertfem.solvers.pardiso import mixed_precision_solve

    # 1e-60 underflows to zero in float32: the single-precision factor has a zero pivot
    a = sp.diags([2.0, 1e-60, 3.0]).tocsr()
    x, its, mode = mixed_precision_solve(a, np.array([2.0, 1e-60, 3.0]))
    assert mode == "double" and its == 0
    np.testing.assert_allclose(x, 1.0)


@needs_pardiso
@pytest.mark.parametrize("precision", ["mixed", "double"])
def test_singular_matrix_is_a_solver_error_not_a_wrong_answer(precision):
    a = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 2.0]]))
    with pytest.raises(SolverError, match="zero pivot"):
        solve_spd(a, np.array([1.0, 2.0, 1.0]), solver="pardiso", precision=precision)


def test_amg_uses_rigid_body_modes(spd_system):
    if "cg-amg" not in available_solvers():
        pytest.skip("pyamg not installed here")
    a, b, rbm = spd_system
    _, with_rbm = solve_spd(a, b, solver="cg-amg", near_null=rbm, rtol=1e-8)
    _, without = solve_spd(a, b, solver="cg-amg", rtol=1e-8)
    assert with_rbm.iterations < without.iterations


def test_every_solver_choice_gives_the_same_stiffness():
    m = box_vertebra(size=(10.0, 10.0, 12.0), h=2.0)
    lc = axial_compression(12.0)
    ks = {s: solve_load_case(m, lc, SolveOptions(solver=s, nodal_fields=False)).stiffness_N_per_mm
          for s in available_solvers()}
    ref = ks["superlu"]
    for s, k in ks.items():
        assert k == pytest.approx(ref, rel=1e-6), s
