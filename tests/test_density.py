import numpy as np
import pytest

from vertfem.calibration import default_registry
from vertfem.density import acr_class, erode_mm, trabecular_vbmd
from vertfem.errors import EmptyROIError
from vertfem.geometry import ImageGeometry
from vertfem.io import Scan

CAL = default_registry()["B40f"]


def _box_scan(spacing=(1.0, 1.0, 1.0), hu_in=150.0):
    geom = ImageGeometry((40, 40, 40), (0, 0, 0), spacing, (1, 0, 0, 0, 1, 0, 0, 0, 1))
    mask = np.zeros(geom.shape, bool)
    mask[5:35, 5:35, 5:35] = True
    hu = np.where(mask, hu_in, -100.0).astype(np.float32)
    hu[mask & ~erode_mm(mask, geom, 3.0)] = 900.0  # a dense "cortex" that erosion must remove
    return Scan(hu, geom, {"path": "box"}), mask


def test_vbmd_equals_calibrated_core_density():
    scan, mask = _box_scan()
    r = trabecular_vbmd(scan, mask, CAL, erosion_mm=6.0)
    assert r.vbmd_mg_cm3 == pytest.approx(1000 * (-4.2e-3 + 7e-4 * 150.0), rel=1e-9)
    assert r.acr_class == "osteopenia"


def test_erosion_is_in_mm_for_anisotropic_voxels():
    geom = ImageGeometry((40, 40, 40), (0, 0, 0), (0.5, 1.0, 2.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    mask = np.ones(geom.shape, bool)
    core = erode_mm(mask, geom, 6.0)
    kji = np.argwhere(core)
    # the mask surface lies half a voxel outside the outer centres
    assert kji[:, 2].min() * 0.5 + 0.25 >= 6.0 and (kji[:, 2].min() - 1) * 0.5 + 0.25 < 6.0
    assert kji[:, 0].min() * 2.0 + 1.0 >= 6.0 and (kji[:, 0].min() - 1) * 2.0 + 1.0 < 6.0


def test_acr_thresholds():
    assert [acr_class(v) for v in (79.9, 80.0, 120.0, 120.1)] == ["osteoporosis", "osteopenia", "osteopenia", "normal"]


def test_empty_roi_suggests_smaller_erosion():
    scan, mask = _box_scan()
    with pytest.raises(EmptyROIError, match="smaller erosion_mm"):
        trabecular_vbmd(scan, mask, CAL, erosion_mm=20.0)
