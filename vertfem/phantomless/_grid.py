"""The working grid of tissue sampling (slab crop, block averaging) and the steps every sample shares.

Tissues are segmented on a copy of the CT cropped to the vertebra's cranio-caudal slab and block-averaged to
voxels of at least ``pool_mm``; a sample is a region of that grid, eroded so that its voxels lie wholly inside
the structure, and summarised by its median HU (:func:`summarise`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..errors import EmptyMaskError, ReferenceTissueError
from ..geometry import ImageGeometry
from ..io import Scan
from .samples import TissueSample, TissueSamplingOptions

__all__ = ["WorkingGrid", "bbox", "block_sum", "edt_mm", "interior", "summarise", "working_grid", "z_of_index_axes"]


@dataclass(frozen=True, eq=False)
class WorkingGrid:
    """The CT near the vertebra that tissues are segmented on: cropped to the slab, block-averaged."""
    hu: np.ndarray  # block-averaged HU on the working grid
    geometry: ImageGeometry
    crop: tuple[slice, slice, slice]
    factor: tuple[int, int, int]  # block size along (k, j, i)
    slab: np.ndarray  # working-grid voxels inside the cranio-caudal slab
    padding: np.ndarray  # working-grid voxels touching padding outside the reconstructed FOV
    inplane_axes: tuple[int, ...]  # array axes (k, j, i order) lying in the axial plane
    smoothed: np.ndarray  # 3-voxel box average of hu, for the tissue windows
    vertebra_box: tuple[slice, slice, slice]  # bounding box of the vertebra on the scan grid

    def pool_mask(self, mask: np.ndarray, *, any_voxel: bool = False) -> np.ndarray:
        """A scan-grid mask on the working grid (blocks at least half inside, or touched when ``any_voxel``)."""
        out = np.zeros(self.hu.shape, bool)
        m = mask[self.crop]
        box = bbox(m)
        if box is None:
            return out
        f = self.factor
        lo = [b.start // fa for b, fa in zip(box, f)]
        hi = [min(-(-b.stop // fa), n) for b, fa, n in zip(box, f, self.hu.shape)]
        sub = m[tuple(slice(a * fa, b * fa) for a, b, fa in zip(lo, hi, f))]
        counts = block_sum(sub.astype(np.uint8), f)
        pooled = counts > 0 if any_voxel else counts * 2 >= f[0] * f[1] * f[2]
        out[tuple(slice(a, a + n) for a, n in zip(lo, pooled.shape))] = pooled
        return out


def bbox(mask: np.ndarray) -> tuple[slice, slice, slice] | None:
    """Bounding box of a mask from its axis projections (cheaper than argwhere on large grids)."""
    idx = []
    for a in range(3):
        hit = np.flatnonzero(mask.any(axis=tuple(b for b in range(3) if b != a)))
        if hit.size == 0:
            return None
        idx.append(slice(int(hit[0]), int(hit[-1]) + 1))
    return idx[0], idx[1], idx[2]


def block_sum(a: np.ndarray, f: tuple[int, int, int]) -> np.ndarray:
    """Sums over blocks of f voxels (remainders dropped), one axis at a time (contiguous reductions)."""
    n = [s // b for s, b in zip(a.shape, f)]
    a = a[: n[0] * f[0], : n[1] * f[1], : n[2] * f[2]]
    dtype = np.float64 if a.dtype.kind == "f" else np.int32
    if f[2] > 1:
        a = a.reshape(a.shape[0], a.shape[1], n[2], f[2]).sum(axis=3, dtype=dtype)
    if f[1] > 1:
        a = a.reshape(a.shape[0], n[1], f[1], n[2]).sum(axis=2, dtype=dtype)
    if f[0] > 1:
        a = a.reshape(n[0], f[0], n[1], n[2]).sum(axis=1, dtype=dtype)
    return a


def z_of_index_axes(geometry: ImageGeometry) -> np.ndarray:
    """Cranio-caudal (LPS z) change per voxel step along array axes (k, j, i), mm."""
    m = geometry.affine[:3, :3]
    return np.array([m[2, 2], m[2, 1], m[2, 0]])


def working_grid(scan: Scan, vertebra_mask: np.ndarray, opts: TissueSamplingOptions) -> WorkingGrid:
    """Crop the scan to the vertebra's cranio-caudal slab and block-average it to voxels of at least ``pool_mm``."""
    g = scan.geometry
    dz = z_of_index_axes(g)
    box = bbox(vertebra_mask)
    if box is None:
        raise EmptyMaskError("vertebra_mask is empty; select a vertebra first")
    corners = np.array([[k, j, i] for k in (box[0].start, box[0].stop - 1) for j in (box[1].start, box[1].stop - 1)
                        for i in (box[2].start, box[2].stop - 1)], float)
    z0 = g.origin_mm[2]
    z = z0 + corners @ dz
    z_lo, z_hi = z.min() - opts.slab_margin_mm, z.max() + opts.slab_margin_mm
    shape = np.asarray(g.shape)
    # crop only along the array axis that is (nearly) cranio-caudal; the exact slab is applied below
    crop = [slice(0, int(n)) for n in shape]
    unit = np.abs(dz) / np.asarray(g.spacing_mm)[::-1]
    ax = int(np.argmax(unit))
    if unit[ax] > 0.7:
        reach = [dz[a] * (shape[a] - 1) for a in range(3) if a != ax]
        t = z0 + dz[ax] * np.arange(shape[ax])
        lo_z = t + sum(min(0.0, r) for r in reach)
        hi_z = t + sum(max(0.0, r) for r in reach)
        keep = np.flatnonzero((hi_z >= z_lo) & (lo_z <= z_hi))
        crop[ax] = slice(int(keep.min()), int(keep.max()) + 1)
    crop_t = (crop[0], crop[1], crop[2])
    factor = tuple(max(1, int(np.ceil(opts.pool_mm / s - 1e-6))) for s in g.spacing_mm[::-1])
    hu_c = scan.hu[crop_t]
    pad_value = float(hu_c.min())
    pad = hu_c == pad_value
    has_pad = pad_value < -1000.0 and np.count_nonzero(pad) > 0.005 * pad.size
    nvox = factor[0] * factor[1] * factor[2]
    hu_w = block_sum(hu_c, factor) / nvox  # type: ignore[arg-type]
    padding = block_sum(pad.view(np.uint8), factor) > 0 if has_pad else np.zeros(hu_w.shape, bool)  # type: ignore[arg-type]
    lo_idx = np.array([crop_t[2].start, crop_t[1].start, crop_t[0].start], float)  # (i, j, k)
    f_ijk = np.array(factor[::-1], float)
    origin = g.index_to_physical((lo_idx + (f_ijk - 1) / 2)[None, :])[0]
    wg = ImageGeometry(hu_w.shape[::-1], tuple(origin), tuple(np.asarray(g.spacing_mm) * f_ijk), g.direction)
    dzw = z_of_index_axes(wg)
    kk, jj, ii = (np.arange(n) for n in hu_w.shape)
    zw = wg.origin_mm[2] + dzw[0] * kk[:, None, None] + dzw[1] * jj[None, :, None] + dzw[2] * ii[None, None, :]
    slab = (zw >= z_lo) & (zw <= z_hi)
    inplane = tuple(a for a in range(3) if unit[a] < 0.7)
    smoothed = ndimage.uniform_filter(hu_w, size=3, mode="nearest")
    return WorkingGrid(hu_w, wg, crop_t, factor, slab, padding, inplane, smoothed, box)  # type: ignore[arg-type]


