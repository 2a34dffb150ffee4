"""Run a study: the pre-flight check, then the pending tasks on a backend, resumably, with progress and an ETA.

Every finished task's record is written at once (atomically), so a run that is
killed, interrupted (Ctrl-C) or loses its cluster keeps what finished and the
next run does the rest. Progress goes to ``<output>/study.log`` (one line per
finished task, flushed as it is written) and to an optional callback, which
the command line uses for its progress bar or, when the output is not a
terminal, for one line per task with an ETA.
"""

from __future__ import annotations

import difflib
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError, InfrastructureError
from .backends import iter_dask, iter_inline, iter_pool, start_pool, stop_pool
from .check import CheckReport, check_study
from .config import Study, load_cohort, load_study
from .store import ResultStore
from .tasks import InputHashes, Task, make_tasks

__all__ = ["RunProgress", "StudyInterrupted", "StudyRun", "run_study", "select_tasks",
           "study_status"]

log = logging.getLogger("vertfem.study")


@dataclass(frozen=True)
class StudyRun:
    """What one :func:`run_study` call did.

    Attributes
    ----------
    n_tasks : int
        Tasks of the study (all of them, not only the selection).
    skipped : int
        Selected tasks already done with the same settings.
    done, failed : int
        Tasks that ran in this call and finished, or failed (recorded with their error).
    wall_s : float
        Wall time of the task phase, s.
    task_time_s : float
        Sum of the tasks' own durations, s.
    backend : str
        ``inline``, ``local`` or ``dask``.
    changed : int
        Finished tasks recomputed because their settings or inputs changed.
    selected : int
        Tasks in the selection (``subjects``/``measures``/``failed_only``).
    not_run : int
        Selected tasks neither done before nor finished now (interrupted or lost cluster).
    log_path : Path or None
        The study's log file.
    check : CheckReport or None
        The pre-flight check that ran first.
    """

    n_tasks: int
    skipped: int
    done: int
    failed: int
    wall_s: float
    task_time_s: float
    backend: str
    changed: int = 0
    selected: int = 0
    not_run: int = 0
    log_path: Path | None = None
    check: CheckReport | None = None

    @property
    def tasks_per_minute(self) -> float:
        """Finished tasks per minute of wall time."""
        ran = self.done + self.failed
        return 60.0 * ran / self.wall_s if self.wall_s > 0 else float("nan")


@dataclass(frozen=True)
class RunProgress:
    """The state of a run, passed to the ``progress`` callback at the start and after every finished task.

    Attributes
    ----------
    event : {"start", "task"}
    total : int
        Tasks to run in this call.
    finished, done, failed : int
        Tasks finished so far in this call (done + failed).
    elapsed_s : float
    eta_s : float or None
        Expected time to the end, s (per-measure mean task times over the observed parallelism; the pre-flight
        estimate before the first task of a measure has finished).
    task : Task or None
        The task that just finished.
    status : str or None
        Its status (``done``/``failed``).
    duration_s : float
        Its duration, s.
    error : str
        Its error (``Type: message``), "" when done.
    run : StudyRun
        Counts so far, the backend, the log path and the pre-flight check.
    """

    event: Literal["start", "task"]
    total: int
    finished: int
    done: int
    failed: int
    elapsed_s: float
    eta_s: float | None
    task: Task | None
    status: str | None
    duration_s: float
    error: str
    run: StudyRun


class StudyInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run: finished tasks are recorded and the results table written; ``run`` says what was done.

    Ctrl-C while the run still prepares (hashing the inputs, the pre-flight check) stops it the same way, with
    nothing recorded.
    """

    def __init__(self, run: StudyRun, study_file: str, *, preparing: bool = False) -> None:
        what = ("before any task ran (while the inputs were hashed and the study checked); nothing was recorded"
                if preparing else
                f"{run.done + run.failed} tasks finished in this run and recorded, {run.not_run} not run")
        super().__init__(f"interrupted: {what}; resume with `vertfem study run {study_file}`")
        self.run = run


class _Eta:
    """Remaining time: the tasks left, each at its measure's mean time so far, shared by the workers."""

    def __init__(self, pending: list[Task], workers: int, prior_s: dict[str, float]) -> None:
        self.left: dict[str, int] = defaultdict(int)
        for t in pending:
            self.left[t.measure] += 1
        self.workers = max(1, workers)
        self.prior = prior_s
        self.times: dict[str, list[float]] = defaultdict(list)

    def update(self, task: Task, duration_s: float) -> None:
        self.left[task.measure] -= 1
        self.times[task.measure].append(duration_s)

    def eta(self) -> float | None:
        observed = [d for v in self.times.values() for d in v]
        if not observed and not self.prior:
            return None
        mean_all = sum(observed) / len(observed) if observed else 0.0
        work = 0.0
        for m, n in self.left.items():
            v = self.times.get(m)
            work += n * (sum(v) / len(v) if v else self.prior.get(m, mean_all))
        return work / self.workers


