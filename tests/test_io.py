import numpy as np
import pytest
import SimpleITK as sitk

from vertfem.errors import NonFiniteHUError, ScanReadError
from vertfem.geometry import ImageGeometry
from vertfem.io import read_labels, read_scan, scan_from_array, write_image

GEOM = ImageGeometry((5, 6, 7), (10.0, -20.0, 30.0), (0.7, 0.8, 1.5), (-1, 0, 0, 0, -1, 0, 0, 0, 1))


def _hu():
    return np.random.default_rng(0).integers(-1000, 1500, size=GEOM.shape).astype(np.float32)


@pytest.mark.parametrize("suffix", [".nii.gz", ".nrrd", ".mha"])
def test_round_trip_keeps_geometry_and_voxels(tmp_path, suffix):
    hu = _hu()
    p = write_image(hu, GEOM, tmp_path / f"ct{suffix}")
    scan = read_scan(p, kernel="B40f")
    assert scan.geometry.same_grid(GEOM)
    np.testing.assert_allclose(scan.geometry.direction, GEOM.direction)
    np.testing.assert_array_equal(scan.hu, hu)
    assert scan.kernel == "B40f" and len(scan.metadata["sha256"]) == 64


def test_dicom_series_reads_geometry_and_kernel(tmp_path):
    hu = _hu().astype(np.int16)
    geom = ImageGeometry((5, 6, 7), (10.0, -20.0, 30.0), (0.7, 0.8, 1.5), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    series = "1.2.826.0.1.3680043.2.1125.1.1"
    for k in range(geom.size[2]):
        sl = sitk.GetImageFromArray(hu[k : k + 1])
        sl.SetSpacing(geom.spacing_mm)
        pos = geom.index_to_physical([[0, 0, k]])[0]
        sl.SetOrigin(tuple(pos))
        for tag, val in {
            "0008|0060": "CT",
            "0018|1210": "B70f",
            "0020|000e": series,
            "0020|0013": str(k + 1),
            "0020|0032": "\\".join(f"{v:.6f}" for v in pos),
            "0020|0037": "1\\0\\0\\0\\1\\0",
            "0018|0050": "1.5",
            "0028|1052": "0",
            "0028|1053": "1",
        }.items():
            sl.SetMetaData(tag, val)
        writer.SetFileName(str(tmp_path / f"s{k:03d}.dcm"))
        writer.Execute(sl)
    scan = read_scan(tmp_path)
    assert scan.kernel == "B70f"
    assert scan.metadata["format"] == "dicom"
    np.testing.assert_allclose(scan.geometry.spacing_mm, geom.spacing_mm, rtol=1e-5)
    np.testing.assert_allclose(scan.geometry.origin_mm, geom.origin_mm, atol=1e-4)
    np.testing.assert_array_equal(scan.hu, hu)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(ScanReadError, match=r"nothere\.nii\.gz"):
        read_scan(tmp_path / "nothere.nii.gz")


def test_empty_folder_is_not_a_dicom_series(tmp_path):
    with pytest.raises(ScanReadError, match="no DICOM series"):
        read_scan(tmp_path)


def test_non_finite_hu_names_the_file(tmp_path):
    hu = _hu()
    hu[1, 2, 3] = np.nan
    p = write_image(hu, GEOM, tmp_path / "bad.nrrd")  # ITK's NIfTI writer zeroes NaN
    with pytest.raises(NonFiniteHUError, match=r"bad\.nrrd"):
        read_scan(p)
    with pytest.raises(NonFiniteHUError, match="non-finite"):
        scan_from_array(hu, GEOM)


def test_label_map_must_hold_integers(tmp_path):
    p = write_image(np.full(GEOM.shape, 0.5, np.float32), GEOM, tmp_path / "lab.nii.gz")
    with pytest.raises(ScanReadError, match="non-integer"):
        read_labels(p)
