"""Running studies: per-task failures, resume, settings changes, subsets, progress, Ctrl-C, orphaned workers."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import psutil
import pytest
from rich.console import Console

from vertfem.cli import main
from vertfem.cli.study import progress_bar, task_line
from vertfem.errors import ConfigError
from vertfem.study import ResultStore, RunProgress, load_cohort, load_study, run_study, study_status
from vertfem.study.runner import StudyRun
from vertfem.study.tasks import Task

from .conftest import vbmd_study


def _records(folder):
    return {p.name: json.loads(p.read_text()) for p in (folder / "records").glob("[!.]*.json")}


def test_run_records_failures_per_task_and_resumes(study_dir):
    run = run_study(study_dir / "study.yaml")
    assert run.n_tasks == 6 * 3 + 3 * 3 and run.check is not None and len(run.check.failing) == 3
    store = ResultStore(study_dir / "out")
    recs = {r["task_id"]: r for r in store.records()}
    failed = {r["subject"]: r for r in recs.values() if r["status"] == "failed"}
    assert set(failed) == {"BADCT", "BADVERT", "BADKERNEL"}
    assert failed["BADCT"]["error_type"] == "ScanReadError" and "missing_ct" in failed["BADCT"]["ct"]
    assert failed["BADVERT"]["error_type"] == "UnknownVertebraError"
    assert failed["BADKERNEL"]["error_type"] == "UnknownKernelError"
    # texture works on HU: an unknown kernel fails only the calibrated measures
    assert {r["measure"] for r in recs.values() if r["subject"] == "BADKERNEL" and r["status"] == "failed"} == {
        "vbmd", "fe"}
    assert run.done == 19 and run.failed == 8
    table = pd.read_csv(study_dir / "out" / "results.csv")
    assert len(table) == 7 and table["stiffness_N_per_mm"].notna().sum() == 6
    assert table["ct_sha256"].notna().all() and {"vbmd_options_sha256", "fe_options_sha256", "flags"} <= set(table)
    assert "subject_id" not in table and "kernel" in table
    # sharp kernel stiffer for every subject (Jiang 2023)
    wide = table.dropna(subset=["stiffness_N_per_mm"]).pivot(index="subject", columns="kernel",
                                                               values="stiffness_N_per_mm")
    assert (wide["B70f"] > wide["B40f"]).all()
    before = {p.name: p.stat().st_mtime_ns for p in (study_dir / "out" / "records").glob("[!.]*.json")}
    # fix one bad row, rerun: finished tasks untouched, the fixed one retried and done, the others fail again
    shutil.copy(study_dir / "data" / "S001_smooth_ct.nii.gz", study_dir / "data" / "missing_ct.nii.gz")
    again = run_study(study_dir / "study.yaml")
    assert again.skipped == 19 and again.done == 3 and again.failed == 5
    after = {p.name: p.stat().st_mtime_ns for p in (study_dir / "out" / "records").glob("[!.]*.json")}
    assert all(after[n] == t for n, t in before.items() if json.loads(
        (study_dir / "out" / "records" / n).read_text())["subject"] not in failed)
    assert study_status(study_dir / "study.yaml")["fe"] == {"done": 7, "failed": 2, "outdated": 0, "pending": 0}


def test_changed_settings_recompute_and_keep_the_old_record(study_dir):
    """A rerun with other options must not return the old table (issue: 40 tasks 'already done')."""
    first = run_study(study_dir / "study_nofe.yaml")
    assert first.done == 13
    table = pd.read_csv(study_dir / "out_nofe" / "results.csv")
    text = (study_dir / "study_nofe.yaml").read_text().replace("vbmd: {}", "vbmd: {erosion_mm: 3.0}")
    (study_dir / "study_nofe.yaml").write_text(text)
    assert study_status(study_dir / "study_nofe.yaml")["vbmd"]["outdated"] == 6
    again = run_study(study_dir / "study_nofe.yaml")
    assert again.changed == 6 and again.done == 6 and again.skipped == 7  # the texture tasks are reused
    new = pd.read_csv(study_dir / "out_nofe" / "results.csv").dropna(subset=["vbmd_mg_cm3"])
    old = table.dropna(subset=["vbmd_mg_cm3"])
    assert (new["vbmd_erosion_mm"] == 3.0).all() and not np.allclose(new["vbmd_mg_cm3"], old["vbmd_mg_cm3"])
    superseded = list((study_dir / "out_nofe" / "records" / "superseded").glob("*.json"))
    assert len(superseded) == 6
    rec = json.loads(next((study_dir / "out_nofe" / "records").glob("S001*__vbmd.json")).read_text())
    assert rec["settings"]["options"]["erosion_mm"] == 3.0 and rec["provenance"]["options"]["erosion_mm"] == 3.0
    ct = next((study_dir / "data").glob("S001_smooth_ct.nii.gz"))
    ct.write_bytes(ct.read_bytes())  # same content, new mtime: the hash cache re-hashes, nothing changes
    assert run_study(study_dir / "study_nofe.yaml").done == 0  # only the 5 bad tasks ran again


def test_subset_reruns(cohort_dir, tmp_path):
    path = vbmd_study(cohort_dir, tmp_path)
    path.write_text(path.read_text().replace("vbmd: {}", "vbmd: {}\n  texture: {preset: ibsi}"))
    r = run_study(path, subjects=["S002"], measures=["vbmd"])
    assert (r.selected, r.done, r.n_tasks) == (2, 2, 12)
    assert {rec["task_id"] for rec in _records(tmp_path / "out").values()} == {
        "S002__1__B40f__L1__vbmd", "S002__1__B70f__L1__vbmd"}
    assert len(pd.read_csv(tmp_path / "out" / "results.csv")) == 2  # the table holds what is done
    with pytest.raises(ConfigError, match=r"unknown subject\(s\) 'S02' \(did you mean 'S002'\?\)"):
        run_study(path, subjects=["S02"])
    with pytest.raises(ConfigError, match=r"unknown measure\(s\) 'fe'"):
        run_study(path, measures=["fe"])
    # a failed task, then --failed-only reruns that one only
    df = pd.read_csv(tmp_path / "cohort.csv")
    good = df.loc[0, "ct"]
    df.loc[0, "ct"] = "data/nothing.nii.gz"
    df.to_csv(tmp_path / "cohort.csv", index=False)
    r = run_study(path, measures=["vbmd"])
    assert (r.done, r.failed) == (3, 1)
    df.loc[0, "ct"] = good
    df.to_csv(tmp_path / "cohort.csv", index=False)
    r = run_study(path, failed_only=True)
    assert (r.selected, r.done, r.failed) == (1, 1, 0)
    assert main(["study", "run", str(path), "--measures", "texture", "--subjects", "S001,S003"]) == 0
    assert study_status(path) == {"vbmd": {"done": 6, "failed": 0, "outdated": 0, "pending": 0},
                                  "texture": {"done": 4, "failed": 0, "outdated": 0, "pending": 2}}


def test_progress_events_and_lines_when_not_a_terminal(cohort_dir, tmp_path, capsys):
    path = vbmd_study(cohort_dir, tmp_path)
    events: list[RunProgress] = []
    run = run_study(path, progress=events.append)
    assert [e.event for e in events] == ["start"] + ["task"] * 6
    assert [e.finished for e in events[1:]] == [1, 2, 3, 4, 5, 6] and events[-1].eta_s == 0.0
    assert all(e.eta_s is not None and e.eta_s >= 0 for e in events) and events[0].run.log_path == run.log_path
    log = (tmp_path / "out" / "study.log").read_text()
    assert log.count(" done S00") == 6 and "check:" in log
    shutil.rmtree(tmp_path / "out")
    assert main(["study", "run", str(path)]) == 0  # pytest's capture is not a terminal: one line per task
    out = capsys.readouterr().out.splitlines()
    lines = [x for x in out if x.startswith("[")]
    assert len(lines) == 6 and all(" done " in x and "ETA " in x and "elapsed " in x for x in lines)
    assert lines[0].startswith("[1/6] done   S00") and f"log: {tmp_path / 'out' / 'study.log'}" in out[-1]


def test_progress_bar_fits_80_columns():
    task = Task("S012__1__B70f__L1__fe", "S012", "1", "B70f", "L1", "fe", "ct", "mask", 0, {}, "x")
    buf = io.StringIO()
    console = Console(file=buf, width=80, force_terminal=True, color_system=None)
    bar = progress_bar(console)
    job = bar.add_task("kernel comparison…", total=240, failed=0, eta="0:00:00")
    bar.update(job, completed=123, failed=17, eta="1:02:03")
    with console.capture() as cap:
        console.print(bar.get_renderable())
    line = cap.get().rstrip("\n")
    assert len(line) <= 80 and "123/240" in line and "17 failed" in line and "ETA 1:02:03" in line, line
    p = RunProgress("task", 240, 7, 6, 1, 65.0, 3723.0, task, "failed", 1.2, "ScanReadError: no such file\nmore",
                    StudyRun(240, 0, 6, 1, 65.0, 60.0, "local"))
    assert task_line(p) == "[  7/240] FAILED S012__1__B70f__L1__fe  ScanReadError: no such file | ETA 1:02:03"


def _cli(path, *extra, stdout=subprocess.DEVNULL, workers="2"):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "vertfem", "study", "run", str(path), "--workers", workers,
                             *extra], env=env, stdout=stdout, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_records(folder, n, timeout_s=180):
    deadline = time.time() + timeout_s
    while time.time() < deadline and len(list((folder / "records").glob("[!.]*.json"))) < n:
        time.sleep(0.2)


def test_killed_run_keeps_its_log_and_resumes_with_every_task_once(study_dir):
    with open(study_dir / "run.out", "w") as out:
        proc = _cli(study_dir / "study_nofe.yaml", stdout=out, workers="1")
        _wait_records(study_dir / "out_nofe", 3)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    first = _records(study_dir / "out_nofe")
    assert 3 <= len(first) < 18, "the run must be killed part-way"
    lines = [x for x in (study_dir / "run.out").read_text().splitlines() if x.startswith("[")]
    assert len(lines) >= 3 and "study.log" in (study_dir / "run.out").read_text()  # flushed line by line
    assert (study_dir / "out_nofe" / "study.log").read_text().count(" done ") >= 3
    assert main(["study", "run", str(study_dir / "study_nofe.yaml"), "--workers", "1"]) == 3  # 5 bad tasks
    final = _records(study_dir / "out_nofe")
    assert len(final) == 9 * 2
    for name, rec in first.items():
        if rec["status"] == "done":
            assert final[name] == rec, "a finished record was rewritten"
    assert sum(r["status"] == "done" for r in final.values()) == 13


def _pool_workers(pid):
    try:
        return [c for c in psutil.Process(pid).children(recursive=True) if "python" in c.name().lower()]
    except psutil.NoSuchProcess:
        return []


def test_no_orphaned_workers_10_s_after_sigkill_of_the_main_process(cohort_dir, tmp_path):
    path = vbmd_study(cohort_dir, tmp_path, scans=4)
    proc = _cli(path)
    _wait_records(tmp_path / "out", 1)
    workers = _pool_workers(proc.pid)
    assert len(workers) >= 2, "the pool should be running"
    os.kill(proc.pid, signal.SIGKILL)  # the main process only, as the OOM killer or `kill -9` would
    proc.wait()
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, f"orphaned workers after 10 s: {[p.pid for p in alive]}"


@pytest.mark.parametrize("backend", [(), ("--cluster", "local")], ids=["pool", "dask"])
def test_ctrl_c_stops_cleanly_and_says_how_to_resume(cohort_dir, tmp_path, backend):
    path = vbmd_study(cohort_dir, tmp_path, scans=4)
    with open(tmp_path / "run.out", "w") as out:
        proc = _cli(path, *backend, stdout=out)
        _wait_records(tmp_path / "out", 2)
        workers = _pool_workers(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole process group
        code = proc.wait(timeout=60)
    text = (tmp_path / "run.out").read_text()
    assert code == 130 and "Traceback" not in text and "KeyboardInterrupt" not in text, text
    assert f"resume with `vertfem study run {path}`" in text and "not run" in text
    assert not psutil.wait_procs(workers, timeout=10)[1]
    recs = _records(tmp_path / "out")
    assert recs and all(r["status"] == "done" for r in recs.values())  # an interrupted task is not a failure
    assert len(pd.read_csv(tmp_path / "out" / "results.csv")) == len({r["row"] for r in recs.values()})
    assert main(["study", "run", str(path), "--workers", "1"]) == 0
    assert study_status(path)["vbmd"]["done"] == 24


def test_ctrl_c_before_the_first_task_leaves_no_traceback(cohort_dir, tmp_path):
    """Ctrl-C while the inputs are hashed and the workers still import (CI hit the latter at stop 26)."""
    path = vbmd_study(cohort_dir, tmp_path, scans=4)
    with open(tmp_path / "run.out", "w") as out:
        proc = _cli(path, stdout=out)
        deadline = time.time() + 60
        while time.time() < deadline and len(_pool_workers(proc.pid)) < 3:  # the resource tracker and 2 workers
            time.sleep(0.01)
        assert not list((tmp_path / "out" / "records").glob("[!.]*.json")), "the workers should still be starting"
        os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(timeout=60)
    text = (tmp_path / "run.out").read_text()
    assert code == 130 and "Traceback" not in text and "KeyboardInterrupt" not in text, text


def test_pool_workers_ignore_ctrl_c_from_their_start_and_share_the_cores(cohort_dir, tmp_path):
    from vertfem.study.backends import start_pool, stop_pool

    pool = start_pool(2, load_study(vbmd_study(cohort_dir, tmp_path)))
    try:
        procs = list(pool._processes.values())
        assert len(procs) == 2
        for p in procs:  # long before their initializer has run: they are still importing
            os.kill(p.pid, signal.SIGINT)
        threads = [pool.submit(os.getenv, "NUMBA_NUM_THREADS").result(timeout=120) for _ in range(4)]
        time.sleep(0.5)
        assert all(p.is_alive() for p in procs)
    finally:
        stop_pool(pool)
    assert set(threads) == {str(max(1, (os.cpu_count() or 1) // 2))}


def kill_worker_on_s001_b40f(task, study, outdir):
    """Run a task as the pool does, except that S001's B40f task kills its worker (as the OOM killer would)."""
    from vertfem.study import backends

    if task.task_id == "S001__1__B40f__L1__vbmd":
        backends.run_task = lambda *a: os.kill(os.getpid(), signal.SIGKILL)
    return backends._pool_task(task, study, outdir)


