"""Vectorised assembly of isotropic linear elasticity on TET10 meshes.

scikit-fem's generic ``asm`` of vector P2 elasticity is exact but slow at the
size of a vertebra model (SCIENCE §6: 7.7 s and 0.9 GB for 15.7 k TET10),
so the element kernel here is vectorised over elements: shape-function
gradients per element and quadrature point, then one ``einsum`` per chunk.
It builds the same matrix as ``skfem.asm(linear_elasticity, ...)`` (checked
in the tests to round-off after renumbering the DOFs).

DOF numbering is node-major: ``dof = 3 * node + component``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..meshing.tet10 import jacobians, quadrature, shape_functions, shape_gradients_ref

__all__ = [
    "lame",
    "BlockPattern",
    "element_gradients",
    "assemble_stiffness",
    "assemble_mass",
    "assemble_body_force",
    "surface_traction_loads",
    "dofs_of",
]

_CHUNK = 8000


def lame(E_MPa: np.ndarray, nu: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lamé parameters λ, μ (MPa) from Young's modulus and Poisson's ratio."""
    E = np.asarray(E_MPa, float)
    nu = np.asarray(nu, float)
    return E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))


def element_gradients(nodes: np.ndarray, elements: np.ndarray, order: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Physical shape-function gradients and quadrature weights.

    Returns
    -------
    grad : ndarray (e, q, 10, 3)
        ∂N_a/∂x_i at each quadrature point.
    wdet : ndarray (e, q)
        Quadrature weight × Jacobian determinant (mm³).
    """
    xi, w = quadrature(order)
    jac = jacobians(nodes, elements, xi)
    det = np.linalg.det(jac)
    inv = np.linalg.inv(jac)
    g_ref = shape_gradients_ref(xi)  # (q, 10, 3)
    grad = np.einsum("qaj,eqji->eqai", g_ref, inv)
    return grad, det * w


def dofs_of(elements: np.ndarray) -> np.ndarray:
    """Element DOF indices ``(e, 30)`` in node-major order."""
    return (3 * elements[:, :, None] + np.arange(3)).reshape(len(elements), 30)


def _element_matrices(grad: np.ndarray, wdet: np.ndarray, lam: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Element stiffness matrices ``(e, 30, 30)``, DOF order (node, component).

    ``K = Σ_q w (λ dᵀd + μ Bᵀ W B)`` with ``d`` the divergence row (= the
    flattened gradients), ``B`` the engineering-strain matrix and
    ``W = diag(2, 2, 2, 1, 1, 1)``; both q-sums are batched matrix products
    (BLAS), far faster than an einsum over the same indices.
    """
    e, q = wdet.shape
    g = grad.reshape(e, q, 30)
    sw = np.sqrt(wdet)[:, :, None]
    d = g * sw
    b = np.zeros((e, q, 6, 10, 3))
    gx, gy, gz = (grad[..., k] * sw for k in range(3))
    b[:, :, 0, :, 0] = gx
    b[:, :, 1, :, 1] = gy
    b[:, :, 2, :, 2] = gz
    b[:, :, 3, :, 1], b[:, :, 3, :, 2] = gz, gy
    b[:, :, 4, :, 0], b[:, :, 4, :, 2] = gz, gx
    b[:, :, 5, :, 0], b[:, :, 5, :, 1] = gy, gx
    b[:, :, :3] *= np.sqrt(2.0)
    b = b.reshape(e, q * 6, 30)
    k = np.matmul(d.transpose(0, 2, 1), d) * lam[:, None, None]
    k += np.matmul(b.transpose(0, 2, 1), b) * mu[:, None, None]
    return k


@dataclass(frozen=True, eq=False)
class BlockPattern:
    """Sparsity pattern of a mesh in 3x3 node blocks, reusable across assemblies.

    ``dest`` maps every entry of the element matrices ``(m, 30, 30)`` to its
    slot in the BSR data, so assembly is one ``bincount``.
    """

    n_nodes: int
    n_pairs: int
    indptr: np.ndarray
    indices: np.ndarray
    dest: np.ndarray

    @classmethod
    def of(cls, elements: np.ndarray, n_nodes: int) -> "BlockPattern":
        m = len(elements)
        rows = np.repeat(elements, 10, axis=1).ravel().astype(np.int64)
        cols = np.tile(elements, (1, 10)).ravel().astype(np.int64)
        uniq, inv = np.unique(rows * n_nodes + cols, return_inverse=True)
        indptr = np.searchsorted(uniq // n_nodes, np.arange(n_nodes + 1))
        inv = inv.reshape(m, 10, 1, 10, 1)
        ij = (3 * np.arange(3)[:, None] + np.arange(3)[None, :]).reshape(1, 1, 3, 1, 3)
        dest = (inv * 9 + ij).reshape(-1)
        return cls(n_nodes, len(uniq), indptr, (uniq % n_nodes).astype(np.int32), dest)

    def assemble(self, element_matrices: np.ndarray) -> sp.csr_matrix:
        """Sum element matrices ``(m, 30, 30)`` into a CSR matrix (3n × 3n)."""
        data = np.bincount(self.dest, weights=element_matrices.reshape(-1), minlength=9 * self.n_pairs)
        n = 3 * self.n_nodes
        return sp.bsr_matrix((data.reshape(-1, 3, 3), self.indices, self.indptr), shape=(n, n)).tocsr()


def assemble_stiffness(
    nodes: np.ndarray,
    elements: np.ndarray,
    E_MPa: np.ndarray,
    nu: float | np.ndarray,
    *,
    pattern: BlockPattern | None = None,
) -> sp.csr_matrix:
    """Global stiffness matrix (N/mm) of a TET10 mesh with per-element moduli.

    Parameters
    ----------
    nodes : ndarray (n, 3), mm
    elements : ndarray (m, 10), VTK order
    E_MPa : ndarray (m,)
    nu : float or ndarray (m,)
    pattern : BlockPattern, optional
        Reuse a sparsity pattern (several load cases or moduli on one mesh).

    Returns
    -------
    scipy.sparse.csr_matrix (3n, 3n), symmetric.
    """
    lam, mu = lame(np.broadcast_to(E_MPa, (len(elements),)), np.broadcast_to(nu, (len(elements),)))
    ke = np.empty((len(elements), 30, 30))
    for s in range(0, len(elements), _CHUNK):
        e = slice(s, s + _CHUNK)
        grad, wdet = element_gradients(nodes, elements[e])
        ke[e] = _element_matrices(grad, wdet, lam[e], mu[e])
    return (pattern or BlockPattern.of(elements, len(nodes))).assemble(ke)


def assemble_mass(nodes: np.ndarray, elements: np.ndarray) -> sp.csr_matrix:
    """Scalar P2 mass matrix ``∫ N_a N_b dV`` (for L2 projection), shape (n, n)."""
    xi, w = quadrature(4)
    n_q = shape_functions(xi)
    det = np.linalg.det(jacobians(nodes, elements, xi))
    data = np.einsum("eq,qa,qb->eab", det * w, n_q, n_q)
    rows = np.repeat(elements, 10, axis=1).ravel()
    cols = np.tile(elements, (1, 10)).ravel()
    m = sp.csr_matrix((data.ravel(), (rows, cols)), shape=(len(nodes), len(nodes)))
    m.sum_duplicates()
    return m


def assemble_body_force(nodes: np.ndarray, elements: np.ndarray, force_density, *, order: int = 6) -> np.ndarray:
    """Load vector of a body force ``f(x)`` (N/mm³, callable on (k, 3) points), shape (3n,)."""
    xi, w = quadrature(order)
    n_q = shape_functions(xi)
    det = np.linalg.det(jacobians(nodes, elements, xi))
    x = np.einsum("qa,eai->eqi", n_q, nodes[elements])
    f = np.asarray(force_density(x.reshape(-1, 3))).reshape(x.shape)
    fe = np.einsum("eq,qa,eqi->eai", det * w, n_q, f)
    out = np.zeros(3 * len(nodes))
    np.add.at(out, dofs_of(elements).ravel(), fe.reshape(-1))
    return out


def surface_traction_loads(nodes: np.ndarray, face_nodes: np.ndarray, traction: np.ndarray) -> np.ndarray:
    """Consistent nodal loads of a uniform traction on 6-node triangles.

    For a quadratic triangle under uniform traction the corner nodes carry
    nothing and each mid-side node a third of the face force.

    Parameters
    ----------
    face_nodes : ndarray (f, 6)
        Corner nodes then mid-side nodes.
    traction : ndarray (3,)
        N/mm².

    Returns
    -------
    ndarray (3n,)
    """
    p = nodes[face_nodes[:, :3]]
    area = 0.5 * np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1)
    out = np.zeros((len(nodes), 3))
    np.add.at(out, face_nodes[:, 3:].ravel(), np.repeat(area / 3.0, 3)[:, None] * np.asarray(traction)[None, :])
    return out.ravel()
