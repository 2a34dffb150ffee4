"""Reading CT scans and label maps in scanner space.

Supported inputs: NIfTI (``.nii``, ``.nii.gz``), NRRD, MetaImage (``.mha``,
``.mhd``) and DICOM series folders, all through SimpleITK. Images keep their
origin, spacing and direction cosines; nothing is reoriented.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from .errors import AbsurdHUError, NonFiniteHUError, ScanReadError
from .geometry import ImageGeometry, array_to_image, check_on_grid

__all__ = [
    "LabelMap",
    "Scan",
    "file_sha256",
    "read_labels",
    "read_scan",
    "scan_from_array",
    "write_image",
]

log = logging.getLogger(__name__)

#: DICOM tags copied into :attr:`Scan.metadata` when present (tag → key).
DICOM_TAGS = {
    "0018|1210": "convolution_kernel",
    "0008|0060": "modality",
    "0008|0070": "manufacturer",
    "0008|1090": "manufacturer_model",
    "0018|0060": "kvp",
    "0018|1151": "tube_current_mA",
    "0018|0050": "slice_thickness_mm",
    "0020|000e": "series_instance_uid",
    "0008|103e": "series_description",
}


@dataclass(frozen=True, eq=False)
class Scan:
    """A CT image in Hounsfield units with its physical grid.

    Attributes
    ----------
    hu : ndarray of float32, shape ``geometry.shape``
        HU values in ``(k, j, i)`` order.
    geometry : ImageGeometry
        Physical grid (origin, spacing, direction) in mm.
    metadata : dict
        ``path``, ``sha256`` and DICOM fields such as ``convolution_kernel``.
    """

    hu: np.ndarray
    geometry: ImageGeometry
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_on_grid(self.hu, self.geometry, "the CT's HU array")

    @property
    def kernel(self) -> str | None:
        """Reconstruction kernel from the DICOM header (0018,1210), if any."""
        k = self.metadata.get("convolution_kernel")
        return str(k).strip() if k else None

    @property
    def path(self) -> str:
        """Source path (or ``"<memory>"``)."""
        return str(self.metadata.get("path", "<memory>"))

    def to_image(self) -> sitk.Image:
        """The scan as a SimpleITK float32 image."""
        return array_to_image(self.hu.astype(np.float32, copy=False), self.geometry)


@dataclass(frozen=True, eq=False)
class LabelMap:
    """An integer label image on its own physical grid."""

    labels: np.ndarray
    geometry: ImageGeometry
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_on_grid(self.labels, self.geometry, "the label array")

    @property
    def path(self) -> str:
        return str(self.metadata.get("path", "<memory>"))

    def present_labels(self) -> dict[int, int]:
        """Label id → voxel count, for every non-zero label."""
        ids, counts = np.unique(self.labels, return_counts=True)
        return {int(i): int(c) for i, c in zip(ids, counts) if i != 0}


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file, or of all files of a folder in name order."""
    p = Path(path)
    h = hashlib.sha256()
    files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    for f in files:
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _read_dicom_series(folder: Path, series_uid: str | None) -> tuple[sitk.Image, dict[str, Any]]:
    reader = sitk.ImageSeriesReader()
    ids = reader.GetGDCMSeriesIDs(str(folder))
    if not ids:
        raise ScanReadError(
            f"{folder}: no DICOM series found in this folder; point to the folder holding the .dcm slices"
        )
    if series_uid is None:
        series_uid = max(ids, key=lambda s: len(reader.GetGDCMSeriesFileNames(str(folder), s)))
        if len(ids) > 1:
            log.warning("%s holds %d DICOM series; reading the largest, %s", folder, len(ids), series_uid)
    elif series_uid not in ids:
        raise ScanReadError(f"{folder}: series {series_uid!r} not found; available: {list(ids)}")
    files = reader.GetGDCMSeriesFileNames(str(folder), series_uid)
    reader.SetFileNames(files)
    reader.MetaDataDictionaryArrayUpdateOn()
    reader.LoadPrivateTagsOn()
    image = reader.Execute()
    meta: dict[str, Any] = {"format": "dicom", "n_files": len(files)}
    for tag, key in DICOM_TAGS.items():
        if reader.HasMetaDataKey(0, tag):
            meta[key] = reader.GetMetaData(0, tag).strip()
    return image, meta


def _read_image(path: str | Path, series_uid: str | None, what: str) -> tuple[sitk.Image, dict[str, Any]]:
    p = Path(path)
    if not p.exists():
        raise ScanReadError(f"{what} file {p} does not exist; check the path")
    try:
        if p.is_dir():
            image, meta = _read_dicom_series(p, series_uid)
        else:
            reader = sitk.ImageFileReader()
            reader.SetFileName(str(p))
            reader.LoadPrivateTagsOn()
            image = reader.Execute()
            meta = {"format": reader.GetImageIO() or p.suffix}
            for tag, key in DICOM_TAGS.items():
                if reader.HasMetaDataKey(tag):
                    meta[key] = reader.GetMetaData(tag).strip()
    except RuntimeError as exc:
        raise ScanReadError(f"could not read {what} {p}: {exc}".strip()) from exc
    if image.GetDimension() != 3:
        raise ScanReadError(f"{what} {p} is {image.GetDimension()}D; vertfem needs a 3D volume")
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise ScanReadError(
            f"{what} {p} has {image.GetNumberOfComponentsPerPixel()} components per voxel; expected a scalar image"
        )
    meta["path"] = str(p)
    return image, meta