@pytest.mark.slow  # four pools start one after the other
def test_a_task_that_kills_its_worker_fails_alone_and_the_others_finish(cohort_dir, tmp_path):
    from vertfem.study.backends import iter_pool
    from vertfem.study.tasks import make_tasks

    study = load_study(vbmd_study(cohort_dir, tmp_path))
    tasks = make_tasks(study, load_cohort(study))
    assert tasks[0].task_id == "S001__1__B40f__L1__vbmd"  # runs beside S001's B70f task, which dies with it
    recs = {t.task_id: r for t, r in iter_pool(tasks, study, study.output_dir, 2, task_fn=kill_worker_on_s001_b40f)}
    assert len(recs) == 6 and recs.pop("S001__1__B40f__L1__vbmd")["error_type"] == "WorkerDied"
    assert all(r["status"] == "done" for r in recs.values())


def test_excel_cohort_and_missing_columns(study_dir):
    df = pd.read_csv(study_dir / "cohort.csv")
    df.to_excel(study_dir / "cohort.xlsx", index=False)
    text = (study_dir / "study.yaml").read_text().replace("cohort: cohort.csv", "cohort: cohort.xlsx")
    (study_dir / "excel.yaml").write_text(text)
    got = load_cohort(load_study(study_dir / "excel.yaml"))
    assert len(got) == len(df) and list(got["subject_id"]) == list(df["subject_id"].astype(str))
    df.drop(columns=["mask"]).to_csv(study_dir / "cohort.csv", index=False)
    with pytest.raises(ConfigError, match=r"lacks column\(s\) \['mask'\]"):
        load_cohort(load_study(study_dir / "study.yaml"))
