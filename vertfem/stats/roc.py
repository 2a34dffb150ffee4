"""ROC analysis: AUC with DeLong CI, Youden cut-off, DeLong test of two correlated AUCs."""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["delong_test", "roc_analysis"]


def _midrank(x: np.ndarray) -> np.ndarray:
    return stats.rankdata(x, method="average")


def _placements(y: np.ndarray, s: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC and DeLong's structural components V10 (positives) and V01 (negatives), by midranks (Sun & Xu 2014)."""
    pos, neg = s[y == 1], s[y == 0]
    m, n = len(pos), len(neg)
    tx, ty, tz = _midrank(pos), _midrank(neg), _midrank(np.concatenate([pos, neg]))
    auc = (tz[:m].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (tz[:m] - tx) / n
    v01 = 1.0 - (tz[m:] - ty) / m
    return float(auc), v10, v01


def _labels(y) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    vals = np.unique(y[np.isfinite(y)])
    if vals.tolist() != [0.0, 1.0]:
        raise ValueError(f"ROC needs a 0/1 outcome with both classes present, got values {vals.tolist()}")
    return y


def roc_analysis(y, score, *, higher_is_positive: bool = True) -> dict:
    """ROC curve, AUC with DeLong 95 % CI, and the Youden-optimal cut-off.

    Parameters
    ----------
    y : array of 0/1
        Outcome (1 = event, e.g. fracture).
    score : array
        Predictor; with ``higher_is_positive=False`` low values predict the
        event (e.g. stiffness for fracture) and the score is negated
        internally, the cut-off reported in the original units.

    Returns
    -------
    dict
        ``auc``, ``auc_ci_low``, ``auc_ci_high``, ``se``, ``cutoff``,
        ``sensitivity``, ``specificity``, ``youden_J``, and the curve
        ``fpr``, ``tpr``, ``thresholds``.

    Examples
    --------
    >>> r = roc_analysis([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    >>> round(r["auc"], 3)
    0.889
    """
    y = _labels(y)
    s = np.asarray(score, dtype=float) * (1.0 if higher_is_positive else -1.0)
    ok = np.isfinite(s) & np.isfinite(y)
    y, s = y[ok].astype(int), s[ok]
    if min(y.sum(), len(y) - y.sum()) < 2:
        raise ValueError(f"ROC needs at least 2 subjects in each outcome class, got {int(y.sum())} events "
                         f"and {int(len(y) - y.sum())} non-events")
    auc, v10, v01 = _placements(y, s)
    m, n = len(v10), len(v01)
    var = v10.var(ddof=1) / m + v01.var(ddof=1) / n
    se = float(np.sqrt(var))
    thr = np.unique(s)[::-1]
    tpr = np.array([(s[y == 1] >= t).mean() for t in thr])
    fpr = np.array([(s[y == 0] >= t).mean() for t in thr])
    j = tpr - fpr
    best = int(np.argmax(j))
    sign = 1.0 if higher_is_positive else -1.0
    return {
        "n_pos": int(m), "n_neg": int(n), "auc": auc, "se": se,
        "auc_ci_low": float(max(0.0, auc - 1.96 * se)), "auc_ci_high": float(min(1.0, auc + 1.96 * se)),
        "cutoff": float(sign * thr[best]), "sensitivity": float(tpr[best]), "specificity": float(1 - fpr[best]),
        "youden_J": float(j[best]),
        "fpr": np.concatenate([[0.0], fpr, [1.0]]), "tpr": np.concatenate([[0.0], tpr, [1.0]]),
        "thresholds": sign * thr,
    }


def delong_test(y, score_a, score_b) -> dict[str, float]:
    """DeLong test of two correlated AUCs on the same subjects (DeLong et al. 1988).

    Returns both AUCs, their difference, z and the two-sided p.
    """
    y = _labels(y)
    a = np.asarray(score_a, dtype=float)
    b = np.asarray(score_b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b) & np.isfinite(y)
    y, a, b = y[ok].astype(int), a[ok], b[ok]
    auc_a, v10a, v01a = _placements(y, a)
    auc_b, v10b, v01b = _placements(y, b)
    s10 = np.cov(np.vstack([v10a, v10b]))
    s01 = np.cov(np.vstack([v01a, v01b]))
    cov = s10 / len(v10a) + s01 / len(v01a)
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    z = (auc_a - auc_b) / np.sqrt(var) if var > 0 else 0.0
    return {"auc_a": auc_a, "auc_b": auc_b, "diff": auc_a - auc_b, "z": float(z),
            "p": float(2 * stats.norm.sf(abs(z)))}
