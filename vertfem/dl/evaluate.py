"""The paper's evaluation (Yoshida et al. 2023) through :mod:`vertfem.stats`: Pearson r, paired t-test and
Bland–Altman per vertebra and per patient (mean of the patient's vertebrae), ROC with DeLong CIs and Youden
cut-offs for osteopenia, osteoporosis and TBS impairment, and sensitivity, specificity, PPV, NPV, false-positive
and false-negative rates and accuracy at the cut-off."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import StatisticsInputError
from ..stats import bland_altman, linear_regression, paired_comparison, roc_analysis
from .options import EvalOptions

__all__ = ["agreement", "diagnostic_metrics", "evaluate", "patient_level"]


def diagnostic_metrics(y: Sequence[int], score: Sequence[float], cutoff: float, *,
                       higher_is_positive: bool) -> dict[str, float]:
    """Confusion-matrix rates of ``score ≥ cutoff`` (``≤`` when low is positive) against the 0/1 outcome ``y``.

    Examples
    --------
    >>> m = diagnostic_metrics([1, 1, 0, 0, 0], [0.2, 0.6, 0.5, 0.9, 0.8], 0.6, higher_is_positive=False)
    >>> m["sensitivity"], m["specificity"], round(m["ppv"], 3), m["npv"], m["accuracy"]
    (1.0, 0.6666666666666666, 0.667, 1.0, 0.8)
    """
    yy = np.asarray(y, dtype=int)
    s = np.asarray(score, dtype=float)
    pos = s >= cutoff if higher_is_positive else s <= cutoff
    tp, fp = int((pos & (yy == 1)).sum()), int((pos & (yy == 0)).sum())
    fn, tn = int((~pos & (yy == 1)).sum()), int((~pos & (yy == 0)).sum())

    def ratio(a: int, b: int) -> float:
        return a / b if b else float("nan")

    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "sensitivity": ratio(tp, tp + fn),
            "specificity": ratio(tn, tn + fp), "ppv": ratio(tp, tp + fp), "npv": ratio(tn, tn + fn),
            "fpr": ratio(fp, fp + tn), "fnr": ratio(fn, fn + tp), "accuracy": ratio(tp + tn, len(yy))}


def agreement(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Pearson r (p), paired t-test of prediction − truth, and Bland–Altman bias and limits."""
    ok = np.isfinite(truth) & np.isfinite(pred)
    t, p = truth[ok], pred[ok]
    if len(t) < 3:
        return {"n": len(t)}
    lr, pc, ba = linear_regression(t, p), paired_comparison(t, p), bland_altman(t, p)
    return {"n": len(t), "mean_truth": float(t.mean()), "mean_pred": float(p.mean()),
            "pearson_r": lr["r"], "pearson_p": lr["p"], "mean_diff": pc["mean_diff"], "p_paired_t": pc["p_ttest"],
            "ba_bias": ba["bias"], "ba_loa_low": ba["loa_low"], "ba_loa_high": ba["loa_high"]}


def patient_level(table: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Mean of each column over a patient's vertebrae (the paper's patient-based values)."""
    return table.groupby("patient", sort=True)[list(columns)].mean().reset_index()


def _roc(name: str, y: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    ok = np.isfinite(y) & np.isfinite(score)
    try:
        r = roc_analysis(y[ok], score[ok], higher_is_positive=False)
    except StatisticsInputError as exc:
        return {"outcome": name, "n": int(ok.sum()), "n_pos": int(np.nansum(y[ok])), "note": str(exc)}
    m = diagnostic_metrics(y[ok].astype(int), score[ok], r["cutoff"], higher_is_positive=False)
    return {"outcome": name, "n": r["n"], "n_pos": r["n_pos"], "auc": r["auc"], "auc_ci_low": r["auc_ci_low"],
            "auc_ci_high": r["auc_ci_high"], "cutoff": r["cutoff"], **m, "fpr_curve": r["fpr"],
            "tpr_curve": r["tpr"]}


def evaluate(table: pd.DataFrame, options: EvalOptions | None = None) -> dict[str, Any]:
    """Evaluate predictions ``pred_<t>`` against ``<t>`` (t = bmd, tbs) per vertebra and per patient.

    ``table`` has one row per vertebra with ``patient``, the targets, the predictions and optionally
    ``yam_percent``. Patient-level classes: %YAM (the column, else 100 · BMD / ``yam_reference_g_cm2``) below
    80 % osteopenia and 70 % osteoporosis, TBS ≤ 1.31 impairment; a low prediction predicts the class.

    Returns
    -------
    dict
        ``vertebra`` and ``patient``: per target the :func:`agreement` values; ``roc``: one entry per class.
    """
    opts = options or EvalOptions()
    targets = [t for t in ("bmd", "tbs") if f"pred_{t}" in table and t in table]
    out: dict[str, Any] = {"vertebra": {}, "patient": {}, "roc": []}
    for t in targets:
        out["vertebra"][t] = agreement(table[t].to_numpy(float), table[f"pred_{t}"].to_numpy(float))
    cols = [c for t in targets for c in (t, f"pred_{t}")] + (["yam_percent"] if "yam_percent" in table else [])
    pt = patient_level(table, cols)
    for t in targets:
        out["patient"][t] = agreement(pt[t].to_numpy(float), pt[f"pred_{t}"].to_numpy(float))
    if "bmd" in targets:
        yam = pt["yam_percent"].to_numpy(float) if "yam_percent" in pt else (
            100.0 * pt["bmd"].to_numpy(float) / opts.yam_reference_g_cm2 if opts.yam_reference_g_cm2 else None)
        if yam is not None:
            for name, below in (("osteopenia", opts.osteopenia_yam_below), ("osteoporosis",
                                                                           opts.osteoporosis_yam_below)):
                y = np.where(np.isfinite(yam), (yam < below).astype(float), np.nan)
                out["roc"].append(_roc(f"{name} (%YAM < {below:g})", y, pt["pred_bmd"].to_numpy(float)))
    if "tbs" in targets:
        tb = pt["tbs"].to_numpy(float)
        y = np.where(np.isfinite(tb), (tb <= opts.tbs_impaired_max).astype(float), np.nan)
        out["roc"].append(_roc(f"TBS impairment (TBS ≤ {opts.tbs_impaired_max:g})", y,
                               pt["pred_tbs"].to_numpy(float)))
    out["patient_table"] = pt
    return out
