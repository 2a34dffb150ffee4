"""First-order features (IBSI §3.3–3.6): statistics, intensity histogram, IVH, local intensity peaks."""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
from scipy import signal

from ..errors import ConfigError, FeatureWarning

__all__ = ["histogram_features", "intensity_volume_features", "ivh_levels", "local_intensity_features",
           "statistical_features"]


def _moments(v: np.ndarray) -> dict[str, float]:
    mu = v.mean()
    var = v.var()
    out = {"mean": mu, "var": var}
    if var > 0:
        out["skew"] = ((v - mu) ** 3).mean() / var**1.5
        out["kurt"] = ((v - mu) ** 4).mean() / var**2 - 3.0
    else:
        warnings.warn("constant intensities in the ROI: skewness and kurtosis are undefined (NaN)", FeatureWarning,
                      stacklevel=3)
        out["skew"] = out["kurt"] = float("nan")
    return out


def _dispersion(v: np.ndarray) -> dict[str, float]:
    p10, p25, med, p75, p90 = np.percentile(v, [10, 25, 50, 75, 90])
    mu = v.mean()
    robust = v[(v >= p10) & (v <= p90)]
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = np.sqrt(v.var()) / mu
        qcod = (p75 - p25) / (p75 + p25)
    return {
        "median": med, "min": v.min(), "p10": p10, "p90": p90, "max": v.max(), "iqr": p75 - p25,
        "range": v.max() - v.min(), "mad": np.abs(v - mu).mean(), "rmad": np.abs(robust - robust.mean()).mean(),
        "medad": np.abs(v - med).mean(), "cov": cov, "qcod": qcod,
    }


