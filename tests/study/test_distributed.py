"""dask backends: same results as the pool; losing the scheduler or every worker, or never reaching the
scheduler, stops the run with one message and records no task as failed."""

from __future__ import annotations

import json
import shutil
import threading
import time

import pandas as pd
import pytest

from vertfem.cli import main
from vertfem.study import InfrastructureError, run_study, study_status

from .conftest import free_port, vbmd_study

pytestmark = pytest.mark.slow  # real dask processes: 10–40 s each


def _statuses(folder):
    return [json.loads(p.read_text())["status"] for p in (folder / "records").glob("[!.]*.json")]


def _after_records(folder, n, action, timeout_s=120):
    """Run ``action`` in a thread once ``n`` records exist (the run goes on in the test's thread)."""
    def watch():
        deadline = time.time() + timeout_s
        while time.time() < deadline and len(list((folder / "records").glob("[!.]*.json"))) < n:
            time.sleep(0.05)
        action()

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


def test_dask_local_cluster_and_process_pool_give_identical_tables(cohort_dir, tmp_path):
    path = vbmd_study(cohort_dir, tmp_path)
    pool = run_study(path, workers=2)
    assert pool.backend == "local"
    a = pd.read_csv(tmp_path / "out" / "results.csv")
    shutil.rmtree(tmp_path / "out")
    dask = run_study(path, workers=2, cluster="local")
    assert dask.backend == "dask" and dask.done == pool.done == 6
    pd.testing.assert_frame_equal(a, pd.read_csv(tmp_path / "out" / "results.csv"))
    backends = {json.loads(p.read_text())["backend"] for p in (tmp_path / "out" / "records").glob("[!.]*.json")}
    assert backends == {"dask"}


def test_killed_scheduler_is_not_a_task_failure(cohort_dir, tmp_path, dask_processes):
    path = vbmd_study(cohort_dir, tmp_path, scans=5, execution="{workers: 1, connect_timeout_s: 3}")
    dask_processes.wait_ready()
    _after_records(tmp_path / "out", 2, dask_processes.scheduler.kill)
    t = time.time()
    with pytest.raises(InfrastructureError, match="lost the connection to the dask scheduler at tcp://"):
        run_study(path, scheduler=dask_processes.address)
    statuses = _statuses(tmp_path / "out")
    assert 2 <= len(statuses) < 30 and set(statuses) == {"done"}, statuses  # nothing recorded as failed
    assert time.time() - t < 90
    done_before = len(statuses)
    assert main(["study", "run", str(path), "--workers", "1"]) == 0  # the rest, on the local machine
    assert study_status(path)["vbmd"] == {"done": 30, "failed": 0, "outdated": 0, "pending": 0}
    assert done_before < 30


def test_no_workers_times_out_with_a_message(cohort_dir, tmp_path, dask_processes):
    path = vbmd_study(cohort_dir, tmp_path, scans=5, execution="{workers: 1, no_workers_timeout_s: 2}")
    dask_processes.wait_ready()
    _after_records(tmp_path / "out", 1, dask_processes.worker.kill)
    with pytest.raises(InfrastructureError, match=r"has had no workers for 2 s with \d+ tasks waiting"):
        run_study(path, scheduler=dask_processes.address)
    assert set(_statuses(tmp_path / "out")) == {"done"}


def test_unreachable_scheduler_is_one_clear_error_quickly(cohort_dir, tmp_path, capsys):
    path = vbmd_study(cohort_dir, tmp_path, execution="{workers: 1, connect_timeout_s: 2}")
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    t = time.time()
    assert main(["study", "run", str(path), "--scheduler", address]) == 1
    took = time.time() - t
    out = capsys.readouterr().out
    errors = [x for x in out.splitlines() if x.startswith("error")]
    assert len(errors) == 1 and f"cannot reach the dask scheduler at {address} within 2 s" in errors[0]
    assert "Traceback" not in out and took < 15, took
    assert _statuses(tmp_path / "out") == []
