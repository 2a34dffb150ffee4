"""Paired comparisons between kernels, Bland–Altman agreement, regression and rank correlation."""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["bland_altman", "linear_regression", "paired_comparison", "spearman"]


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {a.shape} vs {b.shape}")
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        raise ValueError(f"a paired comparison needs at least 3 complete pairs, got {int(ok.sum())}")
    return a[ok], b[ok]


def _mean_ci(x: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    n = len(x)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / np.sqrt(n)
    return float(x.mean() - half), float(x.mean() + half)


def paired_comparison(a, b) -> dict[str, float]:
    """Paired comparison of ``b`` against ``a`` (e.g. sharp vs smooth kernel).

    Returns mean difference ``b − a`` with 95 % CI, mean absolute difference,
    mean percent difference ``100·(b − a)/a`` with 95 % CI, paired t-test and
    Wilcoxon signed-rank test.

    Examples
    --------
    >>> r = paired_comparison([10, 12, 14, 16], [11, 13.5, 15, 17.5])
    >>> round(r["mean_diff"], 3), r["n"]
    (1.25, 4)
    """
    a, b = _pair(a, b)
    d = b - a
    pct = 100.0 * d / a
    t = stats.ttest_rel(b, a)
    w = stats.wilcoxon(b, a) if np.any(d != 0) else None
    lo, hi = _mean_ci(d)
    plo, phi = _mean_ci(pct)
    return {
        "n": int(len(a)), "mean_a": float(a.mean()), "mean_b": float(b.mean()),
        "mean_diff": float(d.mean()), "sd_diff": float(d.std(ddof=1)), "diff_ci_low": lo, "diff_ci_high": hi,
        "mean_abs_diff": float(np.abs(d).mean()),
        "mean_pct_diff": float(pct.mean()), "pct_ci_low": plo, "pct_ci_high": phi,
        "t": float(t.statistic), "p_ttest": float(t.pvalue),
        "wilcoxon_W": float(w.statistic) if w else float("nan"), "p_wilcoxon": float(w.pvalue) if w else 1.0,
    }


def bland_altman(a, b) -> dict[str, float]:
    """Bland–Altman agreement of ``b`` with ``a``: bias, 95 % limits of agreement, proportional bias.

    Limits are ``bias ± 1.96·SD``; their 95 % CIs use SE = √(3·SD²/n) (Bland &
    Altman 1986). Proportional bias: slope of the difference on the pair mean.

    Examples
    --------
    >>> r = bland_altman([1.0, 2.0, 3.0, 4.0], [1.1, 2.3, 2.9, 4.3])
    >>> round(r["bias"], 3), round(r["loa_high"] - r["loa_low"], 3)
    (0.15, 0.751)
    """
    a, b = _pair(a, b)
    d = b - a
    m = 0.5 * (a + b)
    n = len(d)
    sd = d.std(ddof=1)
    bias = d.mean()
    tq = stats.t.ppf(0.975, n - 1)
    se_bias = sd / np.sqrt(n)
    se_loa = np.sqrt(3.0 * sd**2 / n)
    lr = stats.linregress(m, d)
    return {
        "n": int(n), "bias": float(bias), "sd_diff": float(sd),
        "bias_ci_low": float(bias - tq * se_bias), "bias_ci_high": float(bias + tq * se_bias),
        "loa_low": float(bias - 1.96 * sd), "loa_high": float(bias + 1.96 * sd),
        "loa_low_ci": (float(bias - 1.96 * sd - tq * se_loa), float(bias - 1.96 * sd + tq * se_loa)),
        "loa_high_ci": (float(bias + 1.96 * sd - tq * se_loa), float(bias + 1.96 * sd + tq * se_loa)),
        "prop_bias_slope": float(lr.slope), "prop_bias_p": float(lr.pvalue),
    }


def linear_regression(x, y) -> dict[str, float]:
    """Ordinary least squares ``y = intercept + slope·x`` with r², p and the slope's 95 % CI."""
    x, y = _pair(x, y)
    r = stats.linregress(x, y)
    tq = stats.t.ppf(0.975, len(x) - 2)
    return {"n": int(len(x)), "slope": float(r.slope), "intercept": float(r.intercept), "r2": float(r.rvalue**2),
            "r": float(r.rvalue), "p": float(r.pvalue), "slope_ci_low": float(r.slope - tq * r.stderr),
            "slope_ci_high": float(r.slope + tq * r.stderr)}


def spearman(x, y) -> dict[str, float]:
    """Spearman rank correlation (e.g. an FE outcome against the ACR class coded 0/1/2)."""
    x, y = _pair(x, y)
    r = stats.spearmanr(x, y)
    return {"n": int(len(x)), "rho": float(r.statistic), "p": float(r.pvalue)}
