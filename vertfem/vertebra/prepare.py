"""Preparing vertebrae: read, align the label map, select, check, isolate the body, find the frame.

This is the one place where a CT and a label map become the
:class:`~vertfem.vertebra.model.Vertebra` that every measure takes: the
Python API, the command line and the study runner all call
:func:`prepare_vertebra`, so all of them apply the same guards, the same body
isolation and the same frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..calibration import KernelCalibration, KernelRegistry, resolve_calibration
from ..errors import UnknownKernelError, VertfemError
from ..geometry import ImageGeometry, check_on_grid, mask_box
from ..io import LabelMap, Scan, read_labels, read_scan
from ..labels import parse_levels, vertebra_name
from ..options import parse_options
from ..provenance import Flag, InputFile, array_sha256
from .body import isolate_body
from .frame import vertebral_frame
from .guards import check_body_height, check_calibrated_density, check_hu_scale, check_volume, resolution_flags
from .model import CROP_MARGIN_VOX, Vertebra, VertebraOptions
from .selection import labels_on_scan_grid, select_mask, touches_boundary

__all__ = [
    "INTERNAL",
    "AlignedLabels",
    "ScanCalibration",
    "align_labels",
    "internal_scan_calibration",
    "prepare_vertebra",
    "prepare_vertebrae",
]

#: The kernel name that asks for a phantomless calibration from the patient's own tissues.
INTERNAL = "internal"


@dataclass(frozen=True, eq=False)
class AlignedLabels:
    """A label map and its resampling onto a CT grid (done once, shared by every level of a scan)."""

    labels: LabelMap
    on_grid: np.ndarray
    geometry: ImageGeometry


LabelsLike = LabelMap | AlignedLabels | np.ndarray | str | Path


def _label_map(labels: LabelMap | np.ndarray | str | Path, geometry: ImageGeometry) -> LabelMap:
    if isinstance(labels, LabelMap):
        return labels
    if isinstance(labels, np.ndarray):
        check_on_grid(labels, geometry, "label array")
        arr = labels.astype(np.int32)
        return LabelMap(arr, geometry, {"path": "<memory>", "sha256": array_sha256(arr, geometry)})
    return read_labels(labels)


def align_labels(labels: LabelMap | np.ndarray | str | Path, geometry: ImageGeometry) -> AlignedLabels:
    """Read (if a path) and resample a label map onto a CT grid in physical space.

    An array is taken as a label map on ``geometry`` itself (a boolean mask becomes label 1).

    Raises
    ------
    ScanReadError, MaskImageMismatchError
    """
    lm = _label_map(labels, geometry)
    return AlignedLabels(lm, labels_on_scan_grid(lm, geometry), geometry)


@dataclass(frozen=True)
class ScanCalibration:
    """A calibration made for one scan (phantomless), with how it was made; reused for every level of the scan."""

    calibration: KernelCalibration
    report: dict[str, Any] | None = None
    flags: tuple[Flag, ...] = ()


def _reference_vertebra(aligned: AlignedLabels, fallback: np.ndarray, convention: str) -> np.ndarray:
    """The vertebra near which a scan's tissues are sampled, chosen from the scan and its labels alone.

    The labelled vertebra (of the convention) that is not cut by the field of view and lies nearest the middle
    of the labelled spine: every level of a scan — whichever levels a run asks for — then gets the same line.
    A label map without such a vertebra (a binary mask) uses ``fallback``.
    """
    names = {i for i in aligned.labels.present_labels() if vertebra_name(i, convention) is not None}
    if not names:
        return fallback
    ks = {i: np.flatnonzero((aligned.on_grid == i).any(axis=(1, 2))) for i in names}
    whole = [i for i, k in ks.items() if k.size and not touches_boundary(aligned.on_grid == i)]
    if not whole:
        return fallback
    middle = 0.5 * (min(k.min() for k in ks.values() if k.size) + max(k.max() for k in ks.values() if k.size))
    best = min(whole, key=lambda i: (abs(ks[i].mean() - middle), i))
    return aligned.on_grid == best


def internal_scan_calibration(scan: Scan, aligned: AlignedLabels, vertebra_mask: np.ndarray, *,
                              convention: str = "totalsegmentator",
                              tissue_types: np.ndarray | None = None) -> ScanCalibration:
    """Phantomless calibration of a scan from its reference tissues (:mod:`vertfem.phantomless`).

    The tissues are sampled near one reference vertebra of the scan (:func:`_reference_vertebra`), so the line
    does not depend on which levels are analysed. With a TotalSegmentator ``total`` label map, its aorta
    (blood) and autochthon/iliopsoas (muscle) labels are used when present, and ``tissue_types`` (the
    ``tissue_types`` task's map on the scan grid) gives the subcutaneous fat; every other tissue is sampled
    automatically. Disagreeing tissues give a ``calibration_tissues_disagree`` flag; a fit with no tissue to
    spare (three tissues, no self-check) a ``calibration_unchecked`` note.
    """
    from ..phantomless import internal_calibration, totalsegmentator_tissue_masks

    total = aligned.on_grid if convention == "totalsegmentator" else None
    masks = {k: v for k, v in totalsegmentator_tissue_masks(total=total, tissue_types=tissue_types).items()
             if v.any()}
    samples, report = internal_calibration(scan, _reference_vertebra(aligned, vertebra_mask, convention),
                                           tissue_labels=masks or None)
    record = {**report.as_dict(), "samples": {t: s.as_dict() for t, s in samples.samples.items()},
              "skipped": dict(samples.skipped), "working_spacing_mm": list(samples.working_spacing_mm)}
    flags: list[Flag] = []
    if report.flagged:
        flags.append(Flag("calibration_tissues_disagree", "; ".join(report.messages)))
    if report.dof <= 0:
        flags.append(Flag("calibration_unchecked", f"internal calibration from {len(report.tissues)} tissues "
                          "fits them exactly: no tissue is left to check it (add an aorta label or cortical bone)",
                          severity="info"))
    return ScanCalibration(report.calibration, record, tuple(flags))


def _input(meta_path: str, sha: str | None, array: np.ndarray, geometry: ImageGeometry) -> InputFile:
    return InputFile(meta_path, sha or array_sha256(array, geometry))


def _calibration(kernel: str | KernelCalibration | ScanCalibration | None, scan: Scan,
                 registry: KernelRegistry | None) -> ScanCalibration | None:
    if isinstance(kernel, ScanCalibration):
        return kernel
    if kernel is None and not scan.kernel:
        return None
    try:
        return ScanCalibration(resolve_calibration(kernel, scan_kernel=scan.kernel, registry=registry))
    except UnknownKernelError:
        if kernel is not None:
            raise
        raise UnknownKernelError(
            f"the scan {scan.path} records reconstruction kernel {scan.kernel!r}, which has no calibration; "
            f"name a calibrated kernel (--kernel) or add a calibration for {scan.kernel!r}"
        ) from None


def prepare_vertebra(
    scan: Scan | str | Path,
    labels: LabelsLike,
    vertebra: str | int = "L1",
    *,
    kernel: str | KernelCalibration | ScanCalibration | None = None,
    registry: KernelRegistry | None = None,
    options: VertebraOptions | dict[str, Any] | None = None,
    **overrides: Any,
) -> Vertebra:
    """Prepare one vertebra of a CT for every measure.

    Steps: read the inputs; resample the label map into the CT's physical
    space; select the vertebra (largest connected component; cut by the field
    of view of the CT or of the label map → error or flag); check that the CT
    is in HU and the mask lies on bone; check the volume against its level's
    anatomical range; resolve the calibration and check its densities;
    isolate the vertebral body; compute the vertebral frame.

    Parameters
    ----------
    scan : Scan or path
        The CT (NIfTI/NRRD/MHA file or DICOM folder).
    labels : LabelMap, AlignedLabels, ndarray or path
        The label map, on any grid overlapping the CT; an array is a label
        map on the CT's own grid, a boolean array one vertebra's mask (label 1,
        named by ``vertebra``).
    vertebra : str or int
        Level (``"L1"``) or raw label id.
    kernel : str, KernelCalibration or ScanCalibration, optional
        Reconstruction kernel to calibrate with; default the scan's DICOM
        kernel. ``"internal"`` calibrates from the patient's own tissues
        (:func:`internal_scan_calibration`). Without a kernel, measures on HU
        still run and density measures raise
        :class:`~vertfem.errors.UnknownKernelError`.
    registry : KernelRegistry, optional
        Calibrations beyond the built-in kernels.
    options : VertebraOptions or mapping, optional
    **overrides
        Fields of :class:`VertebraOptions` (``allow_cut=True``, ``mask_label=1``).

    Returns
    -------
    Vertebra

    Raises
    ------
    ScanReadError, ConfigError, LabelNotFoundError, EmptyMaskError, MaskImageMismatchError,
    VertebraCutByFOVError, SegmentationError, AbsurdHUError, AnatomyError, UnknownKernelError,
    CalibrationError

    Examples
    --------
    >>> import vertfem as vf
    >>> p = vf.example_paths()
    >>> v = vf.prepare_vertebra(p["ct"], p["labels"], "L1", kernel="B40f")
    >>> v.name, v.label, round(v.body_volume_mm3 / 1000, 1)
    ('L1', 31, 41.3)
    """
    if isinstance(labels, np.ndarray) and labels.dtype == bool:
        overrides.setdefault("mask_label", 1)
    opts = parse_options(VertebraOptions, options, where="vertebra options", **overrides)
    scan = scan if isinstance(scan, Scan) else read_scan(scan)
    aligned = labels if isinstance(labels, AlignedLabels) else align_labels(labels, scan.geometry)
    if not aligned.geometry.same_grid(scan.geometry):
        aligned = align_labels(aligned.labels, scan.geometry)
    g = scan.geometry
    sel = select_mask(aligned.labels, aligned.on_grid, g, vertebra, convention=opts.convention,
                      mask_label=opts.mask_label, allow_cut=opts.allow_cut)
    if opts.hu_check:
        check_hu_scale(scan.hu, sel.mask, g, name=sel.name, ct=scan.path)
    if opts.anatomy_check:
        check_volume(float(sel.mask.sum()) * g.voxel_volume_mm3, name=sel.name, spacing_mm=g.spacing_mm)
    box, sub = mask_box(sel.mask, g, CROP_MARGIN_VOX)
    mask = sel.mask[box]
    body = isolate_body(mask, sub, opening_mm=opts.opening_mm)
    if isinstance(kernel, str) and kernel.strip().lower() == INTERNAL:
        kernel = internal_scan_calibration(scan, aligned, sel.mask, convention=opts.convention)
    scal = _calibration(kernel, scan, registry)
    cal = scal.calibration if scal is not None else None
    if cal is not None and opts.hu_check:
        check_calibrated_density(scan.hu[box], mask, body, sub, cal, name=sel.name)
    frame = vertebral_frame(body, sub, vertebra_mask=mask)
    if opts.anatomy_check:
        check_body_height(frame.height_mm, name=sel.name)
    lm = aligned.labels
    inputs = {"ct": _input(scan.path, scan.metadata.get("sha256"), scan.hu, g),
              "mask": _input(lm.path, lm.metadata.get("sha256"), lm.labels, lm.geometry)}
    flags: list[Flag] = [*sel.flags, *resolution_flags(g), *(scal.flags if scal else ())]
    return Vertebra(name=sel.name, label=sel.label, scan=scan, box=box, geometry=sub, mask=mask, body=body,
                    frame=frame, calibration=cal, flags=tuple(flags), inputs=inputs, options=opts,
                    calibration_report=scal.report if scal else None)


def prepare_vertebrae(
    scan: Scan | str | Path,
    labels: LabelMap | np.ndarray | str | Path,
    levels: str | int | Sequence[str | int],
    *,
    kernel: str | KernelCalibration | ScanCalibration | None = None,
    registry: KernelRegistry | None = None,
    options: VertebraOptions | dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Vertebra | VertfemError]:
    """Prepare several levels of one scan, reading and aligning the inputs once.

    Parameters
    ----------
    levels : str, int or sequence
        ``"L1-L4"``, ``"T12,L1"``, ``"all"`` or a list (:func:`~vertfem.labels.parse_levels`).

    Returns
    -------
    dict
        Level → prepared :class:`Vertebra`, or the error that refused it
        (so one cut or mislabelled level does not stop the others).

    Examples
    --------
    >>> import vertfem as vf
    >>> p = vf.example_paths()
    >>> out = vf.prepare_vertebrae(p["ct"], p["labels"], "T11-L1", kernel="B40f")
    >>> {k: type(v).__name__ for k, v in out.items()}
    {'T11': 'VertebraCutByFOVError', 'T12': 'VertebraCutByFOVError', 'L1': 'Vertebra'}
    """
    opts = parse_options(VertebraOptions, options, where="vertebra options", **overrides)
    scan = scan if isinstance(scan, Scan) else read_scan(scan)
    aligned = align_labels(labels, scan.geometry)
    names = parse_levels(levels, opts.convention, present=aligned.labels.present_labels())
    out: dict[str, Vertebra | VertfemError] = {}
    for name in names:
        try:
            v = prepare_vertebra(scan, aligned, name, kernel=kernel, registry=registry, options=opts)
        except VertfemError as exc:
            out[str(name)] = exc
            continue
        out[str(name)] = v
        if isinstance(kernel, str) and kernel.strip().lower() == INTERNAL and v.calibration is not None:
            # the line comes from the scan's reference vertebra, the same for every level: compute it once
            kernel = ScanCalibration(v.calibration, v.calibration_report,
                                     tuple(f for f in v.flags if f.code.startswith("calibration_")))
    return out
