"""Analyses of a study's results table, each returning a table, figures and notes.

Every row of every table carries ``n`` (the subjects of that model), a
``method`` (how it was computed, in the words of :mod:`vertfem.stats`) and a
``warning`` column: the statistics' own warnings (degenerate variance,
separation, non-convergence, few events per variable), the
:class:`~vertfem.errors.StatisticsWarning` raised while fitting, and the
report's small-n checks — fewer subjects than ``report.small_n``, a
confidence interval of zero width, an exact p-value at the smallest value
its n allows. A warning never stops the report.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import stats
from ..errors import StatisticsWarning
from . import figures
from .config import Analysis, Study

__all__ = ["AnalysisResult", "run_analyses", "small_n_warnings"]


@dataclass
class AnalysisResult:
    """Output of one analysis: a table (one row per model/comparison), figures and notes (what was skipped, why)."""

    label: str
    type: str
    table: pd.DataFrame
    figures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    analysis: Analysis | None = None


def _paired_frame(table: pd.DataFrame, measure: str, kernels, by: str | None) -> pd.DataFrame:
    keys = ["subject", "vertebra"] + ([by] if by else [])
    sub = table[table["kernel"].isin(kernels)]
    wide = sub.pivot_table(index=keys, columns="kernel", values=measure, aggfunc="mean")
    return wide.dropna().reset_index()


def _kernels(table: pd.DataFrame, a: Analysis) -> list[str]:
    return [a.kernel] if a.kernel else sorted(table["kernel"].unique())


def _numeric(s: pd.Series) -> pd.Series:
    """Numbers as they are; ACR class names as their order (osteoporosis 0 < osteopenia 1 < normal 2)."""
    if not pd.api.types.is_numeric_dtype(s):
        mapped = s.map(figures.ACR_ORDER)
        if mapped.notna().any():
            return mapped.astype(float)
    return pd.to_numeric(s, errors="coerce")


def _fig(figdir: Path, *parts: str) -> Path:
    return figdir / ("_".join(re.sub(r"[^A-Za-z0-9.-]+", "-", p) for p in parts) + ".png")


#: (estimate, CI low, CI high) columns of the statistics' rows.
_INTERVALS = (("auc", "auc_ci_low", "auc_ci_high"), ("mean_diff", "diff_ci_low", "diff_ci_high"),
              ("mean_pct_diff", "pct_ci_low", "pct_ci_high"), ("diff", "diff_ci_low", "diff_ci_high"),
              ("bias", "bias_ci_low", "bias_ci_high"), ("slope", "slope_ci_low", "slope_ci_high"),
              ("odds_ratio_per_sd", "or_ci_low", "or_ci_high"), ("icc", "icc_ci_low", "icc_ci_high"))


def small_n_warnings(row: dict[str, Any], small_n: int) -> list[str]:
    """What makes a statistic unreliable at this n: few subjects, a zero-width CI, an exact p at its floor.

    Examples
    --------
    >>> small_n_warnings({"n": 5, "auc": 1.0, "auc_ci_low": 1.0, "auc_ci_high": 1.0}, 10)
    ['n = 5 < 10: estimates and intervals are unreliable', 'auc: confidence interval of zero width [1, 1]']
    >>> small_n_warnings({"n": 5, "wilcoxon_n_nonzero": 5, "p_wilcoxon": 0.0625,
    ...                   "wilcoxon_method": "... exact p"}, 3)
    ['Wilcoxon p = 0.0625 is the smallest exact p with 5 non-zero differences: it cannot show more']
    """
    out = []
    n = row.get("n", row.get("n_subjects"))
    if isinstance(n, (int, np.integer)) and n < small_n:
        out.append(f"n = {n} < {small_n}: estimates and intervals are unreliable")
    for key, lo_key, hi_key in _INTERVALS:
        lo, hi = row.get(lo_key), row.get(hi_key)
        if key in row and isinstance(lo, float) and isinstance(hi, float) and np.isfinite(lo) and lo == hi:
            out.append(f"{key}: confidence interval of zero width [{lo:.3g}, {hi:.3g}]")
    m = row.get("wilcoxon_n_nonzero")
    p = row.get("p_wilcoxon")
    if m and p is not None and str(row.get("wilcoxon_method", "")).endswith("exact p"):
        floor = 2.0 / 2.0**m
        if np.isfinite(p) and abs(p - floor) <= 1e-12:
            out.append(f"Wilcoxon p = {p:.3g} is the smallest exact p with {m} non-zero differences: "
                       "it cannot show more")
    return out


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """Run a statistic, collecting its StatisticsWarnings as text (the report shows them; it never fails on them)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StatisticsWarning)
        out = fn(*args, **kwargs)
    return out, [str(w.message) for w in caught if issubclass(w.category, StatisticsWarning)]