#: Pixel types that cannot hold CT numbers (−1024 … 3071 HU and beyond).
_NARROW_TYPES = {sitk.sitkUInt8: "8-bit unsigned integer", sitk.sitkInt8: "8-bit signed integer"}


def _check_pixel_type(pixel_id: int, dtype: np.dtype, what: str) -> None:
    name = _NARROW_TYPES.get(pixel_id) or ({np.dtype(np.uint8): "8-bit unsigned integer",
                                            np.dtype(np.int8): "8-bit signed integer",
                                            np.dtype(bool): "boolean"}.get(np.dtype(dtype)))
    if name:
        raise AbsurdHUError(
            f"{what} is stored as {name} values, which cannot hold Hounsfield units (air −1000, bone up to "
            "+3000): values were clipped when the image was converted. Use the original CT (16-bit integer or "
            "float), not a display or 8-bit export — or, if this is a label map, give the CT first and the label "
            "map second"
        )


def _nifti_non_finite(path: Path) -> int:
    """Non-finite voxels stored in a floating-point NIfTI file.

    ITK's NIfTI reader (and so SimpleITK) turns NaN voxels into 0 — water — when reading; nibabel reads the
    stored values as they are, so the check sees what the file holds.
    """
    import nibabel

    data = np.asanyarray(nibabel.load(str(path)).dataobj)  # type: ignore[attr-defined]
    return int((~np.isfinite(data)).sum())


def read_scan(path: str | Path, *, series_uid: str | None = None, kernel: str | None = None) -> Scan:
    """Read a CT scan in HU.

    Parameters
    ----------
    path : str or Path
        NIfTI/NRRD/MHA file, or a folder holding one DICOM series.
    series_uid : str, optional
        DICOM SeriesInstanceUID when the folder holds several series.
    kernel : str, optional
        Reconstruction kernel to record when the file has no DICOM header
        (e.g. NIfTI); overrides nothing read from DICOM.

    Returns
    -------
    Scan

    Raises
    ------
    ScanReadError
        Missing or unreadable file.
    AbsurdHUError
        An 8-bit pixel type, which cannot hold HU.
    NonFiniteHUError
        NaN or infinite voxels.

    Examples
    --------
    >>> import vertfem as vf
    >>> scan = vf.read_scan(vf.example_paths()["ct"])
    >>> scan.geometry.spacing_mm
    (3.0, 3.0, 3.0)
    """
    image, meta = _read_image(path, series_uid, "CT")
    _check_pixel_type(image.GetPixelID(), np.dtype(np.float32), f"CT {path}")
    meta["pixel_type"] = image.GetPixelIDTypeAsString()
    hu = sitk.GetArrayFromImage(image).astype(np.float32)
    n_bad = int((~np.isfinite(hu)).sum())
    is_nifti = str(path).lower().endswith((".nii", ".nii.gz"))
    if not n_bad and is_nifti and image.GetPixelID() in (sitk.sitkFloat32, sitk.sitkFloat64):
        n_bad = _nifti_non_finite(Path(path))
    if n_bad:
        raise NonFiniteHUError(
            f"CT {path} has {n_bad} non-finite voxels (NaN/inf); "
            "fill them (e.g. with -1024 HU outside the body) before analysis"
        )
    if kernel and "convolution_kernel" not in meta:
        meta["convolution_kernel"] = kernel
    meta["sha256"] = file_sha256(path)
    return Scan(hu=hu, geometry=ImageGeometry.from_image(image), metadata=meta)


def read_labels(path: str | Path) -> LabelMap:
    """Read an integer label map (e.g. TotalSegmentator or VerSe output).

    Raises
    ------
    ScanReadError
        Missing or unreadable file, or non-integer labels.
    """
    image, meta = _read_image(path, None, "label map")
    arr = sitk.GetArrayFromImage(image)
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.isfinite(arr)) or not np.allclose(arr, np.round(arr)):
            raise ScanReadError(f"label map {path} holds non-integer values; expected integer label ids")
        arr = np.round(arr)
    meta["sha256"] = file_sha256(path)
    return LabelMap(labels=arr.astype(np.int32), geometry=ImageGeometry.from_image(image), metadata=meta)


def scan_from_array(hu: np.ndarray, geometry: ImageGeometry, **metadata: Any) -> Scan:
    """Build a :class:`Scan` from an in-memory array, checking its type and finiteness.

    Raises
    ------
    AbsurdHUError
        An 8-bit or boolean array (it cannot hold HU).
    NonFiniteHUError
        NaN or infinite values.
    """
    _check_pixel_type(-1, np.asarray(hu).dtype, "the array passed as CT")
    hu = np.asarray(hu, dtype=np.float32)
    if not np.all(np.isfinite(hu)):
        raise NonFiniteHUError(
            f"array passed as CT has {int((~np.isfinite(hu)).sum())} non-finite voxels; replace them before analysis"
        )
    return Scan(hu=hu, geometry=geometry, metadata=dict(metadata))


def write_image(array: np.ndarray, geometry: ImageGeometry, path: str | Path) -> Path:
    """Write an array on a physical grid to any SimpleITK format (by suffix)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(array_to_image(array, geometry), str(p), True)
    return p
