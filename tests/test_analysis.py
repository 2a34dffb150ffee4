"""Every level of a scan in one call: refusals by name, the per-level table and its plausibility checks."""

import csv

import numpy as np
import pytest

from vertfem.analysis import analyze, analyze_levels, levels_table
from vertfem.cli import main
from vertfem.ctsim import scan_phantom
from vertfem.errors import UnsupportedLevelError
from vertfem.fe.plausibility import AREA_RATIO_RANGE, MODULUS_FACTOR, NEIGHBOUR_TILT_DEG, check_levels
from vertfem.labels import check_supported_level, label_id
from vertfem.phantom import PhantomSpec
from vertfem.vertebra import prepare_vertebra

COARSE = {"mesh_size_mm": 5.0, "nodal_fields": False}


def _row(e_app: float, vbmd: float = 80.0, area: float = 1400.0, section: float = 1400.0,
         axis: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> dict:
    return {"apparent_modulus_MPa": e_app, "vbmd_mg_cm3": vbmd, "endplate_superior_area_mm2": area,
            "endplate_inferior_area_mm2": section, "endplate_cross_section_mm2": section, "axis_to_endplates_deg": 3.0,
            **{f"cranial_{c}": v for c, v in zip("xyz", axis)}}


def test_apparent_modulus_is_checked_against_vbmd_across_the_levels():
    # L4 is as dense as the others but twice as stiff: its model, not its bone, differs
    rows = {"L1": _row(280.0), "L2": _row(300.0), "L3": _row(290.0), "L4": _row(600.0)}
    checks = check_levels(rows)
    assert [f.code for f in checks["L4"].flags] == ["modulus_vs_vbmd"]
    assert "vBMD" in checks["L4"].flags[0].message and not checks["L1"].flags
    # density explains stiffness: (72/80)^1.56 = 0.85, so 0.85 × 290 MPa at 72 mg/cm³ is consistent
    rows["L4"] = _row(0.85 * 290.0, vbmd=72.0)
    assert not any(c.flags for c in check_levels(rows).values())
    # fewer than three levels: no reference, no check
    assert check_levels({"L1": _row(280.0), "L2": _row(900.0)})["L2"].modulus_ratio is None
    assert MODULUS_FACTOR > 1.26  # the bundled L1–L5 spread (validation/validate_real_ct.py)


def test_endplate_area_and_frame_tilt_are_checked():
    rows = {"L1": _row(280.0), "L2": _row(290.0, area=1.6 * 1400.0),
            "L3": _row(285.0, axis=(0.0, np.sin(np.radians(40)), np.cos(np.radians(40)))), "L4": _row(290.0)}
    checks = check_levels(rows)
    assert [f.code for f in checks["L2"].flags] == ["superior_endplate_area"]
    assert checks["L2"].superior_area_ratio == pytest.approx(1.6) and 1.6 > AREA_RATIO_RANGE[1]
    assert [f.code for f in checks["L3"].flags] == ["frame_tilt"]
    assert checks["L3"].neighbour_tilt_deg > NEIGHBOUR_TILT_DEG
    assert not checks["L1"].flags and checks["L1"].neighbour_tilt_deg == pytest.approx(0.0)


def test_sacrum_s1_c1_c2_are_refused_with_the_reason():
    for name, why in (("S1", "fused into the sacrum"), ("sacrum", "fused block"), ("C1", "without a vertebral body"),
                      ("C2", "dens"), ("S3", "part of the sacrum")):
        with pytest.raises(UnsupportedLevelError, match=why):
            check_supported_level(name, "FE")
    for name in ("T1", "T12", "L5", "C3", "L6", "label-7"):
        check_supported_level(name, "FE")


def test_levels_of_one_scan_in_one_call_with_the_table(example, tmp_path):
    out = analyze_levels(example.scan, example.labels, "L1,S1", kernel="B40f", fe_options=COARSE,
                         outdir=tmp_path)
    assert isinstance(out["S1"], UnsupportedLevelError) and out["L1"].fe.stiffness_N_per_mm > 0
    rows = levels_table(out, fe_options=COARSE)
    assert [(r["vertebra"], r["status"]) for r in rows] == [("L1", "done"), ("S1", "failed")]
    assert rows[1]["error_type"] == "UnsupportedLevelError" and "sacrum" in rows[1]["error_message"]
    assert rows[0]["plausibility_superior_area_ratio"] > 0 and rows[0]["plausibility_modulus_ratio"] is None
    assert (tmp_path / "L1" / "result.json").exists() and not (tmp_path / "S1").exists()


def test_cli_analyze_writes_the_levels_table_with_its_checks(example, tmp_path):
    p = example.paths
    code = main(["analyze", str(p["ct"]), str(p["labels"]), "--vertebra", "L1,S1", "--kernel", "B40f",
                 "--mesh-size-mm", "5", "--no-nodal-fields", "--sweep", "flexion", "-o", str(tmp_path)])
    assert code == 3  # one level refused
    with open(tmp_path / "levels.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["vertebra"] == "L1" and float(rows[0]["flexion_rotational_stiffness_Nm_per_deg"]) > 0
    assert "plausibility_flags" in rows[0] and rows[1]["error_type"] == "UnsupportedLevelError"
    assert (tmp_path / "L1" / "sweep.csv").exists()


def test_a_thoracic_level_is_analysed():
    """T8-sized phantom labelled T8 (TotalSegmentator): the thoracic anatomy range, body isolation and endplates."""
    spec = PhantomSpec(texture=False, width_mm=32, depth_mm=24, height_mm=19, trabecular_vbmd_mg_cm3=150)
    ct = scan_phantom(spec, "smooth", spacing_mm=1.0)
    labels = ct.labels.labels * 0 + np.where(ct.labels.labels > 0, label_id("T8"), 0)
    from vertfem.io import LabelMap

    v = prepare_vertebra(ct.scan, LabelMap(labels.astype(np.int32), ct.labels.geometry, {"path": "T8"}), "T8",
                         kernel="B40f")
    a = analyze(v, fe_options={"mesh_size_mm": 3.0, "nodal_fields": False})
    assert a.vertebra == "T8" and a.fe.stiffness_N_per_mm > 0
    assert a.fe.height_mm == pytest.approx(spec.height_mm - spec.endplate_concavity_mm, abs=0.6)
