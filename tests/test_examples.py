"""Examples are tests: run them (coarser meshes to stay fast) and pin their numbers, as scikit-fem pins its examples.

The pinned values were produced by the examples themselves (gmsh HXT on one thread is deterministic); a change
of any of them means the pipeline's numbers changed — update the pin only with the reason in the commit.
"""

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_example_01_analyze(tmp_path):
    res = _load("01_analyze_l1").main(str(tmp_path), mesh_size_mm=3.0)
    assert res.fe.mesh.n_elements == 10976
    assert res.fe.stiffness_N_per_mm == pytest.approx(15668.6576, rel=1e-6)
    assert res.fe.strength_N == pytest.approx(8373.7245, rel=1e-6)
    assert res.vbmd.vbmd_mg_cm3 == pytest.approx(80.019403, rel=1e-7)
    assert (tmp_path / "result.vtu").exists() and (tmp_path / "vbmd.json").exists()


def test_example_02_custom_load_case():
    out = _load("02_custom_load_case").main(mesh_size_mm=3.0)
    assert out["axial_compression"] == pytest.approx(15668.6576, rel=1e-6)
    assert out["anterior_push"] == pytest.approx(11511.2200, rel=1e-6)


def test_example_03_focal(tmp_path):
    s = _load("03_focal_bmc_loss").main(str(tmp_path), spacing_mm=0.8)
    assert s["focal_incpt_width_mm_mean"] == pytest.approx(2.362612, rel=1e-5)
    assert s["focal_bmd_loss_fraction_mean"] == pytest.approx(0.921039, rel=1e-5)
    assert s["focal_bmc_loss_fraction_mm_mean"] == pytest.approx(2.179979, rel=1e-5)
    assert s["focal_void_fraction"] == pytest.approx(0.717544, rel=1e-5)
    assert (tmp_path / "phantom" / "focal_section.png").exists()
    assert (tmp_path / "L1" / "focal_bmc_loss.nii.gz").exists()


def test_example_04_gallery(tmp_path):
    shots = _load("04_gallery").main(str(tmp_path), mesh_size_mm=3.0)
    assert len(shots) == 5 and all(p.stat().st_size > 10_000 for p in shots)
