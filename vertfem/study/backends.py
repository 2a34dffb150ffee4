"""Where a study's tasks run: inline, a local process pool, or a dask.distributed cluster.

Each backend yields ``(task, record)`` as tasks finish. A record comes from
:func:`~vertfem.study.tasks.run_task`, which never raises for a failure of
the measure itself, so anything else that goes wrong is the machinery's, and
is never written down as a failed task:

* **Local pool.** Workers ignore Ctrl-C (the main process stops them) from
  the moment they exist: they are spawned with SIGINT blocked, so a Ctrl-C
  while one still imports cannot print its traceback; and they die with
  their parent: Linux delivers SIGKILL to them when the main process
  dies (``PR_SET_PDEATHSIG``) and a watchdog thread exits when the parent pid
  changes (other systems). A worker that dies (out of memory, killed) breaks
  the pool. Each task leaves a marker file while it runs, so the tasks that
  were running in dead workers are known: each is rerun alone, and only one
  that kills its worker again is recorded as failed, with that reason; the
  others go on in a new pool.
* **dask.** The scheduler must answer within ``connect_timeout_s``
  (:class:`InfrastructureError` otherwise). Losing the scheduler mid-run, or a
  cluster without workers for ``no_workers_timeout_s``, stops the run with an
  :class:`InfrastructureError`; the tasks that finished are recorded, the others
  stay pending for the next run. A task on which dask's ``allowed-failures``
  workers died (``KilledWorker``) is recorded as failed with that reason.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, CancelledError, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import InfrastructureError
from .config import Study
from .tasks import Task, run_task

__all__ = ["InfrastructureError", "iter_dask", "iter_inline", "iter_pool", "start_pool", "stop_pool", "worker_threads"]

log = logging.getLogger("vertfem.study")

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")

Result = tuple[Task, dict[str, Any]]


@contextmanager
def worker_threads(workers: int) -> Iterator[None]:
    """Workers inherit one BLAS/numba thread pool each sized to share the cores, not oversubscribe them."""
    n = str(max(1, (os.cpu_count() or 1) // max(1, workers)))
    old = {k: os.environ.get(k) for k in _THREAD_VARS}
    os.environ.update(dict.fromkeys(_THREAD_VARS, n))
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def iter_inline(pending: list[Task], study: Study, outdir: Path) -> Iterator[Result]:
    """Run the tasks one after the other in this process."""
    for t in pending:
        yield t, run_task(t, study, outdir, "inline")


# ------------------------------------------------------------------------------------------------ local pool


def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(1.0)


@contextmanager
def _sigint_held() -> Iterator[None]:
    """Hold Ctrl-C back in this thread while it spawns workers, which inherit the blocked signal across exec.

    A worker ignores SIGINT only once its initializer runs, after seconds of unpickling and importing; a Ctrl-C
    to the process group before that raised KeyboardInterrupt in it with a traceback. CPython spawns its own
    resource tracker the same way, but lifts the block unconditionally afterwards: it is started first. A Ctrl-C
    that arrives meanwhile is delivered here when the block is lifted.
    """
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no process groups to deliver Ctrl-C to workers
        yield
        return
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _init_worker(parent: int) -> None:
    """Pool worker set-up: ignore Ctrl-C, die with the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
        except OSError:
            log.debug("prctl unavailable; the parent watchdog alone ends orphaned workers")
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="vertfem-parent-watch").start()


def _running_dir(outdir: Path) -> Path:
    return outdir / "records" / ".running"


def _pool_task(task: Task, study: Study, outdir: str) -> dict[str, Any]:
    """run_task with a marker file naming the task and this worker while it runs."""
    marker = _running_dir(Path(outdir)) / f"{task.task_id}.{os.getpid()}"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    try:
        return run_task(task, study, outdir, "local")
    finally:
        marker.unlink(missing_ok=True)


def _dead_workers_tasks(outdir: Path) -> set[str]:
    """Task ids whose marker names a worker process that no longer exists (and clear those markers)."""
    out = set()
    d = _running_dir(outdir)
    for m in d.glob("*.*") if d.is_dir() else ():
        tid, _, pid = m.name.rpartition(".")
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            out.add(tid)
            m.unlink(missing_ok=True)
        except (ValueError, PermissionError):
            continue
    return out


def _died_record(task: Task) -> dict[str, Any]:
    return {**task.as_dict(), "status": "failed", "error_type": "WorkerDied", "backend": "local",
            "error_message": "the worker process died while running this task, also when it ran alone (killed, or "
                             "out of memory)", "duration_s": 0.0}


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: cancel what has not started, kill the workers (their tasks stay pending)."""
    # ProcessPoolExecutor has no public way to stop running work; its process table is the only handle
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.kill()
    for p in procs:
        p.join(timeout=5)


def _warm(modules: tuple[str, ...]) -> None:
    """Import the study's measure modules in a worker (numba caches, gmsh, scipy) before its first task."""
    for m in modules:
        importlib.import_module(m)


