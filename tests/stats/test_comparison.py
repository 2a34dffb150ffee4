"""Paired comparison, Bland–Altman (exact limit-of-agreement CIs) and regression against closed forms."""

import numpy as np
import pytest
from scipy import integrate, stats

from vertfem.stats import bland_altman, linear_regression, loa_exact_ci, paired_comparison


@pytest.fixture
def kernel_pairs():
    rng = np.random.default_rng(1)
    a = rng.normal(10_000, 2_000, 30)
    b = a * 1.15 + rng.normal(0, 300, 30)
    return a, b


def test_paired_comparison_by_hand(kernel_pairs):
    a, b = kernel_pairs
    r = paired_comparison(a, b)
    d = b - a
    half = stats.t.ppf(0.975, 29) * d.std(ddof=1) / np.sqrt(30)
    assert r["mean_diff"] == pytest.approx(d.mean())
    assert (r["diff_ci_low"], r["diff_ci_high"]) == pytest.approx((d.mean() - half, d.mean() + half))
    assert r["mean_pct_diff"] == pytest.approx(np.mean(100 * d / a))
    assert r["t"] == pytest.approx(d.mean() / (d.std(ddof=1) / np.sqrt(30)), rel=1e-12)
    assert r["wilcoxon_V"] == 465.0 and r["p_wilcoxon"] == pytest.approx(2 / 2**30, rel=1e-12)  # all 30 positive
    assert "exact p" in r["wilcoxon_method"]


def _coverage(k, n, z):
    """P(d̄ + k·s ≥ μ + z·σ) for N(μ, σ²) differences, by integrating over the χ² law of s: independent of nct."""
    def integrand(q):  # q = (n − 1)s²/σ²
        s = np.sqrt(q / (n - 1))
        return stats.norm.sf(np.sqrt(n) * (z - k * s)) * stats.chi2.pdf(q, n - 1)
    lo, hi = stats.chi2.ppf(1e-16, n - 1), stats.chi2.isf(1e-16, n - 1)  # the mass outside is < 2e-16
    return integrate.quad(integrand, lo, hi, points=[n - 1], epsabs=1e-13, epsrel=1e-12, limit=400)[0]


@pytest.mark.parametrize("n", [5, 10, 31, 200])
def test_exact_loa_ci_has_exact_coverage(n):
    """Each exact bound of μ + 1.96σ is exceeded with probability α/2, by direct integration."""
    (lo_l, lo_h), (hi_l, hi_h) = loa_exact_ci(0.0, 1.0, n)  # with d̄ = 0, s = 1 the bounds are the factors k
    assert _coverage(hi_l, n, 1.96) == pytest.approx(0.025, abs=1e-9)  # P(lower bound > true limit)
    assert _coverage(hi_h, n, 1.96) == pytest.approx(0.975, abs=1e-9)
    assert (lo_l, lo_h) == pytest.approx((-hi_h, -hi_l), rel=1e-14)  # lower limit by symmetry


def test_bland_altman_by_hand_exact_and_1986(kernel_pairs):
    a, b = kernel_pairs
    ba = bland_altman(a, b)
    d = b - a
    sd = d.std(ddof=1)
    assert ba["loa_low"] == pytest.approx(d.mean() - 1.96 * sd)
    assert ba["loa_high"] == pytest.approx(d.mean() + 1.96 * sd)
    half = stats.t.ppf(0.975, 29) * np.sqrt(3 * sd**2 / 30)
    assert (ba["loa_high_ci_low_approx"], ba["loa_high_ci_high_approx"]) == pytest.approx(
        (ba["loa_high"] - half, ba["loa_high"] + half))
    (_, _), (k_lo, k_hi) = loa_exact_ci(0.0, 1.0, 30)
    assert (ba["loa_high_ci_low"], ba["loa_high_ci_high"]) == pytest.approx((d.mean() + k_lo * sd,
                                                                             d.mean() + k_hi * sd), rel=1e-12)
    assert ba["prop_bias_slope"] == pytest.approx(np.polyfit(0.5 * (a + b), d, 1)[0])
    assert ba["prop_bias_p"] < 0.01  # b = 1.15·a: the difference grows with the mean


@pytest.mark.parametrize("n,inner_sd,outer_sd", [(31, 0.1327, 0.1442), (5, 1.1138, 1.8644)])
def test_exact_loa_ci_departs_from_the_1986_approximation(n, inner_sd, outer_sd):
    """Issue 22, defect 7: at n = 31 the exact bounds move by ~0.13 SD from the 1986 ones, far more at n = 5."""
    rng = np.random.default_rng(n)
    a = rng.normal(size=n)
    b = a + rng.normal(0.2, 1.0, size=n)
    ba = bland_altman(a, b)
    inner = (ba["loa_high_ci_low"] - ba["loa_high_ci_low_approx"]) / ba["sd_diff"]
    outer = (ba["loa_high_ci_high"] - ba["loa_high_ci_high_approx"]) / ba["sd_diff"]
    assert (inner, outer) == pytest.approx((inner_sd, outer_sd), abs=1e-4)


def test_linear_regression_by_hand():
    x = np.array([1.0, 2, 3, 4, 5])
    y = np.array([2.0, 4.1, 5.9, 8.2, 9.9])
    r = linear_regression(x, y)
    slope, intercept = np.polyfit(x, y, 1)
    assert (r["slope"], r["intercept"]) == pytest.approx((slope, intercept), rel=1e-12)
    se = np.sqrt(((y - slope * x - intercept) ** 2).sum() / 3 / ((x - x.mean()) ** 2).sum())
    assert r["slope_ci_high"] - r["slope"] == pytest.approx(stats.t.ppf(0.975, 3) * se, rel=1e-10)
    with pytest.raises(ValueError, match="at least 3 complete pairs"):
        linear_regression([1.0, np.nan, 3.0], [1.0, 2.0, np.nan])
