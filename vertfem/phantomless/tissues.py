"""Sampling reference tissues in a CT for internal calibration.

Five reference tissues of known composition can be sampled: air outside the
body, subcutaneous adipose tissue, skeletal muscle, blood and cortical bone.
Each comes either from a mask the user supplies (e.g. TotalSegmentator's
aorta, autochthon/iliopsoas and tissue-types output, see
:func:`totalsegmentator_tissue_masks`) or automatically from the CT and the
vertebra mask:

* **air** — outside the body (the air connected to the in-plane image
  border), at least ``air_margin_mm`` from the body, the table and any
  padding outside the reconstructed field of view;
* **adipose** — fat-window voxels (smoothed HU in ``fat_window_hu``) of the
  fat layer that reaches the skin, no deeper than ``subcutaneous_depth_mm``;
* **muscle** — muscle-window voxels behind the vertebra and beside the
  spinous process (the erector spinae), in physical LPS directions;
* **cortical bone** — dense voxels (HU ≥ ``bone_min_hu``) of the vertebra.
  At clinical resolution the vertebral cortex (0.2–0.5 mm) is thinner than a
  voxel, so this sample usually does not exist; it is optional in automatic
  mode and reported as skipped, with the reason.

Every sample is restricted to a slab around the vertebra (``slab_margin_mm``
above and below it, along the patient's cranio-caudal axis), eroded so that
each sampled voxel lies wholly ``erosion_mm`` inside its structure (partial
volume, edge overshoot of sharp kernels), and summarised by its median HU. A
sample smaller than its minimum volume raises
:class:`ReferenceTissueError` naming the tissue.

Scans finer than ``pool_mm`` are block-averaged to blocks of at least
``pool_mm`` first (means of whole voxels, no interpolation): the medians of
uniform tissue are unchanged and a 0.5 mm scan is segmented on 1/64 of its
voxels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import CalibrationError, MaskImageMismatchError, ReferenceTissueError
from ..io import Scan
from ..options import parse_options
from ._grid import working_grid
from ._samplers import (
    body_region,
    outside_air,
    sample_adipose,
    sample_air,
    sample_cortical_bone,
    sample_mask,
    sample_muscle,
)
from .labelmaps import TOTALSEGMENTATOR_TISSUES, totalsegmentator_tissue_masks
from .samples import REFERENCE_TISSUES, TissueSample, TissueSamples, TissueSamplingOptions

__all__ = [
    "REFERENCE_TISSUES",
    "TOTALSEGMENTATOR_TISSUES",
    "TissueSample",
    "TissueSamples",
    "TissueSamplingOptions",
    "sample_reference_tissues",
    "totalsegmentator_tissue_masks",
]


def sample_reference_tissues(
    scan: Scan,
    vertebra_mask: np.ndarray,
    *,
    tissue_labels: Mapping[str, np.ndarray] | None = None,
    options: TissueSamplingOptions | Mapping[str, Any] | None = None,
    **overrides: Any,
) -> TissueSamples:
    """Sample the reference tissues of a scan near one vertebra.

    Parameters
    ----------
    scan : Scan
        CT in HU.
    vertebra_mask : ndarray of bool
        The vertebra (whole or body) on the scan grid; it places the slab,
        the muscle zone and the cortical-bone sample.
    tissue_labels : mapping of str to ndarray of bool, optional
        Masks on the scan grid for any of :data:`REFERENCE_TISSUES` (e.g.
        from :func:`totalsegmentator_tissue_masks`); a given mask replaces the
        automatic sample of its tissue. Blood is only sampled from a mask.
    options : TissueSamplingOptions or mapping, optional
    **overrides
        Fields of :class:`TissueSamplingOptions`.

    Returns
    -------
    TissueSamples

    Raises
    ------
    ReferenceTissueError
        A required tissue is too small after erosion (the message names it).
    MaskImageMismatchError, EmptyMaskError
        A mask is not on the scan grid, or the vertebra mask is empty.

    Examples
    --------
    >>> import vertfem as vf
    >>> from vertfem.io import read_scan, read_labels
    >>> p = vf.example_paths()
    >>> s = sample_reference_tissues(read_scan(p["ct"]), read_labels(p["labels"]).labels == 31)
    >>> {t: round(x.hu_median) for t, x in s.samples.items()}
    {'air': -997, 'adipose': -104, 'muscle': 26}
    >>> sorted(s.skipped)
    ['cortical_bone']
    """
    opts = parse_options(TissueSamplingOptions, options, where="tissue sampling options", **overrides)
    vmask = np.asarray(vertebra_mask, dtype=bool)
    g = scan.geometry
    if vmask.shape != g.shape:
        raise MaskImageMismatchError(f"vertebra_mask has shape {vmask.shape}, the scan grid {g.shape}; resample it")
    labels = _checked_labels(tissue_labels, g.shape)
    required, optional = _tissues_to_sample(opts, labels)
    grid = working_grid(scan, vmask, opts)
    if any(t in ("air", "adipose", "muscle") and t not in labels for t in required + optional):
        outside = outside_air(grid)
        body = body_region(grid, outside)
    samples: dict[str, TissueSample] = {}
    skipped: dict[str, str] = {}
    for tissue in (*required, *optional):
        try:
            if tissue in labels:
                samples[tissue] = sample_mask(tissue, grid, np.asarray(labels[tissue], bool), opts, "tissue_labels")
                continue
            if tissue == "cortical_bone":
                samples[tissue] = sample_cortical_bone(scan, vmask, grid.vertebra_box, opts)
                continue
            if tissue == "air":
                samples[tissue] = sample_air(grid, outside, opts)
            elif tissue == "adipose":
                samples[tissue] = sample_adipose(grid, body, opts)
            elif tissue == "muscle":
                samples[tissue] = sample_muscle(grid, body, grid.pool_mask(vmask, any_voxel=True), opts)
        except ReferenceTissueError as exc:
            if tissue in required:
                raise
            skipped[tissue] = str(exc)
    return TissueSamples(samples, skipped, scan.path, tuple(float(s) for s in grid.geometry.spacing_mm))  # type: ignore[arg-type]


def _checked_labels(tissue_labels: Mapping[str, np.ndarray] | None, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """The tissue masks given, each checked to name a reference tissue and to lie on the scan grid."""
    labels = dict(tissue_labels or {})
    for t, m in labels.items():
        if t not in REFERENCE_TISSUES:
            raise CalibrationError(f"tissue_labels key {t!r} is not a reference tissue; use {REFERENCE_TISSUES}")
        if np.shape(m) != shape:
            raise MaskImageMismatchError(f"tissue_labels[{t!r}] has shape {np.shape(m)}, the scan grid {shape}")
    return labels


def _tissues_to_sample(opts: TissueSamplingOptions,
                       labels: Mapping[str, np.ndarray]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The tissues that must be sampled and those tried and skipped when they cannot be."""
    if opts.tissues is not None:
        unknown = [t for t in opts.tissues if t not in REFERENCE_TISSUES]
        if unknown:
            raise CalibrationError(f"unknown reference tissues {unknown}; choose from {REFERENCE_TISSUES}")
        required: tuple[str, ...] = tuple(opts.tissues)
        optional: tuple[str, ...] = ()
    else:
        required = ("air", "adipose", "muscle") + (("blood",) if "blood" in labels else ())
        optional = ("cortical_bone",)
    if "blood" in (*required, *optional) and "blood" not in labels:
        raise ReferenceTissueError("blood", "reference tissue 'blood' needs a blood mask (e.g. TotalSegmentator's "
                                   "aorta) in tissue_labels; it is not sampled automatically")
    return required, optional
