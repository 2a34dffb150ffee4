import numpy as np
import pytest
import skfem
from helpers import box_vertebra
from skfem.models.elasticity import lame_parameters, linear_elasticity

from vertfem.meshing.tet10 import EDGES
from vertfem.solvers.assembly import (
    BlockPattern,
    _affine_element_matrices,
    _element_matrices,
    assemble_stiffness,
    element_gradients,
    is_affine,
    lame,
)
from vertfem.solvers.linear import rigid_body_modes


def _skfem_permutation(nodes, elements):
    verts = np.unique(elements[:, :4])
    mesh = skfem.MeshTet(nodes[verts].T, np.searchsorted(verts, elements[:, :4]).T)
    basis = skfem.Basis(mesh, skfem.ElementVector(skfem.ElementTetP2()), intorder=2)
    perm = np.empty(3 * len(nodes), int)
    for k, v in enumerate(verts):
        perm[3 * v : 3 * v + 3] = basis.nodal_dofs[:, k]
    edge_id = {tuple(e): i for i, e in enumerate(np.sort(mesh.edges.T, axis=1))}
    vloc = np.searchsorted(verts, elements[:, EDGES])
    for e in range(len(elements)):
        for k in range(6):
            key = tuple(sorted(vloc[e, k]))
            perm[3 * elements[e, 4 + k] : 3 * elements[e, 4 + k] + 3] = basis.edge_dofs[:, edge_id[key]]
    return basis, perm


def test_matches_scikit_fem_asm():
    m = box_vertebra(size=(6.0, 5.0, 8.0), h=2.0)
    basis, perm = _skfem_permutation(m.nodes_mm, m.elements)
    ks = skfem.asm(linear_elasticity(*lame_parameters(1000.0, 0.3)), basis)
    km = assemble_stiffness(m.nodes_mm, m.elements, np.full(m.n_elements, 1000.0), 0.3)
    diff = abs(ks[perm][:, perm] - km).max()
    assert diff <= 1e-12 * abs(km).max()


def test_symmetric_with_rigid_body_null_space_and_pattern_reuse():
    rng = np.random.default_rng(0)
    m = box_vertebra(size=(6.0, 5.0, 8.0), h=2.0)
    e = rng.uniform(10, 20000, m.n_elements)
    k = assemble_stiffness(m.nodes_mm, m.elements, e, 0.3)
    assert abs(k - k.T).max() <= 1e-12 * abs(k).max()
    rbm = rigid_body_modes(m.nodes_mm)
    assert np.abs(k @ rbm).max() <= 1e-9 * abs(k).max() * np.abs(rbm).max()
    pat = BlockPattern.of(m.elements, m.n_nodes)
    k2 = assemble_stiffness(m.nodes_mm, m.elements, 2 * e, 0.3, pattern=pat)
    assert abs(k2 - 2 * k).max() <= 1e-12 * abs(k2).max()
    assert (np.linalg.eigvalsh(k.toarray()) > -1e-8 * abs(k).max()).all()


@pytest.mark.parametrize("nu", [0.0, 0.3, 0.45])
def test_element_energy_of_uniform_strain(nu):
    m = box_vertebra(size=(4.0, 4.0, 4.0), h=2.0, E=500.0, nu=nu)
    k = assemble_stiffness(m.nodes_mm, m.elements, m.E_MPa, nu)
    eps = 1e-3
    u = np.zeros_like(m.nodes_mm)
    u[:, 2] = -eps * m.nodes_mm[:, 2]
    energy = 0.5 * u.ravel() @ (k @ u.ravel())
    lam, mu = 500.0 * nu / ((1 + nu) * (1 - 2 * nu)), 500.0 / (2 * (1 + nu))
    assert energy == pytest.approx(0.5 * (lam + 2 * mu) * eps**2 * 64.0, rel=1e-10)


def test_affine_kernel_equals_quadrature_kernel_with_heterogeneous_materials():
    """The constant-Jacobian shortcut and the general quadrature path build the same element matrices."""
    rng = np.random.default_rng(3)
    m = box_vertebra(size=(6.0, 5.0, 8.0), h=2.0)
    x = m.nodes_mm + rng.uniform(-0.1, 0.1, m.nodes_mm.shape)
    x[m.elements[:, 4:]] = x[m.elements[:, EDGES]].mean(axis=2)
    assert is_affine(x, m.elements)
    lam, mu = lame(rng.uniform(10, 20000, m.n_elements), rng.uniform(0.1, 0.45, m.n_elements))
    grad, wdet = element_gradients(x, m.elements)
    general = _element_matrices(grad, wdet, lam, mu)
    affine = _affine_element_matrices(x, m.elements, lam, mu).reshape(len(m.elements), 30, 30)
    assert np.abs(affine - general).max() <= 1e-12 * np.abs(general).max()


def test_curved_elements_take_the_quadrature_path():
    m = box_vertebra(size=(6.0, 5.0, 8.0), h=2.0)
    x = m.nodes_mm.copy()
    inner_mid = np.unique(m.elements[:, 4:])
    inner_mid = inner_mid[~np.isin(inner_mid, m.node_sets["surface"])]
    x[inner_mid] += np.random.default_rng(4).uniform(-0.05, 0.05, (len(inner_mid), 3))
    assert not is_affine(x, m.elements)
    k = assemble_stiffness(x, m.elements, np.full(m.n_elements, 1000.0), 0.3)
    rbm = rigid_body_modes(x)
    assert np.abs(k @ rbm).max() <= 1e-9 * abs(k).max() * np.abs(rbm).max()
    # isoparametric P2 represents a uniform strain exactly; on curved elements the 4-point rule
    # integrates the (rational) energy density only approximately
    u = -1e-3 * x[:, 2]
    disp = np.zeros_like(x)
    disp[:, 2] = u
    energy = 0.5 * disp.ravel() @ (k @ disp.ravel())
    lam, mu = lame(1000.0, 0.3)
    assert energy == pytest.approx(0.5 * (lam + 2 * mu) * 1e-6 * 240.0, rel=1e-5)
