"""Binary logistic regression by Newton–Raphson: maximum likelihood or Firth's penalised likelihood.

Firth's (1993, Biometrika 80:27) penalty ``½·log det I(β)`` removes the
first-order bias of the ML estimate and keeps it finite under separation;
Heinze & Schemper (2002, Stat Med 21:2409) made it the standard remedy for
separated and small samples, with confidence intervals and tests from the
profile penalised likelihood (R's ``logistf`` defaults, reproduced here).
Both fits use the modified-score Newton iteration

    β ← β + I(β)⁻¹ U*(β),   U*(β) = Xᵀ(y − π + h∘(½ − π)),   I(β) = XᵀWX,

with ``h`` the diagonal of the hat matrix ``W^½ X I⁻¹ Xᵀ W^½`` (h = 0 gives
maximum likelihood), steps longer than 5 scaled down and halved until the
(penalised) log-likelihood does not decrease.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import expit

from ._common import StatisticsInputError, z_quantile
from .separation import Separation, detect_separation, separation_rows

__all__ = ["LogisticFit", "logistic_regression"]

_MAX_STEP = 5.0
_STEP_TOL = 1e-10
_SCORE_TOL = 1e-8
# beyond this distance (in SEs) from the estimate a profile bound is reported as infinite
_PROFILE_REACH_SE = 200.0


def _pen_loglik(x: np.ndarray, y: np.ndarray, beta: np.ndarray, firth: bool) -> float:
    eta = x @ beta
    ll = float(np.sum(y * eta - np.logaddexp(0.0, eta)))
    if firth:
        pi = expit(eta)
        sign, logdet = np.linalg.slogdet(x.T @ ((pi * (1.0 - pi))[:, None] * x))
        ll += 0.5 * logdet if sign > 0 else -np.inf
    return ll


def _score_info(x: np.ndarray, y: np.ndarray, beta: np.ndarray, firth: bool) -> tuple[np.ndarray, np.ndarray]:
    pi = expit(x @ beta)
    w = pi * (1.0 - pi)
    info = x.T @ (w[:, None] * x)
    resid = y - pi
    if firth:
        h = w * np.einsum("ij,ij->i", x @ np.linalg.inv(info), x)
        resid = resid + h * (0.5 - pi)
    return x.T @ resid, info


def _newton(x: np.ndarray, y: np.ndarray, beta0: np.ndarray, *, firth: bool, free: np.ndarray,
            max_iter: int) -> tuple[np.ndarray, float, bool, int]:
    """Maximise the (penalised) log-likelihood over the ``free`` coefficients; the others stay at ``beta0``."""
    beta = beta0.astype(float).copy()
    ll = _pen_loglik(x, y, beta, firth)
    for it in range(1, max_iter + 1):
        try:
            score, info = _score_info(x, y, beta, firth)
            step = np.linalg.solve(info[np.ix_(free, free)], score[free])
        except np.linalg.LinAlgError:
            return beta, ll, False, it  # information singular: fitted probabilities reached 0 or 1
        if np.max(np.abs(score[free])) < _SCORE_TOL and np.max(np.abs(step)) < _STEP_TOL:
            return beta, ll, True, it
        longest = np.max(np.abs(step))
        if longest > _MAX_STEP:
            step *= _MAX_STEP / longest
        for _ in range(40):
            trial = beta.copy()
            trial[free] += step
            ll_trial = _pen_loglik(x, y, trial, firth)
            if ll_trial >= ll - 1e-12 * max(1.0, abs(ll)):
                break
            step /= 2.0
        beta, ll = trial, ll_trial
    return beta, ll, False, max_iter


@dataclass(frozen=True, eq=False)
class LogisticFit:
    """A fitted logistic model; ``table()`` gives one row per coefficient.

    Attributes
    ----------
    names : tuple of str
        Coefficient names, the intercept first as ``"const"``.
    coef, se, ci_low, ci_high, p : arrays
        Log-odds coefficients, Wald SEs from the inverse Fisher information,
        confidence bounds and two-sided p-values (both by ``ci_method``).
    method : {"ml", "firth"}
    ci_method : {"wald", "profile"}
        Wald, or profile (penalised) likelihood: bounds where twice the drop
        of the (penalised) log-likelihood equals the χ²₁ quantile, p from the
        (penalised) likelihood-ratio test of β_j = 0.
    loglik : float
        Maximised log-likelihood (penalised for Firth).
    converged : bool
        Newton–Raphson reached max|step| < 1e-10 and max|score| < 1e-8.
    separation : Separation
        From :func:`~vertfem.stats.separation.detect_separation`.
    warning : str
        Why an estimate is unreliable ("" if none).
    """

    names: tuple[str, ...]
    coef: np.ndarray = field(repr=False)
    se: np.ndarray = field(repr=False)
    ci_low: np.ndarray = field(repr=False)
    ci_high: np.ndarray = field(repr=False)
    p: np.ndarray = field(repr=False)
    method: Literal["ml", "firth"]
    ci_method: Literal["wald", "profile"]
    level: float
    loglik: float
    converged: bool
    n_iter: int
    n: int
    n_events: int
    separation: Separation
    warning: str

    def table(self) -> pd.DataFrame:
        """Coefficients, SEs, CIs and p-values, one row per coefficient (log-odds scale)."""
        return pd.DataFrame({"coef": self.coef, "se": self.se, "ci_low": self.ci_low, "ci_high": self.ci_high,
                             "p": self.p}, index=pd.Index(self.names, name="term"))


def _profile_bounds(x, y, beta_hat, ll_hat, j, se_j, *, firth, level, max_iter) -> tuple[float, float]:
    crit = stats.chi2.ppf(level, 1)
    free = np.array([i for i in range(len(beta_hat)) if i != j], dtype=int)
    warm = {0.0: beta_hat}

    def excess(b: float) -> float:
        start = warm[min(warm, key=lambda k: abs(k - (b - beta_hat[j])))].copy()
        start[j] = b
        beta, ll, _, _ = _newton(x, y, start, firth=firth, free=free, max_iter=max_iter)
        warm[b - beta_hat[j]] = beta
        return 2.0 * (ll_hat - ll) - crit

    scale = se_j if np.isfinite(se_j) and se_j > 0 else 1.0
    bounds = []
    for side in (-1.0, 1.0):
        inner, dist = beta_hat[j], 0.5 * scale
        bound = side * np.inf
        while dist <= _PROFILE_REACH_SE * scale:
            outer = beta_hat[j] + side * dist
            if excess(outer) > 0:
                bound = optimize.brentq(excess, min(inner, outer), max(inner, outer), xtol=1e-12, rtol=1e-12)
                break
            inner, dist = outer, 2.0 * dist
        bounds.append(float(bound))
    return bounds[0], bounds[1]


def _profile_p(x, y, beta_hat, ll_hat, j, *, firth, max_iter) -> float:
    free = np.array([i for i in range(len(beta_hat)) if i != j], dtype=int)
    start = beta_hat.copy()
    start[j] = 0.0
    _, ll0, _, _ = _newton(x, y, start, firth=firth, free=free, max_iter=max_iter)
    return float(stats.chi2.sf(max(0.0, 2.0 * (ll_hat - ll0)), 1))


def logistic_regression(x: pd.DataFrame, y, *, method: Literal["ml", "firth"] = "ml",
                        ci: Literal["wald", "profile"] | None = None, level: float = 0.95,
                        terms: tuple[str, ...] | None = None, max_iter: int = 100) -> LogisticFit:
    """Logistic regression of a 0/1 outcome on the columns of ``x`` (an intercept is added).

    Parameters
    ----------
    x : DataFrame
        Numeric predictors, complete (no NaN); one column per coefficient.
    y : array of 0/1
        Outcome.
    method : {"ml", "firth"}
        Maximum likelihood (R's ``glm``) or Firth's penalised likelihood (R's
        ``logistf``); Firth for small samples, rare events or separation.
    ci : {"wald", "profile"} or None
        Interval and test: None takes each method's R default — Wald for
        ``"ml"`` (``summary.glm``, ``confint.default``), profile penalised
        likelihood for ``"firth"`` (``logistf``).
    level : float
        Confidence level.
    terms : tuple of str or None
        Coefficients that get profile CIs and p-values (each needs repeated
        constrained fits); None: all. Others get NaN under ``ci="profile"``.
    max_iter : int
        Newton–Raphson iterations (R's ``glm`` stops at 25).

    Returns
    -------
    LogisticFit
        With separation checked first; under ML with separation the estimates
        do not exist and the affected coefficients diverge (``warning``).

    Examples
    --------
    >>> x = pd.DataFrame({"x": [1.0, 2, 3, 4, 5, 6, 7, 8]})
    >>> fit = logistic_regression(x, [0, 0, 0, 1, 0, 1, 1, 1])
    >>> fit.converged, fit.separation.kind, round(float(fit.coef[1]), 4)
    (True, 'none', 1.2823)
    >>> firth = logistic_regression(x, [0, 0, 0, 0, 1, 1, 1, 1], method="firth")
    >>> firth.separation.kind, round(float(firth.coef[1]), 3), firth.ci_method
    ('complete', 1.033, 'profile')
    """
    if method not in ("ml", "firth"):
        raise StatisticsInputError(f"method must be 'ml' or 'firth', got {method!r}")
    ci_method = ci or ("wald" if method == "ml" else "profile")
    if ci_method not in ("wald", "profile"):
        raise StatisticsInputError(f"ci must be 'wald', 'profile' or None, got {ci!r}")
    xm = np.column_stack([np.ones(len(x)), np.asarray(x, dtype=float)])
    yv = np.asarray(y, dtype=float)
    if xm.shape[0] != yv.shape[0] or not np.all(np.isfinite(xm)) or not set(np.unique(yv)) <= {0.0, 1.0}:
        raise StatisticsInputError("logistic_regression needs complete numeric x and a 0/1 y of the same length")
    if np.linalg.matrix_rank(xm) < xm.shape[1]:
        raise StatisticsInputError(f"the design [const, {', '.join(map(str, x.columns))}] is collinear "
                                   "(rank deficient)")
    names = ("const", *map(str, x.columns))
    firth = method == "firth"
    sep = detect_separation(separation_rows(xm, yv))
    beta, ll, converged, n_iter = _newton(xm, yv, np.zeros(xm.shape[1]), firth=firth,
                                          free=np.arange(xm.shape[1]), max_iter=max_iter)
    pi = expit(xm @ beta)
    info = xm.T @ ((pi * (1 - pi))[:, None] * xm)
    with np.errstate(invalid="ignore"):
        try:
            se = np.sqrt(np.diag(np.linalg.inv(info)))
        except np.linalg.LinAlgError:
            se = np.full(len(beta), np.nan)
    p = np.full(len(beta), np.nan)
    lo = np.full(len(beta), np.nan)
    hi = np.full(len(beta), np.nan)
    if ci_method == "wald":
        zq = z_quantile(level)
        lo, hi = beta - zq * se, beta + zq * se
        with np.errstate(invalid="ignore", divide="ignore"):
            p = 2.0 * stats.norm.sf(np.abs(beta / se))
    elif converged:
        for j, name in enumerate(names):
            if terms is None or name in terms:
                lo[j], hi[j] = _profile_bounds(xm, yv, beta, ll, j, se[j], firth=firth, level=level,
                                               max_iter=max_iter)
                p[j] = _profile_p(xm, yv, beta, ll, j, firth=firth, max_iter=max_iter)
    notes = []
    if sep.present:
        notes.append(f"{sep.kind} separation: ML estimates do not exist for "
                     + ", ".join(nm for nm, u in zip(names, sep.unbounded) if u)
                     + ("; use method='firth'" if not firth else "; Firth estimates are finite"))
    if not converged:
        notes.append(f"Newton–Raphson did not converge in {n_iter} iterations")
    return LogisticFit(names=names, coef=beta, se=se, ci_low=np.asarray(lo, float), ci_high=np.asarray(hi, float),
                       p=np.asarray(p, float), method=method, ci_method=ci_method, level=float(level),
                       loglik=float(ll), converged=bool(converged), n_iter=int(n_iter), n=len(yv),
                       n_events=int(yv.sum()), separation=sep, warning="; ".join(notes))
