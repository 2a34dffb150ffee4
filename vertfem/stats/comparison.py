"""Paired comparisons between kernels, Bland–Altman agreement with exact limit CIs, and linear regression."""

from __future__ import annotations

import numpy as np
from scipy import stats

from ._common import StatisticsInputError, paired_arrays
from .ranktests import wilcoxon_signed_rank

__all__ = ["bland_altman", "linear_regression", "loa_exact_ci", "paired_comparison"]

#: Bland & Altman's (1986) multiplier of the SD of the differences for the 95 % limits of agreement.
LOA_MULTIPLIER = 1.96


def _mean_ci(x: np.ndarray, level: float) -> tuple[float, float]:
    n = len(x)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / np.sqrt(n)
    return float(x.mean() - half), float(x.mean() + half)


def paired_comparison(a, b, *, level: float = 0.95) -> dict:
    """Paired comparison of ``b`` against ``a`` (e.g. sharp vs smooth kernel).

    Returns the mean difference ``b − a`` with its t-based CI, the mean
    absolute difference, the mean percent difference ``100·(b − a)/a`` with CI,
    the paired t-test and the Wilcoxon signed-rank test in R's convention
    (:func:`~vertfem.stats.wilcoxon_signed_rank`: ``V = W+``, exact p for
    n < 50 without ties or zeros, otherwise normal approximation with
    continuity and tie correction).

    Returns
    -------
    dict
        ``n``, ``mean_a``, ``mean_b``, ``mean_diff``, ``sd_diff``,
        ``diff_ci_low``, ``diff_ci_high``, ``mean_abs_diff``, ``mean_pct_diff``,
        ``pct_ci_low``, ``pct_ci_high``, ``t``, ``p_ttest``, ``wilcoxon_V``,
        ``wilcoxon_n_nonzero``, ``p_wilcoxon``, ``wilcoxon_method``, ``level``.
        Identical differences (SD 0): ``t`` and ``p_ttest`` NaN; all
        differences zero: ``p_wilcoxon`` NaN.

    Examples
    --------
    >>> r = paired_comparison([10, 12, 14, 16], [11, 13.5, 15, 17.5])
    >>> round(r["mean_diff"], 3), r["n"], r["wilcoxon_V"], round(r["p_wilcoxon"], 4)
    (1.25, 4, 10.0, 0.0947)
    """
    a, b = paired_arrays(a, b)
    d = b - a
    pct = 100.0 * d / a
    sd = float(d.std(ddof=1))
    if sd > 0:
        t = stats.ttest_rel(b, a)
        t_stat, p_t = float(t.statistic), float(t.pvalue)
    else:
        t_stat = p_t = float("nan")
    w = wilcoxon_signed_rank(a, b)
    lo, hi = _mean_ci(d, level)
    plo, phi = _mean_ci(pct, level)
    return {
        "n": len(a), "mean_a": float(a.mean()), "mean_b": float(b.mean()),
        "mean_diff": float(d.mean()), "sd_diff": sd, "diff_ci_low": lo, "diff_ci_high": hi,
        "mean_abs_diff": float(np.abs(d).mean()),
        "mean_pct_diff": float(pct.mean()), "pct_ci_low": plo, "pct_ci_high": phi,
        "t": t_stat, "p_ttest": p_t,
        "wilcoxon_V": w["V"], "wilcoxon_n_nonzero": w["n_nonzero"], "p_wilcoxon": w["p"],
        "wilcoxon_method": w["method"], "level": float(level),
    }


def loa_exact_ci(mean_diff: float, sd_diff: float, n: int, *, multiplier: float = LOA_MULTIPLIER,
                 level: float = 0.95) -> tuple[tuple[float, float], tuple[float, float]]:
    """Exact CIs of the lower and upper limits of agreement ``μ ∓ multiplier·σ``, each considered on its own.

    With normally distributed differences, ``√n·(μ + kσ − d̄)/s`` follows a
    non-central t distribution with n − 1 df and non-centrality ``k·√n``;
    its quantiles give the exact interval (Shieh 2018, BMC Med Res Methodol
    18:45; equal to Carkeet's 2015 one-sided tolerance-factor method, Optom
    Vis Sci 92:e71).

    Returns
    -------
    ((low_ci_low, low_ci_high), (high_ci_low, high_ci_high))
        In the units of the differences.

    Examples
    --------
    >>> (lo, hi), _ = loa_exact_ci(0.0, 1.0, 10)
    >>> round(lo, 4), round(hi, 4)
    (-3.801, -1.1632)
    """
    if n < 2:
        raise StatisticsInputError(f"exact limit-of-agreement CIs need n ≥ 2, got {n}")
    alpha = 1.0 - level
    q = stats.nct.ppf([alpha / 2, 1 - alpha / 2], n - 1, multiplier * np.sqrt(n)) / np.sqrt(n)
    high = (float(mean_diff + q[0] * sd_diff), float(mean_diff + q[1] * sd_diff))
    low = (float(mean_diff - q[1] * sd_diff), float(mean_diff - q[0] * sd_diff))
    return low, high