def _finish(row: dict[str, Any], caught: list[str], small_n: int, method: str | None = None) -> dict[str, Any]:
    """Join the row's own warning, the caught ones and the small-n checks into one ``warning`` column."""
    own = [w for w in str(row.get("warning", "") or "").split("; ") if w]
    # a StatisticsWarning repeats the row's own warning with a prefix naming the call: keep the row's words once
    extra = [c for c in caught if not any(w in c for w in own)]
    notes = list(dict.fromkeys([*own, *extra, *small_n_warnings(row, small_n)]))
    out = {k: v for k, v in row.items() if not isinstance(v, np.ndarray)}
    if method is not None:
        out["method"] = method
    out["warning"] = "; ".join(notes)
    return out


def _paired(a: Analysis, table: pd.DataFrame, study: Study, figdir: Path, res: AnalysisResult) -> list[dict]:
    rows: list[dict] = []
    if a.kernels is None:  # the config requires kernels for paired analyses
        return rows
    ka, kb = a.kernels
    dpi, small = study.report.figure_dpi, study.report.small_n
    for m in a.measures:
        w = _paired_frame(table, m, (ka, kb), a.by)
        if ka not in w or kb not in w or len(w) < 3:
            res.notes.append(f"{m}: {len(w) if ka in w and kb in w else 0} subjects with both {ka} and {kb} "
                             "(at least 3 needed)")
            continue
        groups = [("all", w)] + ([(str(g), d) for g, d in w.groupby(a.by)] if a.by else [])
        for name, d in groups:
            if len(d) < 3:
                res.notes.append(f"{m}, subgroup {name}: {len(d)} subjects, at least 3 needed")
                continue
            if a.type == "paired":
                r, caught = _call(stats.paired_comparison, d[ka], d[kb])
                method = f"paired t-test; {r['wilcoxon_method']}"
            else:
                r, caught = _call(stats.bland_altman, d[ka], d[kb])
                method = f"Bland–Altman, limits bias ± {r['loa_multiplier']:g} SD; CIs: {r['loa_ci_method']}"
            rows.append(_finish({"measure": m, "subgroup": name, "kernel_a": ka, "kernel_b": kb,
                                 **{k: v for k, v in r.items() if not isinstance(v, tuple)}}, caught, small, method))
        plot = figures.paired_dots if a.type == "paired" else figures.bland_altman_plot
        res.figures.append(plot(w[ka].to_numpy(), w[kb].to_numpy(), m, ka, kb, _fig(figdir, a.label, m), dpi=dpi))
    return rows


def _correlation(a: Analysis, table: pd.DataFrame, study: Study, figdir: Path, res: AnalysisResult) -> list[dict]:
    rows: list[dict] = []
    if a.x is None:  # the config requires x for regression and Spearman
        return rows
    for m in a.measures:
        series = []
        for k in _kernels(table, a):
            d = table[table["kernel"] == k]
            x, y = _numeric(d[a.x]), _numeric(d[m])
            ok = x.notna() & y.notna()
            if ok.sum() < 3:
                res.notes.append(f"{m}, kernel {k}: {int(ok.sum())} complete subjects, at least 3 needed")
                continue
            if a.type == "regression":
                r, caught = _call(stats.linear_regression, x[ok], y[ok])
                method = "ordinary least squares; t-based CI of the slope"
            else:
                r, caught = _call(stats.spearman, x[ok], y[ok])
                method = r["method"]
            rows.append(_finish({"measure": m, "x": a.x, "kernel": k, **r}, caught, study.report.small_n, method))
            series.append((k, x[ok].to_numpy(), y[ok].to_numpy()))
        if series:
            res.figures.append(figures.scatter_fit(series, a.x, m, _fig(figdir, a.label, m),
                                                   fit=a.type == "regression", dpi=study.report.figure_dpi))
    return rows


def _roc(a: Analysis, table: pd.DataFrame, study: Study, figdir: Path, res: AnalysisResult) -> list[dict]:
    rows: list[dict] = []
    for k in _kernels(table, a):
        d = table[table["kernel"] == k]
        curves = []
        for m in a.measures:
            y, s = _numeric(d[a.outcome]), _numeric(d[m])
            ok = y.notna() & s.notna()
            try:
                r, caught = _call(stats.roc_analysis, y[ok], s[ok], higher_is_positive=a.higher_is_positive)
            except ValueError as exc:
                res.notes.append(f"{m}, kernel {k}: {exc}")
                continue
            row = {"kernel": k, "measure": m, **{q: v for q, v in r.items() if q not in ("fpr", "tpr", "thresholds")}}
            row["cutoffs"] = "; ".join(f"{c:.6g}" for c in r["cutoffs"])  # every tied Youden cut-off
            rows.append(_finish(row, caught, study.report.small_n))
            curves.append((m, r["fpr"], r["tpr"], r["auc"]))
        if curves:
            res.figures.append(figures.roc_plot(curves, f"kernel {k}", _fig(figdir, a.label, k),
                                                dpi=study.report.figure_dpi))
    return rows


