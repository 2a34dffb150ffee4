"""Straightforward per-voxel focal BMC loss, the way the published method works.

For every ROI voxel and every orientation, a whole star line is sampled
through the voxel centre (trilinear), cut at the ROI border, its extrema are
found and the void containing the voxel (if any) is measured. Written
independently of ``vertfem.focal`` (numpy, no numba, no line sharing) so that
agreement between the two is a check of the fast sweep, and slow on purpose:
it is the baseline the speed-up is measured against.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def _line_value(v: np.ndarray, c: int, h: float, ref: float) -> tuple[float, float] | None:
    """(width mm, BMD loss) of the void containing sample ``c`` of profile ``v``, or None."""
    dv = np.diff(v)
    interior = np.arange(1, len(v) - 1)
    is_max = (dv[interior - 1] > 0) & (dv[interior] <= 0)
    maxima = interior[is_max]
    if c in maxima:  # a peak separates two voids and lies in neither
        return None
    left = maxima[maxima < c]
    right = maxima[maxima > c]
    if left.size == 0 or right.size == 0:
        return None
    a, b = int(left[-1]), int(right[0])
    m = a + int(np.argmin(v[a:b + 1]))
    tl, tr = 0.5 * (v[a] + v[m]), 0.5 * (v[b] + v[m])
    if not (v[m] < tl and v[m] < tr):
        return None
    kl = m
    while v[kl] < tl:
        kl -= 1
    kr = m
    while v[kr] < tr:
        kr += 1
    if not kl < c < kr:
        return None
    xl = kl + (v[kl] - tl) / (v[kl] - v[kl + 1])
    xr = kr - (v[kr] - tr) / (v[kr] - v[kr - 1])
    inside = v[kl + 1:kr]
    return (xr - xl) * h, float(np.mean((ref - inside) / ref))


def reference_focal_maps(
    bmd: np.ndarray, roi: np.ndarray, *, voxel_mm: float, directions: np.ndarray, reference_bmd_mg_cm3: float = 1200.0,
    loss_average: str = "all_lines",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Width (mm), BMD loss and BMC loss maps, NaN where a voxel is in no void.

    The width is the mean over the lines on which the voxel lies in a void; the
    losses are summed over those lines and divided by all lines of the star
    (``loss_average="all_lines"``) or by those lines (``"void_lines"``).
    """
    shape = np.asarray(roi.shape)
    reach = int(np.ceil(np.linalg.norm(shape))) + 1
    t = np.arange(-reach, reach + 1)
    width = np.full(roi.shape, np.nan)
    bmd_loss = np.full(roi.shape, np.nan)
    bmc_loss = np.full(roi.shape, np.nan)
    for k, j, i in np.argwhere(roi):
        ws, ls = [], []
        for d in directions:
            d = np.asarray(d, float) / np.linalg.norm(d)
            xyz = np.array([i, j, k], float)[None, :] + t[:, None] * d[None, :]
            kji = np.rint(xyz[:, ::-1]).astype(int)
            valid = np.all((kji >= 0) & (kji < shape), axis=1)
            inside = np.zeros(len(t), bool)
            inside[valid] = roi[tuple(kji[valid].T)]
            # the ROI run that contains the centre sample
            c = reach
            lo = c
            while lo > 0 and inside[lo - 1]:
                lo -= 1
            hi = c
            while hi < len(t) - 1 and inside[hi + 1]:
                hi += 1
            prof = ndimage.map_coordinates(bmd, xyz[lo:hi + 1, ::-1].T, order=1, mode="nearest")
            r = _line_value(prof, c - lo, voxel_mm, reference_bmd_mg_cm3)
            if r is not None:
                ws.append(r[0])
                ls.append(r[1])
        if ws:
            n = len(directions) if loss_average == "all_lines" else len(ws)
            width[k, j, i] = np.mean(ws)
            bmd_loss[k, j, i] = np.sum(ls) / n
            bmc_loss[k, j, i] = np.sum(np.multiply(ws, ls)) / n
    return width, bmd_loss, bmc_loss
