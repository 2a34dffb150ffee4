"""Vectorised assembly of isotropic linear elasticity on TET10 meshes.

scikit-fem's generic ``asm`` of vector P2 elasticity is exact but slow at the
size of a vertebra model (SCIENCE §6: 7.7 s and 0.9 GB for 15.7 k TET10),
so the element kernel here is vectorised over elements. For straight-sided
(affine) TET10 — what :mod:`vertfem.meshing` produces — the Jacobian is
constant per element and every element matrix is a fixed linear combination
of the products ``det J · J⁻¹ ⊗ J⁻¹``: one (100 × 9) @ (9 × 9·m) matrix
product with precomputed reference integrals builds them all. Curved
elements take the general path (gradients per quadrature point, batched
BLAS products). Both build the same matrix as
``skfem.asm(linear_elasticity, ...)`` (checked in the tests to round-off
after renumbering the DOFs).

DOF numbering is node-major: ``dof = 3 * node + component``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..meshing.tet10 import EDGES, jacobians, quadrature, shape_functions, shape_gradients_ref
from .pattern import BlockPattern

__all__ = [
    "BlockPattern",
    "assemble_body_force",
    "assemble_mass",
    "assemble_stiffness",
    "dofs_of",
    "element_gradients",
    "is_affine",
    "lame",
    "surface_traction_loads",
]

# elements per batch: 2000 keeps each batch's temporaries (~15 MB) under glibc's mmap threshold, so
# they reuse heap memory instead of faulting in fresh pages (cold assembly of the L1: 0.6 s vs 0.8–1.1 s at 8000)
_CHUNK = 2000


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
    g_ref = shape_gradients_ref(xi)  # (q, 10, 3)
    if is_affine(nodes, elements):
        x = nodes[elements[:, :4]]
        jac = (x[:, 1:] - x[:, :1]).transpose(0, 2, 1)
        inv = np.linalg.inv(jac)
        grad = (g_ref.reshape(-1, 3) @ inv).reshape(len(elements), *g_ref.shape)
        return grad, np.linalg.det(jac)[:, None] * w
    jac = jacobians(nodes, elements, xi)
    inv = np.linalg.inv(jac)
    grad = np.einsum("qaj,eqji->eqai", g_ref, inv)
    return grad, np.linalg.det(jac) * w


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
    bm = b.reshape(e, q * 6, 30)
    k = np.matmul(d.transpose(0, 2, 1), d) * lam[:, None, None]
    k += np.matmul(bm.transpose(0, 2, 1), bm) * mu[:, None, None]
    return k


def is_affine(nodes: np.ndarray, elements: np.ndarray, rtol: float = 1e-9) -> bool:
    """Whether every TET10 is straight-sided (mid-side nodes at the edge midpoints)."""
    x = nodes[elements]
    mid = 0.5 * (x[:, EDGES[:, 0]] + x[:, EDGES[:, 1]])
    scale = np.ptp(nodes, axis=0).max() if len(nodes) else 1.0
    return bool(np.abs(x[:, 4:] - mid).max(initial=0.0) <= rtol * scale)


def _reference_gradient_integrals() -> np.ndarray:
    """``R[(a, b), (k, l)] = ∫ ∂N_a/∂ξ_k ∂N_b/∂ξ_l dξ`` over the reference tetrahedron, (100, 9)."""
    xi, w = quadrature(2)  # gradients are linear: the integrand is quadratic
    g = shape_gradients_ref(xi)
    return np.einsum("q,qak,qbl->abkl", w, g, g).reshape(100, 9)


_R_REF = _reference_gradient_integrals()


def _affine_element_matrices(nodes: np.ndarray, elements: np.ndarray, lam: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Element stiffness matrices of straight-sided TET10 as an ``(e, 10, 3, 10, 3)`` view (node, component).

    With ``G = J⁻¹`` constant, ``∫ ∂_i N_a ∂_j N_b dV = det J · Σ_kl G[k, i] G[l, j] R[a, b, k, l]``
    and ``K[a i, b j] = λ ∫∂_i N_a ∂_j N_b + μ ∫∂_j N_a ∂_i N_b + μ δ_ij ∫∇N_a·∇N_b``,
    so ``K[a i, b j] = Σ_kl R[a, b, k, l] D[k, l, i, j]`` with a small per-element
    ``D`` — one matrix product for all elements.
    """
    m = len(elements)
    x = nodes[elements[:, :4]]
    jac = (x[:, 1:] - x[:, :1]).transpose(0, 2, 1)  # J[i, k] = ∂x_i/∂ξ_k
    det = np.linalg.det(jac)
    g = np.linalg.inv(jac)  # G[k, i] = ∂ξ_k/∂x_i
    gg = np.einsum("eki,elj->klije", g, g)  # (k, l, i, j, e)
    d = lam * gg + mu * gg.transpose(0, 1, 3, 2, 4)
    d[:, :, [0, 1, 2], [0, 1, 2], :] += (mu * np.einsum("ekm,elm->kle", g, g))[:, :, None, :]
    d *= det
    k = (_R_REF @ d.reshape(9, 9 * m)).reshape(10, 10, 3, 3, m)  # (a, b, i, j, e)
    # a strided view: copying it to (e, 30, 30) took longer than the product itself
    return k.transpose(4, 0, 2, 1, 3)


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
    affine = is_affine(nodes, elements)
    pattern = pattern or BlockPattern.of(elements, len(nodes))
    data = np.zeros(pattern.nnz)
    # chunks of the colour-sorted elements: each chunk's scatter runs a colour (or two) in parallel
    for s in range(0, len(elements), _CHUNK):
        e = pattern.order[s:s + _CHUNK]
        if affine:
            ke = _affine_element_matrices(nodes, elements[e], lam[e], mu[e])
        else:
            grad, wdet = element_gradients(nodes, elements[e])
            ke = _element_matrices(grad, wdet, lam[e], mu[e])
        pattern.add(data, ke, e)
    return pattern.matrix(data)


def assemble_mass(nodes: np.ndarray, elements: np.ndarray, *, pattern: BlockPattern | None = None) -> sp.csr_matrix:
    """Scalar P2 mass matrix ``∫ N_a N_b dV`` (for L2 projection), shape (n, n).

    ``pattern`` reuses the stiffness matrix's node-level sparsity pattern.
    """
    xi, w = quadrature(4)
    n_q = shape_functions(xi)
    if is_affine(nodes, elements):  # constant Jacobian: det J times the reference mass matrix
        x = nodes[elements[:, :4]]
        det = np.linalg.det(x[:, 1:] - x[:, :1])
        data = det[:, None, None] * np.einsum("q,qa,qb->ab", w, n_q, n_q)[None]
    else:
        det = np.linalg.det(jacobians(nodes, elements, xi))
        data = np.einsum("eq,qa,qb->eab", det * w, n_q, n_q)
    pattern = pattern or BlockPattern.of(elements, len(nodes))
    return pattern.scalar_matrix(data)


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
