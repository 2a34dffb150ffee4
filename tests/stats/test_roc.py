"""ROC and DeLong: against the definition, sklearn, a bootstrap, pROC's conventions and issue 22's degenerate cases."""

from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from vertfem.stats import delong_test, roc_analysis


def _delong_by_definition(y, s):
    """DeLong 1988 from its definition: placement values by explicit pairwise comparison, O(m·n)."""
    pos, neg = s[y == 1], s[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    return psi.mean(), psi.mean(axis=1), psi.mean(axis=0)


@pytest.fixture
def tied_scores():
    rng = np.random.default_rng(2)
    y = np.r_[np.ones(40), np.zeros(60)].astype(int)
    s1 = np.round(rng.normal(y * 1.0, 1.0), 1)  # rounded: ties exercise the midranks
    s2 = s1 + rng.normal(0, 0.8, len(y))
    return y, s1, s2


def test_auc_and_se_against_definition_sklearn_and_bootstrap(tied_scores):
    from sklearn.metrics import roc_auc_score

    y, s1, _ = tied_scores
    r = roc_analysis(y, s1, higher_is_positive=True)
    auc, v10, v01 = _delong_by_definition(y, s1)
    assert r["auc"] == pytest.approx(auc, abs=1e-12) == pytest.approx(roc_auc_score(y, s1), abs=1e-12)
    se = np.sqrt(v10.var(ddof=1) / len(v10) + v01.var(ddof=1) / len(v01))
    assert r["se"] == pytest.approx(se, rel=1e-12)
    # stratified bootstrap of the pairwise kernel ψ(case, control)
    rng = np.random.default_rng(7)
    psi = (s1[y == 1][:, None] > s1[y == 0][None, :]) + 0.5 * (s1[y == 1][:, None] == s1[y == 0][None, :])
    boot = [psi[np.ix_(rng.choice(40, 40), rng.choice(60, 60))].mean() for _ in range(2000)]
    assert r["se"] == pytest.approx(np.std(boot), rel=0.1)  # the bootstrap SE itself scatters by ~±3 %
    assert r["warning"] == "" and r["n"] == 100


def test_auc_ci_uses_the_normal_quantile_not_1_96(tied_scores):
    y, s1, _ = tied_scores
    for level in (0.95, 0.90):
        r = roc_analysis(y, s1, higher_is_positive=True, level=level)
        z = stats.norm.ppf(0.5 + level / 2)
        assert r["auc_ci_high"] - r["auc"] == pytest.approx(z * r["se"], rel=1e-12)
        assert r["auc"] - r["auc_ci_low"] == pytest.approx(z * r["se"], rel=1e-12)
    assert f"{stats.norm.ppf(0.95):.6f}" in r["method"]  # the last level, 0.90


def test_delong_test_against_definition(tied_scores):
    y, s1, s2 = tied_scores
    t = delong_test(y, s1, s2, higher_is_positive=True)
    _, a10, a01 = _delong_by_definition(y, s1)
    _, b10, b01 = _delong_by_definition(y, s2)
    se = np.sqrt(np.var(a10 - b10, ddof=1) / len(a10) + np.var(a01 - b01, ddof=1) / len(a01))
    assert t["se_diff"] == pytest.approx(se, rel=1e-12)
    assert t["z"] == pytest.approx(t["diff"] / se, rel=1e-12)
    assert t["p"] == pytest.approx(2 * stats.norm.sf(abs(t["diff"]) / se), rel=1e-10)
    assert (t["diff_ci_low"], t["diff_ci_high"]) == pytest.approx((t["diff"] - 1.959963984540054 * se,
                                                                   t["diff"] + 1.959963984540054 * se))


def test_delong_auc1_vs_auc0_is_infinite_z_not_p1():
    """Issue 22, defect 1: AUC 1 vs AUC 0 on 5 + 5 subjects gave z = 0, p = 1 (pROC: Z = Inf, p = 0)."""
    y = np.r_[np.zeros(5), np.ones(5)]
    s = np.arange(10.0)
    t = delong_test(y, s, -s, higher_is_positive=True)
    assert (t["auc_a"], t["auc_b"], t["z"], t["p"]) == (1.0, 0.0, np.inf, 0.0)
    assert "zero DeLong variance" in t["warning"]
    back = delong_test(y, -s, s, higher_is_positive=True)
    assert (back["z"], back["p"]) == (-np.inf, 0.0)


def test_delong_equal_auc_with_zero_variance_is_nan_not_p1():
    y = np.r_[np.zeros(5), np.ones(5)]
    s = np.arange(10.0)
    t = delong_test(y, s, 2 * s + 1, higher_is_positive=True)  # both AUC 1
    assert np.isnan(t["z"]) and np.isnan(t["p"]) and "equal AUCs" in t["warning"]


def test_one_case_gives_nan_with_a_flag_and_no_numpy_warning():
    """Issue 22, defect 1: one case in a class made numpy warn and the test report p = 1 (pROC: NaN)."""
    y = np.r_[np.zeros(6), 1]
    a = np.array([0.1, 0.4, 0.2, 0.5, 0.3, 0.6, 0.45])
    b = np.array([0.3, 0.1, 0.2, 0.6, 0.5, 0.4, 0.7])
    t = delong_test(y, a, b, higher_is_positive=True)  # numpy warnings would be errors here
    assert np.isnan(t["p"]) and np.isnan(t["z"]) and "only 1 subject" in t["warning"]
    r = roc_analysis(y, a, higher_is_positive=True)
    assert r["auc"] == pytest.approx(4 / 6) and np.isnan(r["se"]) and np.isnan(r["auc_ci_low"])
    assert "only 1 subject" in r["warning"]
    with pytest.raises(ValueError, match="both outcome classes"):
        roc_analysis(np.zeros(5), np.arange(5.0))
    with pytest.raises(ValueError, match="0/1"):
        roc_analysis([0, 1, 2], [1.0, 2.0, 3.0])


def test_direction_explicit_auto_and_reported():
    """Issue 22, defect 6: vBMD (low = disease) gave AUC < 0.5; the direction is now explicit and reported."""
    rng = np.random.default_rng(5)
    y = np.r_[np.ones(30), np.zeros(50)].astype(int)
    vbmd = rng.normal(130 - 40 * y, 25)
    up = roc_analysis(y, vbmd, higher_is_positive=True)
    down = roc_analysis(y, vbmd, higher_is_positive=False)
    auto = roc_analysis(y, vbmd)
    assert up["auc"] < 0.5 and down["auc"] == pytest.approx(1 - up["auc"], abs=1e-12)
    assert (down["direction"], down["direction_source"], down["higher_is_positive"]) == (">", "given", False)
    assert auto["auc"] == down["auc"] and auto["direction"] == ">" and auto["direction_source"].startswith("auto")
    # pROC's rule is a median comparison, not "whichever AUC is larger": equal medians give "<"
    yy = np.array([0, 0, 0, 1, 1, 1])
    ss = np.array([1.0, 2.0, 9.0, 0.0, 2.0, 3.0])
    assert roc_analysis(yy, ss)["direction"] == "<"
    # cut-offs in the original units, classification "score ≤ cut-off" when low is positive
    sens = (vbmd[y == 1] <= down["cutoff"]).mean()
    spec = (vbmd[y == 0] > down["cutoff"]).mean()
    assert (sens, spec) == pytest.approx((down["sensitivity"], down["specificity"]))
    t = delong_test(y, vbmd, -vbmd, higher_is_positive=(False, True))
    assert t["auc_a"] == pytest.approx(t["auc_b"]) and (t["direction_a"], t["direction_b"]) == (">", "<")
    with pytest.raises(ValueError, match="two entries"):
        delong_test(y, vbmd, vbmd, higher_is_positive=(True,))


def _youden_by_fractions(y, s):
    """Every cut-off (observed value, positive if score ≥ it) with J as an exact fraction."""
    m, n = int(y.sum()), int(len(y) - y.sum())
    out = {}
    for t in np.unique(s):
        out[float(t)] = Fraction(int((s[y == 1] >= t).sum()), m) - Fraction(int((s[y == 0] >= t).sum()), n)
    best = max(out.values())
    return sorted(t for t, j in out.items() if j == best), best


def test_youden_returns_every_tied_cutoff():
    """Issue 22, defect 4: three cut-offs tie at the maximal J; float rounding used to pick one of them."""
    # descending: case, 2 controls, case, 2 controls, case, 2 controls → J = 1/3 at the three case scores;
    # in floats 1 − 4/6 = 0.33333333333333337 > 1/3, which used to decide the choice
    s = np.array([9.0, 8, 7, 6, 5, 4, 3, 2, 1])
    y = np.array([1, 0, 0, 1, 0, 0, 1, 0, 0])
    r = roc_analysis(y, s, higher_is_positive=True)
    tied, best = _youden_by_fractions(y, s)
    assert r["cutoffs"] == tuple(tied) == (3.0, 6.0, 9.0)
    assert r["youden_J"] == pytest.approx(float(best), abs=1e-15)
    assert r["cutoff"] == 3.0 and r["sensitivity"] == 1.0  # the stated rule: highest sensitivity
    assert "highest sensitivity" in r["cutoff_rule"]


def test_youden_against_fractions_on_random_data(tied_scores):
    y, s1, _ = tied_scores
    r = roc_analysis(y, s1, higher_is_positive=True)
    tied, best = _youden_by_fractions(y, s1)
    assert r["cutoffs"] == tuple(tied) and r["youden_J"] == pytest.approx(float(best), abs=1e-15)
    low = roc_analysis(y, -s1, higher_is_positive=False)
    assert low["auc"] == pytest.approx(r["auc"]) and low["cutoffs"] == tuple(sorted(-c for c in tied))
