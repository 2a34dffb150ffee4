"""Nonlinear strength: elastic–plastic TET10 analysis to failure, displacement controlled.

The load case's prescribed displacements (and forces, if any) are scaled by a
load factor λ that rises in steps until the apparent strain
``options.max_apparent_strain`` (2 % by default). Each step is solved by
Newton–Raphson with the consistent tangent of :mod:`.plasticity`:

* predictor: the tangent of the last converged state with the prescribed
  increment (and the force increment) as the load; the conjugate-gradient
  solve starts from the previous step's increment scaled to the new step
  (warm start);
* corrections with homogeneous constraints, each followed by a line search on
  ``G(s) = δu·r(u + s·δu)`` (regula falsi, at most three extra residual
  evaluations) when a full step does not reduce ``|G|``;
* convergence when both the force residual and the energy of the correction
  are small (stated in :attr:`NonlinearResult.convergence`):
  ``‖r_free‖₂ ≤ force_tolerance · ‖reactions‖₂`` and
  ``|δu·r| ≤ energy_tolerance · |δu₀·r₀|`` (Bathe 1996, *Finite Element
  Procedures*, §8.4.4);
* a step that fails to converge in ``max_newton_iterations`` (or diverges) is
  restarted from the last converged state with half the increment, up to
  ``max_cutbacks`` times in a row.

The first step is linear: the elastic solution for the first target is
scaled to the load at which the first quadrature point reaches its yield
surface, which gives the initial stiffness and the exact onset of yield.

The linear systems are solved by the P2 → P1 p-multigrid conjugate
gradients of :mod:`.multigrid` (models of ``pmg_min_dofs`` unknowns or more)
to a relative residual ``cg_rtol`` of the Newton right-hand side (inexact
Newton; the quadratic phase ends at that level). The multigrid cycle is
built once and kept while its iteration count stays low: the tangent
changes only where the bone yields, and any SPD cycle remains a valid
preconditioner. The tangent is the elastic matrix plus element corrections
``Σ w Bᵀ (Dᵗ − Dᵉ) B`` of the elements with plastic points, scattered into
the elastic matrix's sparsity pattern.

Strength definition (``strength_nonlinear_N``): the largest axial reaction
force on the loaded endplate up to the apparent strain
``max_apparent_strain``, and the apparent strain at which it occurs. The
yield point is where the force–displacement curve meets the initial
stiffness line offset by 0.2 % apparent strain (``yield_offset_strain``).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import SolverError
from ..materials import ASH_APP_RATIO
from ..meshing.model import REGIONS, VertebraMesh
from ..options import parse_options
from .fields import von_mises
from .loadcases import LoadCase
from .multigrid import p1_prolongation
from .newton import LinearSolver, NewtonRun, PlasticModel, PlasticState
from .nonlinear_options import NonlinearOptions
from .nonlinear_result import NonlinearResult, offset_yield_point
from .plasticity import YIELD_LAWS, PlasticMaterial, bone_material, von_mises_material
from .return_mapping import elastic_yield_factors
from .static import _check_constrained, apply_conditions, mesh_provenance

__all__ = ["NonlinearOptions", "NonlinearResult", "offset_yield_point", "solve_nonlinear"]

log = logging.getLogger(__name__)


def _material_from_options(mesh: VertebraMesh, opts: NonlinearOptions) -> PlasticMaterial:
    caps = (mesh.region == REGIONS["cap"]) if opts.caps_elastic else None
    ratio = float(mesh.info.get("options", {}).get("ash_app_ratio", ASH_APP_RATIO))
    if opts.material == "bone":
        return bone_material(mesh.E_MPa, mesh.rho_ash_g_cm3, mesh.poisson_ratio, law=opts.yield_law,
                             post_yield_ratio=opts.post_yield_ratio, ash_app_ratio=ratio, elastic=caps)
    law = YIELD_LAWS[opts.yield_law]
    c, _ = law.yield_stresses_MPa(mesh.E_MPa, mesh.rho_ash_g_cm3, ash_app_ratio=ratio)
    e = np.asarray(mesh.E_MPa, float)
    h = e * opts.post_yield_ratio / (1.0 - opts.post_yield_ratio)
    mat = von_mises_material(e, mesh.poisson_ratio, c, hardening_MPa=h)
    mat = PlasticMaterial(f"von-mises/{law.name}", mat.E_MPa, mat.nu, mat.yield_compression_MPa,
                          mat.yield_tension_MPa, mat.hardening_MPa, law.source,
                          {"yield_law": law.name, "post_yield_ratio": opts.post_yield_ratio})
    return mat.with_elements_elastic(caps) if caps is not None else mat


@dataclass(frozen=True, eq=False)
class _Problem:
    """A load case on a mesh, scaled to the full load: prescribed values, forces, node sets, loading sense."""

    local: np.ndarray
    dofs: np.ndarray
    up_end: np.ndarray
    fext_end: np.ndarray
    sets: dict[str, np.ndarray]
    loaded: str
    sign: float
    d_end_mm: float | None
    height_mm: float


def _problem(mesh: VertebraMesh, load_case: LoadCase, opts: NonlinearOptions) -> _Problem:
    local = mesh.frame.to_local(mesh.nodes_mm)
    dofs, vals, force, sets = apply_conditions(load_case, local, mesh)
    _check_constrained(local, dofs, load_case.name)
    if load_case.loaded not in sets:
        raise SolverError(f"load case {load_case.name!r} has no condition on its loaded set {load_case.loaded!r}")
    d_axial = load_case.axial_displacement_mm
    scale = opts.max_apparent_strain * mesh.height_mm / abs(d_axial) if d_axial else 1.0
    up_end = np.zeros(3 * len(local))
    up_end[dofs] = vals * scale
    return _Problem(local, dofs, up_end, force * scale, sets, load_case.loaded,
                    float(np.sign(d_axial)) if d_axial else -1.0, abs(d_axial) * scale if d_axial else None,
                    mesh.height_mm)


class _Curve:
    """The force–displacement record of a run, one point per converged step, and the state at its maximum."""

    def __init__(self, prob: _Problem, model: PlasticModel) -> None:
        self.prob, self.model = prob, model
        self.load_factor, self.force_N = [0.0], [0.0]
        self.reactions: list[dict[str, np.ndarray]] = [{name: np.zeros(3) for name in prob.sets}]
        self.steps: list[dict[str, Any]] = []
        self.best: tuple[float, float, np.ndarray, np.ndarray, np.ndarray] | None = None

    def add(self, lam: float, fint: np.ndarray, committed: PlasticState, step: dict[str, Any]) -> float:
        """Record a converged state; returns the axial force (loading direction, N)."""
        r = (fint - lam * self.prob.fext_end).reshape(-1, 3)
        self.reactions.append({name: r[idx].sum(axis=0) for name, idx in self.prob.sets.items()})
        f = self.prob.sign * float(self.reactions[-1][self.prob.loaded][2])
        self.load_factor.append(lam)
        self.force_N.append(f)
        self.steps.append({"load_factor": lam, **step})
        if self.best is None or f > self.best[0]:
            self.best = (f, lam, committed.u.copy(), self.model.sig.copy(), committed.alpha.copy())
        return f


@dataclass
class _Marching:
    """Where the stepping stands: converged state, its internal forces, load factor, last increment."""

    committed: PlasticState
    fint: np.ndarray
    lam: float
    du_prev: np.ndarray
    dlam_prev: float
    pred: tuple[sp.csr_matrix, np.ndarray]


def _elastic_start(run: NewtonRun, curve: _Curve, opts: NonlinearOptions) -> _Marching:
    """The elastic solution for the first step, scaled to the onset of yield (one linear solve)."""
    model, free = run.model, run.free
    lam1 = 1.0 / opts.n_steps
    pred = run.predictor(model.pattern.matrix(model.data_el.copy()))
    dup = np.where(free, 0.0, lam1 * run.up_end)
    b = np.where(free, lam1 * (run.fext_end - pred[1]), dup)
    u1, its = run.solver.solve(pred[0], b, dup, opts.elastic_rtol, float(np.linalg.norm(b[free])))
    t_y = float(min(1.0, elastic_yield_factors(model.grad, model.elements, u1, model.params).min()))
    zero = PlasticState(np.zeros(model.n), np.zeros_like(model.eps_p_trial), np.zeros_like(model.alpha_trial))
    fint = model.internal_force(t_y * u1, zero)
    committed = model.commit(t_y * u1)
    curve.add(t_y * lam1, fint, committed, {"newton_iterations": 1, "cg_iterations": [its], "residual_history_N": [],
                                              "note": "elastic solution scaled to first yield"})
    return _Marching(committed, fint, t_y * lam1, committed.u.copy(), t_y * lam1, pred)


def _march(run: NewtonRun, curve: _Curve, m: _Marching, opts: NonlinearOptions) -> int:
    """Steps to the targets ``i/n_steps``, halving a step that fails; returns the number of halvings."""
    targets = np.arange(1, opts.n_steps + 1) / opts.n_steps
    i_target = int(np.searchsorted(targets, m.lam * (1 + 1e-12), side="right"))
    dlam = targets[min(i_target, len(targets) - 1)] - m.lam
    n_cut_row = n_cutbacks = 0
    while i_target < len(targets):
        lam1 = min(m.lam + dlam, targets[i_target])
        ts = time.perf_counter()
        out = run.step(m.committed, m.fint, m.lam, lam1, m.pred, m.du_prev * ((lam1 - m.lam) / m.dlam_prev))
        if out is None:
            n_cutbacks += 1
            n_cut_row += 1
            if n_cut_row > opts.max_cutbacks:
                raise SolverError(
                    f"the elastic–plastic solution did not converge between load factors {m.lam:.4g} and "
                    f"{lam1:.4g} after {opts.max_cutbacks} step halvings; use more steps (n_steps), a positive "
                    "post_yield_ratio or a looser force_tolerance"
                )
            dlam = (lam1 - m.lam) / 2.0
            log.info("step to λ = %.4g did not converge; halving", lam1)
            continue
        n_cut_row = 0
        m.du_prev, m.dlam_prev = out.pop("u") - m.committed.u, lam1 - m.lam
        m.committed = run.model.commit(m.committed.u + m.du_prev)
        m.fint, m.lam = out.pop("fint"), lam1
        del m.pred  # release the old matrix before the new one is assembled
        m.pred = run.predictor(run.model.tangent(eliminate=False))
        out.update(n_plastic_elements=run.model.n_plastic_elements(), time_s=time.perf_counter() - ts)
        f = curve.add(lam1, m.fint, m.committed, out)
        log.info("λ = %.4f: F = %.1f N, %d Newton, CG %s, %d plastic elements", lam1, f, out["newton_iterations"],
                 out["cg_iterations"], out["n_plastic_elements"])
        if lam1 >= targets[i_target] * (1 - 1e-12):
            i_target += 1
        dlam = targets[min(i_target, len(targets) - 1)] - m.lam
    return n_cutbacks


def _fields(mesh: VertebraMesh, model: PlasticModel, curve: _Curve) -> tuple[dict, dict, float]:
    """Element fields and nodal displacement at the strength point, and the yielded bone-volume fraction."""
    assert curve.best is not None
    _, _, u, sig, alpha = curve.best
    w = model.wdet
    vol = w.sum(axis=1)
    stress = (sig * w[..., None]).sum(axis=1) / vol[:, None]
    stress[:, 3:] /= np.sqrt(2.0)  # Mandel → tensor components
    yielded = (alpha > 0).any(axis=1)
    bone = mesh.region != REGIONS["cap"]
    fields = {"equivalent_plastic_strain": (alpha * w).sum(axis=1) / vol, "yielded": yielded.astype(np.uint8),
              "stress_MPa": stress, "von_mises_MPa": von_mises(stress)}
    nodal = {"displacement_mm": u.reshape(-1, 3) @ mesh.frame.rotation.T}
    return fields, nodal, float(vol[yielded & bone].sum() / vol[bone].sum())


def _result(mesh: VertebraMesh, load_case: LoadCase, opts: NonlinearOptions, mat: PlasticMaterial, prob: _Problem,
            curve: _Curve, run: NewtonRun, kind: str, n_cutbacks: int, timings: dict[str, float]) -> NonlinearResult:
    t = time.perf_counter()
    lam, f = np.array(curve.load_factor), np.array(curve.force_N)
    d = lam * (prob.d_end_mm or 0.0)
    stiffness = f[1] / d[1] if prob.d_end_mm else float("nan")
    yp = offset_yield_point(d, f, stiffness, opts.yield_offset_strain * prob.height_mm) if prob.d_end_mm else None
    fields, nodal, yielded_fraction = _fields(mesh, run.model, curve)
    assert curve.best is not None
    steps = curve.steps
    timings["postprocess"] = time.perf_counter() - t
    return NonlinearResult(
        vertebra=str(mesh.info.get("vertebra") or "mesh"), kernel=mesh.info.get("kernel"), load_case=load_case.name,
        load_case_description=load_case.description, set_roles=load_case.set_roles, material=mat.summary(),
        height_mm=prob.height_mm,
        load_factor=lam, displacement_mm=d, force_N=f,
        reactions_N={name: np.array([r[name] for r in curve.reactions]) for name in prob.sets},
        stiffness_N_per_mm=stiffness, strength_nonlinear_N=curve.best[0],
        displacement_at_strength_mm=curve.best[1] * (prob.d_end_mm or 0.0),
        yield_force_N=None if yp is None else yp[1], yield_displacement_mm=None if yp is None else yp[0],
        max_apparent_strain=opts.max_apparent_strain if prob.d_end_mm else None,
        yielded_volume_fraction=yielded_fraction, steps=steps,
        convergence={
            "criterion": "‖r_free‖₂ ≤ force_tolerance·‖reactions‖₂ and |δu·r| ≤ energy_tolerance·|δu₀·r₀|",
            "force_tolerance": opts.force_tolerance, "energy_tolerance": opts.energy_tolerance,
            "cg_rtol": opts.cg_rtol, "yield_offset_strain": opts.yield_offset_strain,
        },
        solver={
            "linear_solver": kind, "n_dofs": run.model.n, "n_free_dofs": int(run.model.n - len(prob.dofs)),
            "n_steps": len(steps), "n_cutbacks": n_cutbacks,
            "n_newton_iterations": sum(s["newton_iterations"] for s in steps),
            "n_cg_iterations": sum(sum(s["cg_iterations"]) for s in steps),
            "n_residual_evaluations": run.n_evaluations, "n_preconditioner_setups": run.solver.n_setups,
            "preconditioner_setup_s": run.solver.setup_time_s,
        },
        timings_s=timings,
        provenance=dataclasses.replace(mesh_provenance(mesh, {
            "mesh": mesh.info.get("options", {}), "nonlinear": opts.model_dump(mode="json"),
            "load_case": {"name": load_case.name, **load_case.meta}, "material": mat.summary(),
        }), measure=NonlinearResult.measure),
        fields=fields, nodal=nodal, mesh=mesh,
    )


def solve_nonlinear(
    mesh: VertebraMesh,
    load_case: LoadCase,
    options: NonlinearOptions | Mapping[str, Any] | None = None,
    *,
    material: PlasticMaterial | None = None,
) -> NonlinearResult:
    """Elastic–plastic analysis of a load case to ``max_apparent_strain``: curve, yield point, strength.

    Parameters
    ----------
    mesh : VertebraMesh
        With moduli, densities and the load case's node sets.
    load_case : LoadCase
        Displacement driven; its prescribed values are scaled so that the
        axial displacement reaches ``max_apparent_strain · height`` (a case
        without an axial displacement is run to its own values).
    options : NonlinearOptions or mapping, optional
    material : PlasticMaterial, optional
        Overrides the material built from ``options`` (one entry per element).

    Returns
    -------
    NonlinearResult

    Raises
    ------
    ConfigError, MissingMaterialError, BoundaryConditionError, UnderConstrainedError, MaterialLawError
    SolverError
        A step did not converge after ``max_cutbacks`` halvings.

    Examples
    --------
    >>> import vertfem as vf  # doctest: +SKIP
    >>> res = solve_nonlinear(mesh, vf.axial_compression(mesh.height_mm))  # doctest: +SKIP
    >>> res.strength_nonlinear_N, res.apparent_strain_at_strength  # doctest: +SKIP
    """
    opts = parse_options(NonlinearOptions, options, where="nonlinear options")
    mesh.check_materials()
    t_start = time.perf_counter()
    prob = _problem(mesh, load_case, opts)
    mat = material if material is not None else _material_from_options(mesh, opts)
    if mat.n_elements != mesh.n_elements:
        raise SolverError(f"the material has {mat.n_elements} elements, the mesh {mesh.n_elements}")
    timings: dict[str, float] = {}
    t = time.perf_counter()
    model = PlasticModel(prob.local, mesh.elements, mat, prob.dofs)
    kind = opts.linear_solver
    if kind == "auto":
        big = model.n - len(prob.dofs) >= opts.pmg_min_dofs and importlib.util.find_spec("pyamg") is not None
        kind = "cg-pmg" if big else "direct"
    prolongation = p1_prolongation(mesh.elements, mesh.n_nodes, prob.dofs) if kind == "cg-pmg" else None
    solver = LinearSolver(kind, prolongation)
    run = NewtonRun(model, solver, prob.up_end, prob.fext_end, opts)
    curve = _Curve(prob, model)
    timings["setup"] = time.perf_counter() - t
    try:
        t = time.perf_counter()
        state = _elastic_start(run, curve, opts)
        timings["elastic"] = time.perf_counter() - t
        t = time.perf_counter()
        n_cutbacks = _march(run, curve, state, opts)
        timings["steps"] = time.perf_counter() - t
    finally:
        solver.free()
    timings["total"] = time.perf_counter() - t_start
    res = _result(mesh, load_case, opts, mat, prob, curve, run, kind, n_cutbacks, timings)
    log.info("nonlinear %s: strength %.1f N at %.3f %% (linear %s N), %d steps, %d Newton, %d CG, %.1f s",
             load_case.name, res.strength_nonlinear_N, 100 * res.apparent_strain_at_strength, res.linear_strength_N,
             res.solver["n_steps"], res.solver["n_newton_iterations"], res.solver["n_cg_iterations"],
             timings["total"])
    return res
