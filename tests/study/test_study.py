"""Studies: YAML validation with lines, per-task failures, resume, kill + rerun, dask = pool, report."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from vertfem.cli import main
from vertfem.errors import ConfigError
from vertfem.study import ResultStore, load_study, run_study, study_status, write_report


def test_yaml_errors_name_key_and_line(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("name: x\ncohort: c.csv\nmeasures:\n  fe:\n    mesh_size_mm: -1\n    colour: red\n")
    with pytest.raises(ConfigError) as e:
        load_study(p)
    msg = str(e.value)
    assert "measures.fe.mesh_size_mm (line 5)" in msg and "measures.fe.colour (line 6)" in msg
    p.write_text("name: x\ncohort: c.csv\nanalyses:\n  - {type: roc, measures: [a]}\n")
    with pytest.raises(ConfigError, match=r"analyses.0 \(line 4\).*needs outcome"):
        load_study(p)
    p.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_study(p)
    p.write_text("name: x\ncohort: c.csv\nmeasures: {texture: {preset: nope}}\n")
    with pytest.raises(ConfigError, match="measures.texture.preset.*unknown preset"):
        load_study(p)
    p.write_text("name: x\ncohort: c.csv\nmeasures: {fe: {cap_thickness_mm: -2}}\n")
    with pytest.raises(ConfigError, match=r"measures.fe.cap_thickness_mm"):
        load_study(p)
    p.write_text("name: x\ncohort: c.csv\nmeasures: {fe: {mesh_size_mm: 2.5, cap_thickness_mm: 5}}\n")
    opts = load_study(p).enabled()["fe"].mesh_options()
    assert opts.cap_thickness_mm == 5.0 and opts.mesh_size_mm == 2.5
    p.write_text("name: x\ncohort: c.csv\nconvention: verse\n")
    with pytest.raises(ConfigError, match="convention"):
        load_study(p)


def test_run_records_failures_per_task_and_resumes(study_dir):
    run = run_study(study_dir / "study.yaml", progress=False)
    assert run.n_tasks == 6 * 3 + 3 * 3
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
    again = run_study(study_dir / "study.yaml", progress=False)
    assert again.skipped == 19 and again.done == 3 and again.failed == 5
    after = {p.name: p.stat().st_mtime_ns for p in (study_dir / "out" / "records").glob("[!.]*.json")}
    assert all(after[n] == t for n, t in before.items() if json.loads(
        (study_dir / "out" / "records" / n).read_text())["subject"] not in failed)
    assert study_status(study_dir / "study.yaml")["fe"] == {"done": 7, "failed": 2, "outdated": 0, "pending": 0}
    report = write_report(study_dir / "study.yaml")
    text = report.read_text()
    assert "## paired (paired)" in text and "UnknownKernelError" in text
    assert (report.parent / "report.html").exists()
    assert len(list((report.parent / "figures").glob("*.png"))) >= 4


def test_killed_run_resumes_with_every_task_once(study_dir):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "vertfem", "study", "run", str(study_dir / "study_nofe.yaml"), "--workers", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    records = study_dir / "out_nofe" / "records"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(records.glob("[!.]*.json"))) < 3:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    first = {p.name: p.read_text() for p in records.glob("[!.]*.json")}
    assert 3 <= len(first) < 18, "the run must be killed part-way"
    assert main(["study", "run", str(study_dir / "study_nofe.yaml"), "--workers", "1"]) == 3  # 5 bad tasks
    final = {p.name: json.loads(p.read_text()) for p in records.glob("[!.]*.json")}
    assert len(final) == 9 * 2
    for name, text in first.items():
        if json.loads(text)["status"] == "done":
            assert final[name] == json.loads(text), "a finished record was rewritten"
    assert sum(r["status"] == "done" for r in final.values()) == 13


def test_dask_local_cluster_and_process_pool_give_identical_tables(study_dir):
    pool = run_study(study_dir / "study_nofe.yaml", workers=2, progress=False)
    assert pool.backend == "local"
    a = pd.read_csv(study_dir / "out_nofe" / "results.csv")
    shutil.rmtree(study_dir / "out_nofe")
    dask = run_study(study_dir / "study_nofe.yaml", workers=2, cluster="local", progress=False)
    assert dask.backend == "dask" and dask.done == pool.done == 13
    b = pd.read_csv(study_dir / "out_nofe" / "results.csv")
    pd.testing.assert_frame_equal(a, b)
    backends = {json.loads(p.read_text())["backend"] for p in (study_dir / "out_nofe" / "records").glob("[!.]*.json")}
    assert backends == {"dask"}


def test_excel_cohort_and_missing_columns(study_dir):
    from vertfem.study import load_cohort

    df = pd.read_csv(study_dir / "cohort.csv")
    df.to_excel(study_dir / "cohort.xlsx", index=False)
    text = (study_dir / "study.yaml").read_text().replace("cohort: cohort.csv", "cohort: cohort.xlsx")
    (study_dir / "excel.yaml").write_text(text)
    got = load_cohort(load_study(study_dir / "excel.yaml"))
    assert len(got) == len(df) and list(got["subject_id"]) == list(df["subject_id"].astype(str))
    df.drop(columns=["mask"]).to_csv(study_dir / "cohort.csv", index=False)
    with pytest.raises(ConfigError, match=r"lacks column\(s\) \['mask'\]"):
        load_cohort(load_study(study_dir / "study.yaml"))


def test_changed_settings_recompute_and_keep_the_old_record(study_dir):
    """A rerun with other options must not return the old table (issue: 40 tasks 'already done')."""
    first = run_study(study_dir / "study_nofe.yaml", progress=False)
    assert first.done == 13
    table = pd.read_csv(study_dir / "out_nofe" / "results.csv")
    text = (study_dir / "study_nofe.yaml").read_text().replace("vbmd: {}", "vbmd: {erosion_mm: 3.0}")
    (study_dir / "study_nofe.yaml").write_text(text)
    assert study_status(study_dir / "study_nofe.yaml")["vbmd"]["outdated"] == 6
    again = run_study(study_dir / "study_nofe.yaml", progress=False)
    assert again.changed == 6 and again.done == 6 and again.skipped == 7  # the texture tasks are reused
    new = pd.read_csv(study_dir / "out_nofe" / "results.csv").dropna(subset=["vbmd_mg_cm3"])
    old = table.dropna(subset=["vbmd_mg_cm3"])
    assert (new["vbmd_erosion_mm"] == 3.0).all() and not np.allclose(new["vbmd_mg_cm3"], old["vbmd_mg_cm3"])
    superseded = list((study_dir / "out_nofe" / "records" / "superseded").glob("*.json"))
    assert len(superseded) == 6
    rec = json.loads(next((study_dir / "out_nofe" / "records").glob("S001*__vbmd.json")).read_text())
    assert rec["settings"]["options"]["erosion_mm"] == 3.0 and rec["provenance"]["options"]["erosion_mm"] == 3.0
    # a changed input file (same name) is a changed setting too
    ct = next((study_dir / "data").glob("S001_smooth_ct.nii.gz"))
    ct.write_bytes(ct.read_bytes())  # same content, new mtime: the hash cache re-hashes, nothing changes
    assert run_study(study_dir / "study_nofe.yaml", progress=False).done == 0  # only the 5 bad tasks ran again
