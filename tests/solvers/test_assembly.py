import numpy as np
import pytest
import skfem
from skfem.models.elasticity import lame_parameters, linear_elasticity

from vertfem.meshing.tet10 import EDGES
from vertfem.solvers.assembly import BlockPattern, assemble_stiffness
from vertfem.solvers.linear import rigid_body_modes

from helpers import box_vertebra


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
