"""The 10-node quadratic tetrahedron: node order, shape functions, quadrature.

vertfem stores TET10 connectivity in the VTK / Abaqus C3D10 order: vertices
0–3, then mid-side nodes on edges (0,1) (1,2) (2,0) (0,3) (1,3) (2,3).
gmsh numbers the last two edges the other way round — (3,2) as node 8 and
(3,1) as node 9 — so converting gmsh → VTK swaps nodes 8 and 9
(:data:`GMSH_TO_VTK`). Tests interpolate a quadratic field through every
conversion to check this.
"""

from __future__ import annotations

import numpy as np
from skfem.quadrature import get_quadrature
from skfem.refdom import RefTet

__all__ = [
    "EDGES",
    "GMSH_TO_VTK",
    "element_volumes",
    "jacobians",
    "physical_points",
    "quadrature",
    "shape_functions",
    "shape_gradients_ref",
]

#: Vertex pairs of the mid-side nodes 4..9 in vertfem (VTK/Abaqus) order.
EDGES = np.array([[0, 1], [1, 2], [2, 0], [0, 3], [1, 3], [2, 3]])
#: ``vtk_conn = gmsh_conn[:, GMSH_TO_VTK]``.
GMSH_TO_VTK = np.array([0, 1, 2, 3, 4, 5, 6, 7, 9, 8])


def _barycentric(xi: np.ndarray) -> np.ndarray:
    xi = np.atleast_2d(xi)
    return np.column_stack([1.0 - xi.sum(axis=1), xi[:, 0], xi[:, 1], xi[:, 2]])


def shape_functions(xi: np.ndarray) -> np.ndarray:
    """Shape functions ``(n_points, 10)`` at reference points ``xi (n, 3)``."""
    lam = _barycentric(xi)
    n = np.empty((lam.shape[0], 10))
    n[:, :4] = lam * (2.0 * lam - 1.0)
    for e, (a, b) in enumerate(EDGES):
        n[:, 4 + e] = 4.0 * lam[:, a] * lam[:, b]
    return n


def shape_gradients_ref(xi: np.ndarray) -> np.ndarray:
    """Reference gradients ``(n_points, 10, 3)`` of the shape functions."""
    lam = _barycentric(xi)
    dlam = np.array([[-1.0, -1.0, -1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    g = np.empty((lam.shape[0], 10, 3))
    for v in range(4):
        g[:, v, :] = (4.0 * lam[:, v] - 1.0)[:, None] * dlam[v]
    for e, (a, b) in enumerate(EDGES):
        g[:, 4 + e, :] = 4.0 * (lam[:, b][:, None] * dlam[a] + lam[:, a][:, None] * dlam[b])
    return g


def quadrature(order: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature on the reference tetrahedron exact to polynomial ``order``.

    Returns points ``(n, 3)`` and weights ``(n,)`` summing to 1/6.
    """
    x, w = get_quadrature(RefTet, order)
    return x.T.copy(), w.copy()


def jacobians(nodes: np.ndarray, elements: np.ndarray, xi: np.ndarray) -> np.ndarray:
    """Jacobian matrices ``(n_elem, n_points, 3, 3)``, ``J[i, j] = dx_i/dxi_j``."""
    g = shape_gradients_ref(xi)  # (q, 10, 3)
    q = len(g)
    x = nodes[elements].transpose(0, 2, 1)  # (e, 3, 10)
    # one BLAS product (e, 3, 10) @ (10, 3q): an einsum over the same indices is ~5× slower
    j = x @ g.transpose(1, 0, 2).reshape(10, 3 * q)
    return j.reshape(len(elements), 3, q, 3).transpose(0, 2, 1, 3)


def element_volumes(nodes: np.ndarray, elements: np.ndarray) -> np.ndarray:
    """Exact volumes (mm³) of TET10 elements (also curved ones)."""
    xi, w = quadrature(4)
    det = np.linalg.det(jacobians(nodes, elements, xi))
    return det @ w


def physical_points(nodes: np.ndarray, elements: np.ndarray, xi: np.ndarray) -> np.ndarray:
    """Physical coordinates ``(n_elem, n_points, 3)`` of reference points."""
    n = shape_functions(xi)
    return np.einsum("qa,eai->eqi", n, nodes[elements])
