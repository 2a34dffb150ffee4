"""``vertfem study check|run|status|report``: studies defined in YAML.

``run`` checks the study first (and stops on errors in its definition), then
shows a progress bar on a terminal or, when the output goes to a file (nohup,
SLURM), one line per finished task with the time elapsed and an ETA, flushed
as it is written. Ctrl-C stops the run cleanly and says how to resume.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

__all__ = ["register"]

#: Width of the study name in the progress bar, so that the bar fits 80 columns.
_NAME_WIDTH = 18


def _hms(s: float | None) -> str:
    from ..study.estimate import hms

    return "-:--:--" if s is None else hms(s)


def _short(name: str, width: int = _NAME_WIDTH) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _print(console: Console, text: str, style: str | None = None) -> None:
    """One line, never wrapped or interpreted as markup (file output keeps whole lines)."""
    console.print(text, style=style, soft_wrap=True, highlight=False, markup=False)


def progress_bar(console: Console) -> Progress:
    """The run's progress bar: name, bar, done/total, failures, elapsed, ETA — within 80 columns."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(bar_width=16), MofNCompleteColumn(),
        TextColumn("[red]{task.fields[failed]} failed"), TimeElapsedColumn(), TextColumn("ETA {task.fields[eta]}"),
        console=console, transient=False,
    )


def task_line(p) -> str:
    """The line printed per finished task when the output is not a terminal."""
    w = len(str(p.total))
    head = f"[{p.finished:>{w}}/{p.total}] {'done' if p.status == 'done' else 'FAILED':<6} {p.task.task_id}"
    if p.status == "done":
        return (f"{head}  {p.duration_s:.1f} s | elapsed {_hms(p.elapsed_s)}, ETA {_hms(p.eta_s)} | "
                f"{p.failed} failed")
    return f"{head}  {p.error.splitlines()[0][:300] if p.error else ''} | ETA {_hms(p.eta_s)}"


@contextmanager
def _quiet_libraries(verbose: bool, dask: bool) -> Iterator[None]:
    """The CLI shows the study's own progress: dask's and the study logger's console output would mangle it."""
    if dask:
        import distributed  # noqa: F401 - creates its loggers, which are quieted below

    dask_loggers = [logging.getLogger(n) for n in list(logging.root.manager.loggerDict)
                    if n == "distributed" or n.startswith("distributed.")]
    saved = [(lg, lg.level) for lg in dask_loggers]
    study_log = logging.getLogger("vertfem.study")
    propagate = study_log.propagate
    if not verbose:
        for lg in dask_loggers:
            lg.setLevel(logging.CRITICAL)
        study_log.propagate = False
    try:
        yield
    finally:
        for lg, level in saved:
            lg.setLevel(level)
        study_log.propagate = propagate


def _reporter(console: Console, bar: Progress | None, name: str) -> Callable:
    job: list = []

    def on(p) -> None:
        if p.event == "start":
            chk = p.run.check
            if chk is not None:
                for line in chk.lines()[1:]:
                    _print(console, "  " + line, "yellow" if line.startswith(("problem", "note")) else None)
            _print(console, f"{p.total} tasks to run ({p.run.skipped} already done with the same settings, "
                            f"{p.run.changed} recomputed for changed settings) on {p.run.backend}; "
                            f"log: {p.run.log_path}")
            if bar is not None:
                job.append(bar.add_task(_short(name), total=p.total, failed=0,
                                        eta=_hms(p.eta_s)))
            return
        if bar is not None:
            bar.update(job[0], advance=1, failed=p.failed, eta=_hms(p.eta_s))
            if p.status == "failed":
                first = p.error.splitlines()[0][:200] if p.error else ""
                bar.console.print(f"[red]failed[/red] {escape(p.task.task_id)}: {escape(first)}", soft_wrap=True,
                                  highlight=False)
        else:
            _print(console, task_line(p))

    return on


