import json

import numpy as np
import pytest

from vertfem.errors import EmptyROIError, UnknownKernelError, VOITooSmallError
from vertfem.geometry import ImageGeometry
from vertfem.io import Scan
from vertfem.vbmd import acr_class, trabecular_vbmd
from vertfem.vertebra import erode_mm, prepare_vertebra


def _box_vertebra(spacing=(1.0, 1.0, 1.0), hu_in=150.0, kernel="B40f"):
    geom = ImageGeometry((40, 40, 40), (0, 0, 0), spacing, (1, 0, 0, 0, 1, 0, 0, 0, 1))
    mask = np.zeros(geom.shape, bool)
    mask[5:35, 5:35, 5:35] = True
    hu = np.where(mask, hu_in, -100.0).astype(np.float32)
    hu[mask & ~erode_mm(mask, geom, 3.0)] = 900.0  # a dense "cortex" that erosion must remove
    return prepare_vertebra(Scan(hu, geom, {"path": "box"}), mask, "L1", kernel=kernel)


def test_vbmd_equals_calibrated_core_density():
    r = trabecular_vbmd(_box_vertebra(), erosion_mm=6.0)
    assert r.vbmd_mg_cm3 == pytest.approx(1000 * (-4.2e-3 + 7e-4 * 150.0), rel=1e-9)
    assert r.acr_class == "osteopenia"


def test_erosion_is_in_mm_for_anisotropic_voxels():
    geom = ImageGeometry((40, 40, 40), (0, 0, 0), (0.5, 1.0, 2.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    mask = np.ones(geom.shape, bool)
    core = erode_mm(mask, geom, 6.0)
    kji = np.argwhere(core)
    # the mask surface lies half a voxel (of the smallest spacing) outside the outer centres
    assert kji[:, 2].min() * 0.5 + 0.25 >= 6.0 and (kji[:, 2].min() - 1) * 0.5 + 0.25 < 6.0
    assert kji[:, 0].min() * 2.0 + 0.25 >= 6.0 and (kji[:, 0].min() - 1) * 2.0 + 0.25 < 6.0


def test_acr_thresholds():
    assert [acr_class(v) for v in (79.9, 80.0, 120.0, 120.1)] == ["osteoporosis", "osteopenia", "osteopenia", "normal"]


def test_empty_roi_suggests_smaller_erosion():
    with pytest.raises(EmptyROIError, match="smaller erosion_mm"):
        trabecular_vbmd(_box_vertebra(), erosion_mm=20.0)


def test_too_few_roi_voxels_is_refused_with_the_minimum():
    with pytest.raises(VOITooSmallError, match="fewer than the 64"):
        trabecular_vbmd(_box_vertebra(), erosion_mm=14.0)  # 2 × 2 × 2 voxels left


def test_no_kernel_is_refused_only_by_density_measures():
    v = _box_vertebra(kernel=None)
    assert v.calibration is None
    with pytest.raises(UnknownKernelError, match="--kernel B40f"):
        trabecular_vbmd(v)


def test_bundled_l1_and_its_saved_record(example, tmp_path):
    r = trabecular_vbmd(example.l1)
    assert round(r.vbmd_mg_cm3, 1) == 80.0 and r.roi_voxels == 268 and r.acr_class == "osteopenia"
    paths = r.save(tmp_path)
    rec = json.loads(paths["json"].read_text())
    assert rec["measure"] == "vbmd" and rec["values"]["vbmd_mg_cm3"] == pytest.approx(r.vbmd_mg_cm3)
    prov = rec["provenance"]
    assert prov["inputs"]["ct"]["sha256"] == example.scan.metadata["sha256"]
    assert prov["inputs"]["mask"]["sha256"] == example.labels.metadata["sha256"]
    assert prov["calibration"]["kernel"] == "B40f" and prov["vertebra"]["name"] == "L1"
    assert prov["options"]["erosion_mm"] == 6.0 and len(prov["options_sha256"]) == 64
