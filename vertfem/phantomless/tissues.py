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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import Field
from scipy import ndimage

from ..errors import CalibrationError, EmptyMaskError, MaskImageMismatchError, ReferenceTissueError
from ..geometry import ImageGeometry
from ..io import Scan
from ..options import Options, parse_options

__all__ = [
    "REFERENCE_TISSUES",
    "TOTALSEGMENTATOR_TISSUES",
    "TissueSample",
    "TissueSamples",
    "TissueSamplingOptions",
    "sample_reference_tissues",
    "totalsegmentator_tissue_masks",
]

#: Reference tissues and the material (``materials.yaml`` key) each one is.
REFERENCE_TISSUES = ("air", "adipose", "muscle", "blood", "cortical_bone")

#: TotalSegmentator v2 label ids per reference tissue (``map_to_binary.py``: task "total" ids; task
#: "tissue_types" ids 1 subcutaneous_fat, 2 torso_fat, 3 skeletal_muscle).
TOTALSEGMENTATOR_TISSUES = {
    "blood": ("total", {52: "aorta"}),
    "muscle": ("total", {86: "autochthon_left", 87: "autochthon_right", 88: "iliopsoas_left", 89: "iliopsoas_right"}),
    "adipose": ("tissue_types", {1: "subcutaneous_fat"}),
    "muscle_tissue_types": ("tissue_types", {3: "skeletal_muscle"}),
}


class TissueSamplingOptions(Options):
    """Options of reference-tissue sampling (lengths mm, CT numbers HU, volumes mm³).

    Attributes
    ----------
    tissues : tuple of str, optional
        Tissues that must be sampled (each one raises if it cannot be).
        Default: air, adipose and muscle, plus blood when a blood mask is
        given; cortical bone is then tried and skipped if unresolved.
    erosion_mm : float
        Every sampled voxel lies wholly this far inside its structure.
    air_margin_mm : float
        Air is sampled at least this far from any non-air voxel.
    bone_erosion_mm : float
        Erosion of the dense-bone region of the vertebra.
    slab_margin_mm : float
        Tissues are sampled within the vertebra's cranio-caudal extent plus
        this margin above and below.
    pool_mm : float
        Smallest voxel size of the block-averaged working grid (blocks of whole voxels).
    fat_window_hu, muscle_window_hu : (float, float)
        Windows on the smoothed CT that define fat and muscle regions
        (Hounsfield-unit ranges in common body-composition use); the sample
        medians use the unsmoothed CT.
    bone_min_hu : float
        Dense-bone threshold for the cortical-bone sample.
    subcutaneous_depth_mm : float
        Deepest subcutaneous fat sampled below the skin.
    muscle_lateral_mm : (float, float)
        Lateral distance range of the paraspinal-muscle zone from the
        vertebra's mid-sagittal plane (clears the spinal canal).
    muscle_posterior_mm : float
        How far behind the vertebra's posterior end the muscle zone reaches.
    min_air_mm3, min_adipose_mm3, min_muscle_mm3, min_blood_mm3, min_cortical_bone_mm3 : float
        Smallest accepted sample volumes. A median of ~40 or more
        independent voxels is within 0.2 noise SD of the tissue's value; the
        soft-tissue minima (1 cm³) hold 37 voxels of a 3 mm CT.
    """

    tissues: tuple[str, ...] | None = None
    erosion_mm: float = Field(3.0, ge=0.0, le=20.0)
    air_margin_mm: float = Field(10.0, ge=0.0, le=100.0)
    bone_erosion_mm: float = Field(1.0, ge=0.0, le=10.0)
    slab_margin_mm: float = Field(20.0, ge=0.0, le=200.0)
    pool_mm: float = Field(2.0, gt=0.0, le=5.0)
    fat_window_hu: tuple[float, float] = (-200.0, -40.0)
    muscle_window_hu: tuple[float, float] = (-10.0, 120.0)
    bone_min_hu: float = Field(800.0, ge=300.0)
    subcutaneous_depth_mm: float = Field(40.0, gt=0.0)
    muscle_lateral_mm: tuple[float, float] = (12.0, 60.0)
    muscle_posterior_mm: float = Field(40.0, gt=0.0)
    min_air_mm3: float = Field(2000.0, gt=0.0)
    min_adipose_mm3: float = Field(1000.0, gt=0.0)
    min_muscle_mm3: float = Field(1000.0, gt=0.0)
    min_blood_mm3: float = Field(500.0, gt=0.0)
    min_cortical_bone_mm3: float = Field(30.0, gt=0.0)