def statistical_features(values: np.ndarray) -> dict[str, float]:
    """IBSI intensity-based statistics of the ROI intensities (``stat.*``).

    Examples
    --------
    >>> f = statistical_features(np.array([1.0, 2.0, 3.0, 4.0]))
    >>> f["stat.mean"], f["stat.var"], f["stat.energy"]
    (2.5, 1.25, 30.0)
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    out = {**_moments(v), **_dispersion(v), "energy": float((v**2).sum()), "rms": float(np.sqrt((v**2).mean()))}
    return {f"stat.{k}": float(x) for k, x in out.items()}


def histogram_features(levels: np.ndarray, n_levels: int) -> dict[str, float]:
    """IBSI intensity-histogram features of discretised ROI levels ``1 … Ng`` (``ih.*``)."""
    g = np.asarray(levels, dtype=np.int64).ravel()
    v = g.astype(np.float64)
    counts = np.bincount(g, minlength=n_levels + 1)[1:n_levels + 1].astype(float)
    p = counts / counts.sum()
    nz = p[p > 0]
    grad = np.gradient(counts) if n_levels > 1 else np.zeros(1)
    out = {**_moments(v), **_dispersion(v)}
    out["mode"] = float(np.argmax(counts) + 1)
    out["entropy"] = float(-(nz * np.log2(nz)).sum())
    out["uniformity"] = float((p**2).sum())
    out["max.grad"] = float(grad.max())
    out["max.grad.gl"] = float(np.argmax(grad) + 1)
    out["min.grad"] = float(grad.min())
    out["min.grad.gl"] = float(np.argmin(grad) + 1)
    return {f"ih.{k}": float(x) for k, x in out.items()}


def ivh_levels(
    values: np.ndarray,
    method: Literal["none", "fbs", "fbn"],
    *,
    bin_width: float = 2.5,
    n_bins: int = 1000,
    range_: tuple[float | None, float | None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Discretised intensities of the IVH and the grid of levels it is evaluated on (IBSI §3.5).

    ``none``: intensities as they are (CT: HU), grid in steps of 1 over the
    re-segmentation range (open ends: the ROI minimum / maximum); ``fbs``:
    bins of ``bin_width`` from the range's lower bound, each voxel replaced by
    its bin centre, grid from the lowest to the highest bin centre (both in
    intensity units); ``fbn``: ``n_bins`` bins between the ROI minimum and
    maximum, in bin numbers 1 … n_bins (arbitrary units: filtered or
    normalised images).

    Examples
    --------
    >>> x, g = ivh_levels(np.array([-1000.0, 0.0, 2.4]), "fbs", bin_width=2.5, range_=(-1000.0, 400.0))
    >>> x.tolist(), g[[0, -1]].tolist()
    ([-998.75, 1.25, 1.25], [-998.75, 398.75])
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    lo_r, hi_r = range_ if range_ is not None else (None, None)
    lo = float(v.min()) if lo_r is None else float(lo_r)
    hi = float(v.max()) if hi_r is None else float(hi_r)
    if method == "none":
        return v, lo + np.arange(int(np.floor(hi - lo)) + 1, dtype=float)
    if method == "fbs":
        centres = lo + (np.floor((v - lo) / bin_width) + 0.5) * bin_width
        n = max(1, int(np.floor((hi - lo) / bin_width + 1e-9)))
        return centres, lo + (np.arange(n) + 0.5) * bin_width
    if method == "fbn":
        vmin, vmax = float(v.min()), float(v.max())
        q = np.ones_like(v) if vmax == vmin else np.minimum(np.floor(n_bins * (v - vmin) / (vmax - vmin)) + 1, n_bins)
        return q, np.arange(1, n_bins + 1, dtype=float)
    raise ConfigError(f"unknown IVH discretisation {method!r}; use 'none', 'fbs' or 'fbn'")


def intensity_volume_features(values: np.ndarray, grid: np.ndarray | None = None) -> dict[str, float]:
    """IBSI intensity-volume histogram features (``ivh.*``) of discretised intensities.

    ``grid`` lists the levels the histogram is evaluated on, including
    absent ones (:func:`ivh_levels`); default every distinct value. ``I10`` and
    ``I90`` are in the units of the levels (HU for CT without binning).
    """
    v = np.sort(np.asarray(values, dtype=np.float64).ravel())
    levels = np.unique(v) if grid is None else np.asarray(grid, dtype=float)
    n = v.size
    # fraction of the volume with intensity ≥ each level
    frac = 1.0 - np.searchsorted(v, levels, side="left") / n
    lo, hi = levels.min(), levels.max()
    gamma = (levels - lo) / (hi - lo) if hi > lo else np.zeros_like(levels)

    def vx(x):
        sel = gamma >= x
        return float(frac[sel][0]) if sel.any() else 0.0

    def ix(x):
        sel = frac <= x
        return float(levels[sel][0]) if sel.any() else float(hi + 1)

    out = {"V10": vx(0.1), "V90": vx(0.9), "I10": ix(0.1), "I90": ix(0.9)}
    out["V10minusV90"] = out["V10"] - out["V90"]
    out["I10minusI90"] = out["I10"] - out["I90"]
    return {f"ivh.{k}": v_ for k, v_ in out.items()}


def local_intensity_features(image: np.ndarray, mask: np.ndarray, spacing_mm: tuple[float, float, float]) -> dict:
    """Local and global intensity peaks: mean in a 1 cm³ sphere (IBSI §3.2).

    ``spacing_mm`` is in (i, j, k) order. The sphere (radius 6.2 mm) takes
    every voxel of the image whose centre lies within it, inside or outside
    the ROI.
    """
    radius = (3.0 / (4.0 * np.pi)) ** (1.0 / 3.0) * 10.0
    sp = np.asarray(spacing_mm, float)[::-1]
    half = np.floor(radius / sp).astype(int)
    kk, jj, ii = np.meshgrid(*[np.arange(-h, h + 1) * s for h, s in zip(half, sp)], indexing="ij")
    ball = (kk**2 + jj**2 + ii**2) <= radius**2
    img = np.asarray(image, dtype=np.float64)
    # FFT convolution: the 1 cm³ ball spans thousands of voxels at sub-mm spacing
    total = signal.fftconvolve(img, ball.astype(float), mode="same")
    count = signal.fftconvolve(np.ones_like(img), ball.astype(float), mode="same")
    local_mean = total / np.maximum(np.rint(count), 1.0)
    roi = np.asarray(mask, bool)
    vals = img[roi]
    peak_local = local_mean[roi & (img == vals.max())].max()
    return {"loc.peak.local": float(peak_local), "loc.peak.global": float(local_mean[roi].max())}
