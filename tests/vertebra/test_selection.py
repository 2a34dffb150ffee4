"""Selection in physical space: other grids, flips, FOV cuts of the CT and of the label map, islands, binary masks."""

import numpy as np
import pytest
from helpers import flip_axis

from vertfem.errors import (
    EmptyMaskError,
    LabelNotFoundError,
    MaskImageMismatchError,
    SegmentationError,
    VertebraCutByFOVError,
)
from vertfem.geometry import ImageGeometry, resample_to_geometry
from vertfem.io import LabelMap, Scan
from vertfem.vbmd import trabecular_vbmd
from vertfem.vertebra import list_vertebrae, prepare_vertebra

# a 16 mm ball is no lumbar vertebra: these tests are about selection, not anatomy
SMALL = {"anatomy_check": False}


def _ball_scan(direction=(1, 0, 0, 0, 1, 0, 0, 0, 1), center=(14, 16, 18), radius=8.0, size=(30, 32, 34)):
    geom = ImageGeometry(size, (-5.0, 3.0, 100.0), (1.0, 1.1, 1.3), direction)
    pts = geom.voxel_centres_mm()
    c = geom.index_to_physical([center])[0]
    r = np.linalg.norm(pts - c, axis=-1)
    rng = np.random.default_rng(1)
    hu = np.where(r < radius, 200.0 + 30 * np.sin(pts[..., 0] / 3.0) + pts[..., 2] - 100, -50.0)
    hu = (hu + rng.normal(0, 5, hu.shape)).astype(np.float32)
    labels = np.where(r < radius, 31, 0).astype(np.int32)
    return Scan(hu, geom, {"path": "ball.nii.gz"}), LabelMap(labels, geom, {"path": "ball-labels.nii.gz"})


def test_flipped_direction_and_mask_on_other_grid_give_same_vbmd():
    scan, labels = _ball_scan()
    ref = trabecular_vbmd(prepare_vertebra(scan, labels, "L1", kernel="B40f", **SMALL), erosion_mm=2.0)
    hu_f, g_f = flip_axis(scan.hu, scan.geometry, 1)
    lab_f, g_l = flip_axis(labels.labels, labels.geometry, 0)
    lab_f, g_l = flip_axis(lab_f, g_l, 2)
    scan_f = Scan(hu_f, g_f, {"path": "flipped.nii.gz"})
    labels_f = LabelMap(lab_f, g_l, {"path": "labels-other-grid.nii.gz"})
    assert not g_l.same_grid(g_f)
    res = trabecular_vbmd(prepare_vertebra(scan_f, labels_f, "L1", kernel="B40f", **SMALL), erosion_mm=2.0)
    assert res.vbmd_mg_cm3 == pytest.approx(ref.vbmd_mg_cm3, rel=1e-6)
    assert res.roi_voxels == ref.roi_voxels


def test_mask_on_coarser_grid_is_resampled_into_ct_space():
    scan, labels = _ball_scan()
    coarse = ImageGeometry((16, 17, 18), labels.geometry.origin_mm, (2.0, 2.2, 2.6), labels.geometry.direction)
    lab_c = resample_to_geometry(labels.labels, labels.geometry, coarse, interpolation="nearest")
    v = prepare_vertebra(scan, LabelMap(lab_c, coarse, {"path": "coarse.nii.gz"}), "L1", **SMALL)
    assert v.geometry.spacing_mm == scan.geometry.spacing_mm
    assert v.volume_mm3 == pytest.approx(4 / 3 * np.pi * 8.0**3, rel=0.15)


def test_non_overlapping_mask_raises_mismatch():
    scan, labels = _ball_scan()
    far = ImageGeometry(labels.geometry.size, (500.0, 500.0, 500.0), labels.geometry.spacing_mm,
                        labels.geometry.direction)
    with pytest.raises(MaskImageMismatchError, match="does not overlap"):
        prepare_vertebra(scan, LabelMap(labels.labels, far, {"path": "far.nii.gz"}), "L1")


def test_vertebra_cut_by_ct_field_of_view_is_refused_or_flagged():
    scan, labels = _ball_scan(center=(14, 16, 3))
    with pytest.raises(VertebraCutByFOVError, match="allow_cut"):
        prepare_vertebra(scan, labels, "L1", **SMALL)
    v = prepare_vertebra(scan, labels, "L1", allow_cut=True, **SMALL)
    assert v.cut_by_fov and [f.code for f in v.flags] == ["cut_by_fov"]


