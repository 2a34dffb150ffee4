"""The pre-flight check: every problem before the run, mistakes in the study stop it, an estimate."""

from __future__ import annotations

import pandas as pd
import pytest
import SimpleITK as sitk

from vertfem.cli import main
from vertfem.errors import ConfigError
from vertfem.study import ResultStore, check_study, run_study
from vertfem.study.check import read_header

from .conftest import vbmd_study


def _problems(report, severity):
    return [p for p in report.problems if p.severity == severity]


def test_check_lists_every_bad_input_and_estimates(study_dir, capsys):
    rep = check_study(study_dir / "study.yaml")
    assert not rep.errors
    found = {p.where.split(" (")[1].split(",")[0]: p for p in _problems(rep, "problem") if "cohort row" in p.where}
    assert found["BADCT"].message.startswith("CT ") and "missing_ct" in found["BADCT"].message
    assert found["BADCT"].tasks == 3
    assert "UnknownVertebraError" in found["BADVERT"].message
    kernel = next(p for p in _problems(rep, "problem") if p.where.startswith("kernel 'B99f'"))
    assert kernel.tasks == 2 and "vbmd, fe" in kernel.message  # texture works on HU: only 2 tasks fail
    est = rep.estimate
    assert est.n_tasks == 27 and set(est.cpu_s) == {"vbmd", "fe", "texture"}
    assert est.cpu_s["fe"] > est.cpu_s["vbmd"] > 0 and est.peak_gb > 0.5  # an FE task holds its model
    assert main(["study", "check", str(study_dir / "study.yaml")]) == 3  # problems: tasks that will fail
    out = capsys.readouterr().out
    assert "BADCT" in out and "estimate: 27 tasks" in out and "0 errors, 3 problems" in out


def test_mistakes_in_the_study_are_errors_found_before_the_run(study_dir):
    df = pd.read_csv(study_dir / "cohort.csv")
    df.loc[len(df)] = df.iloc[0]  # the same subject, scan and kernel twice
    df.to_csv(study_dir / "cohort.csv", index=False)
    (study_dir / "bad.yaml").write_text(
        "name: typo\ncohort: cohort.csv\nmeasures: {vbmd: {}}\noutput: out_bad\nanalyses:\n"
        "  - {type: paired, kernels: [B40f, B70F], measures: [vbmd_mg_cm3]}\n"
        "  - {type: regression, x: vbmd_mg_cm3, measures: [stifness_N_per_mm, strength_N]}\n"
        "  - {type: roc, outcome: fractures, measures: [vbmd_mg_cm3]}\n"
        "  - {type: roc, outcome: age, measures: [vbmd_mg_cm3]}\n")
    rep = check_study(study_dir / "bad.yaml")
    msgs = [p.message for p in rep.errors]
    assert any("kernel 'B70F' is not in the cohort's 'kernel' column (kernels present: B40f, B70f, B99f)" in m
               for m in msgs)
    assert any("'stifness_N_per_mm'" in m and "did you mean 'stiffness_N_per_mm'" in m for m in msgs)
    assert any("'strength_N' is a column of the 'fe' measure, which the study does not compute" in m for m in msgs)
    assert any("outcome 'fractures' is not a cohort column; did you mean 'fracture'" in m for m in msgs)
    assert any("outcome 'age' must be coded 0/1" in m for m in msgs)
    assert any("appear 2 times" in m for m in msgs)
    with pytest.raises(ConfigError, match="found 6 errors"):
        run_study(study_dir / "bad.yaml")
    assert ResultStore(study_dir / "out_bad").records() == []  # nothing ran
    assert main(["study", "run", str(study_dir / "bad.yaml")]) == 1


def test_cut_vertebra_found_from_the_label_map_alone(cohort_dir, tmp_path):
    """A label map that ends inside the vertebra (the CT goes on) is found without reading the CT's voxels."""
    path = vbmd_study(cohort_dir, tmp_path)
    df = pd.read_csv(tmp_path / "cohort.csv")
    img = sitk.ReadImage(str(tmp_path / df.loc[0, "mask"]))
    z = img.GetSize()[2]
    sitk.WriteImage(img[:, :, : int(0.7 * z)], str(tmp_path / "data" / "cut_labels.nii.gz"))  # ends in L1
    df.loc[0, "mask"] = "data/cut_labels.nii.gz"
    df.to_csv(tmp_path / "cohort.csv", index=False)
    rep = check_study(path)
    (p,) = _problems(rep, "problem")
    assert "VertebraCutByFOVError" in p.message and "label map" in p.message and p.tasks == 1
    path.write_text(path.read_text() + "vertebra: {allow_cut: true}\n")
    rep = check_study(path)
    assert not rep.failing and any("cut by the field of view" in n.message for n in _problems(rep, "note"))
    strict = path.with_name("strict.yaml")
    strict.write_text(path.read_text().replace("allow_cut: true", "allow_cut: false"))
    with pytest.raises(ConfigError, match="found 1 error"):
        run_study(strict, strict=True)  # --strict: inputs that would fail stop the run too
    assert ResultStore(tmp_path / "out").records() == []


def test_check_results_are_cached_by_content(cohort_dir, tmp_path, monkeypatch):
    from vertfem.study import inputs

    path = vbmd_study(cohort_dir, tmp_path, scans=2)
    calls = []
    real = inputs._check_pair
    monkeypatch.setattr(inputs, "_check_pair", lambda *a: calls.append(a[:2]) or real(*a))
    first = check_study(path)
    assert first.ok and first.n_inputs == 6 and first.n_tasks == 12 and len(calls) == 6  # one per CT/mask pair
    again = check_study(path)
    assert again.problems == first.problems and len(calls) == 6  # nothing read again
    (tmp_path / "cohort.csv").write_text((tmp_path / "cohort.csv").read_text().replace(
        "S001_smooth_labels", "S001_sharp_labels"))  # same labels, other file: same content hash
    check_study(path)
    assert len(calls) == 6


def test_read_header_matches_the_image(cohort_dir):
    df = pd.read_csv(cohort_dir / "cohort.csv")
    path = cohort_dir / df.loc[0, "ct"]
    h = read_header(path)
    img = sitk.ReadImage(str(path))
    assert h.geometry.size == img.GetSize() and h.geometry.spacing_mm == pytest.approx(img.GetSpacing())
    assert h.geometry.origin_mm == pytest.approx(img.GetOrigin())
    assert h.pixel_type == img.GetPixelIDTypeAsString()