def bland_altman(a, b, *, level: float = 0.95) -> dict:
    """Bland–Altman agreement of ``b`` with ``a``: bias, limits of agreement with exact and 1986 CIs, proportional bias.

    Limits are ``bias ± 1.96·SD`` (Bland & Altman 1986, Lancet 327:307). Their
    CIs: exact, by the non-central t distribution (:func:`loa_exact_ci`), and
    the 1986 approximation ``± t·√(3·SD²/n)`` for comparison with older
    papers; the exact interval is asymmetric and wider at small n.
    Proportional bias: OLS slope of the difference on the pair mean.

    Returns
    -------
    dict
        ``n``, ``bias``, ``sd_diff``, ``bias_ci_low``, ``bias_ci_high``,
        ``loa_low``, ``loa_high``, ``loa_multiplier``, exact CIs
        ``loa_low_ci_low``, ``loa_low_ci_high``, ``loa_high_ci_low``,
        ``loa_high_ci_high``, the same with suffix ``_approx`` (1986),
        ``loa_ci_method``, ``prop_bias_slope``, ``prop_bias_p``, ``level``.

    Examples
    --------
    >>> r = bland_altman([1.0, 2.0, 3.0, 4.0], [1.1, 2.3, 2.9, 4.3])
    >>> round(r["bias"], 3), round(r["loa_high"] - r["loa_low"], 3)
    (0.15, 0.751)
    >>> round(r["loa_high_ci_high"], 3), round(r["loa_high_ci_high_approx"], 3)
    (1.626, 1.053)
    """
    a, b = paired_arrays(a, b)
    d = b - a
    m = 0.5 * (a + b)
    n = len(d)
    sd = float(d.std(ddof=1))
    bias = float(d.mean())
    tq = stats.t.ppf(0.5 + level / 2, n - 1)
    se_bias = sd / np.sqrt(n)
    se_loa = np.sqrt(3.0 * sd**2 / n)
    lo, hi = bias - LOA_MULTIPLIER * sd, bias + LOA_MULTIPLIER * sd
    (lo_l, lo_h), (hi_l, hi_h) = loa_exact_ci(bias, sd, n, level=level)
    lr = stats.linregress(m, d) if np.ptp(m) > 0 else None
    return {
        "n": int(n), "bias": bias, "sd_diff": sd,
        "bias_ci_low": float(bias - tq * se_bias), "bias_ci_high": float(bias + tq * se_bias),
        "loa_low": float(lo), "loa_high": float(hi), "loa_multiplier": LOA_MULTIPLIER,
        "loa_low_ci_low": lo_l, "loa_low_ci_high": lo_h, "loa_high_ci_low": hi_l, "loa_high_ci_high": hi_h,
        "loa_low_ci_low_approx": float(lo - tq * se_loa), "loa_low_ci_high_approx": float(lo + tq * se_loa),
        "loa_high_ci_low_approx": float(hi - tq * se_loa), "loa_high_ci_high_approx": float(hi + tq * se_loa),
        "loa_ci_method": "exact (non-central t, each limit on its own); _approx: Bland & Altman 1986",
        "prop_bias_slope": float(lr.slope) if lr else float("nan"),
        "prop_bias_p": float(lr.pvalue) if lr else float("nan"),
        "level": float(level),
    }


def linear_regression(x, y, *, level: float = 0.95) -> dict:
    """Ordinary least squares ``y = intercept + slope·x`` with r², p and the slope's CI.

    Examples
    --------
    >>> r = linear_regression([1.0, 2.0, 3.0, 4.0], [2.1, 3.9, 6.2, 7.8])
    >>> round(r["slope"], 2), r["n"]
    (1.94, 4)
    """
    x, y = paired_arrays(x, y, name_a="x", name_b="y")
    r = stats.linregress(x, y)
    tq = stats.t.ppf(0.5 + level / 2, len(x) - 2)
    return {"n": len(x), "slope": float(r.slope), "intercept": float(r.intercept), "r2": float(r.rvalue**2),
            "r": float(r.rvalue), "p": float(r.pvalue), "slope_ci_low": float(r.slope - tq * r.stderr),
            "slope_ci_high": float(r.slope + tq * r.stderr), "level": float(level)}