class _StudyLog(logging.FileHandler):
    """``study.log``: the run's own lines whatever the logging configuration, plus every record of the
    ``vertfem.study`` logger (e.g. a restarted worker pool); each line is flushed as it is written, so a killed run
    keeps its log. The run's lines also go to the logger, for the caller's own handlers."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if not getattr(record, "study_log_written", False):
            super().emit(record)

    def line(self, level: int, msg: str, *args: object) -> None:
        """Write a line to the file and pass it to the logger."""
        super().emit(log.makeRecord(log.name, level, __file__, 0, msg, args, None))
        log.log(level, msg, *args, extra={"study_log_written": True})


def select_tasks(tasks: list[Task], store: ResultStore, *, subjects: Sequence[str] | None = None,
                 measures: Sequence[str] | None = None, failed_only: bool = False) -> list[Task]:
    """The tasks of some subjects and/or measures, or only those whose last record is a failure.

    Raises
    ------
    ConfigError
        A subject or measure that the study does not have (with the close matches).
    """
    def known(given: Sequence[str], have: set[str], what: str) -> None:
        bad = [g for g in given if g not in have]
        if bad:
            hints = [f"{b!r} (did you mean {difflib.get_close_matches(b, sorted(have), n=1)[0]!r}?)"
                     if difflib.get_close_matches(b, sorted(have), n=1) else repr(b) for b in bad]
            raise ConfigError(f"unknown {what} {', '.join(hints)}; the study has {len(have)}: "
                              f"{', '.join(sorted(have)[:12])}{' ...' if len(have) > 12 else ''}")

    out = tasks
    if subjects:
        known(subjects, {t.subject for t in tasks}, "subject(s)")
        out = [t for t in out if t.subject in set(subjects)]
    if measures:
        known(measures, {t.measure for t in tasks}, "measure(s)")
        out = [t for t in out if t.measure in set(measures)]
    if failed_only:
        status = store.status()
        out = [t for t in out if status.get(t.task_id) == "failed"]
    return out


def _pending(tasks: list[Task], store: ResultStore, force: bool) -> tuple[list[Task], int, int]:
    """Tasks to run, tasks reused, and finished tasks whose settings (or inputs) changed since they ran."""
    if force:
        return tasks, 0, 0
    done = store.done_settings()
    pending = [t for t in tasks if done.get(t.task_id) != t.settings_sha256]
    changed = sum(1 for t in pending if t.task_id in done)
    return pending, len(tasks) - len(pending), changed


def _backend(workers: int, scheduler: str | None, cluster: str | None) -> str:
    return "dask" if (scheduler or cluster) else ("inline" if workers <= 1 else "local")


def _iterate(backend: str, pending: list[Task], study: Study, outdir: Path, workers: int, scheduler: str | None,
             cluster: str | None, pool: Any) -> Iterator[tuple[Task, dict]]:
    if backend == "dask":
        return iter_dask(pending, study, outdir, workers, scheduler, cluster)
    if backend == "local":
        return iter_pool(pending, study, outdir, workers, pool)
    return iter_inline(pending, study, outdir)


def run_study(
    study: Study | str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
    force: bool = False,
    subjects: Sequence[str] | None = None,
    measures: Sequence[str] | None = None,
    failed_only: bool = False,
    check: bool = True,
    strict: bool = False,
    progress: Callable[[RunProgress], None] | None = None,
) -> StudyRun:
    """Check a study, run its pending tasks and write the results table.

    Finished tasks with the same settings are skipped (``force=True`` reruns
    them), failed ones retried, tasks whose settings or inputs changed
    recomputed (their old records move to ``records/superseded/``).

    Parameters
    ----------
    study : Study or path
    workers, scheduler, cluster
        Backend (default: the study file's ``execution``): inline for one
        worker, a local process pool, a dask scheduler address or
        ``cluster="local"`` (a dask LocalCluster).
    force : bool
        Rerun selected tasks that are already done.
    subjects, measures : sequence of str, optional
        Run only these subjects' / measures' tasks.
    failed_only : bool
        Run only tasks whose last record is a failure.
    check : bool
        Run :func:`~vertfem.study.check.check_study` first; its errors stop
        the run (:class:`~vertfem.errors.ConfigError`), its problems are logged.
    strict : bool
        Stop on the check's problems too (inputs that would fail their tasks).
    progress : callable, optional
        Called with a :class:`RunProgress` at the start and after each task.

    Returns
    -------
    StudyRun

    Raises
    ------
    ConfigError
        Invalid study, cohort or selection; errors found by the check.
    InfrastructureError
        Unreachable or lost dask scheduler, no workers, broken pool (finished
        tasks are recorded and the results table is written first).
    StudyInterrupted
        Ctrl-C (idem); a ``KeyboardInterrupt``.
    """
    study = study if isinstance(study, Study) else load_study(study)
    ex = study.execution
    workers = workers or ex.workers
    scheduler = scheduler or ex.scheduler
    cluster = cluster or ex.cluster
    backend = _backend(workers, scheduler, cluster)
    outdir = study.output_dir
    store = ResultStore(outdir)
    log_path = outdir / "study.log"
    slog = _StudyLog(log_path)
    log.addHandler(slog)
    try:
        cohort = load_cohort(study)
        # the workers start (and import the measures) while the inputs are hashed and checked
        pool = start_pool(workers, study) if backend == "local" else None
        try:
            tasks = make_tasks(study, cohort, InputHashes(outdir))
            chosen = select_tasks(tasks, store, subjects=subjects, measures=measures, failed_only=failed_only)
            pending, skipped, changed = _pending(chosen, store, force)
            report = _preflight(study, cohort, pending, workers, strict, slog) if check else None
        except BaseException as exc:
            if pool is not None:
                stop_pool(pool)
            if isinstance(exc, KeyboardInterrupt):
                slog.line(logging.WARNING, "interrupted before any task ran")
                raise StudyInterrupted(StudyRun(0, 0, 0, 0, 0.0, 0.0, backend, log_path=log_path),
                                       str(study.source or study.root), preparing=True) from None
            raise
        if pool is not None and not pending:
            stop_pool(pool)
            pool = None
        slog.line(logging.INFO, "study %s: %d tasks selected, %d pending, %d already done with the same settings, "
                  "backend %s, %d workers", study.name, len(chosen), len(pending), skipped, backend, workers)
        if changed:
            slog.line(logging.WARNING, "%d finished tasks are recomputed because their settings or input files "
                      "changed; their previous records move to records/superseded/", changed)
        prior = {}
        if report is not None and report.estimate.n_tasks:
            n_per: dict[str, int] = defaultdict(int)
            for t in pending:
                n_per[t.measure] += 1
            prior = {m: s / n_per[m] for m, s in report.estimate.cpu_s.items() if n_per[m]}
        return _execute(study, tasks, cohort, store, pending, skipped, changed, len(chosen), backend, workers,
                        scheduler, cluster, slog, report, progress, prior, pool)
    finally:
        log.removeHandler(slog)
        slog.close()


def _preflight(study: Study, cohort: Any, pending: list[Task], workers: int, strict: bool,
               slog: _StudyLog) -> CheckReport:
    """The pre-flight check, logged; its errors (and, if ``strict``, its problems) stop the run."""
    report = check_study(study, tasks=pending, cohort=cohort, workers=workers)
    levels = {"error": logging.ERROR, "problem": logging.WARNING, "note": logging.INFO}
    for p in report.problems:
        slog.line(levels[p.severity], "check: %s", p.line())
    slog.line(logging.INFO, "check: %s", report.estimate.line())
    stop = report.errors + (report.failing if strict else ())
    if stop:
        raise ConfigError(f"the pre-flight check of {study.name!r} found {len(stop)} "
                          f"{'error' if len(stop) == 1 else 'errors'} (nothing was run):\n  "
                          + "\n  ".join(p.line() for p in stop))
    return report


def _execute(study, tasks, cohort, store, pending, skipped, changed, selected, backend, workers, scheduler, cluster,
             slog, report, progress, prior, pool) -> StudyRun:
    log_path = Path(slog.baseFilename)
    t0 = time.perf_counter()
    done = failed = 0
    task_time = 0.0
    eta = _Eta(pending, workers if backend != "inline" else 1, prior)

    def summary() -> StudyRun:
        return StudyRun(len(tasks), skipped, done, failed, time.perf_counter() - t0, task_time, backend, changed,
                        selected, len(pending) - done - failed, log_path, report)

    def emit(event, task=None, status=None, duration=0.0, error="") -> None:
        if progress:  # None (or False, as older callers passed): no callback
            el = time.perf_counter() - t0
            progress(RunProgress(event, len(pending), done + failed, done, failed, el,
                                 eta.eta() if event == "task" else (report.estimate.wall_s if report else None),
                                 task, status, duration, error, summary()))

    emit("start")
    it = _iterate(backend, pending, study, study.output_dir, workers, scheduler, cluster, pool) if pending else iter(())
    try:
        for task, rec in it:
            store.write(rec)
            dur = float(rec.get("duration_s", 0.0))
            task_time += dur
            eta.update(task, dur)
            if rec["status"] == "done":
                done += 1
                slog.line(logging.INFO, "done %s in %.1f s (%d/%d)", task.task_id, dur, done + failed, len(pending))
                emit("task", task, "done", dur)
            else:
                failed += 1
                err = f"{rec.get('error_type')}: {rec.get('error_message')}"
                slog.line(logging.WARNING, "failed %s: %s (%d/%d)", task.task_id, err, done + failed, len(pending))
                emit("task", task, "failed", dur, err)
    except KeyboardInterrupt:
        _close(it, pool)
        store.consolidate(cohort, study.columns, tasks)
        run = summary()
        slog.line(logging.WARNING, "interrupted after %d finished tasks; %d not run", done + failed, run.not_run)
        raise StudyInterrupted(run, str(study.source or study.root)) from None
    except InfrastructureError as exc:
        _close(it, pool)
        store.consolidate(cohort, study.columns, tasks)
        slog.line(logging.ERROR, "%s", exc)
        raise
    store.consolidate(cohort, study.columns, tasks)
    run = summary()
    slog.line(logging.INFO, "finished: %d done, %d failed, %d skipped in %.1f s", done, failed, skipped, run.wall_s)
    return run


def _close(it: Iterator, pool: Any) -> None:
    """Stop the backend: close the task iterator (it stops its workers) and a pool it may not have taken over."""
    close = getattr(it, "close", None)
    if close is not None:
        close()
    if pool is not None:
        stop_pool(pool)


def study_status(study: Study | str | Path) -> dict[str, dict[str, int]]:
    """Counts of done / failed / outdated (settings changed) / pending tasks per measure."""
    study = study if isinstance(study, Study) else load_study(study)
    store = ResultStore(study.output_dir)
    status, done = store.status(), store.done_settings()
    out: dict[str, dict[str, int]] = {}
    for t in make_tasks(study, load_cohort(study)):
        s = status.get(t.task_id, "pending")
        if s == "done" and done.get(t.task_id) != t.settings_sha256:
            s = "outdated"
        out.setdefault(t.measure, {"done": 0, "failed": 0, "outdated": 0, "pending": 0})[s] += 1
    return out
