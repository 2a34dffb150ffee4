"""Focal BMC loss line kernels: FWHM voids along star lines through every ROI voxel (Li et al. 2022).

The trabecular ROI (vertebral body eroded by 6 mm) is resampled to 0.3 mm
isotropic voxels on a grid aligned with the vertebral frame, so that the
cross-sections perpendicular to the vertebral axis are grid slices. The
calibrated BMD (mg/cm³) is smoothed with a Gaussian (σ = 0.3 mm) and analysed
along lines at 15 orientations (0°, 12°, …, 168°) in each cross-section.

On a line, the void around a local minimum ``m`` between two adjacent local
maxima ``M_l`` and ``M_r`` is the connected run where the intensity is below
the half-maximum ``(M + m)/2`` of its side; its width (IncptWidth, mm) runs
between the linearly interpolated crossings. Every sample inside the void gets
the width, the focal BMD loss ``mean((1200 − BMD)/1200)`` over the void's
samples, and the focal BMC loss = BMD loss × width (100 % × mm). A voxel's
value is the mean over the orientations where it lies in a void. Lines are cut
at the ROI border; a void without a maximum on one side inside the ROI is not
counted.

Speed: every voxel lies on exactly one line per orientation, so the lines of
one orientation are swept once each (a rotated grid whose rows are the lines)
and the voxel values are gathered from the nearest line sample, instead of
re-sampling a whole star at every voxel as the published method did.
``benchmarks/focal_reference.py`` holds that per-voxel method for comparison.

Extension beyond the paper: ``directions="sphere"`` uses lines spread over
the unit hemisphere (3-D stars) instead of the in-plane star.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from .options import star_directions

__all__ = ["FocalMaps", "focal_maps"]


# ---------------------------------------------------------------- line kernels


@numba.njit(cache=True)
def _void(v, a, b, ref, h, out_w, out_l):
    m = a
    for k in range(a + 1, b + 1):
        if v[k] < v[m]:
            m = k
    vm = v[m]
    tl = 0.5 * (v[a] + vm)
    tr = 0.5 * (v[b] + vm)
    if not (vm < tl and vm < tr):
        return
    kl = m
    while v[kl] < tl:
        kl -= 1
    kr = m
    while v[kr] < tr:
        kr += 1
    xl = kl + (v[kl] - tl) / (v[kl] - v[kl + 1])
    xr = kr - (v[kr] - tr) / (v[kr] - v[kr - 1])
    width = (xr - xl) * h
    s = 0.0
    for k in range(kl + 1, kr):
        s += (ref - v[k]) / ref
    loss = s / (kr - kl - 1)
    for k in range(kl + 1, kr):
        out_w[k] = width
        out_l[k] = loss


@numba.njit(cache=True)
def _profile_voids(v, inroi, ref, h, out_w, out_l):
    """FWHM voids of one line; ``out_*`` must be NaN-filled (no value)."""
    n = v.shape[0]
    s = 0
    while s < n:
        if not inroi[s]:
            s += 1
            continue
        e = s
        while e < n and inroi[e]:
            e += 1
        prev = -1
        # interior maxima only: a peak on the ROI border may continue outside it
        for i in range(s + 1, e - 1):
            if v[i] > v[i - 1] and v[i + 1] <= v[i]:
                if prev >= 0:
                    _void(v, prev, i, ref, h, out_w, out_l)
                prev = i
        s = e


@numba.njit(cache=True)
def _trilinear(vol, x, y, z):
    nk, nj, ni = vol.shape
    if x < 0.0 or y < 0.0 or z < 0.0 or x > ni - 1 or y > nj - 1 or z > nk - 1:
        return np.nan
    i0 = min(int(x), ni - 2)
    j0 = min(int(y), nj - 2)
    k0 = min(int(z), nk - 2)
    fx = x - i0
    fy = y - j0
    fz = z - k0
    c00 = vol[k0, j0, i0] * (1 - fx) + vol[k0, j0, i0 + 1] * fx
    c01 = vol[k0, j0 + 1, i0] * (1 - fx) + vol[k0, j0 + 1, i0 + 1] * fx
    c10 = vol[k0 + 1, j0, i0] * (1 - fx) + vol[k0 + 1, j0, i0 + 1] * fx
    c11 = vol[k0 + 1, j0 + 1, i0] * (1 - fx) + vol[k0 + 1, j0 + 1, i0 + 1] * fx
    c0 = c00 * (1 - fy) + c01 * fy
    c1 = c10 * (1 - fy) + c11 * fy
    return c0 * (1 - fz) + c1 * fz


@numba.njit(parallel=True, cache=True)
def _sweep(vol, roi, d, e2, e3, a0, na, b0, nb, c0, nc, ref, h, out_w, out_l):
    nk, nj, ni = roi.shape
    for r in numba.prange(nb * nc):
        c = r // nb
        b = r - c * nb
        bx = (b + b0) * e2[0] + (c + c0) * e3[0]
        by = (b + b0) * e2[1] + (c + c0) * e3[1]
        bz = (b + b0) * e2[2] + (c + c0) * e3[2]
        v = np.zeros(na)
        inroi = np.zeros(na, dtype=np.bool_)
        any_in = False
        for a in range(na):
            t = a + a0
            x = bx + t * d[0]
            y = by + t * d[1]
            z = bz + t * d[2]
            i = int(math.floor(x + 0.5))
            j = int(math.floor(y + 0.5))
            k = int(math.floor(z + 0.5))
            if 0 <= i < ni and 0 <= j < nj and 0 <= k < nk and roi[k, j, i]:
                val = _trilinear(vol, x, y, z)
                if val == val:
                    v[a] = val
                    inroi[a] = True
                    any_in = True
        if any_in:
            _profile_voids(v, inroi, ref, h, out_w[c, b], out_l[c, b])


@numba.njit(parallel=True, cache=True)
def _gather(kji, d, e2, e3, a0, b0, c0, out_w, out_l, acc_w, acc_l, acc_c, cnt):
    nc, nb, na = out_w.shape
    for q in numba.prange(kji.shape[0]):
        z = kji[q, 0]
        y = kji[q, 1]
        x = kji[q, 2]
        a = int(math.floor(x * d[0] + y * d[1] + z * d[2] + 0.5)) - a0
        b = int(math.floor(x * e2[0] + y * e2[1] + z * e2[2] + 0.5)) - b0
        c = int(math.floor(x * e3[0] + y * e3[1] + z * e3[2] + 0.5)) - c0
        if 0 <= a < na and 0 <= b < nb and 0 <= c < nc:
            w = out_w[c, b, a]
            if w == w:
                ls = out_l[c, b, a]
                acc_w[q] += w
                acc_l[q] += ls
                acc_c[q] += w * ls
                cnt[q] += 1


def _basis(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors completing ``d`` to a right-handed orthonormal basis."""
    helper = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e2 = np.cross(helper, d)
    e2 /= np.linalg.norm(e2)
    return e2, np.cross(d, e2)