@dataclass(frozen=True)
class TissueSample:
    """The CT numbers of one sampled reference tissue.

    Attributes
    ----------
    tissue : str
    hu_median : float
        Median HU of the sampled voxels (of the block-averaged grid when the
        scan was pooled).
    hu_spread : float
        Robust SD of the sampled voxels, 1.4826 × MAD, HU.
    n_voxels : int
        Sampled voxels of the working grid.
    volume_mm3 : float
        Sampled volume, mm³.
    centroid_mm : tuple of float
        Physical centroid of the sample (LPS, mm), for checking where it lies.
    source : str
        How the sample was found (``"auto: ..."`` or ``"mask: ..."``).
    """

    tissue: str
    hu_median: float
    hu_spread: float
    n_voxels: int
    volume_mm3: float
    centroid_mm: tuple[float, float, float]
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "tissue": self.tissue, "hu_median": self.hu_median, "hu_spread": self.hu_spread,
            "n_voxels": self.n_voxels, "volume_mm3": self.volume_mm3, "centroid_mm": list(self.centroid_mm),
            "source": self.source,
        }


@dataclass(frozen=True, eq=False)
class TissueSamples:
    """Reference-tissue samples of one scan.

    Attributes
    ----------
    samples : dict of str to TissueSample
    skipped : dict of str to str
        Optional tissues that could not be sampled, with the reason.
    scan_path : str
    working_spacing_mm : tuple of float
        Voxel size of the (block-averaged) grid the samples were taken on.
    """

    samples: dict[str, TissueSample]
    skipped: dict[str, str] = field(default_factory=dict)
    scan_path: str = "<memory>"
    working_spacing_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def hu(self) -> dict[str, float]:
        """Tissue → median HU."""
        return {t: s.hu_median for t, s in self.samples.items()}


