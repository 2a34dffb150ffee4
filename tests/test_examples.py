"""Examples are tests: run them (on a coarser mesh to stay fast) and check a key number."""

import importlib.util
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_example_01_analyze(tmp_path):
    res = _load("01_analyze_l1").main(str(tmp_path), mesh_size_mm=3.0)
    assert 3_000 < res.fe.stiffness_N_per_mm < 60_000
    assert (tmp_path / "result.vtu").exists()


def test_example_02_custom_load_case():
    out = _load("02_custom_load_case").main(mesh_size_mm=3.0)
    assert 0 < out["anterior_push"] < out["axial_compression"]


def test_example_03_focal(tmp_path):
    s = _load("03_focal_bmc_loss").main(str(tmp_path), spacing_mm=0.8)
    assert 0 < s["focal_void_fraction"] < 1
    assert (tmp_path / "phantom" / "focal_section.png").exists()
    assert (tmp_path / "L1" / "focal_bmc_loss.nii.gz").exists()


def test_example_04_gallery(tmp_path):
    shots = _load("04_gallery").main(str(tmp_path), mesh_size_mm=3.0)
    assert len(shots) == 5 and all(p.stat().st_size > 10_000 for p in shots)