@dataclass(frozen=True, eq=False)
class FocalMaps:
    """Per-voxel focal measures on an isotropic grid (NaN = no value).

    Attributes
    ----------
    width_mm : ndarray
        IncptWidth, mm.
    bmd_loss : ndarray
        Focal BMD loss, fraction of the reference BMD (0.45 = 45 %).
    bmc_loss : ndarray
        Focal BMC loss = BMD loss × width, fraction × mm (the paper's "100 % × mm").
    n_voids : ndarray of int16
        Orientations in which the voxel lies in a void.
    """

    width_mm: np.ndarray
    bmd_loss: np.ndarray
    bmc_loss: np.ndarray
    n_voids: np.ndarray


def focal_maps(
    bmd_mg_cm3: np.ndarray,
    roi: np.ndarray,
    *,
    voxel_mm: float,
    directions: np.ndarray | None = None,
    reference_bmd_mg_cm3: float = 1200.0,
) -> FocalMaps:
    """Focal measures of every ROI voxel of an isotropic BMD image.

    Parameters
    ----------
    bmd_mg_cm3 : ndarray (k, j, i)
        Smoothed BMD on an isotropic grid.
    roi : ndarray of bool
        Voxels that are centroids; lines are cut at its border.
    voxel_mm : float
        Voxel size, mm.
    directions : (n, 3) array, optional
        Line directions in index coordinates (i, j, k); default the paper's
        15 in-plane orientations.
    reference_bmd_mg_cm3 : float

    Returns
    -------
    FocalMaps

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(200) * 0.1
    >>> prof = 300 + 200 * np.cos(2 * np.pi * x / 2.0)      # period 2 mm
    >>> img = np.broadcast_to(prof, (3, 5, 200)).astype(float)
    >>> roi = np.ones(img.shape, bool)
    >>> m = focal_maps(img, roi, voxel_mm=0.1, directions=np.array([[1.0, 0, 0]]))
    >>> round(float(np.nanmedian(m.width_mm)), 2)                # FWHM = half the period
    1.0
    """
    vol = np.ascontiguousarray(bmd_mg_cm3, dtype=np.float64)
    roi = np.ascontiguousarray(roi, dtype=bool)
    if vol.shape != roi.shape:
        raise ValueError(f"BMD image {vol.shape} and ROI {roi.shape} differ in shape")
    dirs = star_directions() if directions is None else np.atleast_2d(np.asarray(directions, dtype=float))
    kji = np.argwhere(roi).astype(np.int64)
    n = len(kji)
    acc_w = np.zeros(n)
    acc_l = np.zeros(n)
    acc_c = np.zeros(n)
    cnt = np.zeros(n, dtype=np.int16)
    if n:
        # the rotated grid only has to cover the corners of the ROI's bounding box
        corners = np.array(np.meshgrid(*[[kji[:, a].min(), kji[:, a].max()] for a in (2, 1, 0)])).reshape(3, -1).T
        for d in dirs:
            d = d / np.linalg.norm(d)
            e2, e3 = _basis(d)
            rc = corners @ np.column_stack([d, e2, e3])
            lo = np.floor(rc.min(axis=0)).astype(int) - 1
            hi = np.ceil(rc.max(axis=0)).astype(int) + 1
            na, nb, nc = (hi - lo + 1).tolist()
            out_w = np.full((nc, nb, na), np.nan)
            out_l = np.full((nc, nb, na), np.nan)
            _sweep(vol, roi, d, e2, e3, int(lo[0]), na, int(lo[1]), nb, int(lo[2]), nc,
                   float(reference_bmd_mg_cm3), float(voxel_mm), out_w, out_l)
            _gather(kji, d, e2, e3, int(lo[0]), int(lo[1]), int(lo[2]), out_w, out_l, acc_w, acc_l, acc_c, cnt)
    maps = []
    for acc in (acc_w, acc_l, acc_c):
        full = np.full(vol.shape, np.nan, dtype=np.float32)
        with np.errstate(invalid="ignore", divide="ignore"):
            full[roi] = np.where(cnt > 0, acc / np.maximum(cnt, 1), np.nan)
        maps.append(full)
    nv = np.zeros(vol.shape, dtype=np.int16)
    nv[roi] = cnt
    return FocalMaps(*maps, n_voids=nv)


