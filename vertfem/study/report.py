"""Study report: tables (CSV + Markdown), figures (PNG), one Markdown and one HTML page."""

from __future__ import annotations

import html
import os
from pathlib import Path

import pandas as pd

from .analyses import run_analyses
from .config import Study, load_cohort, load_study
from .runner import study_status
from .store import ResultStore
from .tasks import make_tasks

__all__ = ["write_report"]


def _md_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "_(no rows)_"
    d = df.copy()
    for c in d.columns:
        if pd.api.types.is_float_dtype(d[c]):
            d[c] = d[c].map(lambda v: f"{v:.4g}")
    head = "| " + " | ".join(map(str, d.columns)) + " |"
    sep = "| " + " | ".join("---" for _ in d.columns) + " |"
    body = ["| " + " | ".join(str(v) for v in r) + " |" for r in d.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def write_report(study: Study | str | Path) -> Path:
    """Run the study's analyses on its results table and write ``<output>/report/report.{md,html}``.

    Returns the Markdown report's path.
    """
    study = study if isinstance(study, Study) else load_study(study)
    out = study.output_dir / "report"
    figdir = out / "figures"
    out.mkdir(parents=True, exist_ok=True)
    store = ResultStore(study.output_dir)
    cohort = load_cohort(study)
    table = store.consolidate(cohort, study.columns, make_tasks(study, cohort))
    status = study_status(study)
    results = run_analyses(study, table, figdir)
    md = [f"# {study.name}", "", f"Results table: {len(table)} rows (`../results.csv`).", "", "## Tasks", "",
          _md_table(pd.DataFrame([{"measure": m, **c} for m, c in status.items()]))]
    fails = store.failures()
    if len(fails):
        md += ["", "### Failed tasks", "", _md_table(fails[["subject", "kernel", "vertebra", "measure", "error_type",
                                                             "error_message"]])]
    html_parts = [f"<h1>{html.escape(study.name)}</h1>", f"<p>Results table: {len(table)} rows.</p>",
                  "<h2>Tasks</h2>", pd.DataFrame([{"measure": m, **c} for m, c in status.items()]).to_html(index=False)]
    for r in results:
        r.table.to_csv(out / f"{r.label}.csv", index=False)
        (out / f"{r.label}.md").write_text(_md_table(r.table) + "\n")
        md += ["", f"## {r.label} ({r.type})", "", _md_table(r.table)]
        md += [f"", *[f"- {n}" for n in r.notes]] if r.notes else []
        md += ["", *[f"![{p.stem}]({os.path.relpath(p, out)})" for p in r.figures]]
        html_parts += [f"<h2>{html.escape(r.label)} ({r.type})</h2>", r.table.to_html(index=False, float_format="%.4g"),
                       *[f"<p>{html.escape(n)}</p>" for n in r.notes],
                       *[f'<img src="{os.path.relpath(p, out)}" style="max-width:48%">' for p in r.figures]]
    (out / "report.md").write_text("\n".join(md) + "\n")
    (out / "report.html").write_text("<!doctype html><meta charset='utf-8'><title>" + html.escape(study.name)
                                     + "</title><body style='font-family:sans-serif'>" + "\n".join(html_parts)
                                     + "</body>")
    return out / "report.md"
