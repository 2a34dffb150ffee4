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
    assert res.fe.stiffness_N_per_mm == pytest.approx(15600.1846, rel=1e-6)
    assert res.fe.strength_N == pytest.approx(8309.5957, rel=1e-6)
    assert res.vbmd.vbmd_mg_cm3 == pytest.approx(80.019403, rel=1e-7)
    assert (tmp_path / "result.vtu").exists() and (tmp_path / "vbmd.json").exists()


def test_example_02_custom_load_case():
    import numpy as np

    out = _load("02_custom_load_case").main(mesh_size_mm=3.0)
    assert out["axial_compression"].stiffness_N_per_mm == pytest.approx(15600.1842, rel=1e-6)
    assert out["anterior_push"].stiffness_N_per_mm == pytest.approx(11099.1662, rel=1e-6)
    assert out["flexion"].rotational_stiffness_Nm_per_deg == pytest.approx(31.308251, rel=1e-6)
    # the selector pushes the superior endplate's anterior half: endplate nodes only, none of the walls
    r = out["anterior_push"]
    mesh = r.mesh
    local = mesh.frame.to_local(mesh.nodes_mm)
    top = mesh.node_sets["superior"]
    pushed = np.flatnonzero(np.isclose(r.nodal["displacement_mm"] @ np.asarray(mesh.frame.cranial),
                                       r.applied_axial_displacement_mm, rtol=0, atol=1e-9))
    assert r.reactions["anterior_endplate"].n_nodes == len(pushed) > 300
    assert set(pushed) <= set(top) and np.all(local[pushed, 1] >= 0)
    assert 0.4 < len(pushed) / len(top) < 0.6


def test_example_03_focal(tmp_path):
    s = _load("03_focal_bmc_loss").main(str(tmp_path), spacing_mm=0.8)
    assert s["focal_loss_average"] == "all_lines"
    assert s["focal_incpt_width_mm_mean"] == pytest.approx(2.390959, rel=1e-5)
    assert s["focal_incpt_width_per_void_mm_mean"] == pytest.approx(2.093359, rel=1e-5)
    assert s["focal_bmd_loss_fraction_mean"] == pytest.approx(0.466675, rel=1e-5)
    assert s["focal_bmc_loss_fraction_mm_mean"] == pytest.approx(1.161522, rel=1e-5)
    assert s["focal_void_fraction"] == pytest.approx(0.689962, rel=1e-5)
    assert (tmp_path / "phantom" / "focal_section.png").exists()
    assert (tmp_path / "L1" / "focal_bmc_loss.nii.gz").exists()


def test_example_04_gallery(tmp_path):
    """Real off-screen renders: size and dpi as asked, white margins, a picture in every panel, five different ones."""
    import numpy as np
    from PIL import Image

    shots = _load("04_gallery").main(str(tmp_path), mesh_size_mm=3.0, dpi=120)
    assert [p.name for p in shots] == ["l1_modulus.png", "l1_von_mises_sagittal.png", "l1_min_strain.png",
                                       "l1_ct_density.png", "l1_kernels.png"]
    px = []
    for p in shots:
        with Image.open(p) as img:
            assert img.info["dpi"] == pytest.approx((150, 150) if "ct_" in p.name else (120, 120), abs=0.05)
            px.append(np.asarray(img.convert("RGB"), dtype=float))
    for a in px[:3]:
        assert a.shape == (900, 1080, 3)  # 900 × 750 at 100 dpi, × 1.2
        assert (a[:5, :5] == 255).all() and a.std() > 20
    assert px[4].shape == (720, 1800, 3)
    assert all(panel.std() > 20 for panel in np.split(px[4][80:], 3, axis=1))
    assert min(np.abs(a - b).mean() for i, a in enumerate(px[:3]) for b in px[i + 1:3]) > 2.0
