"""Every command through ``vertfem.cli.main``: the files it writes and what they contain."""

import csv
import json

import numpy as np
import pytest

from vertfem.cli import main
from vertfem.meshing import REGIONS, read_mesh


def _table(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_info_on_bundled_example(example, capsys):
    assert main(["info", str(example.paths["ct"]), str(example.paths["labels"])]) == 0
    out = capsys.readouterr().out
    for name in ["S1", "L5", "L4", "L3", "L2", "L1", "T12", "T11"]:
        assert name in out
    assert "yes" in out


def test_vbmd_command_writes_record_and_table(example, tmp_path):
    p = example.paths
    assert main(["vbmd", str(p["ct"]), str(p["labels"]), "--vertebra", "L2", "--kernel", "B40f", "-o",
                 str(tmp_path)]) == 0
    rec = json.loads((tmp_path / "L2" / "vbmd.json").read_text())
    assert rec["values"]["vertebra"] == "L2" and rec["provenance"]["vertebra"]["name"] == "L2"
    (row,) = _table(tmp_path / "vbmd.csv")
    assert row["status"] == "done" and float(row["vbmd_mg_cm3"]) == pytest.approx(rec["values"]["vbmd_mg_cm3"])
    assert row["ct_sha256"] == example.scan.metadata["sha256"] and row["cut_by_fov"] == "False"


def test_errors_exit_1_with_class_and_message(example, capsys):
    p = example.paths
    assert main(["vbmd", str(p["ct"]), str(p["labels"]), "--vertebra", "L1"]) == 1
    assert "UnknownKernelError" in capsys.readouterr().out
    assert main(["vbmd", str(p["ct"]), str(p["labels"]), "--vertebra", "T11", "--kernel", "B40f"]) == 1
    assert "VertebraCutByFOVError" in capsys.readouterr().out


def test_ctrl_c_exits_130_with_one_line(example, monkeypatch, capsys):
    from vertfem import vbmd

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(vbmd, "trabecular_vbmd", interrupted)
    p = example.paths
    assert main(["vbmd", str(p["ct"]), str(p["labels"]), "--vertebra", "L2", "--kernel", "B40f"]) == 130
    assert capsys.readouterr().out.strip() == "interrupted"


def test_several_levels_with_a_refused_one_exit_3_and_record_it(example, tmp_path):
    p = example.paths
    rc = main(["vbmd", str(p["ct"]), str(p["labels"]), "--vertebra", "T12-L2", "--kernel", "B40f", "-o",
               str(tmp_path)])
    assert rc == 3
    rows = {r["vertebra"]: r for r in _table(tmp_path / "vbmd.csv")}
    assert rows["T12"]["status"] == "failed" and rows["T12"]["error_type"] == "VertebraCutByFOVError"
    assert rows["L1"]["status"] == rows["L2"]["status"] == "done"
    assert not (tmp_path / "T12").exists()


def test_allow_cut_result_is_flagged_in_every_output(example, tmp_path):
    p = example.paths
    assert main(["vbmd", str(p["ct"]), str(p["labels"]), "--vertebra", "T12", "--kernel", "B40f", "--allow-cut",
                 "-o", str(tmp_path)]) == 0
    (row,) = _table(tmp_path / "vbmd.csv")
    assert row["cut_by_fov"] == "True" and "cut_by_fov" in row["flags"]
    flags = json.loads((tmp_path / "T12" / "vbmd.json").read_text())["provenance"]["flags"]
    assert [f["code"] for f in flags] == ["cut_by_fov"]


def test_mesh_command_writes_vtu_and_deck(example, tmp_path):
    p = example.paths
    out = tmp_path / "l2.vtu"
    rc = main(["mesh", str(p["ct"]), str(p["labels"]), "--vertebra", "L2", "--kernel", "B40f", "--mesh-size-mm", "3",
               "-o", str(out), "--abaqus", str(tmp_path / "l2.inp")])
    assert rc == 0
    m = read_mesh(out)
    assert m.n_elements > 1000 and (m.E_MPa > 0).all()
    assert "*ELEMENT, TYPE=C3D10" in (tmp_path / "l2.inp").read_text()


def test_mesh_command_with_pmma_caps(example, tmp_path, capsys):
    p = example.paths
    out = tmp_path / "l2.vtu"
    rc = main(["mesh", str(p["ct"]), str(p["labels"]), "--vertebra", "L2", "--kernel", "B40f", "--mesh-size-mm", "3",
               "--cap-thickness-mm", "5", "--cap-modulus-MPa", "3000", "-o", str(out)])
    assert rc == 0
    assert "in PMMA caps" in capsys.readouterr().out
    m = read_mesh(out)
    cap = m.region == REGIONS["cap"]
    assert cap.sum() > 100 and np.all(m.E_MPa[cap] == 3000.0)
    assert {"superior_endplate", "inferior_endplate", "superior_cap"} <= set(m.node_sets)


def test_analyze_two_levels_one_table(example, tmp_path):
    p = example.paths
    rc = main(["analyze", str(p["ct"]), str(p["labels"]), "--vertebra", "L1,L2", "--kernel", "B40f",
               "--mesh-size-mm", "3", "--no-nodal-fields", "-o", str(tmp_path)])
    assert rc == 0
    rows = {r["vertebra"]: r for r in _table(tmp_path / "levels.csv")}
    assert set(rows) == {"L1", "L2"}
    for name, r in rows.items():
        res = json.loads((tmp_path / name / "result.json").read_text())
        vb = json.loads((tmp_path / name / "vbmd.json").read_text())
        assert float(r["stiffness_N_per_mm"]) == pytest.approx(res["values"]["stiffness_N_per_mm"])
        assert float(r["vbmd_mg_cm3"]) == pytest.approx(vb["values"]["vbmd_mg_cm3"])
        assert res["provenance"]["options"]["mesh_size_mm"] == 3.0
        assert (tmp_path / name / "result.vtu").stat().st_size > 100_000


def test_demo_reproduces_the_bundled_numbers(tmp_path):
    """`vertfem demo` = analyze L1 at 2 mm: the README's numbers, to the last printed digit."""
    assert main(["demo", "-o", str(tmp_path)]) == 0
    (row,) = _table(tmp_path / "levels.csv")
    assert round(float(row["stiffness_N_per_mm"])) == 15563
    assert round(float(row["strength_N"])) == 8301
    assert round(float(row["vbmd_mg_cm3"]), 1) == 80.0 and row["acr_class"] == "osteopenia"
