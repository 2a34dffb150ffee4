"""Statistics against published worked examples and independent computations."""

import numpy as np
import pytest

from vertfem.stats import icc, precision

SHROUT_FLEISS = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


@pytest.mark.parametrize("kind,expected", [("1,1", 0.17), ("2,1", 0.29), ("3,1", 0.71),
                                           ("1,k", 0.44), ("2,k", 0.62), ("3,k", 0.91)])
def test_icc_shrout_fleiss_table(kind, expected):
    assert icc(SHROUT_FLEISS, kind) == pytest.approx(expected, abs=0.005)


def test_precision_by_hand():
    y = np.array([[10.0, 12.0], [20.0, 19.0], [30.0, 30.0]])
    sds = np.array([np.std(r, ddof=1) for r in y])
    p = precision(y)
    assert p.rms_sd == pytest.approx(np.sqrt(np.mean(sds**2)))
    assert p.lsc == pytest.approx(2.77 * p.rms_sd)
    with pytest.raises(ValueError, match="NaN"):
        precision([[1.0, np.nan], [2.0, 2.0]])
    with pytest.raises(ValueError, match="unknown ICC"):
        icc(y, "4,1")


def test_paired_comparison_and_bland_altman_by_hand():
    from scipy import stats as ss

    from vertfem.stats import bland_altman, paired_comparison

    rng = np.random.default_rng(1)
    a = rng.normal(10_000, 2_000, 30)
    b = a * 1.15 + rng.normal(0, 300, 30)
    r = paired_comparison(a, b)
    d = b - a
    half = ss.t.ppf(0.975, 29) * d.std(ddof=1) / np.sqrt(30)
    assert r["mean_diff"] == pytest.approx(d.mean())
    assert (r["diff_ci_low"], r["diff_ci_high"]) == pytest.approx((d.mean() - half, d.mean() + half))
    assert r["mean_pct_diff"] == pytest.approx(np.mean(100 * d / a))
    assert r["p_ttest"] < 1e-6 and r["p_wilcoxon"] < 1e-6
    ba = bland_altman(a, b)
    assert ba["loa_low"] == pytest.approx(d.mean() - 1.96 * d.std(ddof=1))
    assert ba["loa_high"] == pytest.approx(d.mean() + 1.96 * d.std(ddof=1))
    assert ba["prop_bias_slope"] == pytest.approx(np.polyfit(0.5 * (a + b), d, 1)[0])
    assert ba["prop_bias_p"] < 0.01  # b = 1.15·a: the difference grows with the mean


def _delong_by_definition(y, s):
    """DeLong 1988 from its definition: placement values by explicit pairwise comparison, O(m·n)."""
    pos, neg = s[y == 1], s[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return psi.mean(), v10, v01


def test_delong_against_definition_sklearn_and_bootstrap():
    from sklearn.metrics import roc_auc_score

    from vertfem.stats import delong_test, roc_analysis

    rng = np.random.default_rng(2)
    y = np.r_[np.ones(40), np.zeros(60)].astype(int)
    s1 = np.round(rng.normal(y * 1.0, 1.0), 1)  # rounded: ties exercise the midranks
    s2 = s1 + rng.normal(0, 0.8, len(y))
    r = roc_analysis(y, s1)
    auc, v10, v01 = _delong_by_definition(y, s1)
    assert r["auc"] == pytest.approx(auc, abs=1e-12) == pytest.approx(roc_auc_score(y, s1), abs=1e-12)
    se = np.sqrt(v10.var(ddof=1) / len(v10) + v01.var(ddof=1) / len(v01))
    assert r["se"] == pytest.approx(se, rel=1e-10)
    boot = []
    for _ in range(1000):
        i = np.r_[rng.choice(40, 40), 40 + rng.choice(60, 60)]
        boot.append(roc_auc_score(y[i], s1[i]))
    assert r["se"] == pytest.approx(np.std(boot), rel=0.15)
    t = delong_test(y, s1, s2)
    _, a10, a01 = _delong_by_definition(y, s1)
    _, b10, b01 = _delong_by_definition(y, s2)
    var = (np.var(a10 - b10, ddof=1) / len(a10)) + (np.var(a01 - b01, ddof=1) / len(a01))
    from scipy import stats as ss

    assert t["p"] == pytest.approx(2 * ss.norm.sf(abs(t["diff"]) / np.sqrt(var)), rel=1e-8)
    # Youden cut-off: sensitivity and specificity at the reported cut-off recomputed
    sens = (s1[y == 1] >= r["cutoff"]).mean()
    spec = (s1[y == 0] < r["cutoff"]).mean()
    assert (sens, spec) == pytest.approx((r["sensitivity"], r["specificity"]))
    low = roc_analysis(y, -s1, higher_is_positive=False)
    assert low["auc"] == pytest.approx(r["auc"]) and low["cutoff"] == pytest.approx(-r["cutoff"])


def test_conditional_logit_equals_logit_on_pair_differences():
    import pandas as pd
    import statsmodels.api as sm

    from vertfem.stats import conditional_odds_ratio, odds_ratios

    rng = np.random.default_rng(3)
    n = 80
    x_case = rng.normal(0.6, 1, n)
    x_ctrl = rng.normal(0.0, 1, n)
    df = pd.DataFrame({"y": np.r_[np.ones(n), np.zeros(n)], "x": np.r_[x_case, x_ctrl],
                       "set": np.r_[np.arange(n), np.arange(n)]})
    r = conditional_odds_ratio(df, "y", "x", "set")
    sd = df["x"].std(ddof=1)
    # 1:1 matching: the conditional likelihood is a no-intercept logit of "case first" on x_case − x_ctrl
    dx = (x_case - x_ctrl) / sd
    flip = rng.random(n) < 0.5
    yy = np.where(flip, 0.0, 1.0)
    xx = np.where(flip, -dx, dx)
    ref = sm.Logit(yy, xx[:, None]).fit(disp=0)
    assert r["odds_ratio_per_sd"] == pytest.approx(np.exp(ref.params[0]), rel=1e-4)  # two iterative fits
    o = odds_ratios(df, "y", ["x"])
    z = (df["x"] - df["x"].mean()) / sd
    base = sm.Logit(df["y"], sm.add_constant(z.to_frame())).fit(disp=0)
    assert o["odds_ratio_per_sd"][0] == pytest.approx(np.exp(base.params["x"]), rel=1e-8)


def test_radiomics_model_finds_the_signal():
    import pandas as pd

    from vertfem.stats import fit_radiomics_model

    rng = np.random.default_rng(4)
    n = 160
    y = (rng.random(n) < 0.4).astype(int)
    x = pd.DataFrame(rng.normal(size=(n, 40)), columns=[f"f{i}" for i in range(40)])
    for c in ("f3", "f7", "f11"):
        x[c] += 1.0 * y
    m = fit_radiomics_model(x, y, n_mrmr=10, seed=0)
    assert {"f3", "f7", "f11"} & set(m.features)
    assert m.auc_test["auc"] > 0.75
    dca = m.decision_curve_test
    assert (dca["net_benefit_model"] >= dca["net_benefit_none"] - 1e-9).iloc[:30].all()
    again = fit_radiomics_model(x, y, n_mrmr=10, seed=0)
    assert again.coefficients == m.coefficients
