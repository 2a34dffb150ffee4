"""The pieces of the incremental–iterative solution: linear solves, the plastic model state, Newton steps.

:class:`PlasticModel` evaluates internal forces and consistent tangents of a
mesh with a :class:`~vertfem.solvers.plasticity.PlasticMaterial`;
:class:`LinearSolver` solves the tangent systems by preconditioned conjugate
gradients, keeping the preconditioner while it stays effective;
:class:`NewtonRun` takes one load step by Newton–Raphson with line search.
:func:`~vertfem.solvers.nonlinear.solve_nonlinear` drives them.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from threadpoolctl import threadpool_limits

from ..errors import SolverError
from .assembly import BlockPattern, assemble_stiffness, element_gradients
from .multigrid import TwoLevelPreconditioner
from .nonlinear_options import NonlinearOptions
from .pardiso import PardisoCholesky
from .plasticity import PlasticMaterial
from .return_mapping import element_residuals, element_tangent_corrections

__all__ = ["Eliminator", "LinearSolver", "NewtonRun", "PlasticModel", "PlasticState"]


class Eliminator:
    """Identity rows and columns for prescribed DOFs, applied in place on CSR values (positions precomputed)."""

    def __init__(self, pattern: BlockPattern, dofs: np.ndarray) -> None:
        indptr, indices = pattern.indptr, pattern.indices
        n = len(indptr) - 1
        fixed = np.zeros(n, bool)
        fixed[dofs] = True
        rows = np.repeat(np.arange(n), np.diff(indptr))
        hit = fixed[indices] | fixed[rows]
        self.zero = np.flatnonzero(hit)
        self.diag = np.flatnonzero(hit & (indices == rows) & fixed[rows])
        self.free = ~fixed

    def apply(self, data: np.ndarray) -> None:
        data[self.zero] = 0.0
        data[self.diag] = 1.0


class FactorPreconditioner(spla.LinearOperator):
    """A Cholesky factorisation (PARDISO, else SuperLU) used as the preconditioner of later tangents."""

    def __init__(self, a: sp.csr_matrix) -> None:
        super().__init__(np.float64, a.shape)
        self._factor: PardisoCholesky | None = None
        if importlib.util.find_spec("pypardiso") is not None:
            self._factor = PardisoCholesky(a)
            self._solve = self._factor.solve
        else:
            self._solve = spla.factorized(a.tocsc())

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        return self._solve(np.asarray(x, float).ravel())

    def free(self) -> None:
        if self._factor is not None:
            self._factor.free()


class LinearSolver:
    """Preconditioned CG on the tangent, the preconditioner kept while it stays effective.

    ``kind="cg-pmg"``: the P2 → P1 two-level cycle; ``"direct"``: a Cholesky
    factorisation (exact for the tangent it was built from, so the first
    solve after a rebuild takes one iteration). Either is rebuilt when a
    solve needs ``rebuild_after`` more iterations than right after the last
    build, or fails.
    """

    def __init__(self, kind: str, prolongation: sp.csr_matrix | None, rebuild_after: int = 10) -> None:
        self.kind = kind
        self.prolongation = prolongation
        self.rebuild_after = rebuild_after
        self._pc: TwoLevelPreconditioner | FactorPreconditioner | None = None
        self._fresh_its: int | None = None
        self.n_setups = 0
        self.setup_time_s = 0.0

    def _setup(self, a: sp.csr_matrix) -> None:
        self.free()
        t = time.perf_counter()
        self._pc = TwoLevelPreconditioner(a, self.prolongation) if self.kind == "cg-pmg" else FactorPreconditioner(a)
        self.setup_time_s += time.perf_counter() - t
        self.n_setups += 1
        self._fresh_its = None

    def solve(
        self, a: sp.csr_matrix, b: np.ndarray, x0: np.ndarray | None, rtol: float, norm_free: float
    ) -> tuple[np.ndarray, int]:
        """``a x = b`` to ``‖b − a x‖₂ ≤ rtol · norm_free``; returns x and the CG iterations."""
        if self._pc is None:
            self._setup(a)
        atol = rtol * norm_free
        its = 0
        count = [0]

        def cb(_: np.ndarray) -> None:
            count[0] += 1

        for attempt in range(2):
            count[0] = 0
            # one MKL thread: with two, the coarse PARDISO solve of each cycle took 75 ms instead of 6 ms on the
            # shared 2-core VM (L1, 19.7 k coarse DOF) — thread hand-off dominates such small triangular solves
            with threadpool_limits(limits=1, user_api="blas"):
                x, info = spla.cg(a, b, x0=x0, rtol=0.0, atol=atol, maxiter=300, M=self._pc, callback=cb)
            its += count[0]
            if info == 0 and np.all(np.isfinite(x)):
                break
            if attempt == 1:
                raise SolverError(f"preconditioned CG ({self.kind}) did not converge in 300 iterations "
                                  f"(atol {atol:.2e} N); the tangent may have lost definiteness")
            self._setup(a)  # the kept preconditioner no longer fits the tangent
            x0 = x if np.all(np.isfinite(x)) else x0
        if self._fresh_its is None:
            self._fresh_its = count[0]
        elif count[0] > self._fresh_its + self.rebuild_after:
            self.free()  # rebuild at the next solve
        return x, its

    def free(self) -> None:
        if self._pc is not None:
            self._pc.free()
            self._pc = None


@dataclass
class PlasticState:
    u: np.ndarray
    eps_p: np.ndarray
    alpha: np.ndarray


class PlasticModel:
    """Kinematics, material parameters, elastic matrix and the evaluation of residual and tangent."""

    def __init__(self, local: np.ndarray, elements: np.ndarray, material: PlasticMaterial, dofs: np.ndarray) -> None:
        self.elements = np.ascontiguousarray(elements, dtype=np.int64)
        self.n = 3 * len(local)
        self.grad, self.wdet = element_gradients(local, self.elements)
        self.grad = np.ascontiguousarray(self.grad)
        self.params = np.ascontiguousarray(material.kernel_parameters())
        self.pattern = BlockPattern.of(self.elements, len(local))
        k_el = assemble_stiffness(local, self.elements, material.E_MPa, material.nu, pattern=self.pattern)
        self.data_el = k_el.data
        self.elim = Eliminator(self.pattern, dofs)
        m, nq = self.wdet.shape
        self.sig = np.zeros((m, nq, 6))
        self.eps_p_trial = np.zeros((m, nq, 6))
        self.alpha_trial = np.zeros((m, nq))
        self.state = np.zeros((m, nq), np.int8)
        self.dt = np.zeros((m, nq, 6, 6))
        self.flat_dofs = (3 * self.elements[:, :, None] + np.arange(3)).reshape(-1)

    def internal_force(self, u: np.ndarray, committed: PlasticState) -> np.ndarray:
        """f_int(u) from the committed plastic state; fills the trial state, stresses and tangents."""
        fe = element_residuals(self.grad, self.wdet, self.elements, u, committed.eps_p, committed.alpha, self.params,
                       self.eps_p_trial, self.alpha_trial, self.sig, self.state, self.dt)
        return np.bincount(self.flat_dofs, weights=fe.ravel(), minlength=self.n)

    def tangent(self, *, eliminate: bool) -> sp.csr_matrix:
        """The consistent tangent at the last evaluation, optionally with the prescribed DOFs eliminated."""
        plastic = np.flatnonzero((self.state > 0).any(axis=1))
        data = self.data_el.copy()
        for s in range(0, len(plastic), 4000):  # bounded temporaries (4000 × 900 doubles)
            chunk = plastic[s:s + 4000]
            dk = element_tangent_corrections(self.grad, self.wdet, chunk, self.state, self.dt, self.params)
            self.pattern.add(data, dk, chunk)  # type: ignore[arg-type]  # add() takes index arrays too
        if eliminate:
            self.elim.apply(data)
        return self.pattern.matrix(data)

    def n_plastic_elements(self) -> int:
        return int((self.state > 0).any(axis=1).sum())

    def commit(self, u: np.ndarray) -> PlasticState:
        return PlasticState(u.copy(), self.eps_p_trial.copy(), self.alpha_trial.copy())


class NewtonRun:
    """The incremental–iterative solution of one analysis (state shared by the steps)."""

    def __init__(self, model: PlasticModel, solver: LinearSolver, up_end: np.ndarray, fext_end: np.ndarray,
                 opts: NonlinearOptions) -> None:
        self.model, self.solver, self.opts = model, solver, opts
        self.up_end, self.fext_end = up_end, fext_end
        self.free = model.elim.free
        self.fixed = ~self.free
        self.n_evaluations = 0

    def _residual(self, u: np.ndarray, committed: PlasticState, lam: float) -> tuple[np.ndarray, np.ndarray]:
        fint = self.model.internal_force(u, committed)
        self.n_evaluations += 1
        return fint, lam * self.fext_end - fint

    def predictor(self, k: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray]:
        """From the tangent of a converged state: the eliminated matrix (in place) and ``K·u_p`` of the full load.

        The predictor of a step of any size needs only these two: the
        coupling of the prescribed increment is ``Δλ·K·u_p``.
        """
        z = k @ np.where(self.fixed, self.up_end, 0.0)
        self.model.elim.apply(k.data)
        return k, z

    def step(self, committed: PlasticState, fint_c: np.ndarray, lam0: float, lam1: float,
             pred: tuple[sp.csr_matrix, np.ndarray], du_prev: np.ndarray | None) -> dict[str, Any] | None:
        """Newton–Raphson from the converged state at ``lam0`` to ``lam1``; ``None`` if it fails."""
        o = self.opts
        free = self.free
        dup = np.where(self.fixed, (lam1 - lam0) * self.up_end, 0.0)
        r_c = lam1 * self.fext_end - fint_c
        a_pred, z = pred
        b = np.where(free, r_c - (lam1 - lam0) * z, dup)
        x0 = None if du_prev is None else np.where(free, du_prev, dup)
        du, its = self.solver.solve(a_pred, b, x0, o.cg_rtol, float(np.linalg.norm(b[free])))
        cg_its = [its]
        e0 = abs(float(du[free] @ b[free]))
        u = committed.u + du
        fint, r = self._residual(u, committed, lam1)
        hist = [float(np.linalg.norm(r[free]))]
        energy = [1.0]
        ls_evals = 0
        for k in range(o.max_newton_iterations + 1):
            react = float(np.linalg.norm(fint[self.fixed] - lam1 * self.fext_end[self.fixed]))
            if not np.isfinite(hist[-1]) or hist[-1] > 1e6 * max(hist[0], 1e-300):
                return None
            if hist[-1] <= o.force_tolerance * react and energy[-1] <= o.energy_tolerance:
                return {"u": u, "fint": fint, "residual_history_N": hist, "energy_history": energy,
                        "newton_iterations": len(cg_its), "cg_iterations": cg_its,
                        "line_search_evaluations": ls_evals, "reaction_norm_N": react}
            if k == o.max_newton_iterations:
                return None
            a = self.model.tangent(eliminate=True)
            b = np.where(free, r, 0.0)
            du, its = self.solver.solve(a, b, None, o.cg_rtol, hist[-1])
            cg_its.append(its)
            g0 = float(du[free] @ r[free])
            fint1, r1 = self._residual(u + du, committed, lam1)
            s = 1.0
            if o.line_search:
                s, fint1, r1, n_ls = self._line_search(u, du, g0, fint1, r1, committed, lam1)
                ls_evals += n_ls
            energy.append(abs(s * g0) / max(e0, 1e-300))
            u, fint, r = u + s * du, fint1, r1
            hist.append(float(np.linalg.norm(r[free])))
        return None

    def _line_search(self, u, du, g0, f1, r1, committed, lam):
        """Regula falsi on G(s) = δu·r(u + s δu) when the full step overshoots (G(1) < −G(0)/2).

        At most three extra residual evaluations; the model's trial state is
        left at the accepted point. Returns ``(s, f_int, r, evaluations)``.
        """
        free = self.free
        g1 = float(du[free] @ r1[free])
        if g0 <= 0.0 or g1 >= -0.5 * g0:
            return 1.0, f1, r1, 0
        lo, glo, hi, ghi = 0.0, g0, 1.0, g1
        best, last = (abs(g1), 1.0, f1, r1), 1.0
        evals = 0
        while evals < 3:
            s = max(0.1, lo - glo * (hi - lo) / (ghi - glo))
            fs, rs = self._residual(u + s * du, committed, lam)
            evals += 1
            last = s
            gs = float(du[free] @ rs[free])
            if abs(gs) < best[0]:
                best = (abs(gs), s, fs, rs)
            if abs(gs) <= 0.5 * g0:
                break
            if gs > 0:
                lo, glo = s, gs
            else:
                hi, ghi = s, gs
        _, s, fs, rs = best
        if s != last:
            fs, rs = self._residual(u + s * du, committed, lam)
            evals += 1
        return s, fs, rs, evals
