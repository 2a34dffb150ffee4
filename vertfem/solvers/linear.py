"""Sparse linear solvers for the condensed elasticity system, chosen by size.

Measured on this kind of machine (SCIENCE §6, 67 k-DOF vertebra): MKL
PARDISO in symmetric mode (upper triangle, mtype 2) 4.0 s; CHOLMOD with
OpenBLAS 8 s; Jacobi-PCG 3.7 s at rtol 1e-8; SciPy SuperLU ~250 s and 2.7 GB
(only a last resort). ``"auto"`` picks PARDISO up to ``direct_max_dofs``
(direct solving is practical to ~0.5 M DOF in memory here) and
preconditioned CG beyond, with pyamg smoothed aggregation when available
(rigid-body modes as near-null space) and Jacobi otherwise.

PARDISO factorises in single precision by default and recovers double
precision with a few preconditioned CG steps (:mod:`.pardiso`; 1.8× faster on
the bundled L1, same residual); ``precision="double"`` factorises in double.
The AMG settings (node-blocked matrix, symmetric strength θ = 0.05, no
candidate smoothing, one forward/backward Gauss–Seidel sweep) were tuned on
the bundled L1: 7 s instead of 17.7 s with pyamg's defaults.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..errors import SolverError
from .pardiso import PardisoCholesky, mixed_precision_solve

__all__ = ["SolverInfo", "solve_spd", "available_solvers", "rigid_body_modes"]

log = logging.getLogger(__name__)

SolverName = Literal["auto", "pardiso", "cholmod", "cg-amg", "cg-jacobi", "superlu"]


@dataclass(frozen=True)
class SolverInfo:
    """What the linear solve did."""

    solver: str
    n_dofs: int
    iterations: int | None
    relative_residual: float
    time_s: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def available_solvers() -> list[str]:
    """Solvers usable on this machine, fastest first."""
    out = []
    if importlib.util.find_spec("pypardiso") is not None:
        out.append("pardiso")
    if importlib.util.find_spec("sksparse") is not None:
        out.append("cholmod")
    if importlib.util.find_spec("pyamg") is not None:
        out.append("cg-amg")
    return out + ["cg-jacobi", "superlu"]


def rigid_body_modes(points: np.ndarray) -> np.ndarray:
    """The six rigid-body modes ``(3n, 6)`` of a point set (node-major DOFs)."""
    x = points - points.mean(axis=0)
    n = len(x)
    b = np.zeros((n, 3, 6))
    b[:, 0, 0] = b[:, 1, 1] = b[:, 2, 2] = 1.0
    b[:, 1, 3], b[:, 2, 3] = -x[:, 2], x[:, 1]
    b[:, 0, 4], b[:, 2, 4] = x[:, 2], -x[:, 0]
    b[:, 0, 5], b[:, 1, 5] = -x[:, 1], x[:, 0]
    return b.reshape(3 * n, 6)


def _cholmod(a: sp.csr_matrix, b: np.ndarray) -> np.ndarray:
    from sksparse.cholmod import cholesky

    return cholesky(a.tocsc())(b)


def _cg(
    a: sp.csr_matrix, b: np.ndarray, rtol: float, maxiter: int, precond: str, near_null: np.ndarray | None,
    block_size: int,
):
    if precond == "amg":
        import pyamg

        blocked = a.tobsr(blocksize=(block_size, block_size)) if block_size > 1 else a
        ml = pyamg.smoothed_aggregation_solver(
            blocked, B=near_null, max_coarse=500, improve_candidates=None,
            strength=("symmetric", {"theta": 0.05}),
            presmoother=("block_gauss_seidel", {"sweep": "forward"}),
            postsmoother=("block_gauss_seidel", {"sweep": "backward"}),
        )
        m = ml.aspreconditioner(cycle="V")
    else:
        d = a.diagonal()
        m = spla.LinearOperator(a.shape, matvec=lambda v: v / d)
    its = [0]

    def count(_):
        its[0] += 1

    x, info = spla.cg(a, b, rtol=rtol, atol=0.0, maxiter=maxiter, M=m, callback=count)
    if info != 0:
        raise SolverError(
            f"CG ({precond}) did not converge to rtol={rtol:g} in {maxiter} iterations; "
            "use a direct solver (solver='pardiso'), a looser tolerance, or check for near-zero moduli"
        )
    return x, its[0]


def solve_spd(
    a: sp.csr_matrix,
    b: np.ndarray,
    *,
    solver: SolverName = "auto",
    rtol: float = 1e-8,
    maxiter: int = 20000,
    near_null: np.ndarray | None = None,
    direct_max_dofs: int = 600_000,
    precision: Literal["mixed", "double"] = "mixed",
    block_size: int = 1,
) -> tuple[np.ndarray, SolverInfo]:
    """Solve a symmetric positive-definite system ``a x = b``.

    Parameters
    ----------
    a : csr_matrix
    b : ndarray
    solver : {"auto", "pardiso", "cholmod", "cg-amg", "cg-jacobi", "superlu"}
    rtol : float
        Relative residual tolerance of the iterative solvers.
    near_null : ndarray (n, 6), optional
        Rigid-body modes, for AMG (zero on rows that carry a prescribed value).
    direct_max_dofs : int
        ``"auto"`` uses a direct solver up to this size.
    precision : {"mixed", "double"}
        PARDISO factor precision (mixed: float32 factor + float64 CG steps).
    block_size : int
        Unknowns per node when every node keeps all its rows (3 for the
        full-size elasticity system): AMG then aggregates nodes, not DOFs.

    Raises
    ------
    SolverError
        Non-convergence, a singular matrix or a non-finite solution.
    """
    n = a.shape[0]
    avail = available_solvers()
    if solver == "auto":
        direct = [s for s in ("pardiso", "cholmod") if s in avail]
        solver = direct[0] if direct and n <= direct_max_dofs else ("cg-amg" if "cg-amg" in avail else "cg-jacobi")
    elif solver not in avail:
        raise SolverError(f"solver {solver!r} is not available here; available: {avail}")
    t = time.perf_counter()
    iterations = None
    try:
        if solver == "pardiso" and precision == "mixed":
            x, iterations, mode = mixed_precision_solve(a, b)
            solver = "pardiso" if mode == "double" else "pardiso-mixed"
        elif solver == "pardiso":
            factor = PardisoCholesky(a)
            try:
                x = factor.solve(b)
            finally:
                factor.free()
        elif solver == "cholmod":
            x = _cholmod(a, b)
        elif solver == "superlu":
            x = spla.spsolve(a.tocsc(), b, permc_spec="MMD_AT_PLUS_A")
        else:
            x, iterations = _cg(a, b, rtol, maxiter, "amg" if solver == "cg-amg" else "jacobi", near_null, block_size)
    except SolverError:
        raise
    except Exception as exc:  # the libraries raise their own types (singular, out of memory)
        raise SolverError(f"{solver} failed on the {n}-DOF system: {exc}") from exc
    elapsed = time.perf_counter() - t
    if not np.all(np.isfinite(x)):
        raise SolverError(f"{solver} returned a non-finite solution; the model is singular (missing constraints or zero moduli)")
    bn = float(np.linalg.norm(b))
    res = float(np.linalg.norm(a @ x - b) / bn) if bn > 0 else 0.0
    if res > max(1e3 * rtol, 1e-6):
        raise SolverError(f"{solver} solution has relative residual {res:.2e}; the system is ill-conditioned or singular")
    log.info("%s: %d DOFs, %.2f s, residual %.1e", solver, n, elapsed, res)
    return x, SolverInfo(solver, n, iterations, res, elapsed)
