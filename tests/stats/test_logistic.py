"""Logistic regression (ML and Firth), separation, and odds-ratio tables against R printouts and the likelihood."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize
from scipy.special import expit

from vertfem.stats import StatisticsWarning, odds_ratios
from vertfem.stats.logit import logistic_regression
from vertfem.stats.separation import detect_separation, separation_rows

DATA = Path(__file__).parents[1] / "data" / "stats"
REF = json.loads((DATA / "reference_values.json").read_text())


def test_ml_against_statsmodels_and_r_glm():
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    x = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    y = (rng.random(200) < expit(-0.5 + 0.8 * x["a"] - 0.4 * x["b"])).astype(float)
    fit = logistic_regression(x, y)
    ref = sm.Logit(y, sm.add_constant(x)).fit(disp=0, tol=1e-12)
    assert fit.coef == pytest.approx(ref.params.to_numpy(), rel=1e-9)
    assert fit.se == pytest.approx(ref.bse.to_numpy(), rel=1e-8)
    assert fit.p == pytest.approx(ref.pvalues.to_numpy(), rel=1e-7)
    assert fit.converged and fit.separation.kind == "none" and fit.warning == ""
    inf = pd.read_csv(DATA / "infert.csv")
    r = REF["glm_infert"]
    g = logistic_regression(inf[["spontaneous", "induced"]], inf["case"])
    assert g.coef == pytest.approx(r["coef"], abs=5e-5) and g.se == pytest.approx(r["se"], abs=5e-5)
    assert -2 * g.loglik == pytest.approx(r["residual_deviance"], abs=5e-3)


def test_firth_reproduces_logistf_on_sex2():
    """logistf's coefficients, 95 % and 90 % profile penalised-likelihood CIs and penalised LR chi-squares."""
    d = pd.read_csv(DATA / "sex2.csv")
    r = REF["logistf_sex2"]
    fit = logistic_regression(d.drop(columns="case"), d["case"], method="firth")
    assert fit.names == tuple(r["terms"]) and fit.converged and fit.ci_method == "profile"
    assert fit.coef == pytest.approx(r["coef"], abs=5e-7)  # logistf stops at its own tolerance (~1e-7)
    assert fit.ci_low == pytest.approx(r["ci95_low"], abs=1e-6)
    assert fit.ci_high == pytest.approx(r["ci95_high"], abs=1e-6)
    assert fit.p == pytest.approx(r["pl_p"], rel=1e-5)
    f90 = logistic_regression(d.drop(columns="case"), d["case"], method="firth", level=0.9)
    assert f90.ci_low == pytest.approx(r["ci90_low"], abs=1e-6)
    assert f90.ci_high == pytest.approx(r["ci90_high"], abs=1e-6)
    assert fit.separation.kind == "quasi-complete" and fit.separation.unbounded[-1] == 1  # dia: no ML estimate


def test_firth_reproduces_logistf_on_endometrial_and_ml_flags_separation():
    """Heinze & Schemper (2002): NV separates HG quasi-completely; ML diverges, Firth is finite."""
    e = pd.read_csv(DATA / "endometrial.csv")
    r = REF["logistf_endometrial"]
    fit = logistic_regression(e[["NV", "PI", "EH"]], e["HG"], method="firth")
    assert fit.coef == pytest.approx(r["coef"], abs=5e-7)
    assert fit.ci_low == pytest.approx(r["ci95_low"], abs=1e-6) and fit.ci_high == pytest.approx(r["ci95_high"],
                                                                                                abs=1e-6)
    ml = logistic_regression(e[["NV", "PI", "EH"]], e["HG"])
    assert not ml.converged and ml.separation.kind == "quasi-complete" and ml.separation.unbounded == (0, 1, 0, 0)
    assert "NV" in ml.warning and "method='firth'" in ml.warning
    assert ml.coef[2:] == pytest.approx([r["ml_finite_coef"]["PI"], r["ml_finite_coef"]["EH"]], abs=5e-4)


def _penalised_loglik(beta, x, y):
    """Firth's penalised log-likelihood written from its definition: ℓ(β) + ½·log det(XᵀWX)."""
    eta = x @ beta
    p = expit(eta)
    return np.sum(y * eta - np.logaddexp(0, eta)) + 0.5 * np.linalg.slogdet(x.T @ (x * (p * (1 - p))[:, None]))[1]


