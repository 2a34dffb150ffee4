"""Conditional logistic regression for matched sets, by Newton–Raphson on the exact conditional likelihood.

For a matched set with cases C among members S, the conditional likelihood is

    L(β) = exp(Σ_{i∈C} xᵢᵀβ) / Σ_{A⊆S, |A|=|C|} exp(Σ_{i∈A} xᵢᵀβ),

the model of R's ``survival::clogit`` (default ``method = "exact"``). The
denominator is an elementary symmetric polynomial of ``exp(xᵢᵀβ)``, evaluated
with its gradient and Hessian by the recursion of Gail, Lubin & Rubinstein
(1981, Biometrika 68:703); with one case per set it is the usual softmax.
Newton's method converges quadratically where quasi-Newton optimisers stop
early on flat likelihoods, and separation is detected beforehand by linear
programming on the case-minus-control differences.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ._common import StatisticsInputError, z_quantile
from .separation import Separation, detect_separation

__all__ = ["ConditionalLogitFit", "conditional_logistic_regression"]

_STEP_TOL = 1e-10
_SCORE_TOL = 1e-8


def _set_terms(x: np.ndarray, n_cases: int, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """log B, ∇log B, ∇²log B of one set's denominator B(β) = e_m(exp(xᵢᵀβ)), m = number of cases."""
    eta = x @ beta
    shift = eta.max()
    e = np.exp(eta - shift)  # B scales by exp(−m·shift): derivatives of log B are unchanged
    p = x.shape[1]
    if n_cases == 1:
        w = e / e.sum()
        mean = w @ x
        hess = (x * w[:, None]).T @ x - np.outer(mean, mean)
        return float(np.log(e.sum()) + shift), mean, hess
    b = np.zeros(n_cases + 1)
    d = np.zeros((n_cases + 1, p))
    h = np.zeros((n_cases + 1, p, p))
    b[0] = 1.0
    for k in range(len(e)):
        xk = x[k]
        for r in range(min(k + 1, n_cases), 0, -1):  # descending: r − 1 still holds the values before item k
            h[r] += e[k] * (np.outer(xk, xk) * b[r - 1] + np.outer(xk, d[r - 1]) + np.outer(d[r - 1], xk) + h[r - 1])
            d[r] += e[k] * (xk * b[r - 1] + d[r - 1])
            b[r] += e[k] * b[r - 1]
    bm, dm, hm = b[n_cases], d[n_cases], h[n_cases]
    return float(np.log(bm) + n_cases * shift), dm / bm, hm / bm - np.outer(dm, dm) / bm**2


def _loglik(sets, beta) -> tuple[float, np.ndarray, np.ndarray]:
    """Conditional log-likelihood, score and observed information summed over the sets."""
    p = len(beta)
    ll, score, info = 0.0, np.zeros(p), np.zeros((p, p))
    for x, cases in sets:
        logb, grad, hess = _set_terms(x, int(cases.sum()), beta)
        ll += float(x[cases].sum(axis=0) @ beta) - logb
        score += x[cases].sum(axis=0) - grad
        info += hess
    return ll, score, info


def _matched_sets(xm: np.ndarray, yv: np.ndarray,
                  g: np.ndarray) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[np.ndarray], int]:
    """Covariates and case flags of each set with both outcomes, their case-minus-control differences, sets dropped."""
    sets, diffs, n_drop = [], [], 0
    for key in pd.unique(g):
        idx = np.flatnonzero(g == key)
        cases = yv[idx] == 1
        if cases.all() or not cases.any():
            n_drop += 1
            continue
        xs = xm[idx]
        sets.append((xs, cases))
        diffs.append((xs[cases][:, None, :] - xs[~cases][None, :, :]).reshape(-1, xs.shape[1]))
    return sets, diffs, n_drop


def _newton_raphson(sets: list[tuple[np.ndarray, np.ndarray]], n_coef: int,
                    max_iter: int) -> tuple[np.ndarray, float, np.ndarray, bool, int]:
    """Newton–Raphson from β = 0 with step halving: β, log-likelihood, observed information, converged, iterations."""
    beta = np.zeros(n_coef)
    ll, score, info = _loglik(sets, beta)
    converged, n_iter = False, max_iter
    for it in range(1, max_iter + 1):
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError:
            n_iter = it
            break
        if np.max(np.abs(step)) < _STEP_TOL and np.max(np.abs(score)) < _SCORE_TOL:
            converged, n_iter = True, it
            break
        for _ in range(40):  # step halving keeps the log-likelihood from decreasing
            trial = beta + step
            ll_t, score_t, info_t = _loglik(sets, trial)
            if ll_t >= ll - 1e-12 * max(1.0, abs(ll)):
                break
            step = step / 2.0
        beta, ll, score, info = trial, ll_t, score_t, info_t
    return beta, ll, info, converged, n_iter


