import json

import numpy as np

from helpers import shared_path
from vertfem.cli import main


def test_info_on_shared_example(capsys):
    ct = shared_path("data", "ct-example", "ct.nii.gz")
    assert main(["info", str(ct), str(ct.parent / "vertebrae.nii.gz")]) == 0
    out = capsys.readouterr().out
    for name in ["S1", "L5", "L4", "L3", "L2", "L1", "T12", "T11"]:
        assert name in out
    assert "yes" in out


def test_vbmd_command_writes_json(tmp_path):
    from vertfem.data import example_paths

    p = example_paths()
    out = tmp_path / "r.json"
    assert main(["vbmd", str(p["ct"]), str(p["labels"]), "--vertebra", "L2", "--kernel", "B40f", "-o", str(out)]) == 0
    row = json.loads(out.read_text())
    assert row["vertebra"] == "L2" and 20 < row["vbmd_mg_cm3"] < 300


def test_errors_exit_1_with_message(capsys):
    from vertfem.data import example_paths

    p = example_paths()
    assert main(["vbmd", str(p["ct"]), str(p["labels"]), "--vertebra", "L1"]) == 1
    assert "UnknownKernelError" in capsys.readouterr().out
    assert main(["vbmd", str(p["ct"]), str(p["labels"]), "--vertebra", "T11", "--kernel", "B40f"]) == 1
    assert "VertebraCutByFOVError" in capsys.readouterr().out


def test_mesh_command_writes_vtu_and_deck(tmp_path):
    from vertfem.data import example_paths
    from vertfem.meshing import read_mesh

    p = example_paths()
    out = tmp_path / "l2.vtu"
    rc = main(["mesh", str(p["ct"]), str(p["labels"]), "--vertebra", "L2", "--kernel", "B40f", "--mesh-size", "3",
               "-o", str(out), "--abaqus", str(tmp_path / "l2.inp")])
    assert rc == 0
    m = read_mesh(out)
    assert m.n_elements > 1000 and (m.E_MPa > 0).all()
    assert "*ELEMENT, TYPE=C3D10" in (tmp_path / "l2.inp").read_text()


def test_mesh_command_with_pmma_caps(tmp_path, capsys):
    from vertfem.data import example_paths
    from vertfem.meshing import REGIONS, read_mesh

    p = example_paths()
    out = tmp_path / "l2.vtu"
    rc = main(["mesh", str(p["ct"]), str(p["labels"]), "--vertebra", "L2", "--kernel", "B40f", "--mesh-size", "3",
               "--cap-thickness-mm", "5", "--cap-modulus-mpa", "3000", "-o", str(out)])
    assert rc == 0
    assert "in PMMA caps" in capsys.readouterr().out
    m = read_mesh(out)
    cap = m.region == REGIONS["cap"]
    assert cap.sum() > 100 and np.all(m.E_MPa[cap] == 3000.0)
    assert {"superior_endplate", "inferior_endplate", "superior_cap"} <= set(m.node_sets)
