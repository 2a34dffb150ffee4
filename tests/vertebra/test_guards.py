"""Plausibility guards on the bundled CT turned into the inputs that gave silent wrong numbers."""

import numpy as np
import pytest
import SimpleITK as sitk

from vertfem.calibration import KernelCalibration
from vertfem.errors import AbsurdHUError, AnatomyError, CalibrationError, MaskImageMismatchError, VOITooSmallError
from vertfem.geometry import ImageGeometry
from vertfem.io import LabelMap, Scan, read_scan
from vertfem.vbmd import trabecular_vbmd
from vertfem.vertebra import prepare_vertebra
from vertfem.vertebra.guards import SHELL_HU_RANGE, VOLUME_RANGE_CM3


def _variant(example, hu=None, geometry=None, name="variant.nii.gz"):
    return Scan(example.scan.hu if hu is None else hu, geometry or example.scan.geometry, {"path": name})


def test_bundled_levels_pass_with_margin(example):
    for level in ("L1", "L2", "L3", "L4", "L5"):
        v = prepare_vertebra(example.scan, example.labels, level, kernel="B40f")
        assert v.flags == () and VOLUME_RANGE_CM3["lumbar"][0] < v.volume_mm3 / 1000 < VOLUME_RANGE_CM3["lumbar"][1]


def test_unrescaled_ct_is_refused_with_the_intercept_named(example):
    raw = _variant(example, example.scan.hu + 1024.0, name="raw.nii.gz")
    with pytest.raises(AbsurdHUError, match=r"raw.nii.gz is not in Hounsfield units.*RescaleIntercept"):
        prepare_vertebra(raw, example.labels, "L1", kernel="B40f")


def test_intercept_applied_twice_is_refused(example):
    twice = _variant(example, example.scan.hu - 1024.0)
    with pytest.raises(AbsurdHUError, match=f"expected {SHELL_HU_RANGE[0]:g} to {SHELL_HU_RANGE[1]:g}"):
        prepare_vertebra(twice, example.labels, "L1")


def test_label_map_given_as_the_ct_is_recognised(example):
    as_ct = _variant(example, example.labels.labels.astype(np.float32), name="labels-as-ct.nii.gz")
    with pytest.raises(AbsurdHUError, match="looks like a label map"):
        prepare_vertebra(as_ct, example.labels, "L1")


@pytest.mark.parametrize("pixel", [sitk.sitkUInt8, sitk.sitkInt8])
def test_eight_bit_ct_files_are_refused_with_the_type(example, tmp_path, pixel):
    img = sitk.Cast(sitk.Clamp(sitk.ReadImage(str(example.paths["ct"])), sitk.sitkInt16, -128, 127), pixel)
    path = tmp_path / "ct8.nii.gz"
    sitk.WriteImage(img, str(path))
    with pytest.raises(AbsurdHUError, match=r"8-bit .* cannot hold Hounsfield units"):
        read_scan(path)


def test_mask_of_another_scan_is_refused(example):
    """Same header, other anatomy: shift the labels 40 mm anterior, onto the abdomen's soft tissue."""
    g = example.labels.geometry
    moved = ImageGeometry(g.size, tuple(np.asarray(g.origin_mm) + np.array([0.0, -40.0, 0.0])), g.spacing_mm,
                          g.direction)
    other = LabelMap(example.labels.labels, moved, {"path": "other-scan-labels.nii.gz"})
    with pytest.raises(MaskImageMismatchError, match=r"does not lie on bone.*another scan"):
        prepare_vertebra(example.scan, other, "L1", kernel="B40f")


def test_calibration_in_mg_per_cm3_is_refused(example):
    mg = KernelCalibration("B40f", 0.7, -4.2, source="site file")
    with pytest.raises(CalibrationError, match="did you give the line in mg/cm³"):
        prepare_vertebra(example.scan, example.labels, "L1", kernel=mg)


def test_ten_millimetre_header_spacing_is_refused_before_meshing(example):
    g = example.scan.geometry
    ten = ImageGeometry(g.size, g.origin_mm, (10.0, 10.0, 10.0), g.direction)
    scan = _variant(example, geometry=ten, name="ten-mm.nii.gz")
    labels = LabelMap(example.labels.labels, ten, {"path": "ten-mm-labels.nii.gz"})
    with pytest.raises(AnatomyError, match=r"L1 measures 2\d\d\d\.\d cm³.*voxel spacing in the header"):
        prepare_vertebra(scan, labels, "L1", kernel="B40f")


def test_coarse_ct_is_flagged_and_its_vbmd_refused_below_the_minimum_roi(example):
    """A real 6 mm CT (the bundled one, every other voxel): flagged; vBMD's 6 mm erosion leaves too few voxels."""
    g = example.scan.geometry
    six = ImageGeometry(tuple(s // 2 for s in g.size), g.origin_mm, (6.0, 6.0, 6.0), g.direction)
    scan = _variant(example, hu=np.ascontiguousarray(example.scan.hu[::2, ::2, ::2][: six.shape[0], : six.shape[1],
                                                                              : six.shape[2]]), geometry=six)
    labels = LabelMap(np.ascontiguousarray(example.labels.labels[::2, ::2, ::2][: six.shape[0], : six.shape[1],
                                                                           : six.shape[2]]), six, {"path": "six"})
    v = prepare_vertebra(scan, labels, "L1", kernel="B40f", opening_mm=7.0)
    assert "coarse_resolution" in {f.code for f in v.flags}
    with pytest.raises(VOITooSmallError, match=r"holds 24 voxels of \(6.0, 6.0, 6.0\) mm.*too coarse for vBMD"):
        trabecular_vbmd(v)


def test_guards_can_be_switched_off_for_phantoms(example):
    raw = _variant(example, example.scan.hu + 1024.0)
    v = prepare_vertebra(raw, example.labels, "L1", hu_check=False)
    assert v.name == "L1"