def _run(args: argparse.Namespace, console: Console, study) -> int:
    from ..study import StudyInterrupted, run_study

    subjects = [s for x in (args.subjects or []) for s in x.split(",") if s]
    measures = [s for x in (args.measures or []) for s in x.split(",") if s]
    bar = progress_bar(console) if console.is_terminal else None
    dask = bool(args.scheduler or args.cluster or study.execution.scheduler or study.execution.cluster)
    with _quiet_libraries(args.verbose, dask):
        try:
            with bar if bar is not None else nullcontext():
                r = run_study(study, workers=args.workers, scheduler=args.scheduler, cluster=args.cluster,
                              force=args.force, subjects=subjects, measures=measures, failed_only=args.failed_only,
                              check=not args.no_check, strict=args.strict,
                              progress=_reporter(console, bar, study.name))
        except StudyInterrupted as exc:
            _print(console, f"{study.name}: {exc}; log: {exc.run.log_path}", "yellow")
            return 130
    _print(console, f"{study.name}: {r.done} done, {r.failed} failed, {r.skipped} already done ({r.backend}, "
                    f"{r.wall_s:.1f} s, {r.tasks_per_minute:.1f} tasks/min) → {study.output_dir}; log: {r.log_path}")
    return 0 if r.failed == 0 else 3


def _check(console: Console, study) -> int:
    from ..study import check_study

    rep = check_study(study)
    for line in rep.lines():
        style = "red" if line.startswith("error") else "yellow" if line.startswith("problem") else None
        _print(console, line, style)
    return 1 if rep.errors else (3 if rep.failing else 0)


def _status(console: Console, study) -> int:
    from ..study import study_status

    table = Table(title=f"{study.name}: tasks")
    for col in ("measure", "done", "failed", "outdated", "pending"):
        table.add_column(col)
    for m, c in study_status(study).items():
        table.add_row(m, str(c["done"]), f"[red]{c['failed']}[/red]" if c["failed"] else "0",
                      f"[yellow]{c['outdated']}[/yellow]" if c["outdated"] else "0", str(c["pending"]))
    console.print(table)
    return 0


def cmd_study(args: argparse.Namespace, console: Console) -> int:
    """Check, run, report or show the status of a study."""
    from ..study import load_study, write_report

    study = load_study(args.study)
    if args.action == "run":
        return _run(args, console, study)
    if args.action == "check":
        return _check(console, study)
    if args.action == "status":
        return _status(console, study)
    path = write_report(study)
    _print(console, f"report → {path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``study``."""
    p = sub.add_parser("study", help="check, run or report a study defined in a YAML file",
                       description="check: pre-flight of every input and analysis, with a run-time and memory "
                                   "estimate; run: check, then compute every pending task; status: counts per "
                                   "measure; report: analyses, figures and QC images in one HTML file")
    p.add_argument("action", choices=["check", "run", "status", "report"])
    p.add_argument("study", help="study YAML file")
    g = p.add_argument_group("run")
    g.add_argument("--workers", type=int, default=None, help="parallel tasks (default: the study file's, 2)")
    g.add_argument("--scheduler", default=None, help="dask scheduler address, e.g. tcp://host:8786")
    g.add_argument("--cluster", default=None, choices=["local"], help="start a dask LocalCluster")
    g.add_argument("--subjects", action="append", metavar="ID[,ID...]", help="run only these subjects' tasks")
    g.add_argument("--measures", action="append", metavar="NAME[,NAME...]", help="run only these measures' tasks")
    g.add_argument("--failed-only", action="store_true", help="run only tasks whose last record is a failure")
    g.add_argument("--force", action="store_true", help="rerun selected tasks that are already done")
    g.add_argument("--strict", action="store_true", help="stop when the check finds inputs that would fail")
    g.add_argument("--no-check", action="store_true", help="skip the pre-flight check")
    p.set_defaults(func=cmd_study)