def edt_mm(mask: np.ndarray, geometry: ImageGeometry) -> np.ndarray:
    """Distance (mm) from each mask voxel centre to the nearest non-mask voxel centre (grid faces are not walls)."""
    return ndimage.distance_transform_edt(mask, sampling=np.asarray(geometry.spacing_mm)[::-1])


def interior(mask: np.ndarray, geometry: ImageGeometry, erosion_mm: float) -> np.ndarray:
    """Voxels lying wholly ``erosion_mm`` inside the mask (centre distance ≥ erosion + one voxel)."""
    out = np.zeros(mask.shape, bool)
    box = bbox(mask)
    if box is None:
        return out
    box = tuple(slice(max(b.start - 1, 0), b.stop + 1) for b in box)  # type: ignore[assignment]
    out[box] = edt_mm(mask[box], geometry) >= erosion_mm + max(geometry.spacing_mm)
    return out


def summarise(tissue: str, hu: np.ndarray, region: np.ndarray, geometry: ImageGeometry, min_mm3: float,
              source: str, why_small: str) -> TissueSample:
    """Median HU, robust spread, volume and centroid of a region; too small a region raises, naming the tissue."""
    n = int(region.sum())
    vol = n * geometry.voxel_volume_mm3
    if vol < min_mm3:
        raise ReferenceTissueError(
            tissue,
            f"reference tissue {tissue!r}: {n} voxels ({vol:.0f} mm³) left to sample ({source}), fewer than the "
            f"{min_mm3:.0f} mm³ required; {why_small}",
        )
    v = hu[region]
    med = float(np.median(v))
    spread = float(1.4826 * np.median(np.abs(v - med)))
    kji = np.argwhere(region).mean(axis=0)
    centroid = geometry.index_to_physical(kji[::-1][None, :])[0]
    return TissueSample(tissue, med, spread, n, vol, tuple(float(c) for c in centroid), source)  # type: ignore[arg-type]
