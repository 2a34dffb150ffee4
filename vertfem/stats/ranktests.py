"""Rank tests with R's default conventions: Wilcoxon signed-rank (``wilcox.test``) and Spearman (``cor.test``).

Reviewers recompute these in R, so the defaults reproduce R 4.x exactly and
every result states in ``method`` which p-value was computed.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
from scipy import stats

from ._common import StatisticsInputError, paired_arrays

__all__ = ["spearman", "wilcoxon_signed_rank"]


@lru_cache(maxsize=64)
def _signrank_counts(n: int) -> np.ndarray:
    """Number of the 2ⁿ sign assignments of ranks 1..n whose positive-rank sum is V, for V = 0..n(n+1)/2."""
    counts = np.zeros(n * (n + 1) // 2 + 1, dtype=float)
    counts[0] = 1.0
    for r in range(1, n + 1):
        counts[r:] = counts[r:] + counts[:-r].copy()
    return counts


def _signrank_p_exact(v: float, n: int) -> float:
    """Two-sided exact p of V = W+ as R's ``psignrank``: min(1, 2·min(P(V ≤ v), P(V ≥ v)))."""
    counts = _signrank_counts(n)
    total = counts.sum()
    k = round(v)
    lower = counts[: k + 1].sum() / total
    upper = counts[k:].sum() / total
    return float(min(1.0, 2.0 * min(lower, upper)))


def wilcoxon_signed_rank(a, b, *, exact: bool | None = None, correct: bool = True) -> dict:
    """Wilcoxon signed-rank test of the paired differences ``b − a``, as R's ``wilcox.test(b, a, paired = TRUE)``.

    Zero differences are dropped (Wilcoxon's convention, R's only one); ``V``
    is the sum of the ranks of |b − a| (midranks for ties) over the positive
    differences, R's statistic (scipy reports min(W+, W−) instead).

    Parameters
    ----------
    a, b : array
        Paired measurements; pairs with a non-finite value are dropped.
    exact : bool or None
        None (R's default): exact p when fewer than 50 non-zero differences
        remain and there are no ties and no zeros, else the normal
        approximation. True asks for the exact p, which is still impossible
        with ties or zeros (R then falls back too; ``method`` says so).
    correct : bool
        Continuity correction of the normal approximation (R's default True).

    Returns
    -------
    dict
        ``n`` (pairs), ``n_nonzero``, ``V``, ``p`` (two-sided), ``method``.
        All differences zero: ``p`` is NaN (R: NaN), never 1.

    Examples
    --------
    >>> r = wilcoxon_signed_rank([1.0, 2.0, 3.0, 4.0, 5.0], [1.5, 2.9, 2.8, 4.7, 6.1])
    >>> r["V"], r["p"]
    (14.0, 0.125)
    """
    x, y = paired_arrays(a, b, name_a="a", name_b="b", min_pairs=1)
    d = y - x
    zeros = bool(np.any(d == 0))
    d = d[d != 0]
    n = len(d)
    if n == 0:
        return {"n": len(x), "n_nonzero": 0, "V": 0.0, "p": float("nan"),
                "method": "Wilcoxon signed-rank (R convention): all differences are zero, p undefined"}
    ranks = stats.rankdata(np.abs(d))
    v = float(ranks[d > 0].sum())
    ties = len(np.unique(np.abs(d))) < n
    use_exact = (n < 50) if exact is None else bool(exact)
    if use_exact and not ties and not zeros:
        p = _signrank_p_exact(v, n)
        how = "exact p"
    else:
        _, t = np.unique(ranks, return_counts=True)
        sigma = np.sqrt(n * (n + 1) * (2 * n + 1) / 24.0 - np.sum(t**3 - t) / 48.0)
        z = v - n * (n + 1) / 4.0
        if correct:
            z -= np.sign(z) * 0.5
        z /= sigma
        p = float(2.0 * min(stats.norm.cdf(z), stats.norm.sf(z)))
        why = (" (exact impossible with " + " and ".join(w for w, f in (("ties", ties), ("zeros", zeros)) if f) + ")"
               if use_exact else "")
        how = ("normal approximation with tie correction" + (" and continuity correction" if correct else "")
               + why)
    return {"n": len(x), "n_nonzero": int(n), "V": v, "p": p,
            "method": f"Wilcoxon signed-rank (R wilcox.test convention): V = W+ of b − a, zeros dropped, {how}"}


@lru_cache(maxsize=16)
def _spearman_s_counts(n: int) -> np.ndarray:
    """Number of permutations π of 1..n with S = Σ (i − π(i))² = s, for every s (dynamic programme over subsets)."""
    s_max = n * (n * n - 1) // 3
    dist = np.zeros((1 << n, s_max + 1), dtype=float)
    dist[0, 0] = 1.0
    for mask in range(1 << n):
        row = dist[mask]
        if not row.any():
            continue
        i = mask.bit_count()  # the position to fill next
        for j in range(n):
            if not mask & (1 << j):
                c = (i - j) ** 2
                dist[mask | (1 << j), c:] += row[: s_max + 1 - c]
    return dist[(1 << n) - 1]