def run_analysis(a: Analysis, table: pd.DataFrame, study: Study, figdir: Path) -> AnalysisResult:
    """One analysis of the results table (columns missing from it are a note, not an error)."""
    res = AnalysisResult(a.label, a.type, pd.DataFrame(), analysis=a)
    needed = [*a.measures, *(x for x in (a.x, a.outcome, a.by) if x), *a.covariates]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        res.notes.append(f"skipped: column(s) {missing} not in the results table")
        return res
    small = study.report.small_n
    rows: list[dict] = []
    if a.type in ("paired", "bland_altman"):
        rows = _paired(a, table, study, figdir, res)
    elif a.type in ("regression", "spearman"):
        rows = _correlation(a, table, study, figdir, res)
    elif a.type == "roc":
        rows = _roc(a, table, study, figdir, res)
    elif a.type == "delong":
        for k in _kernels(table, a):
            d = table[table["kernel"] == k]
            for m in a.measures[1:]:
                r, caught = _call(stats.delong_test, _numeric(d[a.outcome]), _numeric(d[a.measures[0]]),
                                  _numeric(d[m]), higher_is_positive=a.higher_is_positive)
                rows.append(_finish({"kernel": k, "measure_a": a.measures[0], "measure_b": m, **r}, caught, small))
    elif a.type == "odds_ratios":
        for k in _kernels(table, a):
            d = table[table["kernel"] == k]
            t, _ = _call(stats.odds_ratios, d, a.outcome, a.measures, a.covariates, method=a.method)
            # each row carries its own model's warning; the warnings raised name every model of the call
            rows.extend(_finish({"kernel": k, **r}, [], small,
                                f"{r['method']}; {r['ci_method']} CI; {r['sample']}") for r in t.to_dict("records"))
    elif a.type == "conditional_logistic":
        grp = study.columns.matched_set
        for k in _kernels(table, a):
            d = table[table["kernel"] == k]
            for m in a.measures:
                r, caught = _call(stats.conditional_odds_ratio, d, a.outcome, m, grp, a.covariates)
                rows.append(_finish({"kernel": k, **r}, caught, small, f"{r['method']}; {r['ci_method']} CI"))
    elif a.type == "precision":
        for k in _kernels(table, a):
            d = table[table["kernel"] == k]
            for m in a.measures:
                w = d.pivot_table(index=["subject", "vertebra"], columns="scan", values=m, aggfunc="mean").dropna()
                if w.shape[1] < 2 or len(w) < 2:
                    res.notes.append(f"{m}, kernel {k}: needs ≥ 2 subjects with ≥ 2 scans")
                    continue
                p, caught = _call(stats.precision, w.to_numpy())
                rows.append(_finish({"kernel": k, "measure": m, "n": p.n_subjects, **p.as_dict()}, caught, small,
                                    "RMS-SD and RMS-CV over subjects; LSC = 2.77 × RMS-SD; ICC(2,1) two-way random, "
                                    "absolute agreement, CI as psych::ICC"))
    elif a.type == "radiomics":
        for k in _kernels(table, a):
            rows.append(_radiomics(a, table[table["kernel"] == k], k, study, figdir, res))
    res.table = pd.DataFrame(rows)
    return res


def _radiomics(a: Analysis, d: pd.DataFrame, k: str, study: Study, figdir: Path, res: AnalysisResult) -> dict:
    cols = [c for c in d.columns if c.startswith(a.feature_prefix) and c not in ("subject", "kernel")
            and pd.api.types.is_numeric_dtype(d[c])] if not a.measures else a.measures
    d = d.dropna(subset=[a.outcome])
    model, caught = _call(stats.fit_radiomics_model, d[cols], d[a.outcome].astype(int), n_mrmr=a.n_mrmr,
                          test_size=a.test_size, seed=a.seed)
    res.figures.append(figures.radiomics_plots(model, f"kernel {k}", _fig(figdir, a.label, k),
                                               dpi=study.report.figure_dpi))
    row = {"kernel": k, "n": len(d), "n_features_in": len(cols), "n_selected": len(model.features),
           "auc_train": model.auc_train["auc"], "auc": model.auc_test["auc"],
           "auc_ci_low": model.auc_test["auc_ci_low"], "auc_ci_high": model.auc_test["auc_ci_high"],
           "radscore": " + ".join(f"{v:+.4g}·{f}" for f, v in model.coefficients.items())}
    return _finish(row, caught, study.report.small_n,
                   f"mRMR ({a.n_mrmr}) then LASSO logistic regression; {a.test_size:.0%} held out (seed {a.seed}); "
                   "AUC with DeLong CI on the test set")


def run_analyses(study: Study, table: pd.DataFrame, figdir: Path) -> list[AnalysisResult]:
    """Every analysis of the study; one that fails is reported with its error, the others still run."""
    figdir.mkdir(parents=True, exist_ok=True)
    out = []
    for a in study.analyses:
        try:
            out.append(run_analysis(a, table, study, figdir))
        except (ValueError, KeyError, np.linalg.LinAlgError) as exc:
            out.append(AnalysisResult(a.label, a.type, pd.DataFrame(), notes=[f"failed: {type(exc).__name__}: {exc}"],
                                      analysis=a))
    return out
