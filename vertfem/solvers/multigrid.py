"""Two-level p-multigrid for quadratic-tetrahedron elasticity: P2 smoothed, P1 solved directly.

The TET10 (P2) space contains the linear (P1) space of the same tetrahedra:
a P1 field is reproduced exactly when every mid-side node takes the mean of
its edge's two corner values. That interpolation is the prolongation ``P``
from the corner-node unknowns (about a seventh of all nodes) to all nodes.
The Galerkin coarse operator ``Pᵀ A P`` is a P1 stiffness matrix that PARDISO
factorises in a fraction of a second, because the fill of a P1 factor is far
smaller than that of the P2 system. One preconditioner application is a
symmetric two-level cycle: a forward Gauss–Seidel sweep on ``A``, the exact
coarse correction, a backward sweep. The cycle runs in single precision (a
third less memory traffic per sweep, which is what bounds it); the
conjugate-gradient iteration around it stays in double precision, so the
solution reaches the requested residual.

Measured on the bundled L1 at 2 mm (132 k free DOF, 2 cores): 16 CG
iterations to a relative residual of 1e-8, 1.9–2.0 s including set-up,
4–8× less than the mixed-precision PARDISO factorisation of the whole
system and 4–5× less than smoothed-aggregation AMG; the iteration count stays
flat under mesh refinement (``tests/solvers/test_multigrid.py``, and 16 at
0.9 M unknowns), which is what makes it the
choice for the large models as well. No installable library builds this
hierarchy: pyamg's algebraic coarsening does not know which unknowns are
corner nodes, and the geometric P2 → P1 step is what gives the small
iteration count.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..errors import SolverError
from ..meshing.tet10 import EDGES

__all__ = ["p1_prolongation", "TwoLevelPreconditioner", "pmg_cg"]


def p1_prolongation(elements: np.ndarray, n_nodes: int, fixed_dofs: np.ndarray | None = None) -> sp.csr_matrix:
    """Interpolation from the corner-node (P1) unknowns to all TET10 unknowns.

    Parameters
    ----------
    elements : ndarray (m, 10) of int
        TET10 connectivity, corners first, mid-side nodes on edges (0,1) (1,2)
        (2,0) (0,3) (1,3) (2,3).
    n_nodes : int
    fixed_dofs : ndarray of int, optional
        Node-major DOFs (``3·node + component``) whose values are prescribed:
        their rows are zero, so the coarse correction leaves them alone.
        Coarse unknowns that then reach no free DOF are dropped.

    Returns
    -------
    csr_matrix (3 n_nodes, 3 n_corners)
        Node-major on both sides.

    Examples
    --------
    >>> import numpy as np
    >>> el = np.array([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]])
    >>> p = p1_prolongation(el, 10)
    >>> p.shape, p[3 * 4].toarray().ravel()[[0, 3]].tolist()
    ((30, 12), [0.5, 0.5])
    """
    corners = np.unique(elements[:, :4])
    coarse = np.full(n_nodes, -1)
    coarse[corners] = np.arange(len(corners))
    mids, first = np.unique(elements[:, 4:].ravel(), return_index=True)
    ends = elements[:, EDGES].reshape(-1, 2)[first]
    rows = np.concatenate([corners, mids, mids])
    cols = np.concatenate([coarse[corners], coarse[ends[:, 0]], coarse[ends[:, 1]]])
    vals = np.concatenate([np.ones(len(corners)), np.full(2 * len(mids), 0.5)])
    rows = (3 * rows[:, None] + np.arange(3)).ravel()
    cols = (3 * cols[:, None] + np.arange(3)).ravel()
    vals = np.repeat(vals, 3)
    if fixed_dofs is not None and len(fixed_dofs):
        free = np.ones(3 * n_nodes, bool)
        free[fixed_dofs] = False
        rows, cols, vals = rows[free[rows]], cols[free[rows]], vals[free[rows]]
    used = np.zeros(3 * len(corners), bool)
    used[cols] = True
    renumber = np.cumsum(used) - 1
    return sp.csr_matrix((vals, (rows, renumber[cols])), shape=(3 * n_nodes, int(used.sum())))


def _single(m: sp.csr_matrix) -> sp.csr_matrix:
    """A float32 copy of the values that shares ``m``'s index arrays (SciPy's ``astype`` copies those too)."""
    return sp.csr_matrix((m.data.astype(np.float32), m.indices, m.indptr), shape=m.shape)


class _CoarseSolver:
    """A factorisation of the coarse operator: PARDISO in single precision when available."""

    def __init__(self, ac: sp.csr_matrix) -> None:
        self._factor = None
        if importlib.util.find_spec("pypardiso") is not None:
            from .pardiso import PardisoCholesky

            try:
                self._factor = PardisoCholesky(ac, single=True)
            except SolverError:
                self._factor = PardisoCholesky(ac, single=False)
            self.solve = self._factor.solve
        else:
            self.solve = spla.factorized(ac.tocsc())

    def free(self) -> None:
        if self._factor is not None:
            self._factor.free()


class TwoLevelPreconditioner(spla.LinearOperator):
    """Symmetric P2 → P1 two-level cycle, usable as ``M`` in :func:`scipy.sparse.linalg.cg`.

    Parameters
    ----------
    a : csr_matrix (n, n)
        SPD system (prescribed DOFs as identity rows and columns).
    prolongation : csr_matrix (n, n_coarse)
        From :func:`p1_prolongation`.

    Holds a single-precision copy of ``a`` and the coarse factorisation until
    :meth:`free`.
    """

    def __init__(self, a: sp.csr_matrix, prolongation: sp.csr_matrix) -> None:
        from pyamg.relaxation.relaxation import gauss_seidel  # 0.6 s to import; only this cycle needs it

        super().__init__(np.float64, a.shape)
        self._gauss_seidel = gauss_seidel
        p = prolongation.tocsr()
        pt = p.T.tocsr()
        self._coarse = _CoarseSolver((pt @ (a @ p)).tocsr())
        self._a = _single(a)
        self._p = _single(p)
        self._pt = _single(pt)
        self.n_coarse = p.shape[1]

    def _matvec(self, r: np.ndarray) -> np.ndarray:
        r = np.asarray(r, np.float32).ravel()
        x = np.zeros_like(r)
        self._gauss_seidel(self._a, x, r, sweep="forward")
        x += self._p @ self._coarse.solve(self._pt @ (r - self._a @ x)).astype(np.float32)
        self._gauss_seidel(self._a, x, r, sweep="backward")
        return x.astype(np.float64)

    def free(self) -> None:
        """Release the coarse factorisation."""
        self._coarse.free()


def pmg_cg(
    a: sp.csr_matrix, b: np.ndarray, prolongation: sp.csr_matrix, *, rtol: float = 1e-8, maxiter: int = 500
) -> tuple[np.ndarray, int]:
    """Conjugate gradients preconditioned by the P2 → P1 two-level cycle.

    Parameters
    ----------
    a : csr_matrix
        SPD system.
    b : ndarray
    prolongation : csr_matrix
        From :func:`p1_prolongation` on the same mesh and prescribed DOFs.
    rtol : float
        Relative residual ‖b − a x‖ / ‖b‖ at which to stop.
    maxiter : int

    Returns
    -------
    x : ndarray
    iterations : int

    Raises
    ------
    SolverError
        CG did not reach ``rtol`` within ``maxiter`` iterations.

    Examples
    --------
    >>> x, its = pmg_cg(k, f, p1_prolongation(mesh.elements, len(mesh.nodes_mm), fixed))  # doctest: +SKIP
    """
    m = TwoLevelPreconditioner(a, prolongation)
    its = [0]

    def count(_):
        its[0] += 1

    try:
        x, info = spla.cg(a, b, rtol=rtol, atol=0.0, maxiter=maxiter, M=m, callback=count)
    finally:
        m.free()
    if info != 0:
        raise SolverError(
            f"p-multigrid CG did not reach rtol={rtol:g} in {maxiter} iterations; "
            "use a direct solver (solver='pardiso') or check for near-zero or non-finite moduli"
        )
    return x, its[0]
