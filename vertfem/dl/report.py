"""The training report: predictions, agreement and ROC tables (Markdown, CSV, JSON) and figures (PNG)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..provenance import jsonable

__all__ = ["write_report"]


def _md(df: pd.DataFrame) -> str:
    d = df.copy()
    for c in d.columns:
        if pd.api.types.is_float_dtype(d[c]):
            d[c] = d[c].map(lambda v: f"{v:.4g}")
    rows = ["| " + " | ".join(map(str, d.columns)) + " |", "| " + " | ".join("---" for _ in d.columns) + " |"]
    return "\n".join(rows + ["| " + " | ".join(map(str, r)) + " |" for r in d.itertuples(index=False)])


def _figures(table: pd.DataFrame, ev: dict[str, Any], folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for t, agr in ev["vertebra"].items():
        a, b = table[t].to_numpy(float), table[f"pred_{t}"].to_numpy(float)
        fig, ax = plt.subplots(1, 2, figsize=(9, 4))
        ax[0].scatter(a, b, s=14)
        lim = [np.nanmin([a, b]), np.nanmax([a, b])]
        ax[0].plot(lim, lim, color="0.6", ls=":")
        ax[0].set(xlabel=f"{t} (reference)", ylabel=f"{t} predicted", title=f"r = {agr.get('pearson_r', np.nan):.3f}")
        m, d = 0.5 * (a + b), b - a
        ax[1].scatter(m, d, s=14)
        for y in (agr.get("ba_bias"), agr.get("ba_loa_low"), agr.get("ba_loa_high")):
            if y is not None:
                ax[1].axhline(y, color="k", lw=0.8, ls="-" if y == agr.get("ba_bias") else "--")
        ax[1].set(xlabel="mean", ylabel="predicted − reference", title="Bland–Altman (vertebrae)")
        p = folder / f"agreement_{t}.png"
        fig.savefig(p, dpi=100, bbox_inches="tight")
        plt.close(fig)
        paths.append(p)
    curves = [r for r in ev["roc"] if "auc" in r]
    if curves:
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        for r in curves:
            ax.plot(r["fpr_curve"], r["tpr_curve"], label=f"{r['outcome']} AUC {r['auc']:.2f}")
        ax.plot([0, 1], [0, 1], color="0.7", ls=":")
        ax.set(xlabel="1 − specificity", ylabel="sensitivity", title="ROC (patients)")
        ax.legend(fontsize=7, loc="lower right")
        p = folder / "roc.png"
        fig.savefig(p, dpi=100, bbox_inches="tight")
        plt.close(fig)
        paths.append(p)
    return paths


def write_report(folder: str | Path, title: str, table: pd.DataFrame, ev: dict[str, Any],
                 info: dict[str, Any]) -> Path:
    """Write ``report.md``, ``evaluation.json``, ``predictions.csv``, ``patients.csv`` and the figures."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "predictions.csv", index=False)
    ev["patient_table"].to_csv(out / "patients.csv", index=False)
    figs = _figures(table, ev, out)
    roc = pd.DataFrame([{k: v for k, v in r.items() if not k.endswith("_curve")} for r in ev["roc"]])
    md = [f"# {title}", "", *[f"- {k}: {v}" for k, v in info.items()], ""]
    for level in ("vertebra", "patient"):
        md += [f"## Agreement per {level} (test set)", "",
               _md(pd.DataFrame([{"target": t, **a} for t, a in ev[level].items()])), ""]
    md += ["## ROC (patients, test set)", "", _md(roc) if len(roc) else "_(no class with both outcomes)_", ""]
    md += [f"![{p.stem}]({p.name})" for p in figs]
    (out / "report.md").write_text("\n".join(md) + "\n")
    doc = {k: v for k, v in ev.items() if k != "patient_table"}
    (out / "evaluation.json").write_text(json.dumps(jsonable({**doc, "info": info}), indent=2))
    return out / "report.md"