def test_firth_maximises_the_penalised_likelihood_under_complete_separation():
    x = pd.DataFrame({"x": [0.1, 0.5, 0.9, 1.3, 1.7, 2.2, 2.6, 3.1, 3.3, 3.9], "z": [1.0, 0, 1, 0, 1, 1, 0, 1, 0, 0]})
    y = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1.0])
    fit = logistic_regression(x, y, method="firth")
    xm = np.column_stack([np.ones(10), x.to_numpy()])
    res = optimize.minimize(lambda b: -_penalised_loglik(b, xm, y), np.zeros(3), method="BFGS",
                            options={"gtol": 1e-10})
    assert fit.separation.kind == "complete" and fit.converged
    assert fit.coef == pytest.approx(res.x, abs=1e-5)
    assert fit.loglik == pytest.approx(-res.fun, abs=1e-10)
    # the profile bounds are where twice the penalised log-likelihood drops by χ²₁(0.95)
    for bound in (fit.ci_low[1], fit.ci_high[1]):
        prof = optimize.minimize(lambda b, fixed=bound: -_penalised_loglik(np.array([b[0], fixed, b[1]]), xm, y),
                                 fit.coef[[0, 2]], method="BFGS", options={"gtol": 1e-10})
        assert 2 * (fit.loglik + prof.fun) == pytest.approx(3.841458820694124, abs=1e-6)


def test_separation_detection():
    x = np.column_stack([np.ones(8), [1.0, 2, 3, 4, 5, 6, 7, 8]])
    assert detect_separation(separation_rows(x, [0, 0, 0, 0, 1, 1, 1, 1])).kind == "complete"
    assert detect_separation(separation_rows(x, [0, 0, 0, 1, 0, 1, 1, 1])).kind == "none"
    # quasi-complete: a tie at the boundary (x = 4 is both a case and a control)
    xq = np.column_stack([np.ones(8), [1.0, 2, 3, 4, 4, 6, 7, 8]])
    sep = detect_separation(separation_rows(xq, [0, 0, 0, 0, 1, 1, 1, 1]))
    assert sep.kind == "quasi-complete" and sep.unbounded[1] == 1


@pytest.fixture
def separated():
    """A fracture outcome perfectly predicted by low stiffness (issue 22, defect 2)."""
    rng = np.random.default_rng(8)
    stiff = np.r_[rng.uniform(2000, 2900, 10), rng.uniform(3100, 5000, 20)]
    return pd.DataFrame({"fracture": np.r_[np.ones(10), np.zeros(20)], "stiffness": stiff,
                         "age": rng.normal(70, 8, 30)})


def test_odds_ratios_flag_separation_instead_of_a_huge_or(separated):
    with pytest.warns(StatisticsWarning, match="complete separation"):
        t = odds_ratios(separated, "fracture", ["stiffness"], ["age"])
    assert t["separation"].tolist() == ["complete", "complete"]
    assert t["infinite_estimate"].all() and (t["odds_ratio_per_sd"] == 0.0).all()  # low stiffness → OR per SD 0
    assert t[["or_ci_low", "or_ci_high", "p"]].isna().all().all()
    assert not t["converged"].any() and t["warning"].str.contains("method='firth'").all()
    firth = odds_ratios(separated, "fracture", ["stiffness"], ["age"], method="firth")  # no warning: finite
    assert (firth["odds_ratio_per_sd"] > 0).all() and np.isfinite(firth["or_ci_low"]).all()
    assert firth["ci_method"].eq("profile likelihood").all() and firth["converged"].all()
    assert firth["method"].str.contains("Firth").all()


def test_odds_ratios_each_model_on_its_own_complete_cases():
    """Issue 22, defect 5: a missing covariate no longer shrinks the base model's sample."""
    rng = np.random.default_rng(12)
    n = 120
    x = rng.normal(size=n)
    df = pd.DataFrame({"y": (rng.random(n) < expit(-0.3 - 0.7 * x)).astype(float), "x": x,
                       "age": rng.normal(70, 8, n), "sex": rng.choice(["F", "M"], n)})
    df.loc[rng.choice(n, 10, replace=False), "age"] = np.nan
    own = odds_ratios(df, "y", ["x"], ["age", "sex"])
    assert own.set_index("model")["n"].to_dict() == {"base": 120, "adjusted": 110}
    z = (df["x"] - df["x"].mean()) / df["x"].std(ddof=1)
    base = logistic_regression(z.to_frame("x"), df["y"])
    assert own.loc[0, "odds_ratio_per_sd"] == pytest.approx(np.exp(base.coef[1]), rel=1e-10)
    assert own.loc[0, "predictor_sd"] == pytest.approx(df["x"].std(ddof=1))
    common = odds_ratios(df, "y", ["x"], ["age", "sex"], sample="common")
    assert common["n"].tolist() == [110, 110] and common["sample"].str.contains("adjusted").all()
    assert own.loc[0, "odds_ratio_per_sd"] != pytest.approx(common.loc[0, "odds_ratio_per_sd"], rel=1e-3)


def test_odds_ratios_report_events_per_variable():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"y": np.r_[np.ones(6), np.zeros(34)], "x": rng.normal(size=40), "age": rng.normal(size=40)})
    t = odds_ratios(df, "y", ["x"], ["age"])
    assert t["epv"].tolist() == [6.0, 3.0] and t["small_sample"].all()
    assert t["warning"].str.contains("events per variable").all()
    with pytest.raises(ValueError, match="0/1"):
        odds_ratios(df.assign(y=df["y"] * 2), "y", ["x"])