def test_label_map_ending_inside_the_vertebra_is_a_cut():
    """The CT goes on, but the label map stops 4 mm into the ball: the vertebra is cut (by the label map)."""
    scan, labels = _ball_scan()
    g = labels.geometry
    k_stop = 18 + 3  # ball centre k = 18; 3 slices of 1.3 mm = 3.9 mm past it
    short = ImageGeometry((g.size[0], g.size[1], k_stop), g.origin_mm, g.spacing_mm, g.direction)
    cropped = LabelMap(labels.labels[:k_stop].copy(), short, {"path": "cropped-labels.nii.gz"})
    with pytest.raises(VertebraCutByFOVError, match=r"label map cropped-labels\.nii\.gz, which ends inside it"):
        prepare_vertebra(scan, cropped, "L1", **SMALL)
    v = prepare_vertebra(scan, cropped, "L1", allow_cut=True, **SMALL)
    assert v.cut_by_fov


def test_stray_island_is_removed_and_recorded():
    scan, labels = _ball_scan()
    lab = labels.labels.copy()
    lab[1:3, 1:3, 1:3] = 31  # an 8-voxel island far from the ball
    v = prepare_vertebra(scan, LabelMap(lab, labels.geometry, {"path": "island.nii.gz"}), "L1", **SMALL)
    ref = prepare_vertebra(scan, labels, "L1", **SMALL)
    assert v.volume_mm3 == ref.volume_mm3
    (flag,) = v.flags
    assert flag.code == "islands_removed" and "8 voxels" in flag.message


def test_second_vertebra_sized_component_is_refused():
    scan, labels = _ball_scan(size=(60, 32, 34))
    g = labels.geometry
    pts = g.voxel_centres_mm()
    c2 = g.index_to_physical([[44, 16, 18]])[0]
    lab = np.where(np.linalg.norm(pts - c2, axis=-1) < 7.0, 31, labels.labels).astype(np.int32)
    with pytest.raises(SegmentationError, match="neighbouring vertebra carries the same label"):
        prepare_vertebra(scan, LabelMap(lab, g, {"path": "two.nii.gz"}), "L1", **SMALL)


def test_binary_mask_names_the_level_given():
    scan, labels = _ball_scan()
    binary = LabelMap((labels.labels > 0).astype(np.int32), labels.geometry, {"path": "binary.nii.gz"})
    with pytest.raises(LabelNotFoundError, match="--mask-label 1 --vertebra"):
        prepare_vertebra(scan, binary, "T12", **SMALL)
    v = prepare_vertebra(scan, binary, "T12", mask_label=1, **SMALL)
    assert (v.name, v.label) == ("T12", 1)
    from_array = prepare_vertebra(scan, labels.labels > 0, "T12", **SMALL)
    assert from_array.name == "T12" and from_array.volume_mm3 == v.volume_mm3


def test_label_absent_lists_labels_present():
    scan, labels = _ball_scan()
    with pytest.raises(LabelNotFoundError, match=r"31 \(L1\)") as err:
        prepare_vertebra(scan, labels, "L2")
    assert "ball-labels.nii.gz" in str(err.value)


def test_empty_label_map():
    scan, labels = _ball_scan()
    with pytest.raises(EmptyMaskError, match="empty"):
        prepare_vertebra(scan, LabelMap(np.zeros_like(labels.labels), labels.geometry, {"path": "zero.nii"}), "L1")


def test_example_ct_info_lists_s1_to_t11_and_flags_the_cut_ones(example):
    info = {v.name: v for v in list_vertebrae(example.labels, example.scan.geometry)}
    assert list(info) == ["S1", "L5", "L4", "L3", "L2", "L1", "T12", "T11"]
    assert info["T11"].cut_by_fov and info["T12"].cut_by_fov
    assert not any(info[n].cut_by_fov for n in ["S1", "L5", "L4", "L3", "L2", "L1"])
    with pytest.raises(VertebraCutByFOVError, match="T11"):
        prepare_vertebra(example.scan, example.labels, "T11")
