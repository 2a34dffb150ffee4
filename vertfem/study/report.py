"""The study report: one self-contained HTML file, plus each table as CSV and each figure as PNG beside it.

``report/report.html`` embeds everything it shows (figures and QC images as
data URIs, each table also as a CSV download), so it can be mailed to a
reviewer or attached to a submission as it is. Its sections: summary (tasks,
warnings), Methods (generated from the settings and versions,
:mod:`vertfem.study.methods`), results per analysis (method, n, flags and
warnings in every table; figures at ``report.figure_dpi``), QC images,
provenance and failed tasks. Tables wrap their text and scroll inside their
own box when a window is narrower than they are, so the page never does; a
print style sheet makes the browser's "Print → PDF" a usable PDF.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import math
import numbers
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from .analyses import AnalysisResult, run_analyses
from .config import Study, load_cohort, load_study
from .figures import column_label
from .methods import methods_paragraphs, provenance
from .qc import qc_images
from .runner import study_status
from .store import ResultStore
from .tasks import make_tasks

__all__ = ["write_report"]

_CSS = """
:root { --fg:#1d2329; --muted:#5b6670; --line:#d8dde2; --warn:#8a5a00; --warnbg:#fff6e0; --bad:#a4161a; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); margin: 0; }
main { max-width: 1140px; margin: 0 auto; padding: 16px 20px 40px; }
h1 { font-size: 1.6rem; margin: .4em 0 .1em; } h2 { font-size: 1.3rem; border-bottom: 2px solid var(--line);
  padding-bottom: .2em; margin-top: 1.8em; } h3 { font-size: 1.08rem; margin: 1.4em 0 .4em; }
p, li { max-width: 80ch; } .muted { color: var(--muted); font-size: .9rem; }
nav ul { display: flex; flex-wrap: wrap; gap: .3em 1.2em; padding: 0; list-style: none; }
.tbl { overflow-x: auto; max-width: 100%; margin: .4em 0 .6em; }
table { border-collapse: collapse; font-size: .83rem; }
th, td { padding: 3px 7px; border-bottom: 1px solid var(--line); vertical-align: top; text-align: left; }
th { background: #f3f5f7; font-weight: 600; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.ci { white-space: normal; min-width: 6.5em; }
td.text { min-width: 6em; max-width: 26em; overflow-wrap: anywhere; }
td.warn { color: var(--warn); background: var(--warnbg); min-width: 10em; max-width: 20em; font-size: .95em; }
.note { color: var(--warn); background: var(--warnbg); padding: .3em .6em; border-radius: 4px; }
.bad { color: var(--bad); }
.figs { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 14px; }
figure { margin: 0; } img { max-width: 100%; height: auto; display: block; }
figcaption { font-size: .8rem; color: var(--muted); overflow-wrap: anywhere; }
.qc figure { margin-bottom: 14px; } details > summary { cursor: pointer; font-weight: 600; }
code { font-size: .85em; overflow-wrap: anywhere; } ol.fn { font-size: .8rem; color: var(--muted); }
.methods p { text-align: justify; }
@media print { nav, .dl { display: none; } .tbl { overflow: visible; } table { font-size: 7.5pt; }
  h2 { break-after: avoid; } figure, tr { break-inside: avoid; } details { display: block; } }
"""


# ------------------------------------------------------------------------------------------------ formatting


def _num(v: Any) -> str:
    """A number for a table: 4 significant digits, scientific when very large or small, – for NaN."""
    if v is None:
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        x = float(v)
        if math.isnan(x):
            return "–"
        if math.isinf(x):
            return "∞" if x > 0 else "−∞"
        if x != 0 and (abs(x) >= 1e6 or abs(x) < 1e-3):
            return f"{x:.3e}"
        return f"{x:.0f}" if abs(x) >= 1000 else f"{x:.4g}"
    return str(v)


def _p(v: Any) -> str:
    """A p-value: three decimals, scientific below 0.001."""
    if not isinstance(v, numbers.Real) or math.isnan(float(v)):
        return "–"
    return f"{float(v):.2e}" if v < 1e-3 else f"{float(v):.3f}"


def _ci(est: str, lo_key: str, hi_key: str, fmt: Callable[[Any], str] = _num) -> Callable[[dict], str]:
    """Estimate and interval; a narrow table breaks the line only before the bracket."""
    return lambda r: f"{fmt(r.get(est))} [{fmt(r.get(lo_key))},\u00a0{fmt(r.get(hi_key))}]"


def _get(key: str, fmt: Callable[[Any], str] = _num) -> Callable[[dict], str]:
    return lambda r: fmt(r.get(key))


def _label(key: str) -> Callable[[dict], str]:
    return lambda r: column_label(str(r.get(key)))


Column = tuple[str, Callable[[dict], str], str]  # header, cell, kind ("num"/"text")

_SPECS: dict[str, list[Column]] = {
    "regression": [("y", _label("measure"), "text"), ("x", _label("x"), "text"), ("kernel", _get("kernel"), "text"),
                   ("n", _get("n"), "num"),
                   ("slope [95 % CI]", _ci("slope", "slope_ci_low", "slope_ci_high"), "num ci"),
                   ("intercept", _get("intercept"), "num"), ("r²", _get("r2"), "num"), ("p", _get("p", _p), "num")],
    "spearman": [("measure", _label("measure"), "text"), ("against", _label("x"), "text"),
                 ("kernel", _get("kernel"), "text"), ("n", _get("n"), "num"), ("ρ", _get("rho"), "num"),
                 ("S", _get("S"), "num"), ("p", _get("p", _p), "num")],
    "roc": [("kernel", _get("kernel"), "text"), ("measure", _label("measure"), "text"),
            ("n (events)", lambda r: f"{_num(r.get('n'))} ({_num(r.get('n_pos'))})", "num"),
            ("AUC [95 % CI]", _ci("auc", "auc_ci_low", "auc_ci_high"), "num ci"),
            ("event when", lambda r: "higher" if r.get("higher_is_positive") else "lower", "text"),
            ("Youden cut-off(s)", lambda r: ", ".join(_num(float(c)) for c in str(r.get("cutoffs", "")).split(";")
                                                      if c.strip()), "num"), ("sens.", _get("sensitivity"), "num"),
            ("spec.", _get("specificity"), "num")],
    "delong": [("kernel", _get("kernel"), "text"),
               ("AUC A vs B", lambda r: f"{column_label(r['measure_a'])} vs {column_label(r['measure_b'])}", "text"),
               ("n (events)", lambda r: f"{_num(r.get('n'))} ({_num(r.get('n_pos'))})", "num"),
               ("AUC A", _get("auc_a"), "num"), ("AUC B", _get("auc_b"), "num"),
               ("A − B [95 % CI]", _ci("diff", "diff_ci_low", "diff_ci_high"), "num ci"), ("z", _get("z"), "num"),
               ("p", _get("p", _p), "num")],
    "odds_ratios": [("kernel", _get("kernel"), "text"), ("predictor", _label("predictor"), "text"),
                    ("model", _get("model"), "text"),
                    ("n (events)", lambda r: f"{_num(r.get('n'))} ({_num(r.get('n_events'))})", "num"),
                    ("OR per SD [95 % CI]", _ci("odds_ratio_per_sd", "or_ci_low", "or_ci_high"), "num ci"),
                    ("SD", _get("predictor_sd"), "num"), ("p", _get("p", _p), "num"),
                    ("converged", _get("converged"), "text"), ("separation", _get("separation"), "text"),
                    ("EPV", _get("epv"), "num")],
    "precision": [("kernel", _get("kernel"), "text"), ("measure", _label("measure"), "text"),
                  ("subjects × scans", lambda r: f"{r.get('n_subjects')} × {r.get('n_repeats')}", "num"),
                  ("RMS-SD", _get("rms_sd"), "num"), ("RMS-CV %", _get("rms_cv_pct"), "num"),
                  ("LSC", _get("lsc"), "num"),
                  ("ICC(2,1) [95 % CI]", _ci("icc", "icc_ci_low", "icc_ci_high"), "num ci")],
    "radiomics": [("kernel", _get("kernel"), "text"), ("n", _get("n"), "num"),
                  ("features in → kept", lambda r: f"{r.get('n_features_in')} → {r.get('n_selected')}", "num"),
                  ("AUC train", _get("auc_train"), "num"),
                  ("AUC test [95 % CI]", _ci("auc", "auc_ci_low", "auc_ci_high"), "num ci"),
                  ("radscore", _get("radscore"), "text")],
}
def _kernel_specs(kind: str, ka: str, kb: str, by: bool) -> list[Column]:
    """Paired and Bland–Altman columns, headed by the kernels' names (B = the second kernel, A = the first)."""
    head: list[Column] = [("measure", _label("measure"), "text")]
    head += [("subgroup", _get("subgroup"), "text")] if by else []
    head += [("n", _get("n"), "num")]
    if kind == "paired":
        return [
            *head, (f"mean {ka}", _get("mean_a"), "num"), (f"mean {kb}", _get("mean_b"), "num"),
            (f"{kb} − {ka} [95 % CI]", _ci("mean_diff", "diff_ci_low", "diff_ci_high"), "num ci"),
            ("% difference [95 % CI]", _ci("mean_pct_diff", "pct_ci_low", "pct_ci_high"), "num ci"),
            ("p t-test", _get("p_ttest", _p), "num"), ("p Wilcoxon", _get("p_wilcoxon", _p), "num")]
    return [
        *head, (f"bias {kb} − {ka} [95 % CI]", _ci("bias", "bias_ci_low", "bias_ci_high"), "num ci"),
        ("lower LoA [95 % CI]", _ci("loa_low", "loa_low_ci_low", "loa_low_ci_high"), "num ci"),
        ("upper LoA [95 % CI]", _ci("loa_high", "loa_high_ci_low", "loa_high_ci_high"), "num ci"),
        ("prop. bias slope (p)", lambda r: f"{_num(r.get('prop_bias_slope'))} ({_p(r.get('prop_bias_p'))})", "num")]


_SPECS["conditional_logistic"] = [*_SPECS["odds_ratios"][:2],
                                  ("sets (uninformative)", lambda r: f"{r.get('n_sets')} "
                                                                     f"({r.get('n_uninformative_sets')})", "num"),
                                  *_SPECS["odds_ratios"][3:]]


def _cell(text: str, kind: str) -> str:
    return f'<td class="{kind}">{html.escape(text)}</td>'


def _table(rows: list[dict], columns: list[Column], *, methods: bool = True) -> str:
    """An HTML table of the given columns; methods as numbered footnotes, warnings in their own column."""
    notes: dict[str, int] = {}
    head = "".join(f"<th>{html.escape(h)}</th>" for h, _, _ in columns)
    head += ("<th>method</th>" if methods else "") + "<th>warnings</th>"
    body = []
    for r in rows:
        cells = [_cell(fn(r), kind) for _, fn, kind in columns]
        if methods:
            m = str(r.get("method", "") or "")
            n = notes.setdefault(m, len(notes) + 1) if m else None
            cells.append(f'<td class="num">{f"[{n}]" if n else "–"}</td>')
        w = str(r.get("warning", "") or "")
        cells.append(f'<td class="warn">{html.escape(w)}</td>' if w else '<td class="text">–</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    out = f'<div class="tbl"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
    if notes:
        out += '<ol class="fn">' + "".join(f"<li>{html.escape(m)}</li>" for m in notes) + "</ol>"
    return out


def _plain_table(df: pd.DataFrame) -> str:
    """A small table of any frame (text cells wrap, numbers right-aligned)."""
    if df.empty:
        return "<p class='muted'>(none)</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(_cell(_num(v), "num" if isinstance(v, (int, float)) else "text") for v in row)
                   + "</tr>" for row in df.itertuples(index=False))
    return f'<div class="tbl"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _data_uri(path: Path) -> str:
    mime = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}[path.suffix.lower()]
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def _download(df: pd.DataFrame, name: str) -> str:
    b64 = base64.b64encode(df.to_csv(index=False).encode()).decode()
    return (f'<a class="dl" download="{html.escape(name)}" href="data:text/csv;base64,{b64}">'
            f"{html.escape(name)}</a>")


def _figure(path: Path, caption: str) -> str:
    return (f'<figure><img src="{_data_uri(path)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


# ------------------------------------------------------------------------------------------------ sections


def _analysis_section(r: AnalysisResult, out: Path) -> str:
    parts = [f'<h3 id="a-{html.escape(r.label)}">{html.escape(r.label)} <span class="muted">({r.type})</span></h3>']
    parts += [f'<p class="note">{html.escape(n)}</p>' for n in r.notes]
    if not r.table.empty:
        rows = r.table.to_dict("records")
        a = r.analysis
        if r.type in ("paired", "bland_altman") and a is not None and a.kernels is not None:
            spec = _kernel_specs(r.type, *a.kernels, by=a.by is not None)
        else:
            spec = _SPECS.get(r.type) or [(c, _get(c), "text") for c in r.table.columns
                                          if c not in ("method", "warning")]
        parts.append(_table(rows, spec))
        csv = out / f"{r.label}.csv"
        parts.append(f'<p class="muted">all columns: {_download(r.table, csv.name)} (also {csv.name} beside '
                     "this report)</p>")
    if r.figures:
        parts.append('<div class="figs">' + "".join(_figure(p, p.stem.replace("_", " ")) for p in r.figures)
                     + "</div>")
    return "\n".join(parts)


def _warnings_summary(results: list[AnalysisResult]) -> str:
    n = sum(int((r.table["warning"].astype(str) != "").sum()) for r in results
            if not r.table.empty and "warning" in r.table)
    notes = sum(len(r.notes) for r in results)
    if not n and not notes:
        return "<p>No statistic carries a warning.</p>"
    return (f'<p class="note">{n} result rows carry a warning (small n, zero-width interval, separation, '
            f"non-convergence; see the <em>warnings</em> column of each table) and {notes} analysis notes "
            "(skipped parts).</p>")


def _provenance_section(prov: dict[str, Any]) -> str:
    rows = [("study file", f"{prov['study_file']['path']}", prov["study_file"]["sha256"] or "–"),
            ("cohort table", prov["cohort"]["path"], prov["cohort"]["sha256"] or "–")]
    files = _plain_table(pd.DataFrame(rows, columns=["what", "path", "sha256"]))
    versions = _plain_table(pd.DataFrame(sorted(prov["versions"].items()), columns=["package", "version(s)"]))
    settings = []
    for m, s in prov["settings"].items():
        hashes = ", ".join(f"{h[:12]}… ({n} rows)" for h, n in s["options_sha256"].items()) or "–"
        settings.append((m, hashes, json.dumps(s["options"], separators=(", ", ": "))))
    set_tbl = _plain_table(pd.DataFrame(settings, columns=["measure", "options_sha256 in results.csv", "options"]))
    cal = _plain_table(pd.DataFrame([{"kernel": k, "slope (g/cm³ per HU)": v.get("slope_g_cm3_per_HU"),
                                      "intercept (g/cm³)": v.get("intercept_g_cm3"), "source": v.get("source")}
                                     for k, v in prov["calibrations"].items()]))
    flags = _plain_table(pd.DataFrame(sorted(prov["flags"].items()), columns=["flag", "rows"]))
    return "\n".join([
        "<p>Every row of <code>results.csv</code> carries the content hashes of its CT and mask, its calibration, "
        "the hash of each measure's settings and its flags; each task's record "
        "(<code>records/*.json</code>) holds the full provenance block.</p>",
        f"<p>{prov['inputs']['ct']} distinct CT files and {prov['inputs']['mask']} distinct label maps; task records: "
        + ", ".join(f"{n} {s}" for s, n in prov["records"].items()) + ".</p>",
        "<h3>Files</h3>", files, "<h3>Software recorded by the tasks</h3>", versions,
        "<h3>Settings per measure</h3>", set_tbl,
        "<h3>Vertebra stage</h3>", f"<p><code>{html.escape(json.dumps(prov['vertebra_options']))}</code></p>",
        "<h3>Calibrations used</h3>", cal, "<h3>Flags</h3>", flags,
    ])


def _qc_section(images: list, enabled: bool) -> str:
    if not enabled:
        return "<p class='muted'>QC images are off (report: qc_images: false).</p>"
    if not images:
        return "<p class='muted'>No finished vertebra yet.</p>"
    figs = "".join(_figure(q.path, q.caption) for q in images)
    return (f"<p>{len(images)} images: the CT through the body's centroid in three planes, at the physical aspect "
            "ratio, labelled with the anatomical directions.</p>"
            f'<details open><summary>show / hide</summary><div class="qc">{figs}</div></details>')


def write_report(study: Study | str | Path) -> Path:
    """Run the study's analyses and QC and write ``<output>/report/report.html`` (self-contained).

    Tables are also written as ``<analysis>.csv``, figures as PNG under ``figures/``, QC images as JPEG
    under ``qc/``. Statistics warnings never stop the report: they are shown in the tables.

    Returns
    -------
    Path
        The HTML report.
    """
    study = study if isinstance(study, Study) else load_study(study)
    out = study.output_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    store = ResultStore(study.output_dir)
    cohort = load_cohort(study)
    table = store.consolidate(cohort, study.columns, make_tasks(study, cohort))
    records = [r for r in store.records() if r.get("status") == "done"]
    status = study_status(study)
    results = run_analyses(study, table, out / "figures")
    for r in results:
        r.table.to_csv(out / f"{r.label}.csv", index=False)
    qc = qc_images(study, table, out / "qc") if study.report.qc_images and len(table) else []
    prov = provenance(study, records, table)
    fails = store.failures()
    now = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    status_df = pd.DataFrame([{"measure": m, **c} for m, c in status.items()])
    toc = ["summary", "methods", "results", "qc", "provenance"] + (["failures"] if len(fails) else [])
    parts = [
        f"<header><h1>{html.escape(study.name)}</h1><p class='muted'>vertfem {__version__} · report written {now}"
        f" · {len(table)} result rows · <code>{html.escape(str(study.output_dir))}</code></p>",
        "<nav><ul>" + "".join(f'<li><a href="#{s}">{s}</a></li>' for s in toc) + "</ul></nav></header>",
        '<h2 id="summary">Summary</h2>', _plain_table(status_df), _warnings_summary(results),
        f"<p>Results table: {_download(table, 'results.csv')} (all measures and provenance columns).</p>",
        '<h2 id="methods">Methods</h2><div class="methods">'
        + "".join(f"<p>{html.escape(p)}</p>" for p in methods_paragraphs(study, table, records, results)) + "</div>",
        '<h2 id="results">Results</h2>', *(_analysis_section(r, out) for r in results),
        '<h2 id="qc">Quality control</h2>', _qc_section(qc, study.report.qc_images),
        '<h2 id="provenance">Provenance</h2>', _provenance_section(prov),
    ]
    if len(fails):
        parts += ['<h2 id="failures">Failed tasks</h2>',
                  _plain_table(fails[["subject", "scan", "kernel", "vertebra", "measure", "error_type",
                                      "error_message"]])]
    doc = ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
           "<meta name='viewport' content='width=device-width, initial-scale=1'>"
           f"<title>{html.escape(study.name)}</title><style>{_CSS}</style></head><body><main>"
           + "\n".join(parts) + "</main></body></html>")
    path = out / "report.html"
    path.write_text(doc, encoding="utf-8")
    return path
