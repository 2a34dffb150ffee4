import numpy as np
import pytest

from helpers import flip_axis, shared_path
from vertfem.calibration import default_registry
from vertfem.density import trabecular_vbmd
from vertfem.errors import (
    AbsurdHUError,
    EmptyMaskError,
    LabelNotFoundError,
    MaskImageMismatchError,
    VertebraCutByFOVError,
)
from vertfem.geometry import ImageGeometry
from vertfem.io import LabelMap, Scan, read_labels, read_scan
from vertfem.selection import list_vertebrae, select_vertebra

CAL = default_registry()["B40f"]


def _ball_scan(direction=(1, 0, 0, 0, 1, 0, 0, 0, 1), center=(10, 12, 14), radius=8.0, size=(24, 26, 28)):
    geom = ImageGeometry(size, (-5.0, 3.0, 100.0), (1.0, 1.1, 1.3), direction)
    k, j, i = np.meshgrid(*(np.arange(n) for n in geom.shape), indexing="ij")
    pts = geom.index_to_physical(np.stack([i, j, k], -1).reshape(-1, 3)).reshape(*geom.shape, 3)
    c = geom.index_to_physical([center])[0]
    r = np.linalg.norm(pts - c, axis=-1)
    rng = np.random.default_rng(1)
    hu = np.where(r < radius, 200.0 + 30 * np.sin(pts[..., 0] / 3.0) + pts[..., 2] - 100, -50.0)
    hu = (hu + rng.normal(0, 5, hu.shape)).astype(np.float32)
    labels = np.where(r < radius, 31, 0).astype(np.int32)
    return Scan(hu, geom, {"path": "ball.nii.gz"}), LabelMap(labels, geom, {"path": "ball-labels.nii.gz"})


def test_flipped_direction_and_mask_on_other_grid_give_same_vbmd():
    scan, labels = _ball_scan()
    ref = trabecular_vbmd(scan, select_vertebra(scan, labels, "L1").mask, CAL, erosion_mm=2.0)
    hu_f, g_f = flip_axis(scan.hu, scan.geometry, 1)
    lab_f, g_l = flip_axis(labels.labels, labels.geometry, 0)
    lab_f, g_l = flip_axis(lab_f, g_l, 2)
    scan_f = Scan(hu_f, g_f, {"path": "flipped.nii.gz"})
    labels_f = LabelMap(lab_f, g_l, {"path": "labels-other-grid.nii.gz"})
    assert not g_l.same_grid(g_f)
    vert_f = select_vertebra(scan_f, labels_f, "L1")
    res = trabecular_vbmd(scan_f, vert_f.mask, CAL, erosion_mm=2.0)
    assert res.vbmd_mg_cm3 == pytest.approx(ref.vbmd_mg_cm3, rel=1e-6)
    assert res.roi_voxels == ref.roi_voxels


def test_mask_on_coarser_grid_is_resampled_into_ct_space():
    scan, labels = _ball_scan()
    coarse = ImageGeometry((12, 13, 14), labels.geometry.origin_mm, (2.0, 2.2, 2.6), labels.geometry.direction)
    from vertfem.geometry import resample_to_geometry

    lab_c = resample_to_geometry(labels.labels, labels.geometry, coarse, interpolation="nearest")
    v = select_vertebra(scan, LabelMap(lab_c, coarse, {"path": "coarse.nii.gz"}), "L1")
    assert v.mask.shape == scan.geometry.shape
    assert v.volume_mm3 == pytest.approx(4 / 3 * np.pi * 8.0**3, rel=0.15)


def test_non_overlapping_mask_raises_mismatch():
    scan, labels = _ball_scan()
    far = ImageGeometry(labels.geometry.size, (500.0, 500.0, 500.0), labels.geometry.spacing_mm, labels.geometry.direction)
    with pytest.raises(MaskImageMismatchError, match="does not overlap"):
        select_vertebra(scan, LabelMap(labels.labels, far, {"path": "far.nii.gz"}), "L1")


def test_vertebra_cut_by_field_of_view():
    scan, labels = _ball_scan(center=(10, 12, 3))
    with pytest.raises(VertebraCutByFOVError, match="allow_cut"):
        select_vertebra(scan, labels, "L1")
    with pytest.warns(UserWarning, match="touches the boundary"):
        v = select_vertebra(scan, labels, "L1", allow_cut=True)
    assert v.cut_by_fov


def test_label_absent_lists_labels_present():
    scan, labels = _ball_scan()
    with pytest.raises(LabelNotFoundError, match=r"31 \(L1\)") as err:
        select_vertebra(scan, labels, "L2")
    assert "ball-labels.nii.gz" in str(err.value)


def test_empty_label_map():
    scan, labels = _ball_scan()
    with pytest.raises(EmptyMaskError, match="empty"):
        select_vertebra(scan, LabelMap(np.zeros_like(labels.labels), labels.geometry, {"path": "zero.nii"}), "L1")


def test_absurd_hu_inside_bone():
    scan, labels = _ball_scan()
    raw = Scan(scan.hu + 1024.0 * 3, scan.geometry, {"path": "raw.nii.gz"})
    with pytest.raises(AbsurdHUError, match="raw.nii.gz"):
        select_vertebra(raw, labels, "L1")


def test_example_ct_info_lists_s1_to_t11_and_flags_t11():
    ct = shared_path("data", "ct-example", "ct.nii.gz")
    scan = read_scan(ct)
    labels = read_labels(ct.parent / "vertebrae.nii.gz")
    info = {v.name: v for v in list_vertebrae(labels, scan.geometry)}
    assert list(info) == ["S1", "L5", "L4", "L3", "L2", "L1", "T12", "T11"]
    assert info["T11"].cut_by_fov
    assert not any(info[n].cut_by_fov for n in ["S1", "L5", "L4", "L3", "L2", "L1"])
    with pytest.raises(VertebraCutByFOVError, match="T11"):
        select_vertebra(scan, labels, "T11")
