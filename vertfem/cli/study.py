"""``vertfem study run|status|report``: studies defined in YAML."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

__all__ = ["register"]


def cmd_study(args: argparse.Namespace, console: Console) -> int:
    """Run, report or show the status of a study."""
    from ..study import load_study, run_study, study_status, write_report

    study = load_study(args.study)
    if args.action == "run":
        r = run_study(study, workers=args.workers, scheduler=args.scheduler, cluster=args.cluster, force=args.force)
        console.print(f"{study.name}: {r.done} done, {r.failed} failed, {r.skipped} already done "
                      f"({r.backend}, {r.wall_s:.1f} s, {r.tasks_per_minute:.1f} tasks/min) → {study.output_dir}")
        return 0 if r.failed == 0 else 3
    if args.action == "status":
        table = Table(title=f"{study.name}: tasks")
        for col in ("measure", "done", "failed", "pending"):
            table.add_column(col)
        for m, c in study_status(study).items():
            table.add_row(m, str(c["done"]), f"[red]{c['failed']}[/red]" if c["failed"] else "0", str(c["pending"]))
        console.print(table)
        return 0
    path = write_report(study)
    console.print(f"report → {path} (and report.html)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``study``."""
    p = sub.add_parser("study", help="run, check or report a study defined in a YAML file")
    p.add_argument("action", choices=["run", "status", "report"])
    p.add_argument("study", help="study YAML file")
    p.add_argument("--workers", type=int, default=None, help="parallel tasks (default: the study file's, 2)")
    p.add_argument("--scheduler", default=None, help="dask scheduler address, e.g. tcp://host:8786")
    p.add_argument("--cluster", default=None, choices=["local"], help="start a dask LocalCluster")
    p.add_argument("--force", action="store_true", help="rerun tasks that are already done")
    p.set_defaults(func=cmd_study)
