"""Logistic models: odds ratios per SD (base and adjusted) and conditional logistic regression."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.discrete.conditional_models import ConditionalLogit
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

__all__ = ["conditional_odds_ratio", "odds_ratios"]


def _standardise(x: pd.Series) -> pd.Series:
    return (x - x.mean()) / x.std(ddof=1)


def _or_row(res, name: str, model: str, n: int) -> dict:
    b = float(res.params[name])
    lo, hi = (float(v) for v in res.conf_int().loc[name])
    return {"predictor": name, "model": model, "n": n, "odds_ratio_per_sd": float(np.exp(b)),
            "or_ci_low": float(np.exp(lo)), "or_ci_high": float(np.exp(hi)), "p": float(res.pvalues[name])}


def odds_ratios(data: pd.DataFrame, outcome: str, predictors, covariates=()) -> pd.DataFrame:
    """Odds ratio per 1 SD of each predictor: base model (predictor alone) and, with covariates, adjusted.

    Predictors and numeric covariates are standardised; categorical
    covariates (e.g. sex) are dummy-coded.

    Returns
    -------
    DataFrame
        One row per predictor and model (``base``/``adjusted``).
    """
    rows = []
    for p in predictors:
        cols = [outcome, p, *covariates]
        d = data[cols].dropna()
        y = d[outcome].astype(float)
        x = pd.DataFrame({p: _standardise(d[p].astype(float))})
        models = [("base", x)]
        if covariates:
            cov = pd.get_dummies(d[list(covariates)], drop_first=True, dtype=float)
            cov = cov.apply(lambda c: _standardise(c) if c.nunique() > 2 else c)
            models.append(("adjusted", pd.concat([x, cov], axis=1)))
        for name, xm in models:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", (ConvergenceWarning, PerfectSeparationWarning, RuntimeWarning))
                res = sm.Logit(y, sm.add_constant(xm)).fit(disp=0)
            rows.append(_or_row(res, p, name, len(d)))
    return pd.DataFrame(rows)


def conditional_odds_ratio(data: pd.DataFrame, outcome: str, predictor: str, group: str, covariates=()) -> dict:
    """Conditional logistic regression for matched sets: odds ratio per 1 SD of ``predictor``.

    ``group`` holds the matched-set id (1:1 or 1:k matching); sets without
    both outcomes carry no information and are dropped before fitting.
    """
    d = data[[outcome, predictor, group, *covariates]].dropna()
    x = pd.concat([_standardise(d[predictor].astype(float)).rename(predictor),
                   d[list(covariates)].astype(float)], axis=1)
    informative = d.groupby(group)[outcome].transform("nunique") > 1
    d, x = d[informative], x[informative]
    if d[group].nunique() < 2:
        raise ValueError(f"conditional logistic regression needs ≥ 2 matched sets with both outcomes in {group!r}")
    res = ConditionalLogit(d[outcome].astype(float), x, groups=d[group]).fit(disp=0)
    return {**_or_row(res, predictor, "conditional", len(d)), "n_sets": int(d[group].nunique())}
