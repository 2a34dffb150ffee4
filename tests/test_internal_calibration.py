"""Phantomless (internal) calibration through the vertebra stage, the measures and the command line.

``kernel="internal"`` must give the line :func:`vertfem.phantomless.internal_calibration` gives for the same
scan and vertebra, be computed once per scan by ``prepare_vertebrae``, reach every result's provenance, survive
``vertfem calibrate`` → ``--calibration cal.yaml --kernel NAME`` unchanged, and flag scans whose reference
tissues disagree. The body-phantom tests check the line against the energy the phantom was scanned at.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import numpy as np
import pytest
import yaml
from scipy import ndimage

import vertfem.vertebra.prepare as prepare_module
from vertfem.cli import main
from vertfem.errors import ReferenceTissueError
from vertfem.geometry import ImageGeometry
from vertfem.io import LabelMap, scan_from_array, write_image
from vertfem.phantom import PhantomSpec, render_phantom
from vertfem.phantomless import (
    TissueDisagreementWarning,
    internal_calibration,
    mineral_g_cm3_per_hu,
    render_body_phantom,
    simulate_body_ct,
)
from vertfem.phantomless.simulate import TOTAL_IDS
from vertfem.vbmd import trabecular_vbmd
from vertfem.vertebra import prepare_vertebra, prepare_vertebrae

L1 = 31


def _table(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _line(cal):
    return cal.slope_g_cm3_per_HU, cal.intercept_g_cm3


@pytest.fixture(scope="module")
def body():
    """A 2 mm textureless body phantom (about 1 s to render): one vertebra, aorta and muscles labelled."""
    return render_body_phantom(PhantomSpec(texture=False, posterior_elements=True), spacing_mm=2.0)


@pytest.fixture(scope="module")
def internal_l1(example):
    """The bundled L1 calibrated from the scan's own tissues."""
    return prepare_vertebra(example.scan, example.labels, "L1", kernel="internal")


def _reference_mask(example) -> np.ndarray:
    """The vertebra the scan's tissues are sampled near: the uncut one nearest the middle of the labelled spine."""
    aligned = prepare_module.align_labels(example.labels, example.scan.geometry)
    return prepare_module._reference_vertebra(aligned, example.labels.labels == L1, "totalsegmentator")


def _painted_blood(example) -> np.ndarray:
    """The example's label map with an "aorta" (label 52) painted into fat near the reference vertebra: a blood
    sample reading fat."""
    hu = example.scan.hu
    core = np.argwhere(ndimage.binary_erosion((hu > -140) & (hu < -60), np.ones((5, 5, 5), bool)))
    centre = np.argwhere(_reference_mask(example)).mean(axis=0)
    k, j, i = core[np.argmin(np.linalg.norm(core - centre, axis=1))]
    labels = example.labels.labels.copy()
    block = labels[k - 2:k + 3, j - 2:j + 3, i - 2:i + 3]
    block[block == 0] = TOTAL_IDS["aorta"]
    return labels


def test_internal_kernel_is_the_phantomless_line_of_the_scan(example, internal_l1):
    _, rep = internal_calibration(example.scan, _reference_mask(example))
    cal = internal_l1.calibration
    assert cal.kernel == "internal" and _line(cal) == _line(rep.calibration)
    r = internal_l1.calibration_report
    assert r["energy_keV"] == rep.energy_keV and [t["tissue"] for t in r["tissues"]] == ["air", "adipose", "muscle"]
    assert not r["flagged"] and not any(f.code == "calibration_tissues_disagree" for f in internal_l1.flags)


