"""Run a study: pending tasks on a local process pool or a dask.distributed cluster, resumably."""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from .config import Study, load_cohort, load_study
from .store import ResultStore
from .tasks import Task, make_tasks, run_task

__all__ = ["StudyRun", "run_study", "study_status"]

log = logging.getLogger("vertfem.study")

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


@dataclass(frozen=True)
class StudyRun:
    """What one ``run_study`` call did."""

    n_tasks: int
    skipped: int
    done: int
    failed: int
    wall_s: float
    task_time_s: float
    backend: str
    changed: int = 0

    @property
    def tasks_per_minute(self) -> float:
        ran = self.done + self.failed
        return 60.0 * ran / self.wall_s if self.wall_s > 0 else float("nan")


@contextmanager
def _worker_threads(workers: int):
    """Workers inherit one BLAS/numba thread pool each sized to share the cores, not oversubscribe them."""
    n = str(max(1, (os.cpu_count() or 1) // max(1, workers)))
    old = {k: os.environ.get(k) for k in _THREAD_VARS}
    os.environ.update({k: n for k in _THREAD_VARS})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _file_log(outdir: Path) -> logging.Handler:
    h = logging.FileHandler(outdir / "study.log")
    h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(h)
    log.setLevel(logging.INFO)
    # the rich progress bar is the console view; the log file keeps the details
    log.propagate = False
    return h


def _pending(tasks: list[Task], store: ResultStore, force: bool) -> tuple[list[Task], int, int]:
    """Tasks to run, tasks reused, and finished tasks whose settings (or inputs) changed since they ran."""
    if force:
        return tasks, 0, 0
    done = store.done_settings()
    pending = [t for t in tasks if done.get(t.task_id) != t.settings_sha256]
    changed = sum(1 for t in pending if t.task_id in done)
    return pending, len(tasks) - len(pending), changed


def _iter_local(pending, study, outdir, workers):
    if workers <= 1:
        for t in pending:
            yield t, run_task(t, study, outdir, "inline")
        return
    with _worker_threads(workers), ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        futs = {pool.submit(run_task, t, study, str(outdir), "local"): t for t in pending}
        for f in as_completed(futs):
            yield futs[f], _result_or_crash(f, futs[f])


def _iter_dask(pending, study, outdir, workers, scheduler, cluster):
    from dask.distributed import Client, LocalCluster
    from dask.distributed import as_completed as dask_completed

    with _worker_threads(workers):
        if cluster == "local":
            lc = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(lc)
        else:
            lc, client = None, Client(scheduler)
    try:
        futs = {client.submit(run_task, t, study, str(outdir), "dask", key=f"vertfem-{t.task_id}", pure=False): t
                for t in pending}
        for f in dask_completed(list(futs)):
            yield futs[f], _result_or_crash(f, futs[f])
    finally:
        client.close()
        if lc is not None:
            lc.close()


def _result_or_crash(future, task: Task) -> dict:
    """The task's record, or a failure record when the worker itself died."""
    try:
        return future.result()
    except Exception as exc:
        return {**task.as_dict(), "status": "failed", "error_type": type(exc).__name__,
                "error_message": f"worker failed while running the task: {exc}", "duration_s": 0.0}


def run_study(
    study: Study | str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
    force: bool = False,
    progress: bool = True,
) -> StudyRun:
    """Run every pending task of a study and consolidate the results table.

    Finished tasks are skipped (``force=True`` reruns them), failed ones
    retried; each record is written as soon as its task ends, so a killed run
    loses only the tasks in flight. Backends: inline (``workers=1``), local
    process pool (default), dask (``scheduler`` address or ``cluster="local"``).
    """
    study = study if isinstance(study, Study) else load_study(study)
    ex = study.execution
    workers = workers or ex.workers
    scheduler = scheduler or ex.scheduler
    cluster = cluster or ex.cluster
    outdir = study.output_dir
    store = ResultStore(outdir)
    handler = _file_log(outdir)
    backend = "dask" if (scheduler or cluster) else ("inline" if workers <= 1 else "local")
    try:
        cohort = load_cohort(study)
        tasks = make_tasks(study, cohort)
        pending, skipped, changed = _pending(tasks, store, force)
        log.info("study %s: %d tasks pending, %d already done with the same settings, backend %s, %d workers",
                 study.name, len(pending), skipped, backend, workers)
        if changed:
            log.warning("%d finished tasks are recomputed because their settings or input files changed; their "
                        "previous records move to records/superseded/", changed)
        it = (_iter_dask(pending, study, outdir, workers, scheduler, cluster) if backend == "dask"
              else _iter_local(pending, study, outdir, workers))
        t0 = time.perf_counter()
        done = failed = 0
        task_time = 0.0
        cols = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("[red]{task.fields[failed]} failed"), TimeElapsedColumn(), TimeRemainingColumn())
        with Progress(*cols, disable=not progress or not pending) as bar:
            job = bar.add_task(study.name, total=len(pending), failed=0)
            for task, rec in it:
                store.write(rec)
                task_time += float(rec.get("duration_s", 0.0))
                if rec["status"] == "done":
                    done += 1
                    log.info("done %s in %.1f s", task.task_id, rec.get("duration_s", 0.0))
                else:
                    failed += 1
                    log.warning("failed %s: %s: %s", task.task_id, rec.get("error_type"), rec.get("error_message"))
                bar.update(job, advance=1, failed=failed)
        wall = time.perf_counter() - t0
        store.consolidate(cohort, study.columns, tasks)
        log.info("finished: %d done, %d failed, %d skipped in %.1f s", done, failed, skipped, wall)
        return StudyRun(len(tasks), skipped, done, failed, wall, task_time, backend, changed)
    finally:
        log.removeHandler(handler)
        handler.close()


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