def _prho(n: int, s: float, lower_tail: bool) -> float:
    """Algorithm AS 89 (Best & Roberts 1975, Appl Stat 24:377), with R's exact range n ≤ 9.

    Upper tail P(S ≥ s), lower tail P(S < s), for S = Σ (rank differences)².
    Exact enumeration for n ≤ 9, Edgeworth series expansion above.
    """
    s_max = n * (n * n - 1) / 3.0
    if s <= 0:
        return 0.0 if lower_tail else 1.0
    if s > s_max:
        return 1.0 if lower_tail else 0.0
    if n <= 9:
        counts = _spearman_s_counts(n)
        values = np.arange(len(counts))
        upper = counts[values >= s].sum() / counts.sum()
        return float(1.0 - upper if lower_tail else upper)
    c = (0.2274, 0.2531, 0.1745, 0.0758, 0.1033, 0.3932, 0.0879, 0.0151, 0.0072, 0.0831, 0.0131, 4.6e-4)
    b = 1.0 / n
    x = (6.0 * (s - 1) * b / (n * n - 1.0) - 1.0) * np.sqrt(n - 1.0)
    x2 = x * x
    u = x * b * (c[0] + b * (c[1] + c[2] * b)
                 + x2 * (-c[3] + b * (c[4] + c[5] * b)
                         - x2 * b * (c[6] + c[7] * b - x2 * (c[8] - c[9] * b + x2 * b * (c[10] - c[11] * x2)))))
    corr = u / np.exp(x2 / 2.0)
    p = (-corr + stats.norm.cdf(x)) if lower_tail else (corr + stats.norm.sf(x))
    return float(min(1.0, max(0.0, p)))


def spearman(x, y, *, method: Literal["exact", "t"] = "exact") -> dict:
    """Spearman rank correlation with R's ``cor.test(method = "spearman")`` p-value.

    Parameters
    ----------
    x, y : array
        Paired values (e.g. an FE outcome and the ACR class coded 0/1/2);
        pairs with a non-finite value are dropped.
    method : {"exact", "t"}
        ``"exact"`` (R's default, ``exact = NULL``): AS 89 — exact permutation
        distribution for n ≤ 9, its Edgeworth series for 10 ≤ n ≤ 1290 — when
        neither variable has ties; with ties or larger n, and always for
        ``"t"``, the t approximation ``t = ρ·√((n−2)/(1−ρ²))`` on n − 2 df
        (R's fallback, and scipy's ``spearmanr``).

    Returns
    -------
    dict
        ``n``, ``rho``, ``S`` (R's statistic ``(n³ − n)(1 − ρ)/6``), ``p``
        (two-sided), ``method``. Constant x or y: ``rho`` and ``p`` NaN.

    Examples
    --------
    R's ``?cor.test`` example (Hollander & Wolfe 1973): S = 48, one-sided p = 0.0484.

    >>> x = [44.4, 45.9, 41.9, 53.3, 44.7, 44.1, 50.7, 45.2, 60.1]
    >>> y = [2.6, 3.1, 2.5, 5.0, 3.6, 4.0, 5.2, 2.8, 3.8]
    >>> r = spearman(x, y)
    >>> r["rho"], r["S"], round(r["p"] / 2, 4)
    (0.6, 48.0, 0.0484)
    """
    if method not in ("exact", "t"):
        raise StatisticsInputError(f"method must be 'exact' or 't', got {method!r}")
    a, b = paired_arrays(x, y, name_a="x", name_b="y")
    n = len(a)
    ra, rb = stats.rankdata(a), stats.rankdata(b)
    if np.ptp(ra) == 0 or np.ptp(rb) == 0:
        return {"n": n, "rho": float("nan"), "S": float("nan"), "p": float("nan"),
                "method": "Spearman: a variable is constant, rho undefined"}
    rho = float(np.corrcoef(ra, rb)[0, 1])
    rho = min(1.0, max(-1.0, rho))
    s = (n**3 - n) * (1.0 - rho) / 6.0
    ties = len(np.unique(a)) < n or len(np.unique(b)) < n
    if method != "t" and not ties and n <= 1290:
        # R rounds S and asks for P(S ≤ S_obs) as P(S < S_obs + 2): S only takes even values.
        if s > (n**3 - n) / 6.0:
            p1 = _prho(n, float(round(s)), lower_tail=False)
        else:
            p1 = _prho(n, float(round(s)) + 2.0, lower_tail=True)
        p = min(1.0, 2.0 * p1)
        how = "exact permutation distribution (AS 89, n ≤ 9)" if n <= 9 else "AS 89 Edgeworth series"
    else:
        if abs(rho) == 1.0:
            p = 0.0
        else:
            t = rho * np.sqrt((n - 2) / (1.0 - rho**2))
            p = float(2.0 * stats.t.sf(abs(t), n - 2))
        why = (" (ties: exact impossible)" if ties else " (n > 1290)") if method != "t" else ""
        how = f"t approximation on n − 2 df{why}"
    return {"n": int(n), "rho": rho, "S": float(s), "p": float(p),
            "method": f"Spearman rank correlation (R cor.test convention), two-sided p by {how}"}