def test_vbmd_applies_the_internal_line_to_the_same_roi(example, internal_l1):
    # vBMD is the ROI mean of a + b·HU, so both calibrations must give back the same mean HU of one ROI
    res_int, res_b40 = trabecular_vbmd(internal_l1), trabecular_vbmd(example.l1)
    a_int, a_b40 = internal_l1.calibration.intercept_g_cm3 * 1e3, example.l1.calibration.intercept_g_cm3 * 1e3
    b_int, b_b40 = internal_l1.calibration.slope_g_cm3_per_HU * 1e3, example.l1.calibration.slope_g_cm3_per_HU * 1e3
    hu_int = (res_int.vbmd_mg_cm3 - a_int) / b_int
    hu_b40 = (res_b40.vbmd_mg_cm3 - a_b40) / b_b40
    assert res_int.row()["vbmd_roi_voxels"] == res_b40.row()["vbmd_roi_voxels"]
    assert hu_int == pytest.approx(hu_b40, rel=1e-6)
    assert hu_int == pytest.approx(float(example.scan.hu[internal_l1.box][res_int.roi].mean()), rel=1e-5)
    prov = res_int.provenance.as_dict()["calibration"]
    assert prov["kernel"] == "internal" and prov["internal"]["energy_keV"] == pytest.approx(60.88, abs=0.01)
    assert set(prov["internal"]["samples"]) == {"air", "adipose", "muscle"}
    assert prov["slope_g_cm3_per_HU"] == internal_l1.calibration.slope_g_cm3_per_HU
    assert "internal" not in res_b40.provenance.as_dict()["calibration"]


def test_prepare_vertebrae_calibrates_once_per_scan(example, internal_l1, monkeypatch):
    calls = []
    original = prepare_module.internal_scan_calibration

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(prepare_module, "internal_scan_calibration", counting)
    out = prepare_vertebrae(example.scan, example.labels, "L1-L3", kernel="internal")
    assert list(out) == ["L1", "L2", "L3"] and len(calls) == 1
    for v in out.values():
        assert _line(v.calibration) == _line(internal_l1.calibration)  # sampled near the scan's reference vertebra
        assert v.calibration_report == internal_l1.calibration_report


def test_a_level_gets_the_same_line_whichever_levels_are_requested(example):
    with_l1 = prepare_vertebrae(example.scan, example.labels, "L1-L2", kernel="internal")["L2"]
    with_l3 = prepare_vertebrae(example.scan, example.labels, "L2-L3", kernel="internal")["L2"]
    alone = prepare_vertebra(example.scan, example.labels, "L2", kernel="internal")
    assert _line(with_l1.calibration) == _line(with_l3.calibration) == _line(alone.calibration)


def test_disagreeing_tissues_flag_every_level(example, internal_l1):
    labels = _painted_blood(example)
    with pytest.warns(TissueDisagreementWarning, match="blood"):
        out = prepare_vertebrae(example.scan, labels, "L1,L2", kernel="internal")
    for v in out.values():
        (flag,) = [f for f in v.flags if f.code == "calibration_tissues_disagree"]
        assert "blood" in flag.message and flag.severity == "warning"
        assert v.calibration_report["excluded"] == ["blood"]
        # the other three tissues carry the fit: the line is the one without a blood label
        assert _line(v.calibration) == pytest.approx(_line(internal_l1.calibration), rel=1e-9)
    # with blood excluded three tissues remain, which the fit matches exactly: no self-check left
    assert [f["code"] for f in trabecular_vbmd(out["L2"]).provenance.as_dict()["flags"]] == \
        ["calibration_tissues_disagree", "calibration_unchecked"]


@pytest.mark.parametrize("iodine_mg_ml", [0.0, 5.0])
def test_body_phantom_line_from_labels_and_contrast_flag(body, iodine_mg_ml):
    ct = simulate_body_ct(body, energy_keV=70.0, kernel="smooth", seed=3, blood_iodine_mg_ml=iodine_mg_ml)
    if iodine_mg_ml:
        with pytest.warns(TissueDisagreementWarning, match=r"blood.*contrast-enhanced"):
            v = prepare_vertebra(ct.scan, body.total_labels, "L1", kernel="internal")
    else:
        v = prepare_vertebra(ct.scan, body.total_labels, "L1", kernel="internal")
    r = v.calibration_report
    assert [t["tissue"] for t in r["tissues"]] == ["air", "adipose", "muscle", "blood"]  # blood from the aorta label
    assert r["energy_keV"] == pytest.approx(70.0, abs=1.0)
    # the K2HPO4 line of an ideal scanner at the true energy; 2 mm partial volume in the fat layer costs < 1 %
    assert v.calibration.slope_g_cm3_per_HU == pytest.approx(float(mineral_g_cm3_per_hu("k2hpo4", 70.0)), rel=0.01)
    flagged = [f for f in v.flags if f.code == "calibration_tissues_disagree"]
    assert bool(flagged) == bool(iodine_mg_ml) == r["flagged"]
    assert r["excluded"] == (["blood"] if iodine_mg_ml else [])
    assert trabecular_vbmd(v).vbmd_mg_cm3 == pytest.approx(120.0, rel=0.01)  # the phantom's trabecular density


