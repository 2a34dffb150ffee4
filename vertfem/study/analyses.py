"""Analyses of a study's results table, each returning tables and figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import re

import numpy as np
import pandas as pd

from .. import stats
from .config import Analysis, Study
from . import figures

__all__ = ["AnalysisResult", "run_analyses"]

_ACR_ORDER = {"osteoporosis": 0, "osteopenia": 1, "normal": 2}


@dataclass
class AnalysisResult:
    """Output of one analysis: a table, figures and notes (e.g. what was skipped and why)."""

    label: str
    type: str
    table: pd.DataFrame
    figures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


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
        mapped = s.map(_ACR_ORDER)
        if mapped.notna().any():
            return mapped.astype(float)
    return pd.to_numeric(s, errors="coerce")


def _check(table: pd.DataFrame, cols) -> list[str]:
    return [c for c in cols if c not in table.columns]


def _fig(figdir: Path, *parts: str) -> Path:
    return figdir / ("_".join(re.sub(r"[^A-Za-z0-9.-]+", "-", p) for p in parts) + ".png")


def run_analysis(a: Analysis, table: pd.DataFrame, study: Study, figdir: Path) -> AnalysisResult:
    res = AnalysisResult(a.label, a.type, pd.DataFrame())
    missing = _check(table, [*a.measures, *(x for x in (a.x, a.outcome, a.by) if x), *a.covariates])
    if missing:
        res.notes.append(f"skipped: column(s) {missing} not in the results table")
        return res
    rows = []
    if a.type in ("paired", "bland_altman"):
        ka, kb = a.kernels
        for m in a.measures:
            w = _paired_frame(table, m, (ka, kb), a.by)
            if len(w) < 3 or ka not in w or kb not in w:
                res.notes.append(f"{m}: fewer than 3 subjects with both kernels")
                continue
            groups = [("all", w)] + ([(str(g), d) for g, d in w.groupby(a.by)] if a.by else [])
            for name, d in groups:
                if len(d) < 3:
                    continue
                fn = stats.paired_comparison if a.type == "paired" else stats.bland_altman
                r = fn(d[ka], d[kb])
                rows.append({"measure": m, "subgroup": name, "kernel_a": ka, "kernel_b": kb,
                             **{k: v for k, v in r.items() if not isinstance(v, tuple)}})
            plot = figures.paired_dots if a.type == "paired" else figures.bland_altman_plot
            res.figures.append(plot(w[ka].to_numpy(), w[kb].to_numpy(), m, ka, kb, _fig(figdir, a.label, m)))
    elif a.type in ("regression", "spearman"):
        for m in a.measures:
            series = []
            for k in _kernels(table, a):
                d = table[table["kernel"] == k]
                x, y = _numeric(d[a.x]), _numeric(d[m])
                ok = x.notna() & y.notna()
                if ok.sum() < 3:
                    continue
                fn: Callable[..., dict] = stats.linear_regression if a.type == "regression" else stats.spearman
                rows.append({"measure": m, "x": a.x, "kernel": k, **fn(x[ok], y[ok])})
                series.append((k, x[ok].to_numpy(), y[ok].to_numpy()))
            if series:
                res.figures.append(figures.scatter_fit(series, a.x, m, _fig(figdir, a.label, m),
                                                       fit=a.type == "regression"))
    elif a.type == "roc":
        for k in _kernels(table, a):
            d = table[table["kernel"] == k]
            curves = []
            for m in a.measures:
                y, s = _numeric(d[a.outcome]), _numeric(d[m])
                ok = y.notna() & s.notna()
                try:
                    r = stats.roc_analysis(y[ok], s[ok], higher_is_positive=a.higher_is_positive)
                except ValueError as exc:
                    res.notes.append(f"{m}, kernel {k}: {exc}")
                    continue
                rows.append({"kernel": k, "measure": m, **{q: v for q, v in r.items()
                                                          if q not in ("fpr", "tpr", "thresholds")}})
                curves.append((m, r["fpr"], r["tpr"], r["auc"]))
            if curves:
                res.figures.append(figures.roc_plot(curves, f"kernel {k}", _fig(figdir, a.label, k)))
    elif a.type == "delong":
        for k in _kernels(table, a):
            d = table[table["kernel"] == k]
            for m in a.measures[1:]:
                r = stats.delong_test(_numeric(d[a.outcome]), _numeric(d[a.measures[0]]), _numeric(d[m]),
                                      higher_is_positive=a.higher_is_positive)
                rows.append({"kernel": k, "measure_a": a.measures[0], "measure_b": m, **r})
    elif a.type == "odds_ratios":
        for k in _kernels(table, a):
            d = table[table["kernel"] == k]
            t = stats.odds_ratios(d, a.outcome, a.measures, a.covariates)
            rows.extend({"kernel": k, **r} for r in t.to_dict("records"))
    elif a.type == "conditional_logistic":
        grp = study.columns.matched_set
        for k in _kernels(table, a):
            d = table[table["kernel"] == k]
            for m in a.measures:
                rows.append({"kernel": k, **stats.conditional_odds_ratio(d, a.outcome, m, grp, a.covariates)})
    elif a.type == "precision":
        for k in _kernels(table, a):
            d = table[table["kernel"] == k]
            for m in a.measures:
                w = d.pivot_table(index=["subject", "vertebra"], columns="scan", values=m, aggfunc="mean").dropna()
                if w.shape[1] < 2 or len(w) < 2:
                    res.notes.append(f"{m}, kernel {k}: needs ≥ 2 subjects with ≥ 2 scans")
                    continue
                rows.append({"kernel": k, "measure": m, **stats.precision(w.to_numpy()).as_dict()})
    elif a.type == "radiomics":
        for k in _kernels(table, a):
            d = table[table["kernel"] == k]
            cols = [c for c in d.columns if c.startswith(a.feature_prefix) and c not in ("subject", "kernel")
                    and pd.api.types.is_numeric_dtype(d[c])] if not a.measures else a.measures
            d = d.dropna(subset=[a.outcome])
            model = stats.fit_radiomics_model(d[cols], d[a.outcome].astype(int), n_mrmr=a.n_mrmr,
                                              test_size=a.test_size, seed=a.seed)
            rows.append({"kernel": k, "n_features_in": len(cols), "n_selected": len(model.features),
                         "auc_train": model.auc_train["auc"], "auc_test": model.auc_test["auc"],
                         "auc_test_ci_low": model.auc_test["auc_ci_low"],
                         "auc_test_ci_high": model.auc_test["auc_ci_high"],
                         "radscore": " + ".join(f"{v:+.4g}·{f}" for f, v in model.coefficients.items())})
            res.figures.append(figures.radiomics_plots(model, f"kernel {k}", _fig(figdir, a.label, k)))
    res.table = pd.DataFrame(rows)
    return res


def run_analyses(study: Study, table: pd.DataFrame, figdir: Path) -> list[AnalysisResult]:
    """Every analysis of the study; one that fails is reported with its error, the others still run."""
    figdir.mkdir(parents=True, exist_ok=True)
    out = []
    for a in study.analyses:
        try:
            out.append(run_analysis(a, table, study, figdir))
        except (ValueError, KeyError, np.linalg.LinAlgError) as exc:
            out.append(AnalysisResult(a.label, a.type, pd.DataFrame(), notes=[f"failed: {type(exc).__name__}: {exc}"]))
    return out
