from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "kernel_comparison"


def _make_cohort_module():
    spec = importlib.util.spec_from_file_location("make_cohort", EXAMPLE / "make_cohort.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def cohort_dir(tmp_path_factory) -> Path:
    """Three phantom subjects × two kernels at 1.5 mm (rendered once per session)."""
    d = tmp_path_factory.mktemp("cohort")
    _make_cohort_module().make_cohort(3, 1.5, d, seed=5)
    return d


STUDY = """\
name: test study
cohort: cohort.csv
measures:
  vbmd: {{}}
{fe}  texture: {{preset: goller2023}}
analyses:
  - {{type: paired, kernels: [B40f, B70f], measures: [vbmd_mg_cm3, {y}]}}
  - {{type: bland_altman, kernels: [B40f, B70f], measures: [{y}]}}
  - {{type: regression, x: vbmd_mg_cm3, measures: [{y}]}}
output: out
execution: {{workers: 1}}
"""


@pytest.fixture
def study_dir(cohort_dir, tmp_path) -> Path:
    """A fresh study folder over the shared cohort, with one extra row per kind of bad input."""
    shutil.copytree(cohort_dir / "data", tmp_path / "data")
    df = pd.read_csv(cohort_dir / "cohort.csv")
    bad = df.iloc[[0, 0, 0]].copy()
    bad["subject_id"] = ["BADCT", "BADVERT", "BADKERNEL"]
    bad.iloc[0, bad.columns.get_loc("ct")] = "data/missing_ct.nii.gz"
    bad.iloc[1, bad.columns.get_loc("vertebra")] = "L9"
    bad.iloc[2, bad.columns.get_loc("kernel")] = "B99f"
    pd.concat([df, bad]).to_csv(tmp_path / "cohort.csv", index=False)
    (tmp_path / "study.yaml").write_text(STUDY.format(fe="  fe: {mesh_size_mm: 4.0}\n", y="stiffness_N_per_mm"))
    (tmp_path / "study_nofe.yaml").write_text(STUDY.format(fe="", y='"body:original:ih.var"').replace(
        "output: out", "output: out_nofe"))
    return tmp_path


def vbmd_study(cohort_dir: Path, folder: Path, *, scans: int = 1, execution: str = "{workers: 1}",
               extra: str = "") -> Path:
    """A vBMD-only study (fast tasks) over the shared cohort, each CT listed as ``scans`` repeat scans."""
    shutil.copytree(cohort_dir / "data", folder / "data", dirs_exist_ok=True)
    df = pd.read_csv(cohort_dir / "cohort.csv")
    df = pd.concat([df.assign(scan_id=str(s + 1)) for s in range(scans)], ignore_index=True)
    df.to_csv(folder / "cohort.csv", index=False)
    path = folder / "vbmd.yaml"
    path.write_text(f"name: vbmd study\ncohort: cohort.csv\nmeasures:\n  vbmd: {{}}\noutput: out\n"
                    f"execution: {execution}\n{extra}")
    return path


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class DaskProcesses:
    """A dask scheduler and one worker as separate processes (killed by the test or at teardown)."""

    def __init__(self, tmp: Path) -> None:
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self.log = open(tmp / "dask.log", "w")  # closed in stop()
        self.scheduler = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
             "--no-dashboard"], stdout=self.log, stderr=subprocess.STDOUT)
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", self.address, "--nthreads", "1", "--nworkers", "1",
             "--no-dashboard", "--no-nanny"], stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        from distributed import Client

        deadline = time.time() + timeout_s
        with Client(self.address, timeout=timeout_s, set_as_default=False) as c:
            while not c.scheduler_info()["workers"]:
                if time.time() > deadline:
                    raise TimeoutError("the dask worker did not register")
                time.sleep(0.2)

    def stop(self) -> None:
        for p in (self.worker, self.scheduler):
            if p.poll() is None:
                p.kill()
            p.wait()
        self.log.close()


@pytest.fixture
def dask_processes(tmp_path):
    procs = DaskProcesses(tmp_path)
    yield procs
    procs.stop()
