from __future__ import annotations

import importlib.util
import shutil
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
  - {{type: paired, kernels: [B40f, B70f], measures: [vbmd_mg_cm3, stiffness_N_per_mm]}}
  - {{type: bland_altman, kernels: [B40f, B70f], measures: [stiffness_N_per_mm]}}
  - {{type: regression, x: vbmd_mg_cm3, measures: [stiffness_N_per_mm]}}
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
    (tmp_path / "study.yaml").write_text(STUDY.format(fe="  fe: {mesh_size_mm: 4.0}\n"))
    (tmp_path / "study_nofe.yaml").write_text(STUDY.format(fe="").replace("output: out", "output: out_nofe"))
    return tmp_path
