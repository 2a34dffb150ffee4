"""Conditional logistic regression against R's clogit printout and the conditional likelihood's definition."""

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from vertfem.stats import StatisticsWarning, conditional_odds_ratio
from vertfem.stats.clogit import conditional_logistic_regression

DATA = Path(__file__).parents[1] / "data" / "stats"
REF = json.loads((DATA / "reference_values.json").read_text())


def _loglik_by_enumeration(beta, x, y, g):
    """Exact conditional log-likelihood: for each set, cases against every subset of the same size."""
    total = 0.0
    for key in np.unique(g):
        idx = np.flatnonzero(g == key)
        m = int(y[idx].sum())
        if m in (0, len(idx)):
            continue
        eta = x[idx] @ beta
        num = eta[y[idx] == 1].sum()
        den = [eta[list(c)].sum() for c in itertools.combinations(range(len(idx)), m)]
        total += num - np.logaddexp.reduce(den)
    return total


def _check_against_definition(fit, x, y, g):
    """The estimate is the maximiser of the enumerated likelihood, and the SEs are its curvature."""
    def f(b):
        return -_loglik_by_enumeration(b, x, y, g)

    assert -f(fit.coef) == pytest.approx(fit.loglik, abs=1e-10)
    h = 1e-5
    p = len(fit.coef)
    grad = np.array([(f(fit.coef + h * e) - f(fit.coef - h * e)) / (2 * h) for e in np.eye(p)])
    assert np.abs(grad).max() < 1e-7
    hess = np.array([[(f(fit.coef + h * (ei + ej)) - f(fit.coef + h * (ei - ej)) - f(fit.coef - h * (ei - ej))
                       + f(fit.coef - h * (ei + ej))) / (4 * h * h) for ej in np.eye(p)] for ei in np.eye(p)])
    assert fit.se == pytest.approx(np.sqrt(np.diag(np.linalg.inv(hess))), rel=1e-4)
    res = optimize.minimize(f, np.zeros(p), method="BFGS", options={"gtol": 1e-9})
    assert fit.coef == pytest.approx(res.x, abs=1e-5)


def test_clogit_reproduces_r_on_infert():
    d = pd.read_csv(DATA / "infert.csv")
    r = REF["clogit_infert"]
    fit = conditional_logistic_regression(d[["spontaneous", "induced"]], d["case"], d["stratum"])
    assert fit.converged and fit.n == 248 and fit.n_sets == 83 and fit.n_events == 83
    assert fit.coef == pytest.approx(r["coef"], abs=5e-5) and fit.se == pytest.approx(r["se"], abs=5e-5)
    assert np.exp(fit.ci_low) == pytest.approx(r["exp_ci95_low"], abs=5e-4)
    assert np.exp(fit.ci_high) == pytest.approx(r["exp_ci95_high"], abs=5e-4)
    null = _loglik_by_enumeration(np.zeros(2), d[["spontaneous", "induced"]].to_numpy(float),
                                  d["case"].to_numpy(), d["stratum"].to_numpy())
    assert 2 * (fit.loglik - null) == pytest.approx(r["lr_test"], abs=5e-3)
    _check_against_definition(fit, d[["spontaneous", "induced"]].to_numpy(float), d["case"].to_numpy(),
                              d["stratum"].to_numpy())


def test_clogit_with_several_cases_per_set_against_enumeration():
    """Sets of 3–6 with 1–3 cases: the elementary-symmetric recursion against brute-force subsets."""
    rng = np.random.default_rng(21)
    rows = []
    for s in range(40):
        size = rng.integers(3, 7)
        x = rng.normal(size=(size, 2))
        p = np.exp(x @ [0.8, -0.5])
        cases = rng.choice(size, size=rng.integers(1, min(3, size - 1) + 1), replace=False, p=p / p.sum())
        for i in range(size):
            rows.append({"set": s, "y": float(i in cases), "a": x[i, 0], "b": x[i, 1]})
    d = pd.DataFrame(rows)
    fit = conditional_logistic_regression(d[["a", "b"]], d["y"], d["set"])
    assert fit.converged and fit.n_iter < 10
    _check_against_definition(fit, d[["a", "b"]].to_numpy(), d["y"].to_numpy(), d["set"].to_numpy())


def test_clogit_1to1_equals_logit_on_pair_differences():
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    n = 80
    x_case, x_ctrl = rng.normal(0.6, 1, n), rng.normal(0.0, 1, n)
    df = pd.DataFrame({"y": np.r_[np.ones(n), np.zeros(n)], "x": np.r_[x_case, x_ctrl],
                       "set": np.r_[np.arange(n), np.arange(n)]})
    r = conditional_odds_ratio(df, "y", "x", "set")
    sd = df["x"].std(ddof=1)
    # 1:1 matching: the conditional likelihood is a no-intercept logit of "case first" on x_case − x_ctrl
    dx = (x_case - x_ctrl) / sd
    flip = rng.random(n) < 0.5
    ref = sm.Logit(np.where(flip, 0.0, 1.0), np.where(flip, -dx, dx)[:, None]).fit(disp=0, tol=1e-12)
    assert r["odds_ratio_per_sd"] == pytest.approx(np.exp(ref.params[0]), rel=1e-9)
    assert r["p"] == pytest.approx(ref.pvalues[0], rel=1e-7)
    assert (r["n"], r["n_sets"], r["separation"], r["converged"], r["warning"]) == (160, 80, "none", True, "")


def test_clogit_separation_is_flagged_not_a_finite_or():
    """Issue 22, defect 2: the quasi-Newton fit returned OR 4309 with CI 6e-91 – 3e97 and no warning."""
    rng = np.random.default_rng(6)
    n = 15
    ctrl = rng.normal(0, 1, n)
    df = pd.DataFrame({"y": np.r_[np.ones(n), np.zeros(n)], "x": np.r_[ctrl + rng.uniform(0.1, 1, n), ctrl],
                       "set": np.r_[np.arange(n), np.arange(n)]})  # every case above its control
    with pytest.warns(StatisticsWarning, match="separation"):
        r = conditional_odds_ratio(df, "y", "x", "set")
    assert r["separation"] == "complete" and r["infinite_estimate"] and r["odds_ratio_per_sd"] == np.inf
    assert np.isnan(r["p"]) and np.isnan(r["or_ci_low"]) and not r["converged"]


def test_clogit_drops_uninformative_sets_and_rejects_too_few():
    df = pd.DataFrame({"y": [1, 0, 1, 0, 1, 1, 0, 0, 1, 0], "x": [1.0, 0.2, 0.3, 0.9, 2.0, 1.5, 0.1, 0.4, 0.7, 1.1],
                       "set": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]})
    r = conditional_odds_ratio(df, "y", "x", "set")
    assert (r["n_sets"], r["n_uninformative_sets"], r["n"]) == (3, 2, 6)
    assert r["small_sample"] and "events per variable" in r["warning"]
    with pytest.raises(ValueError, match="≥ 2 matched sets"):
        conditional_odds_ratio(df[df["set"].isin([1, 3, 4])], "y", "x", "set")
