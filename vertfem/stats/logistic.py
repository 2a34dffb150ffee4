"""Odds ratios per SD from study tables: plain (base and adjusted) and conditional logistic regression.

Every row says how it was computed and whether it can be trusted: ``method``
and ``ci_method``; ``n`` and ``n_events`` of the model's own sample;
``converged``; ``separation`` (``"none"``, ``"quasi-complete"``,
``"complete"``) with ``infinite_estimate`` when the predictor's ML estimate
does not exist (its odds ratio is then reported as ``inf`` or ``0`` with NaN
CI and p, never as a finite-looking number); ``epv`` (events per variable,
the smaller outcome class over the number of coefficients besides the
intercept) with ``small_sample`` when it is below 10 (Peduzzi et al. 1996, J
Clin Epidemiol 49:1373); and ``warning``. Separated or non-converged ML fits
also raise a :class:`~vertfem.stats.StatisticsWarning`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from ._common import StatisticsInputError, StatisticsWarning
from .clogit import conditional_logistic_regression
from .logit import logistic_regression

__all__ = ["conditional_odds_ratio", "odds_ratios"]

_EPV_MIN = 10.0
_METHOD_TEXT = {
    "ml": "logistic regression, maximum likelihood (Newton–Raphson)",
    "firth": "logistic regression, Firth penalised likelihood (as R logistf)",
}
_CI_TEXT = {"wald": "Wald", "profile": "profile likelihood"}


def _standardise(x: pd.Series) -> tuple[pd.Series, float]:
    sd = float(x.std(ddof=1))
    if not sd > 0:
        raise StatisticsInputError(f"predictor {x.name!r} is constant in the model's sample: no odds ratio per SD")
    return (x - x.mean()) / sd, sd


def _covariate_block(d: pd.DataFrame, covariates: Sequence[str], *, scale_numeric: bool) -> pd.DataFrame:
    """Categorical covariates dummy-coded (first level dropped); numeric ones with > 2 values standardised if asked."""
    if not covariates:
        return pd.DataFrame(index=d.index)
    cov = pd.get_dummies(d[list(covariates)], drop_first=True, dtype=float)
    if scale_numeric:
        cov = cov.apply(lambda c: (c - c.mean()) / c.std(ddof=1) if c.nunique() > 2 else c)
    return cov


def _outcome(d: pd.DataFrame, outcome: str) -> pd.Series:
    y = d[outcome].astype(float)
    if not set(np.unique(y)) <= {0.0, 1.0}:
        raise StatisticsInputError(f"outcome {outcome!r} must be coded 0/1, got values {sorted(np.unique(y))[:5]}")
    return y


def _estimate(coef: float, lo: float, hi: float, p: float, unbounded: int,
              estimable: bool) -> tuple[float, float, float, float, bool]:
    """Odds ratio and its CI/p; a non-existent ML estimate becomes OR = inf (or 0, NaN if both ways) with NaN CI/p."""
    if not estimable and unbounded:
        odds = {1: np.inf, -1: 0.0}.get(unbounded, np.nan)
        return float(odds), float("nan"), float("nan"), float("nan"), True
    return float(np.exp(coef)), float(np.exp(lo)), float(np.exp(hi)), float(p), False


def _flag(notes: list[str], epv: float, n_coef: int) -> bool:
    small = epv < _EPV_MIN
    if small:
        notes.append(f"small sample: {epv:.1f} events per variable (< {_EPV_MIN:g}) for {n_coef} coefficient(s)")
    return small


def odds_ratios(data: pd.DataFrame, outcome: str, predictors: Sequence[str], covariates: Sequence[str] = (), *,
                method: Literal["ml", "firth"] = "ml", ci: Literal["wald", "profile"] | None = None,
                sample: Literal["per_model", "common"] = "per_model", level: float = 0.95) -> pd.DataFrame:
    """Odds ratio per 1 SD of each predictor: base model (predictor alone) and, with covariates, adjusted.

    Parameters
    ----------
    data : DataFrame
        One row per subject.
    outcome : str
        0/1 column (1 = event).
    predictors : sequence of str
        Each is modelled on its own (base) and with the covariates (adjusted).
    covariates : sequence of str
        Adjustment variables; categorical ones (e.g. sex) are dummy-coded,
        numeric ones with more than two values standardised.
    method : {"ml", "firth"}
        Maximum likelihood (R ``glm``) or Firth's penalised likelihood (R
        ``logistf``; finite estimates under separation, less small-sample bias).
    ci : {"wald", "profile"} or None
        None: Wald for ML (as ``summary.glm``), profile penalised likelihood
        for Firth (as ``logistf``).
    sample : {"per_model", "common"}
        ``"per_model"``: each model on its own complete cases, so a missing
        covariate does not shrink the base model; ``"common"``: both models of
        a predictor on the rows complete for the adjusted model.
    level : float
        Confidence level.

    Returns
    -------
    DataFrame
        One row per predictor and model: ``predictor``, ``model``
        (``base``/``adjusted``), ``method``, ``ci_method``, ``sample``, ``n``,
        ``n_events``, ``predictor_sd`` (SD used for the scaling, in the
        predictor's units), ``odds_ratio_per_sd``, ``or_ci_low``,
        ``or_ci_high``, ``p``, ``converged``, ``separation``,
        ``infinite_estimate``, ``epv``, ``small_sample``, ``warning``.

    Examples
    --------
    >>> df = pd.DataFrame({"y": [0, 0, 1, 0, 1, 1, 0, 1], "x": [1.0, 2, 3, 4, 5, 6, 2.5, 4.5]})
    >>> t = odds_ratios(df, "y", ["x"])
    >>> row = t.iloc[0]
    >>> (row["model"], int(row["n"]), row["separation"], bool(row["small_sample"]),
    ...  round(float(row["odds_ratio_per_sd"]), 2))
    ('base', 8, 'none', True, 14.09)
    """
    if sample not in ("per_model", "common"):
        raise StatisticsInputError(f"sample must be 'per_model' or 'common', got {sample!r}")
    rows = []
    for pred in predictors:
        adjusted_cols = [outcome, pred, *covariates]
        models: list[tuple[str, list[str], tuple[str, ...]]] = [
            ("base", [outcome, pred] if sample == "per_model" else adjusted_cols, ())]
        if covariates:
            models.append(("adjusted", adjusted_cols, tuple(covariates)))
        for name, cols, covs in models:
            d = data[cols].dropna()
            y = _outcome(d, outcome)
            z, sd = _standardise(d[pred].astype(float))
            x = pd.concat([z.rename(pred), _covariate_block(d, covs, scale_numeric=True)], axis=1)
            fit = logistic_regression(x, y, method=method, ci=ci, level=level, terms=(pred,))
            j = fit.names.index(pred)
            odds, lo, hi, p, infinite = _estimate(fit.coef[j], fit.ci_low[j], fit.ci_high[j], fit.p[j],
                                                  fit.separation.unbounded[j], estimable=method == "firth")
            notes = [fit.warning] if fit.warning else []
            n_events = int(y.sum())
            epv = min(n_events, len(y) - n_events) / x.shape[1]
            small = _flag(notes, epv, x.shape[1])
            if (fit.separation.present and method == "ml") or not fit.converged:
                warnings.warn(f"odds_ratios: {pred!r} ({name} model): {fit.warning}", StatisticsWarning,
                              stacklevel=2)
            rows.append({
                "predictor": pred, "model": name, "method": _METHOD_TEXT[method], "ci_method": _CI_TEXT[fit.ci_method],
                "sample": "own complete cases" if sample == "per_model" else "rows complete for the adjusted model",
                "n": len(y), "n_events": n_events, "predictor_sd": sd,
                "odds_ratio_per_sd": odds, "or_ci_low": lo, "or_ci_high": hi, "p": p,
                "converged": fit.converged, "separation": fit.separation.kind, "infinite_estimate": infinite,
                "epv": float(epv), "small_sample": small, "warning": "; ".join(notes),
            })
    return pd.DataFrame(rows)


def conditional_odds_ratio(data: pd.DataFrame, outcome: str, predictor: str, group: str,
                           covariates: Sequence[str] = (), *, level: float = 0.95) -> dict:
    """Conditional logistic regression for matched sets: odds ratio per 1 SD of ``predictor``.

    Fitted by Newton–Raphson on the exact conditional likelihood
    (:func:`~vertfem.stats.clogit.conditional_logistic_regression`, as R's
    ``clogit``). The predictor is standardised over the complete rows; sets
    without both outcomes carry no information and are dropped.

    Parameters
    ----------
    data : DataFrame
        One row per subject.
    outcome : str
        0/1 column (1 = case).
    predictor : str
        Numeric column.
    group : str
        Matched-set id (1:1, 1:k or several cases per set).
    covariates : sequence of str
        Categorical ones dummy-coded, numeric ones as they are.
    level : float
        Confidence level of the Wald interval.

    Returns
    -------
    dict
        ``predictor``, ``model`` (``"conditional"``), ``method``,
        ``ci_method``, ``n`` (subjects in informative sets), ``n_sets``,
        ``n_events``, ``n_uninformative_sets``, ``predictor_sd``,
        ``odds_ratio_per_sd``, ``or_ci_low``, ``or_ci_high``, ``p``,
        ``converged``, ``separation``, ``infinite_estimate``, ``epv``
        (cases per coefficient), ``small_sample``, ``warning``.

    Examples
    --------
    >>> df = pd.DataFrame({"y": [1, 0, 1, 0, 1, 0, 1, 0], "x": [1.0, 0.0, 0.5, 1.0, 2.0, 0.0, 0.4, 0.9],
    ...                    "set": [1, 1, 2, 2, 3, 3, 4, 4]})
    >>> r = conditional_odds_ratio(df, "y", "x", "set")
    >>> r["n_sets"], r["separation"], r["converged"]
    (4, 'none', True)
    """
    d = data[[outcome, predictor, group, *covariates]].dropna()
    y = _outcome(d, outcome)
    z, sd = _standardise(d[predictor].astype(float))
    x = pd.concat([z.rename(predictor), _covariate_block(d, covariates, scale_numeric=False)], axis=1)
    fit = conditional_logistic_regression(x, y, d[group], level=level)
    j = fit.names.index(predictor)
    odds, lo, hi, p, infinite = _estimate(fit.coef[j], fit.ci_low[j], fit.ci_high[j], fit.p[j],
                                          fit.separation.unbounded[j], estimable=False)
    notes = [fit.warning] if fit.warning else []
    epv = fit.n_events / x.shape[1]
    small = _flag(notes, epv, x.shape[1])
    if fit.separation.present or not fit.converged:
        warnings.warn(f"conditional_odds_ratio: {predictor!r}: {fit.warning}", StatisticsWarning, stacklevel=2)
    return {
        "predictor": predictor, "model": "conditional",
        "method": "conditional logistic regression, exact conditional likelihood (Newton–Raphson, as R clogit)",
        "ci_method": "Wald", "n": fit.n, "n_sets": fit.n_sets, "n_events": fit.n_events,
        "n_uninformative_sets": fit.n_uninformative_sets, "predictor_sd": sd,
        "odds_ratio_per_sd": odds, "or_ci_low": lo, "or_ci_high": hi, "p": p,
        "converged": fit.converged, "separation": fit.separation.kind, "infinite_estimate": infinite,
        "epv": float(epv), "small_sample": small, "warning": "; ".join(notes),
    }