def totalsegmentator_tissue_masks(
    total: np.ndarray | None = None, tissue_types: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Reference-tissue masks from TotalSegmentator v2 label arrays on the scan grid.

    Parameters
    ----------
    total : ndarray of int, optional
        Output of the ``total`` task: blood = aorta (52); muscle =
        autochthon left/right (86, 87) and iliopsoas left/right (88, 89).
    tissue_types : ndarray of int, optional
        Output of the ``tissue_types`` task: adipose = subcutaneous_fat (1);
        skeletal_muscle (3) is used for muscle when ``total`` is not given.

    Returns
    -------
    dict of str to ndarray of bool
        Only tissues with at least one voxel.

    Examples
    --------
    >>> lab = np.zeros((4, 4, 4), int); lab[1:3, 1:3, 1:3] = 52
    >>> sorted(totalsegmentator_tissue_masks(total=lab))
    ['blood']
    """
    out: dict[str, np.ndarray] = {}
    if total is not None:
        out["blood"] = np.isin(total, list(TOTALSEGMENTATOR_TISSUES["blood"][1]))
        out["muscle"] = np.isin(total, list(TOTALSEGMENTATOR_TISSUES["muscle"][1]))
    if tissue_types is not None:
        out["adipose"] = np.isin(tissue_types, list(TOTALSEGMENTATOR_TISSUES["adipose"][1]))
        if "muscle" not in out or not out["muscle"].any():
            out["muscle"] = np.isin(tissue_types, list(TOTALSEGMENTATOR_TISSUES["muscle_tissue_types"][1]))
    return {k: v for k, v in out.items() if v.any()}


# ---------------------------------------------------------------------------------------------------------------
# working grid: slab crop and block averaging


@dataclass(frozen=True, eq=False)
class _Grid:
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
        box = _bbox(m)
        if box is None:
            return out
        f = self.factor
        lo = [b.start // fa for b, fa in zip(box, f)]
        hi = [min(-(-b.stop // fa), n) for b, fa, n in zip(box, f, self.hu.shape)]
        sub = m[tuple(slice(a * fa, b * fa) for a, b, fa in zip(lo, hi, f))]
        counts = _block_sum(sub.astype(np.uint8), f)
        pooled = counts > 0 if any_voxel else counts * 2 >= f[0] * f[1] * f[2]
        out[tuple(slice(a, a + n) for a, n in zip(lo, pooled.shape))] = pooled
        return out


def _bbox(mask: np.ndarray) -> tuple[slice, slice, slice] | None:
    """Bounding box of a mask from its axis projections (cheaper than argwhere on large grids)."""
    idx = []
    for a in range(3):
        hit = np.flatnonzero(mask.any(axis=tuple(b for b in range(3) if b != a)))
        if hit.size == 0:
            return None
        idx.append(slice(int(hit[0]), int(hit[-1]) + 1))
    return idx[0], idx[1], idx[2]


def _block_sum(a: np.ndarray, f: tuple[int, int, int]) -> np.ndarray:
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


def _z_of_index_axes(geometry: ImageGeometry) -> np.ndarray:
    """Cranio-caudal (LPS z) change per voxel step along array axes (k, j, i), mm."""
    m = geometry.affine[:3, :3]
    return np.array([m[2, 2], m[2, 1], m[2, 0]])


def _working_grid(scan: Scan, vertebra_mask: np.ndarray, opts: TissueSamplingOptions) -> _Grid:
    g = scan.geometry
    dz = _z_of_index_axes(g)
    box = _bbox(vertebra_mask)
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
    hu_w = _block_sum(hu_c, factor) / nvox  # type: ignore[arg-type]
    padding = _block_sum(pad.view(np.uint8), factor) > 0 if has_pad else np.zeros(hu_w.shape, bool)  # type: ignore[arg-type]
    lo_idx = np.array([crop_t[2].start, crop_t[1].start, crop_t[0].start], float)  # (i, j, k)
    f_ijk = np.array(factor[::-1], float)
    origin = g.index_to_physical((lo_idx + (f_ijk - 1) / 2)[None, :])[0]
    wg = ImageGeometry(hu_w.shape[::-1], tuple(origin), tuple(np.asarray(g.spacing_mm) * f_ijk), g.direction)
    dzw = _z_of_index_axes(wg)
    kk, jj, ii = (np.arange(n) for n in hu_w.shape)
    zw = wg.origin_mm[2] + dzw[0] * kk[:, None, None] + dzw[1] * jj[None, :, None] + dzw[2] * ii[None, None, :]
    slab = (zw >= z_lo) & (zw <= z_hi)
    inplane = tuple(a for a in range(3) if unit[a] < 0.7)
    smoothed = ndimage.uniform_filter(hu_w, size=3, mode="nearest")
    return _Grid(hu_w, wg, crop_t, factor, slab, padding, inplane, smoothed, box)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------------
# helpers


def _edt_mm(mask: np.ndarray, geometry: ImageGeometry) -> np.ndarray:
    """Distance (mm) from each mask voxel centre to the nearest non-mask voxel centre (grid faces are not walls)."""
    return ndimage.distance_transform_edt(mask, sampling=np.asarray(geometry.spacing_mm)[::-1])


def _interior(mask: np.ndarray, geometry: ImageGeometry, erosion_mm: float) -> np.ndarray:
    """Voxels lying wholly ``erosion_mm`` inside the mask (centre distance ≥ erosion + one voxel)."""
    out = np.zeros(mask.shape, bool)
    box = _bbox(mask)
    if box is None:
        return out
    box = tuple(slice(max(b.start - 1, 0), b.stop + 1) for b in box)  # type: ignore[assignment]
    out[box] = _edt_mm(mask[box], geometry) >= erosion_mm + max(geometry.spacing_mm)
    return out


def _summarise(tissue: str, hu: np.ndarray, region: np.ndarray, geometry: ImageGeometry, min_mm3: float,
               source: str, why_small: str) -> TissueSample:
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


def _min_volume(tissue: str, opts: TissueSamplingOptions) -> float:
    return float(getattr(opts, f"min_{tissue}_mm3"))


# ---------------------------------------------------------------------------------------------------------------
# automatic samples


def _outside_air(grid: _Grid) -> np.ndarray:
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


def _body(grid: _Grid, outside: np.ndarray) -> np.ndarray:
    body = ~outside & ~grid.padding
    lab, n = ndimage.label(body)
    if n <= 1:
        return body
    sizes = np.bincount(lab.ravel())[1:]
    return lab == int(np.argmax(sizes)) + 1


def _sample_air(grid: _Grid, outside: np.ndarray, opts: TissueSamplingOptions) -> TissueSample:
    d = _edt_mm(outside, grid.geometry)
    region = outside & (d >= opts.air_margin_mm + max(grid.geometry.spacing_mm)) & grid.slab
    return _summarise("air", grid.hu, region, grid.geometry, opts.min_air_mm3,
                      f"auto: air outside the body, ≥ {opts.air_margin_mm:g} mm from any object",
                      "the field of view leaves too little air around the body (give an air mask via tissue_labels "
                      "or lower air_margin_mm / min_air_mm3 knowingly)")


def _sample_adipose(grid: _Grid, body: np.ndarray, opts: TissueSamplingOptions) -> TissueSample:
    g = grid.geometry
    depth = _edt_mm(body, g) - 0.5 * min(g.spacing_mm)
    lo, hi = opts.fat_window_hu
    sm = grid.smoothed
    fat = body & (sm >= lo) & (sm <= hi) & (depth <= opts.subcutaneous_depth_mm)
    lab, n = ndimage.label(fat)
    if n:
        contact = max(6.0, 2.0 * max(g.spacing_mm))
        touching = np.unique(lab[fat & (depth <= contact)])
        fat = np.isin(lab, touching[touching > 0])
    region = _interior(fat, g, opts.erosion_mm) & grid.slab
    return _summarise("adipose", grid.hu, region, g, opts.min_adipose_mm3,
                      f"auto: subcutaneous fat ≤ {opts.subcutaneous_depth_mm:g} mm below the skin",
                      "the subcutaneous fat layer is too thin at this level (give an adipose mask via tissue_labels, "
                      "e.g. TotalSegmentator's tissue_types subcutaneous_fat)")


def _sample_muscle(grid: _Grid, body: np.ndarray, vert: np.ndarray, opts: TissueSamplingOptions) -> TissueSample:
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
    region = _interior(muscle, g, opts.erosion_mm) & grid.slab
    return _summarise("muscle", grid.hu, region, g, opts.min_muscle_mm3,
                      "auto: paraspinal muscle behind the vertebra, beside the spinous process",
                      "no paraspinal muscle found at this level (give a muscle mask via tissue_labels, e.g. "
                      "TotalSegmentator's autochthon/iliopsoas)")


def _sample_cortical_bone(scan: Scan, vertebra_mask: np.ndarray, box: tuple[slice, slice, slice],
                          opts: TissueSamplingOptions) -> TissueSample:
    g = scan.geometry
    lo = np.array([max(b.start - 1, 0) for b in box])
    hi = np.array([min(b.stop + 1, n) for b, n in zip(box, vertebra_mask.shape)])
    grown = (slice(lo[0], hi[0]), slice(lo[1], hi[1]), slice(lo[2], hi[2]))
    sub = g.cropped(lo[::-1], hi[::-1])
    hu = scan.hu[grown].astype(np.float64)
    dense = vertebra_mask[grown] & (hu >= opts.bone_min_hu)
    dense_mm3 = float(dense.sum()) * sub.voxel_volume_mm3
    # a dense region smaller than the minimum cannot leave enough after erosion: skip the distance transform
    region = _interior(dense, sub, opts.bone_erosion_mm) if dense_mm3 >= opts.min_cortical_bone_mm3 else (
        np.zeros_like(dense))
    return _summarise("cortical_bone", hu, region, sub, opts.min_cortical_bone_mm3,
                      f"auto: vertebra voxels ≥ {opts.bone_min_hu:g} HU, {opts.bone_erosion_mm:g} mm inside",
                      f"{dense_mm3:.0f} mm³ of the vertebra reads ≥ {opts.bone_min_hu:g} HU: its dense bone is not "
                      f"resolved at {min(g.spacing_mm):g} mm voxels (thin cortex, partial volume); calibrate "
                      "without it")


def _sample_mask(tissue: str, grid: _Grid, mask: np.ndarray, opts: TissueSamplingOptions, name: str) -> TissueSample:
    pooled = grid.pool_mask(mask) & ~grid.padding
    region = _interior(pooled, grid.geometry, opts.erosion_mm) & grid.slab
    return _summarise(tissue, grid.hu, region, grid.geometry, _min_volume(tissue, opts),
                      f"mask: {name}, eroded {opts.erosion_mm:g} mm",
                      f"the {tissue} mask is too small near this vertebra (check the label map, or widen "
                      "slab_margin_mm)")


# ---------------------------------------------------------------------------------------------------------------


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
    labels = dict(tissue_labels or {})
    for t, m in labels.items():
        if t not in REFERENCE_TISSUES:
            raise CalibrationError(f"tissue_labels key {t!r} is not a reference tissue; use {REFERENCE_TISSUES}")
        if np.shape(m) != g.shape:
            raise MaskImageMismatchError(f"tissue_labels[{t!r}] has shape {np.shape(m)}, the scan grid {g.shape}")
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

    grid = _working_grid(scan, vmask, opts)
    if any(t in ("air", "adipose", "muscle") and t not in labels for t in required + optional):
        outside = _outside_air(grid)
        body = _body(grid, outside)
    samples: dict[str, TissueSample] = {}
    skipped: dict[str, str] = {}
    for tissue in (*required, *optional):
        try:
            if tissue in labels:
                samples[tissue] = _sample_mask(tissue, grid, np.asarray(labels[tissue], bool), opts, "tissue_labels")
                continue
            if tissue == "cortical_bone":
                samples[tissue] = _sample_cortical_bone(scan, vmask, grid.vertebra_box, opts)
                continue
            if tissue == "air":
                samples[tissue] = _sample_air(grid, outside, opts)
            elif tissue == "adipose":
                samples[tissue] = _sample_adipose(grid, body, opts)
            elif tissue == "muscle":
                samples[tissue] = _sample_muscle(grid, body, grid.pool_mask(vmask, any_voxel=True), opts)
        except ReferenceTissueError as exc:
            if tissue in required:
                raise
            skipped[tissue] = str(exc)
    return TissueSamples(samples, skipped, scan.path, tuple(float(s) for s in grid.geometry.spacing_mm))  # type: ignore[arg-type]
