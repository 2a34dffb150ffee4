"""The README is tested: its option table is generated, its Python runs and prints what it says, and every front door
(README snippet, `vertfem vbmd`, `vertfem analyze`, a study) gives the bundled L1 the same vBMD to the last digit."""

from __future__ import annotations

import csv
import json
import re
import warnings
from pathlib import Path

import pytest

from vertfem.cli import main
from vertfem.errors import ResolutionWarning
from vertfem.measures import options_table_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_option_table_is_the_generated_one():
    text = README.read_text()
    table = text.split("<!-- options-table:start -->\n", 1)[1].split("\n<!-- options-table:end -->", 1)[0]
    assert table == options_table_markdown(), (
        "regenerate the README table: python -c \"import vertfem.measures as m; print(m.options_table_markdown())\"")


def _python_blocks() -> list[str]:
    section = README.read_text().split("## Python\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_readme_python_runs_and_prints_its_numbers(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResolutionWarning)
        for block in _python_blocks():
            exec(compile(block, "README.md", "exec"), ns)
    out = capsys.readouterr().out
    assert "80.0 mg/cm³ → osteopenia" in out
    assert "15563 8301" in out
    assert (tmp_path / "out" / "result.json").exists() and (tmp_path / "out" / "result.vtu").exists()
    assert 0 < ns["res"].stiffness_N_per_mm < ns["fe"].stiffness_N_per_mm
    assert ns["capped"].stiffness_N_per_mm is None or ns["capped"].reactions


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_front_door_gives_the_same_vbmd(example, tmp_path):
    from vertfem.study import run_study
    from vertfem.vbmd import trabecular_vbmd

    p = example.paths
    python = trabecular_vbmd(example.l1).vbmd_mg_cm3
    assert main(["vbmd", str(p["ct"]), str(p["labels"]), "--vertebra", "L1", "--kernel", "B40f",
                 "-o", str(tmp_path / "vbmd")]) == 0
    cli = json.loads((tmp_path / "vbmd" / "L1" / "vbmd.json").read_text())["values"]["vbmd_mg_cm3"]
    assert main(["analyze", str(p["ct"]), str(p["labels"]), "--vertebra", "L1", "--kernel", "B40f",
                 "--mesh-size-mm", "4", "--no-nodal-fields", "-o", str(tmp_path / "an")]) == 0
    analyze = json.loads((tmp_path / "an" / "L1" / "vbmd.json").read_text())["values"]["vbmd_mg_cm3"]
    (tmp_path / "cohort.csv").write_text(f"subject_id,kernel,ct,mask,vertebra\nS1,B40f,{p['ct']},{p['labels']},L1\n")
    (tmp_path / "study.yaml").write_text("name: front doors\ncohort: cohort.csv\nmeasures: {vbmd: {}}\n"
                                         "output: out\nexecution: {workers: 1}\n")
    run_study(tmp_path / "study.yaml", progress=False)
    study = float(_rows(tmp_path / "out" / "results.csv")[0]["vbmd_mg_cm3"])
    assert python == cli == analyze == pytest.approx(study, rel=1e-15)
    assert round(python, 1) == 80.0


def test_all_measures_see_the_same_body(example):
    import vertfem as vf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResolutionWarning)
        results = [vf.trabecular_vbmd(example.l1), vf.focal_bmc_loss(example.l1, voxel_mm=0.6),
                   vf.texture_features(example.l1)]
    bodies = {r.provenance.vertebra["body_volume_mm3"] for r in results}
    frames = {json.dumps(r.provenance.vertebra["frame"]) for r in results}
    assert len(bodies) == 1 and len(frames) == 1


def test_shipped_study_files_validate():
    from vertfem.study import load_study

    shipped = sorted((README.parent / "examples").rglob("*.yaml"))
    assert shipped
    for path in shipped:
        study = load_study(path)
        assert study.enabled(), path
