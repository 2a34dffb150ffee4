"""ROC analysis: AUC with DeLong CI, all Youden-optimal cut-offs, DeLong test of two correlated AUCs.

Conventions follow pROC 1.18 (Robin et al. 2011, BMC Bioinformatics 12:77), the
package reviewers recompute ROC statistics with:

- **Direction.** ``higher_is_positive=True`` is pROC's ``direction = "<"``
  (controls < cases: a high score predicts the event), ``False`` is ``">"``.
  ``None`` reproduces pROC's ``"auto"``: higher is positive when the median
  score of the controls is ≤ that of the cases. The resolved direction and how
  it was chosen are part of every result, because choosing it from the same
  data biases the AUC upwards.
- **AUC variance** by DeLong et al. (1988), computed from midranks (Sun & Xu
  2014, IEEE Signal Process Lett 21:1389); CI ``AUC ± z·SE`` with the normal
  quantile ``z = Φ⁻¹(0.5 + level/2)``, clipped to [0, 1] as pROC does.
- **Degenerate input.** With one subject in a class the DeLong variance is
  undefined: SE, CI, z and p are NaN and ``warning`` says why. A DeLong test
  with zero variance and different AUCs gives ``z = ±inf, p = 0`` (as pROC);
  with zero variance and equal AUCs it gives NaN, where pROC reports
  ``Z = 0, p = 1``. No degenerate input yields p = 1.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ._common import StatisticsInputError, z_quantile

__all__ = ["delong_test", "roc_analysis"]

# Placement values are multiples of 1/(2·n); differences below this are rounding, not data.
_EXACT = 1e-12


def _complete(y, *scores: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Outcome as int 0/1 and the scores, restricted to subjects where all are finite."""
    y = np.asarray(y, dtype=float)
    arrs = [np.asarray(s, dtype=float) for s in scores]
    for s in arrs:
        if s.shape != y.shape or y.ndim != 1:
            raise StatisticsInputError(f"outcome and score must be 1-D and equally long, got shapes {y.shape} "
                                       f"and {s.shape}")
    ok = np.isfinite(y)
    for s in arrs:
        ok &= np.isfinite(s)
    vals = np.unique(y[ok])
    if not set(vals.tolist()) <= {0.0, 1.0}:
        raise StatisticsInputError(f"ROC needs a 0/1 outcome, got values {vals.tolist()}")
    yy = y[ok].astype(int)
    n_pos = int(yy.sum())
    if n_pos == 0 or n_pos == len(yy):
        raise StatisticsInputError(f"ROC needs both outcome classes, got {n_pos} events and {len(yy) - n_pos} "
                                   "non-events "
                         "among the complete cases")
    return yy, [s[ok] for s in arrs]


def _direction(y: np.ndarray, s: np.ndarray, higher_is_positive: bool | None) -> tuple[bool, str]:
    if higher_is_positive is None:
        rule = "auto (pROC rule: higher is positive iff median(controls) ≤ median(cases))"
        return bool(np.median(s[y == 0]) <= np.median(s[y == 1])), rule
    return bool(higher_is_positive), "given"