@dataclass(frozen=True, eq=False)
class ConditionalLogitFit:
    """A fitted conditional logistic model; ``table()`` gives one row per coefficient.

    Attributes
    ----------
    names : tuple of str
    coef, se, ci_low, ci_high, p : arrays
        Log-odds coefficients, SEs from the inverse observed information,
        Wald bounds and two-sided Wald p-values (as ``summary(clogit(...))``).
    loglik : float
        Maximised conditional log-likelihood.
    converged : bool
        Newton–Raphson reached max|step| < 1e-10 and max|score| < 1e-8.
    n, n_sets, n_events : int
        Subjects and matched sets that carry information (both outcomes present), cases.
    n_uninformative_sets : int
        Sets with only cases or only controls, dropped (they cancel from the likelihood).
    separation : Separation
    warning : str
    """

    names: tuple[str, ...]
    coef: np.ndarray = field(repr=False)
    se: np.ndarray = field(repr=False)
    ci_low: np.ndarray = field(repr=False)
    ci_high: np.ndarray = field(repr=False)
    p: np.ndarray = field(repr=False)
    level: float
    loglik: float
    converged: bool
    n_iter: int
    n: int
    n_sets: int
    n_events: int
    n_uninformative_sets: int
    separation: Separation
    warning: str

    def table(self) -> pd.DataFrame:
        """Coefficients, SEs, Wald CIs and p-values (log-odds scale)."""
        return pd.DataFrame({"coef": self.coef, "se": self.se, "ci_low": self.ci_low, "ci_high": self.ci_high,
                             "p": self.p}, index=pd.Index(self.names, name="term"))


def conditional_logistic_regression(x: pd.DataFrame, y, groups, *, level: float = 0.95,
                                    max_iter: int = 50) -> ConditionalLogitFit:
    """Conditional logistic regression of a 0/1 outcome on ``x`` within matched sets ``groups``.

    Parameters
    ----------
    x : DataFrame
        Numeric covariates, complete; no intercept (it cancels within sets).
    y : array of 0/1
        Case (1) or control (0).
    groups : array
        Matched-set id per row; any number of cases and controls per set.
    level : float
        Confidence level of the Wald intervals.
    max_iter : int
        Newton–Raphson iterations.

    Returns
    -------
    ConditionalLogitFit

    Examples
    --------
    Three 1:1 pairs: the estimate solves the score equation of the pair-difference logit.

    >>> x = pd.DataFrame({"x": [1.0, 0.0, 0.5, 1.0, 2.0, 0.0]})
    >>> fit = conditional_logistic_regression(x, [1, 0, 1, 0, 1, 0], [1, 1, 2, 2, 3, 3])
    >>> fit.converged, round(float(fit.coef[0]), 4)
    (True, 1.3511)
    """
    xm = np.asarray(x, dtype=float)
    if xm.ndim != 2:
        raise StatisticsInputError(f"x must be a 2-D table of covariates, got shape {xm.shape}")
    yv = np.asarray(y, dtype=float)
    g = np.asarray(groups)
    if not (len(xm) == len(yv) == len(g)) or not np.all(np.isfinite(xm)) or not set(np.unique(yv)) <= {0.0, 1.0}:
        raise StatisticsInputError("conditional_logistic_regression needs complete numeric x, a 0/1 y and one "
                                   "group per row")
    names = tuple(map(str, x.columns))
    sets, diffs, n_drop = _matched_sets(xm, yv, g)
    if len(sets) < 2:
        raise StatisticsInputError("conditional logistic regression needs ≥ 2 matched sets with both outcomes, "
                                   f"got {len(sets)}")
    n_rows = sum(len(xs) for xs, _ in sets)
    if np.linalg.matrix_rank(np.vstack([xs - xs.mean(axis=0) for xs, _ in sets])) < xm.shape[1]:
        raise StatisticsInputError(f"the covariates {names} are collinear within the matched sets (or constant "
                                   "within all sets)")
    sep = detect_separation(np.vstack(diffs))
    beta, ll, info, converged, n_iter = _newton_raphson(sets, xm.shape[1], max_iter)
    with np.errstate(invalid="ignore"):
        try:
            se = np.sqrt(np.diag(np.linalg.inv(info)))
        except np.linalg.LinAlgError:
            se = np.full(len(beta), np.nan)
        zq = z_quantile(level)
        p = 2.0 * stats.norm.sf(np.abs(beta / se))
    notes = []
    if sep.present:
        notes.append(f"{sep.kind} separation within the matched sets: estimates do not exist for "
                     + ", ".join(nm for nm, u in zip(names, sep.unbounded) if u))
    if not converged:
        notes.append(f"Newton–Raphson did not converge in {n_iter} iterations")
    return ConditionalLogitFit(
        names=names, coef=beta, se=se, ci_low=beta - zq * se, ci_high=beta + zq * se, p=p, level=float(level),
        loglik=float(ll), converged=converged, n_iter=int(n_iter), n=int(n_rows), n_sets=len(sets),
        n_events=int(sum(c.sum() for _, c in sets)), n_uninformative_sets=int(n_drop), separation=sep,
        warning="; ".join(notes))