def start_pool(workers: int, study: Study) -> ProcessPoolExecutor:
    """A local pool whose workers start at once and import the study's measures while the caller goes on
    (hashing inputs, the pre-flight check), so that their start-up overlaps it."""
    from ..measures import MEASURES

    modules = tuple(MEASURES[m].run_path.partition(":")[0] for m in study.enabled())
    with worker_threads(workers), _sigint_held():
        pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                                   initargs=(os.getpid(),))
        # a spawn-context pool starts a worker at each submit that finds none idle, from this thread and with
        # this environment: these submits start all of them
        for _ in range(workers):
            pool.submit(_warm, modules)  # an import error surfaces again, as the task's own error
    return pool


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now (its workers are killed; what they ran stays pending)."""
    _terminate(pool)


def _alone(task: Task, study: Study, outdir: Path, task_fn: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """Run one task in a pool of its own: its record, or a WorkerDied failure if it kills that worker too."""
    pool = start_pool(1, study)
    try:
        return pool.submit(task_fn, task, study, str(outdir)).result()
    except BrokenProcessPool:
        _dead_workers_tasks(outdir)
        return _died_record(task)
    finally:
        _terminate(pool)


def iter_pool(pending: list[Task], study: Study, outdir: Path, workers: int, pool: ProcessPoolExecutor | None = None,
              task_fn: Callable[..., dict[str, Any]] = _pool_task) -> Iterator[Result]:
    """Run the tasks on a pool of ``workers`` processes (spawned, so each starts clean).

    ``pool``: one already started by :func:`start_pool`. When a worker dies, the pool breaks (its other workers
    are stopped too); the tasks that were running in dead workers are rerun one by one in a pool of their own —
    the one that kills its worker again is recorded as failed (``WorkerDied``) — and the rest go on in a new pool.
    """
    todo = {t.task_id: t for t in pending}
    _dead_workers_tasks(outdir)  # markers left by a run that was killed name no live worker: clear them
    while todo:
        pool = pool or start_pool(workers, study)
        broken = False
        try:
            futs = {pool.submit(task_fn, t, study, str(outdir)): t for t in todo.values()}
            live = set(futs)
            while live and not broken:
                finished, live = wait(live, return_when=FIRST_COMPLETED)
                for f in finished:
                    try:
                        rec = f.result()
                    except BrokenProcessPool:
                        broken = True
                        continue
                    del todo[futs[f].task_id]
                    yield futs[f], rec
        except BaseException:
            _terminate(pool)
            raise
        if not broken:
            _terminate(pool)  # the workers are idle and hold nothing: no need to wait for their interpreters to exit
            continue
        _terminate(pool)
        pool = None
        suspects = sorted(_dead_workers_tasks(outdir) & set(todo))
        if not suspects:
            raise InfrastructureError(
                "a worker of the local pool died without running a task: it failed to start (see the messages "
                "above; a Python script that runs a study with workers needs the `if __name__ == \"__main__\":` "
                "guard, as workers are spawned). Finished tasks are kept; rerun the study, or use --workers 1")
        log.warning("a worker process died while %s ran; running %s alone, then the %d other tasks in a new pool",
                    ", ".join(suspects), "it" if len(suspects) == 1 else "each", len(todo) - len(suspects))
        for tid in suspects:
            yield todo[tid], _alone(todo.pop(tid), study, outdir, task_fn)


# ------------------------------------------------------------------------------------------------ dask


def _connect(scheduler: str | None, cluster: str | None, workers: int, timeout_s: float) -> tuple[Any, Any]:
    from dask.distributed import Client, LocalCluster

    if cluster == "local":
        # the cluster's event-loop thread starts here and spawns the nannies' workers: it keeps the block, so
        # that Ctrl-C reaches the main thread only, which closes the cluster (no traceback from each worker)
        with worker_threads(workers), _sigint_held():
            lc = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        return lc, Client(lc, set_as_default=False)
    try:
        return None, Client(scheduler, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise InfrastructureError(
            f"cannot reach the dask scheduler at {scheduler} within {timeout_s:g} s ({type(exc).__name__}); start it "
            "(`dask scheduler`), check the address and the firewall, or run without --scheduler on the local pool"
        ) from None


def _n_workers(client: Any) -> int:
    """Workers connected to the scheduler now (0 when it cannot be asked)."""
    try:
        return int(client.scheduler_info(n_workers=0).get("n_workers", 0))
    except (OSError, RuntimeError):
        return 0


def _outcome(future: Any, task: Task, client: Any, lost: str, timeout_s: float) -> dict[str, Any] | None:
    """The record of a completed future; None when its result was lost with a worker (the task runs again).

    A finished task's result lives on its worker until it is fetched; when that worker dies first, the scheduler
    recomputes the task, which with no workers left never happens: the fetch waits ``timeout_s`` at most.
    """
    from distributed import KilledWorker

    if future.status == "finished":
        try:
            return dict(future.result(timeout=timeout_s))
        except TimeoutError:
            return None
        except OSError:  # the connection to the worker or the scheduler closed while fetching the result
            if client.status == "running":
                return None
            raise InfrastructureError(lost) from None
        except CancelledError:  # dask cancels every future when the client loses the scheduler
            raise InfrastructureError(lost) from None
    if future.status == "error":
        exc = future.exception()
        if isinstance(exc, KilledWorker):
            return {**task.as_dict(), "status": "failed", "error_type": "WorkerDied", "backend": "dask",
                    "error_message": f"dask workers died while running this task ({exc}); out of memory? give the "
                                     "workers more memory", "duration_s": 0.0}
        raise InfrastructureError(f"the dask workers cannot run vertfem tasks ({type(exc).__name__}: {exc}); check "
                                  "that vertfem and its dependencies are installed on every worker") from None
    if client.status == "running":
        return None
    raise InfrastructureError(lost)


def iter_dask(pending: list[Task], study: Study, outdir: Path, workers: int, scheduler: str | None,
              cluster: str | None) -> Iterator[Result]:
    """Run the tasks on a dask cluster (a running scheduler, or a LocalCluster started here).

    A task whose result was lost with its worker before it was collected runs again (up to 3 times); a cluster
    without workers for ``no_workers_timeout_s`` and a lost scheduler stop the run (:class:`InfrastructureError`).
    """
    from distributed import as_completed

    ex = study.execution
    lc, client = _connect(scheduler, cluster, workers, ex.connect_timeout_s)
    where = f"the dask scheduler at {scheduler}" if scheduler else "the local dask cluster"
    lost = (f"lost the connection to {where}; the tasks that finished are recorded, the others were not run. Restart "
            "the scheduler and its workers, then run the study again to finish it")
    futs: dict[Any, Task] = {}
    attempts: dict[str, int] = {}

    def submit(t: Task) -> Any:
        n = attempts.setdefault(t.task_id, 0)
        f = client.submit(run_task, t, study, str(outdir), "dask", key=f"vertfem-{t.task_id}-{n}", pure=False)
        futs[f] = t
        return f

    try:
        queue = as_completed([submit(t) for t in pending], loop=client.loop)
        no_workers_since: float | None = None
        polled = 0.0
        while futs:
            finished = queue.next_batch(block=False)
            if not finished:
                time.sleep(0.2)
            for f in finished:
                task = futs.pop(f)
                rec = _outcome(f, task, client, lost, ex.no_workers_timeout_s)
                if rec is None and attempts[task.task_id] < 3:
                    attempts[task.task_id] += 1
                    queue.add(submit(task))
                    continue
                yield task, rec or {**task.as_dict(), "status": "failed", "error_type": "WorkerDied",
                                    "backend": "dask", "duration_s": 0.0,
                                    "error_message": "the task's result was lost with its worker 3 times"}
            if client.status not in ("running", "connecting"):
                raise InfrastructureError(lost)
            if time.monotonic() - polled >= 1.0:  # ask the scheduler once a second
                polled = time.monotonic()
                no_workers_since = None if _n_workers(client) else (no_workers_since or polled)
                if no_workers_since is not None and polled - no_workers_since > ex.no_workers_timeout_s:
                    raise InfrastructureError(
                        f"{where} has had no workers for {ex.no_workers_timeout_s:g} s with {len(futs)} tasks "
                        "waiting; start workers (`dask worker <scheduler address>`) and run the study again "
                        "(execution: no_workers_timeout_s sets the wait)")
    finally:
        _close(client, lc, list(futs))


def _close(client: Any, lc: Any, futures: list[Any]) -> None:
    """Cancel what is left and close the client (and the local cluster), quietly when the scheduler is gone."""
    try:
        if futures and client.status == "running":
            client.cancel(futures)
    except Exception:  # cancelling on a dead connection only fails again
        log.debug("could not cancel the remaining dask futures", exc_info=True)
    try:
        client.close(timeout=5)
    except Exception:  # closing a lost connection
        log.debug("closing the dask client failed", exc_info=True)
    if lc is not None:
        lc.close()