def _placements(y: np.ndarray, s: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC and DeLong's placement values V10 (one per event) and V01 (one per non-event), by midranks."""
    pos, neg = s[y == 1], s[y == 0]
    m = len(pos)
    tx = stats.rankdata(pos)
    ty = stats.rankdata(neg)
    tz = stats.rankdata(np.concatenate([pos, neg]))
    v10 = (tz[:m] - tx) / len(neg)
    v01 = 1.0 - (tz[m:] - ty) / m
    return float(v10.mean()), v10, v01


def _pROC_symbol(higher_is_positive: bool) -> str:
    return "<" if higher_is_positive else ">"


def roc_analysis(y, score, *, higher_is_positive: bool | None = None, level: float = 0.95) -> dict:
    """ROC curve, AUC with DeLong CI, and every Youden-optimal cut-off.

    Parameters
    ----------
    y : array of 0/1
        Outcome (1 = event, e.g. fracture). Subjects with a non-finite outcome
        or score are dropped.
    score : array
        Predictor in its own units (e.g. stiffness in N/mm).
    higher_is_positive : bool or None
        True: high scores predict the event (pROC ``direction="<"``); False:
        low scores do (stiffness or vBMD for fracture, ``">"``); None: chosen
        from the data by pROC's ``"auto"`` rule (see the module notes).
    level : float
        Confidence level of the AUC interval.

    Returns
    -------
    dict
        ``n``, ``n_pos``, ``n_neg``; ``auc``, ``se``, ``auc_ci_low``,
        ``auc_ci_high``, ``level``, ``method``; ``higher_is_positive`` (the
        resolved direction), ``direction`` (pROC symbol ``"<"``/``">"``),
        ``direction_source`` (``"given"`` or ``"auto ..."``); the Youden
        index: ``cutoff``, ``sensitivity``, ``specificity``, ``youden_J``,
        ``cutoffs`` (tuple of every cut-off reaching the maximal J, ascending,
        in score units), ``cutoff_rule``; ``warning`` ("" when none); and the
        curve ``fpr``, ``tpr``, ``thresholds`` (arrays). A subject counts as
        positive when its score is ≥ the cut-off (≤ when low is positive). pROC
        prints thresholds half-way between neighbouring observed scores; the
        sensitivity and specificity are the same.

    Examples
    --------
    >>> r = roc_analysis([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9], higher_is_positive=True)
    >>> round(r["auc"], 3), r["direction"], r["cutoffs"], r["cutoff"]
    (0.889, '<', (0.35, 0.8), 0.35)
    >>> round(roc_analysis([0, 0, 1, 1], [5.0, 4.0, 2.0, 3.0])["auc"], 3)  # auto picks "low is positive"
    1.0
    """
    y, (raw,) = _complete(y, score)
    hip, source = _direction(y, raw, higher_is_positive)
    sign = 1.0 if hip else -1.0
    s = sign * raw
    auc, v10, v01 = _placements(y, s)
    m, n = len(v10), len(v01)
    zq = z_quantile(level)
    warning = ""
    if min(m, n) < 2:
        se = float("nan")
        warning = (f"only {min(m, n)} subject in one outcome class: the DeLong variance is undefined, "
                   "SE and CI are NaN")
    else:
        se = float(np.sqrt(v10.var(ddof=1) / m + v01.var(ddof=1) / n))
    thr = np.unique(s)[::-1]
    pos_sorted, neg_sorted = np.sort(s[y == 1]), np.sort(s[y == 0])
    tp = m - np.searchsorted(pos_sorted, thr, side="left")
    fp = n - np.searchsorted(neg_sorted, thr, side="left")
    # J = tp/m − fp/n compared as the integer tp·n − fp·m: ties are exact, not decided by rounding.
    j_num = tp.astype(np.int64) * n - fp.astype(np.int64) * m
    tied = np.flatnonzero(j_num == j_num.max())
    best = int(tied[-1])  # thresholds descend: the last tied one has the highest sensitivity
    return {
        "n": int(m + n), "n_pos": int(m), "n_neg": int(n),
        "auc": auc, "se": se,
        "auc_ci_low": float(max(0.0, auc - zq * se)) if np.isfinite(se) else float("nan"),
        "auc_ci_high": float(min(1.0, auc + zq * se)) if np.isfinite(se) else float("nan"),
        "level": float(level),
        "method": f"AUC with DeLong (1988) SE; Wald CI, z = {zq:.6f}, clipped to [0, 1]",
        "higher_is_positive": hip, "direction": _pROC_symbol(hip), "direction_source": source,
        "cutoff": float(sign * thr[best]), "sensitivity": float(tp[best] / m), "specificity": float(1 - fp[best] / n),
        "youden_J": float(j_num[best] / (m * n)),
        "cutoffs": tuple(sorted(float(sign * thr[i]) for i in tied)),
        "cutoff_rule": "maximal Youden J; among tied cut-offs the one with the highest sensitivity",
        "warning": warning,
        "fpr": np.concatenate([[0.0], fp / n, [1.0]]), "tpr": np.concatenate([[0.0], tp / m, [1.0]]),
        "thresholds": sign * thr,
    }


def _two_directions(hip) -> tuple[bool | None, bool | None]:
    if isinstance(hip, tuple):
        if len(hip) != 2:
            raise StatisticsInputError("higher_is_positive as a tuple needs two entries (score_a, score_b), "
                                       f"got {hip!r}")
        return hip[0], hip[1]
    return hip, hip


def delong_test(y, score_a, score_b, *, higher_is_positive: bool | tuple[bool | None, bool | None] | None = None,
                level: float = 0.95) -> dict:
    """DeLong test of two correlated AUCs measured on the same subjects (DeLong et al. 1988, Biometrics 44:837).

    Parameters
    ----------
    y : array of 0/1
        Outcome; subjects missing the outcome or either score are dropped.
    score_a, score_b : array
        The two predictors in their own units.
    higher_is_positive : bool, None or (bool | None, bool | None)
        Direction of each score as in :func:`roc_analysis`; one value applies
        to both, a pair sets them separately (pROC keeps one direction per
        curve). None: pROC's ``"auto"`` rule, per score.
    level : float
        Confidence level of the interval for ``auc_a − auc_b``.

    Returns
    -------
    dict
        ``n``, ``n_pos``, ``n_neg``, ``auc_a``, ``auc_b``, ``diff``
        (``auc_a − auc_b``), ``se_diff``, ``diff_ci_low``, ``diff_ci_high``,
        ``z``, ``p`` (two-sided), ``method``, ``higher_is_positive_a``,
        ``higher_is_positive_b``, ``direction_a``, ``direction_b`` (pROC
        symbols), ``direction_source_a``, ``direction_source_b``, ``warning``.
        Degenerate cases: see the module notes (NaN or ±inf, never p = 1).

    Examples
    --------
    AUC 1 against AUC 0 on 5 + 5 subjects: zero variance, different AUCs.

    >>> r = delong_test([0] * 5 + [1] * 5, range(10), range(10, 0, -1), higher_is_positive=True)
    >>> r["auc_a"], r["auc_b"], r["z"], r["p"]
    (1.0, 0.0, inf, 0.0)
    """
    ha, hb = _two_directions(higher_is_positive)
    y, (a, b) = _complete(y, score_a, score_b)
    hip_a, src_a = _direction(y, a, ha)
    hip_b, src_b = _direction(y, b, hb)
    auc_a, v10a, v01a = _placements(y, a if hip_a else -a)
    auc_b, v10b, v01b = _placements(y, b if hip_b else -b)
    m, n = len(v10a), len(v01a)
    diff = auc_a - auc_b
    zq = z_quantile(level)
    d10, d01 = v10a - v10b, v01a - v01b
    warning = ""
    if min(m, n) < 2:
        se = z = p = float("nan")
        warning = f"only {min(m, n)} subject in one outcome class: the DeLong variance is undefined, z and p are NaN"
    elif np.ptp(d10) <= _EXACT and np.ptp(d01) <= _EXACT:
        se = 0.0
        if abs(diff) > _EXACT:
            z, p = float(np.copysign(np.inf, diff)), 0.0
            warning = "zero DeLong variance with different AUCs: z = ±inf, p = 0 (as pROC)"
        else:
            z = p = float("nan")
            warning = "zero DeLong variance and equal AUCs: the test is undefined (pROC reports Z = 0, p = 1)"
    else:
        se = float(np.sqrt(d10.var(ddof=1) / m + d01.var(ddof=1) / n))
        z = diff / se
        p = float(2.0 * stats.norm.sf(abs(z)))
    return {
        "n": int(m + n), "n_pos": int(m), "n_neg": int(n),
        "auc_a": auc_a, "auc_b": auc_b, "diff": float(diff), "se_diff": float(se),
        "diff_ci_low": float(diff - zq * se), "diff_ci_high": float(diff + zq * se),
        "z": float(z), "p": float(p),
        "method": "DeLong (1988) test for two correlated AUCs, two-sided",
        "higher_is_positive_a": hip_a, "higher_is_positive_b": hip_b,
        "direction_a": _pROC_symbol(hip_a), "direction_b": _pROC_symbol(hip_b),
        "direction_source_a": src_a, "direction_source_b": src_b,
        "warning": warning,
    }
