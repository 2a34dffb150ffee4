"""Sampling each reference tissue on the working grid: automatically from the CT and the vertebra, or from a mask.

The regions are described in :mod:`vertfem.phantomless.tissues`; each sampler returns a
:class:`~vertfem.phantomless.samples.TissueSample` or raises
:class:`~vertfem.errors.ReferenceTissueError` naming its tissue.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..io import Scan
from ._grid import WorkingGrid, edt_mm, interior, summarise
from .samples import TissueSample, TissueSamplingOptions

__all__ = ["body_region", "outside_air", "sample_adipose", "sample_air", "sample_cortical_bone", "sample_mask",
           "sample_muscle"]


def outside_air(grid: WorkingGrid) -> np.ndarray:
    """Air outside the body: below −400 HU, connected to the in-plane image border, padding excluded."""
    air = (grid.hu < -400.0) & ~grid.padding
    lab, n = ndimage.label(air)
    if n == 0:
        return air
    border: set[int] = set()
    for a in grid.inplane_axes:
        for idx in (0, -1):
            face = np.take(lab, idx, axis=a)
            border.update(int(v) for v in np.unique(face) if v)
    return np.isin(lab, sorted(border)) if border else np.zeros_like(air)


def body_region(grid: WorkingGrid, outside: np.ndarray) -> np.ndarray:
    """The body: the largest connected region that is neither outside air nor padding."""
    body = ~outside & ~grid.padding
    lab, n = ndimage.label(body)
    if n <= 1:
        return body
    sizes = np.bincount(lab.ravel())[1:]
    return lab == int(np.argmax(sizes)) + 1


def sample_air(grid: WorkingGrid, outside: np.ndarray, opts: TissueSamplingOptions) -> TissueSample:
    """Outside air at least ``air_margin_mm`` from any object."""
    d = edt_mm(outside, grid.geometry)
    region = outside & (d >= opts.air_margin_mm + max(grid.geometry.spacing_mm)) & grid.slab
    return summarise("air", grid.hu, region, grid.geometry, opts.min_air_mm3,
                     f"auto: air outside the body, ≥ {opts.air_margin_mm:g} mm from any object",
                     "the field of view leaves too little air around the body (give an air mask via tissue_labels "
                     "or lower air_margin_mm / min_air_mm3 knowingly)")


def sample_adipose(grid: WorkingGrid, body: np.ndarray, opts: TissueSamplingOptions) -> TissueSample:
    """Fat-window voxels of the fat layer that reaches the skin, eroded."""
    g = grid.geometry
    depth = edt_mm(body, g) - 0.5 * min(g.spacing_mm)
    lo, hi = opts.fat_window_hu
    sm = grid.smoothed
    fat = body & (sm >= lo) & (sm <= hi) & (depth <= opts.subcutaneous_depth_mm)
    lab, n = ndimage.label(fat)
    if n:
        contact = max(6.0, 2.0 * max(g.spacing_mm))
        touching = np.unique(lab[fat & (depth <= contact)])
        fat = np.isin(lab, touching[touching > 0])
    region = interior(fat, g, opts.erosion_mm) & grid.slab
    return summarise("adipose", grid.hu, region, g, opts.min_adipose_mm3,
                     f"auto: subcutaneous fat ≤ {opts.subcutaneous_depth_mm:g} mm below the skin",
                     "the subcutaneous fat layer is too thin at this level (give an adipose mask via tissue_labels, "
                     "e.g. TotalSegmentator's tissue_types subcutaneous_fat)")


def sample_muscle(grid: WorkingGrid, body: np.ndarray, vert: np.ndarray, opts: TissueSamplingOptions) -> TissueSample:
    """Muscle-window voxels behind the vertebra and beside the spinous process (erector spinae), eroded."""
    g = grid.geometry
    kji = np.argwhere(vert)
    pts = g.index_to_physical(kji[:, ::-1].astype(float))
    cx, cy = pts[:, 0].mean(), pts[:, 1].mean()
    y_back = pts[:, 1].max()
    m = g.affine
    kk, jj, ii = (np.arange(n, dtype=float) for n in grid.hu.shape)

    def coord(r: int) -> np.ndarray:
        return m[r, 3] + m[r, 2] * kk[:, None, None] + m[r, 1] * jj[None, :, None] + m[r, 0] * ii[None, None, :]

    lateral = np.abs(coord(0) - cx)
    y = coord(1)  # LPS: +y is posterior
    zone = ((lateral >= opts.muscle_lateral_mm[0]) & (lateral <= opts.muscle_lateral_mm[1])
            & (y >= cy + 5.0) & (y <= y_back + opts.muscle_posterior_mm))
    lo, hi = opts.muscle_window_hu
    sm = grid.smoothed
    muscle = body & zone & (sm >= lo) & (sm <= hi) & ~vert
    region = interior(muscle, g, opts.erosion_mm) & grid.slab
    return summarise("muscle", grid.hu, region, g, opts.min_muscle_mm3,
                     "auto: paraspinal muscle behind the vertebra, beside the spinous process",
                     "no paraspinal muscle found at this level (give a muscle mask via tissue_labels, e.g. "
                     "TotalSegmentator's autochthon/iliopsoas)")


def sample_cortical_bone(scan: Scan, vertebra_mask: np.ndarray, box: tuple[slice, slice, slice],
                         opts: TissueSamplingOptions) -> TissueSample:
    """Dense voxels of the vertebra on the scan grid (not pooled), eroded by ``bone_erosion_mm``."""
    g = scan.geometry
    lo = np.array([max(b.start - 1, 0) for b in box])
    hi = np.array([min(b.stop + 1, n) for b, n in zip(box, vertebra_mask.shape)])
    grown = (slice(lo[0], hi[0]), slice(lo[1], hi[1]), slice(lo[2], hi[2]))
    sub = g.cropped(lo[::-1], hi[::-1])
    hu = scan.hu[grown].astype(np.float64)
    dense = vertebra_mask[grown] & (hu >= opts.bone_min_hu)
    dense_mm3 = float(dense.sum()) * sub.voxel_volume_mm3
    # a dense region smaller than the minimum cannot leave enough after erosion: skip the distance transform
    region = interior(dense, sub, opts.bone_erosion_mm) if dense_mm3 >= opts.min_cortical_bone_mm3 else (
        np.zeros_like(dense))
    return summarise("cortical_bone", hu, region, sub, opts.min_cortical_bone_mm3,
                     f"auto: vertebra voxels ≥ {opts.bone_min_hu:g} HU, {opts.bone_erosion_mm:g} mm inside",
                     f"{dense_mm3:.0f} mm³ of the vertebra reads ≥ {opts.bone_min_hu:g} HU: its dense bone is not "
                     f"resolved at {min(g.spacing_mm):g} mm voxels (thin cortex, partial volume); calibrate "
                     "without it")


def sample_mask(tissue: str, grid: WorkingGrid, mask: np.ndarray, opts: TissueSamplingOptions,
                name: str) -> TissueSample:
    """A given mask on the working grid, within the slab and away from padding, eroded by ``erosion_mm``."""
    pooled = grid.pool_mask(mask) & ~grid.padding
    region = interior(pooled, grid.geometry, opts.erosion_mm) & grid.slab
    return summarise(tissue, grid.hu, region, grid.geometry, _min_volume(tissue, opts),
                     f"mask: {name}, eroded {opts.erosion_mm:g} mm",
                     f"the {tissue} mask is too small near this vertebra (check the label map, or widen "
                     "slab_margin_mm)")


def _min_volume(tissue: str, opts: TissueSamplingOptions) -> float:
    return float(getattr(opts, f"min_{tissue}_mm3"))
