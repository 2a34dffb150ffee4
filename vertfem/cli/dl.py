"""``vertfem dl train CONFIG`` and ``vertfem dl predict MODEL CT MASK``: the learned BMD/TBS predictor."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from ..errors import VertfemError
from ._common import add_inputs, check_output_dir, prepare_from_args, write_table

__all__ = ["register"]


def cmd_train(args: argparse.Namespace, console: Console) -> int:
    """Train from a config file and write the model and the report."""
    from ..dl import require_torch

    require_torch()
    from ..dl.pipeline import run_training

    res = run_training(args.config)
    for level in ("vertebra", "patient"):
        for t, a in res[level].items():
            if "pearson_r" in a:
                console.print(f"{level} {t}: r = {a['pearson_r']:.3f} (n = {a['n']}), bias {a['ba_bias']:.4g}, "
                              f"limits {a['ba_loa_low']:.4g} … {a['ba_loa_high']:.4g}, paired t p = "
                              f"{a['p_paired_t']:.3g}")
    for r in res["roc"]:
        if "auc" in r:
            console.print(f"{r['outcome']}: AUC {r['auc']:.3f} ({r['auc_ci_low']:.3f}–{r['auc_ci_high']:.3f}), "
                          f"sensitivity {r['sensitivity']:.2f}, specificity {r['specificity']:.2f}")
    console.print(f"model → {res['model']}\nreport → {res['report']}")
    return 0


def cmd_predict(args: argparse.Namespace, console: Console) -> int:
    """Predict every level of one CT with a trained model."""
    from ..dl import require_torch

    require_torch()
    from ..dl.measure import dl_predict
    from ..measures import table_row

    out = check_output_dir(args.output)
    rows: list[dict[str, Any]] = []
    failed = 0
    for name, v in prepare_from_args(args).items():
        if isinstance(v, VertfemError):
            failed += 1
            rows.append({"vertebra": name, "status": "failed", "error_type": type(v).__name__, "error_message": str(v)})
            console.print(f"[red]{name}: {type(v).__name__}:[/red] {v}")
            continue
        res = dl_predict(v, model=args.model)
        rows.append({"vertebra": name, "status": "done", **table_row(res)})
        console.print(f"{name}: " + ", ".join(f"{k} {x:.3f}" for k, x in res.predictions.items()))
        if out is not None:
            res.save(out / name)
    if failed == len(rows):
        raise VertfemError(f"no level of {args.ct} could be prepared")
    if out is not None:
        console.print(f"table → {write_table(rows, out, 'dl')['csv']}")
    return 3 if failed else 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``dl`` with its ``train`` and ``predict`` sub-commands."""
    p = sub.add_parser("dl", help="learned BMD/TBS from CT (Yoshida et al. 2023): train, predict")
    dsub = p.add_subparsers(dest="dl_command", required=True)
    t = dsub.add_parser("train", help="train and evaluate from a config file (cohort table with DXA BMD/TBS)")
    t.add_argument("config", help="training YAML (see the README: name, cohort, columns, slab, train, evaluation)")
    t.set_defaults(func=cmd_train)
    q = dsub.add_parser("predict", help="predict BMD/TBS of each level with a trained model")
    q.add_argument("model", help="model file written by 'vertfem dl train'")
    add_inputs(q, levels_help="levels: L1-L4, L1, T12,L1")
    q.set_defaults(vertebra="L1-L4")
    q.add_argument("-o", "--output", default=None, help="output folder: <level>/dl.json and dl.csv/.json")
    q.set_defaults(func=cmd_predict)
