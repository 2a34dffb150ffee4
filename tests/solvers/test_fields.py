"""Nodal fields by L2 projection: constants and linear fields are reproduced; the fused block CG equals a direct
solve."""

import numpy as np
import pytest
import scipy.sparse.linalg as spla
from helpers import box_vertebra

from vertfem.errors import SolverError
from vertfem.meshing.tet10 import physical_points, quadrature
from vertfem.solvers.assembly import assemble_mass, element_gradients
from vertfem.solvers.fields import _block_cg, project_to_nodes


@pytest.fixture(scope="module")
def box():
    m = box_vertebra(size=(8.0, 6.0, 10.0), h=2.0)
    _, wdet = element_gradients(m.nodes_mm, m.elements)
    return m, wdet


def test_projection_reproduces_constant_fields(box):
    m, wdet = box
    consts = np.arange(1.0, 13.0)
    values = np.broadcast_to(consts, (m.n_elements, wdet.shape[1], 12))
    nodal = project_to_nodes(m.nodes_mm, m.elements, values, wdet, rtol=1e-12)
    np.testing.assert_allclose(nodal, np.broadcast_to(consts, (m.n_nodes, 12)), rtol=1e-9)


def test_projection_of_a_linear_field_is_close_to_it(box):
    """Order-2 quadrature of N·f is not exact for linear f, so the nodes carry a small, O(h²) error."""
    m, wdet = box
    xi, _ = quadrature(2)
    pts = physical_points(m.nodes_mm, m.elements, xi)
    f = lambda x: 2.0 + x[..., 0] - 0.5 * x[..., 2]  # noqa: E731
    nodal = project_to_nodes(m.nodes_mm, m.elements, f(pts)[..., None], wdet)
    err = np.abs(nodal[:, 0] - f(m.nodes_mm))
    assert np.median(err) < 0.02 * np.ptp(f(m.nodes_mm))


def test_block_cg_matches_a_direct_solve_column_by_column(box):
    m, _ = box
    mass = assemble_mass(m.nodes_mm, m.elements)
    b = np.random.default_rng(2).normal(size=(m.n_nodes, 5))
    b[:, 3] = 0.0  # a zero column converges at once and stays zero
    x = _block_cg(mass, b, rtol=1e-12)
    ref = spla.spsolve(mass.tocsc(), b)
    np.testing.assert_allclose(x, ref, rtol=1e-8, atol=1e-10 * np.abs(ref).max())
    assert not x[:, 3].any()


def test_block_cg_reports_non_convergence(box):
    m, _ = box
    mass = assemble_mass(m.nodes_mm, m.elements)
    with pytest.raises(SolverError, match="did not converge"):
        _block_cg(mass, np.ones((m.n_nodes, 2)), rtol=1e-14, maxiter=2)