def test_too_small_sample_refuses_naming_the_tissue(example):
    # a field of view cropped inside the body leaves no air to sample
    m = example.labels.labels == L1
    _, j, i = np.argwhere(m).mean(axis=0).astype(int)
    g = example.scan.geometry
    lo, hi = (i - 20, j - 20, 0), (i + 20, j + 20, g.size[2])
    sub: ImageGeometry = g.cropped(lo, hi)
    box = (slice(0, g.size[2]), slice(lo[1], hi[1]), slice(lo[0], hi[0]))
    scan = scan_from_array(example.scan.hu[box], sub, path="<cropped example>")
    labels = LabelMap(example.labels.labels[box], sub, {"path": "<cropped labels>"})
    with pytest.raises(ReferenceTissueError, match="air") as info:
        prepare_vertebra(scan, labels, "L1", kernel="internal")
    assert info.value.tissue == "air"
    out = prepare_vertebrae(scan, labels, "L1,L2", kernel="internal")
    assert all(isinstance(e, ReferenceTissueError) for e in out.values())


def test_cli_internal_kernel_and_calibrate_round_trip(example, internal_l1, tmp_path, capsys):
    ct, mask = str(example.paths["ct"]), str(example.paths["labels"])
    assert main(["vbmd", ct, mask, "--kernel", "internal", "-o", str(tmp_path / "internal")]) == 0
    rec = json.loads((tmp_path / "internal" / "L1" / "vbmd.json").read_text())
    assert rec["provenance"]["calibration"]["internal"]["tissues"][2]["tissue"] == "muscle"
    (row_int,) = _table(tmp_path / "internal" / "vbmd.csv")
    assert row_int["kernel"] == "internal"

    cal_yaml = tmp_path / "cal.yaml"
    assert main(["calibrate", ct, mask, "-o", str(cal_yaml)]) == 0
    assert "--kernel ct-internal" in capsys.readouterr().out
    doc = yaml.safe_load(cal_yaml.read_text())
    line = doc["kernels"]["ct-internal"]
    assert (line["slope"], line["intercept"]) == _line(internal_l1.calibration)
    assert doc["report"]["energy_keV"] == internal_l1.calibration_report["energy_keV"]

    assert main(["vbmd", ct, mask, "--calibration", str(cal_yaml), "--kernel", "ct-internal", "-o",
                 str(tmp_path / "reused")]) == 0
    (row_reused,) = _table(tmp_path / "reused" / "vbmd.csv")
    assert row_reused["kernel"] == "ct-internal" and row_reused["vbmd_mg_cm3"] == row_int["vbmd_mg_cm3"]


def test_cli_calibrate_uses_totalsegmentator_labels(body, tmp_path):
    ct = simulate_body_ct(body, energy_keV=60.0, kernel="smooth", seed=5)
    ct_path = write_image(ct.scan.hu, body.geometry, tmp_path / "body.nii.gz")
    mask_path = write_image(body.total_labels, body.geometry, tmp_path / "total.nii.gz")
    out = tmp_path / "cal.yaml"
    assert main(["calibrate", str(ct_path), str(mask_path), "--name", "scanner-b", "-o", str(out)]) == 0
    doc = yaml.safe_load(out.read_text())
    assert [t["tissue"] for t in doc["report"]["tissues"]] == ["air", "adipose", "muscle", "blood"]
    assert doc["report"]["energy_keV"] == pytest.approx(60.0, abs=1.0)
    assert doc["kernels"]["scanner-b"]["slope"] == pytest.approx(float(mineral_g_cm3_per_hu("k2hpo4", 60.0)),
                                                                rel=0.015)


def test_body_phantom_oversample_reaches_the_vertebra_rendering(body):
    # the kernel study renders at 1 mm with 5³ sub-samples per voxel instead of the default 9³
    spec = replace(body.truth.spec, background_density_mg_cm3=0.0)
    coarse = render_body_phantom(body.truth.spec, spacing_mm=2.0, oversample=3)
    assert np.array_equal(coarse.truth.density_mg_cm3,
                          render_phantom(spec, coarse.truth.geometry, oversample=3).density_mg_cm3)
    assert not np.array_equal(coarse.truth.density_mg_cm3, body.truth.density_mg_cm3)
