"""Wilcoxon signed-rank and Spearman against enumeration, closed forms, scipy and R's printed examples."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from vertfem.stats import paired_comparison, spearman, wilcoxon_signed_rank
from vertfem.stats.ranktests import _prho, _spearman_s_counts

REF = json.loads((Path(__file__).parents[1] / "data" / "stats" / "reference_values.json").read_text())


def _signrank_p_by_enumeration(d):
    """Two-sided exact p of V = W+ over all 2ⁿ sign patterns of the ranks."""
    ranks = stats.rankdata(np.abs(d))
    v = ranks[d > 0].sum()
    signs = np.array(list(itertools.product([0, 1], repeat=len(d))))
    null = signs @ ranks
    return v, min(1.0, 2 * min((null <= v).mean(), (null >= v).mean()))


def _r_normal_p(d, correct=True):
    """R's wilcox.test normal approximation, written out from its definition."""
    d = d[d != 0]
    n = len(d)
    r = stats.rankdata(np.abs(d))
    v = r[d > 0].sum()
    _, t = np.unique(r, return_counts=True)
    z = v - n * (n + 1) / 4
    sigma = np.sqrt(n * (n + 1) * (2 * n + 1) / 24 - (t**3 - t).sum() / 48)
    z = (z - (np.sign(z) * 0.5 if correct else 0)) / sigma
    return 2 * min(stats.norm.cdf(z), stats.norm.sf(z))


def test_wilcoxon_r_example_v40():
    """R ?wilcox.test: the depression data give V = 40, one-sided p = 0.01953 (= 10/512)."""
    ref = REF["r_wilcox_depression"]
    r = wilcoxon_signed_rank(ref["y"], ref["x"])  # b − a = x − y, as wilcox.test(x, y, paired = TRUE)
    assert r["V"] == ref["V"]
    assert r["p"] / 2 == pytest.approx(ref["p_greater"], abs=5e-6) and r["p"] == 20 / 512
    assert "exact p" in r["method"] and "V = W+" in r["method"]


def test_wilcoxon_exact_against_enumeration_and_scipy():
    rng = np.random.default_rng(11)
    for n in (5, 9, 13):
        a = rng.normal(size=n)
        b = a + rng.normal(0.4, 1.0, size=n)
        r = wilcoxon_signed_rank(a, b)
        v, p = _signrank_p_by_enumeration(b - a)
        assert (r["V"], r["p"]) == (v, pytest.approx(p, rel=1e-12))
        assert r["p"] == pytest.approx(stats.wilcoxon(b, a, method="exact").pvalue, rel=1e-12)


def test_wilcoxon_ties_zeros_use_r_normal_approximation():
    """Issue 22, defect 3: ties at n ≤ 13 got an exact permutation p, ties at n > 13 no continuity correction."""
    d12 = np.array([1, 2, 2, 3, -1, 4, 5, 5, -2, 6, 7, 8.0])
    r = wilcoxon_signed_rank(np.zeros(12), d12)
    assert r["p"] == pytest.approx(_r_normal_p(d12), rel=1e-12)
    assert "exact impossible with ties" in r["method"]
    d20 = np.array([1, 2, 2, 3, -1, 4, 5, 5, -2, 6, 7, 8, 1, -3, 2, 4, 0, 0, 9, -4.0])
    r = wilcoxon_signed_rank(np.zeros(20), d20)
    assert r["n_nonzero"] == 18 and r["p"] == pytest.approx(_r_normal_p(d20), rel=1e-12)
    assert "ties and zeros" in r["method"]
    sp = stats.wilcoxon(d20, zero_method="wilcox", correction=True, method="asymptotic")
    assert r["p"] == pytest.approx(sp.pvalue, rel=1e-10)  # scipy agrees on p (its statistic is min(W+, W−))
    assert r["V"] == stats.rankdata(np.abs(d20[d20 != 0]))[d20[d20 != 0] > 0].sum() != sp.statistic
    off = wilcoxon_signed_rank(np.zeros(20), d20, correct=False)
    assert off["p"] == pytest.approx(_r_normal_p(d20, correct=False), rel=1e-12)
    normal = wilcoxon_signed_rank(np.zeros(5), [1.0, 2, 3, 4, -5], exact=False)
    assert normal["p"] == pytest.approx(_r_normal_p(np.array([1.0, 2, 3, 4, -5])), rel=1e-12)
    assert wilcoxon_signed_rank(np.zeros(60), np.arange(1.0, 61))["method"].endswith("continuity correction")


def test_wilcoxon_all_zero_differences_give_nan_not_1():
    r = wilcoxon_signed_rank([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert np.isnan(r["p"]) and r["n_nonzero"] == 0
    p = paired_comparison([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert np.isnan(p["p_wilcoxon"]) and np.isnan(p["p_ttest"])


def test_spearman_r_example_and_exact_enumeration():
    ref = REF["r_cor_test_spearman"]
    r = spearman(ref["x"], ref["y"])
    assert r["rho"] == pytest.approx(ref["rho"], abs=1e-12) and r["S"] == pytest.approx(ref["S"], abs=1e-9)
    assert r["p"] / 2 == pytest.approx(ref["p_greater"], abs=5e-5)
    assert "exact permutation" in r["method"]
    # n = 8: two-sided p against all 8! permutations
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=8), rng.normal(size=8)
    r = spearman(x, 0.6 * x + y)
    rx = stats.rankdata(x)
    ry = stats.rankdata(0.6 * x + y)
    s_obs = ((rx - ry) ** 2).sum()
    perms = np.array(list(itertools.permutations(range(1, 9))))
    s_null = ((perms - np.arange(1, 9)) ** 2).sum(axis=1)
    p = min(1.0, 2 * min((s_null <= s_obs).mean(), (s_null >= s_obs).mean()))
    assert r["p"] == pytest.approx(p, rel=1e-12)
    assert r["p"] != pytest.approx(stats.spearmanr(x, 0.6 * x + y).pvalue, rel=0.01)


def test_spearman_as89_edgeworth_against_pspearman():
    ref = REF["pspearman_n10"]
    counts = _spearman_s_counts(10)
    assert counts.sum() == pytest.approx(3628800)
    assert counts[: ref["S"] + 1].sum() / counts.sum() == pytest.approx(ref["exact_lower"], abs=5e-10)
    assert _prho(10, ref["S"] + 2, lower_tail=True) == pytest.approx(ref["as89_lower"], abs=5e-10)


def test_spearman_ties_and_t_option_equal_scipy():
    x = [1, 2, 2, 3, 4, 5, 6, 7, 8, 9.0]
    y = [2, 1, 4, 3, 6, 5, 8, 7, 10, 9.0]
    r = spearman(x, y)
    sp = stats.spearmanr(x, y)
    assert r["rho"] == pytest.approx(sp.statistic, rel=1e-12) and r["p"] == pytest.approx(sp.pvalue, rel=1e-12)
    assert "t approximation" in r["method"] and "ties" in r["method"]
    u = np.arange(12.0)
    v = np.array([1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10.0])
    assert spearman(u, v, method="t")["p"] == pytest.approx(stats.spearmanr(u, v).pvalue, rel=1e-12)
    assert "Edgeworth" in spearman(u, v)["method"]
    assert np.isnan(spearman([1.0, 2, 3], [5.0, 5, 5])["rho"])
    with pytest.raises(ValueError, match="method"):
        spearman(u, v, method="kendall")
