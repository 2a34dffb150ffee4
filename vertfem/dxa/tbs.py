"""A TBS-like texture index: the log–log slope of the experimental variogram of the projected image.

The trabecular bone score (TBS) is "the slope at the origin of the log–log representation of the experimental
variogram" of the 2D projection (DXA) image, V(k) = mean over pixel pairs k apart of (I(x) − I(x + k))²
(Pothuaud L, Carceller P, Hans D, Bone 42:775–787, 2008); the commercial TBS iNsight computes it from an
"adapted experimental variogram" whose details are not published (FDA GUDID description of TBS iNsight).
Here V(k) is averaged over horizontal and vertical pixel pairs that both lie in the region of interest, and the
index is the least-squares slope of ln V against ln(k · pixel) over the lags ``lags_px`` (default 1–3 pixels,
the variogram near its origin). A high slope means small differences between neighbouring pixels relative to
distant ones (a smooth projected texture), a low slope a rough one: an image whose pixel-to-pixel roughness rises
at an unchanged large-scale pattern has a lower index, the direction clinical TBS takes when microarchitecture
degrades (``tests/dxa/test_tbs_direction.py`` checks the closed form).

**The index of a CT's projection does not reproduce that direction** (``validation/validate_dxa.py``; 0.5 mm CT,
B40f-like kernel, 1 mm pixels, 8 phantoms each): when trabeculae become fewer, thicker and less connected at equal
BMD — horizontal rods removed and the remaining rods thickened (:class:`~vertfem.phantom.PhantomSpec`
``microstructure="rods"``, connectivity 1 → 0.3 at 120 mg/cm³) — the index *rises* by 0.020 ± 0.006 (from 0.36,
in 8 of 8 phantoms), and it rises by 0.05 when plate-like trabeculae coarsen from 0.7 to 1.4 mm. The CT's
point-spread function correlates the projected texture over 1–2 mm, so at DXA-like pixels the slope follows the
texture's correlation length, which rod loss and coarsening lengthen, while rod loss mainly raises the texture's
variance (by 50–75 %), which a slope does not see. Other choices do not repair it: an interior region (5 mm
from the outline) falls with rod loss for the smooth kernel (−0.047 ± 0.011, 7 of 8) but rises for a sharp one
and changes by 21–35 % with BMD; 0.5 mm pixels are nearly BMD-independent (2–3 %) but do not fall with rod loss.
At fixed structure the index falls by 13–16 % when trabecular vBMD drops from 120 to 70 mg/cm³ (smooth kernel; up
to 25 % with the sharp kernel's noise).

The index is therefore reported uncalibrated and is not TBS: its scale and its response depend on the CT's
resolution, kernel and noise, the pixel size and the lags. :func:`fit_tbs_calibration` fits a line from it to DXA
TBS on paired data; whether that line carries microarchitectural information beyond BMD has to be shown on such
data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import StatisticsInputError
from .options import LinearCalibration

__all__ = ["fit_tbs_calibration", "tbs_like_index", "variogram"]


def variogram(image: np.ndarray, roi: np.ndarray, lags_px: Sequence[int]) -> np.ndarray:
    """Experimental variogram of ``image`` inside ``roi`` at integer pixel lags (horizontal and vertical pairs).

    Returns
    -------
    ndarray
        V(k) per lag in ``image`` units squared (NaN where no pair lies in the ROI).

    Examples
    --------
    >>> ramp = np.tile(np.arange(10.0), (10, 1))  # differences k along rows, 0 along columns
    >>> variogram(ramp, np.ones_like(ramp, bool), [1, 2]).tolist()
    [0.5, 2.0]
    """
    img = np.asarray(image, dtype=float)
    m = np.asarray(roi, dtype=bool)
    out = []
    for k in lags_px:
        total, count = 0.0, 0
        for a, b in (((slice(None), slice(None, -k)), (slice(None), slice(k, None))),
                     ((slice(None, -k), slice(None)), (slice(k, None), slice(None)))):
            both = m[a] & m[b]
            total += float(((img[a] - img[b])[both] ** 2).sum())
            count += int(both.sum())
        out.append(total / count if count else float("nan"))
    return np.asarray(out)


def tbs_like_index(image: np.ndarray, roi: np.ndarray, *, pixel_mm: float,
                   lags_px: Sequence[int] = (1, 2, 3)) -> float:
    """Least-squares slope of ln V(k) against ln(k · pixel_mm) (dimensionless; see the module notes).

    NaN when a variogram value is not positive (a constant image) or a lag has no pair in the ROI.

    Examples
    --------
    >>> ramp = np.tile(np.arange(16.0), (16, 1))
    >>> round(tbs_like_index(ramp, np.ones_like(ramp, bool), pixel_mm=1.0), 6)  # V ∝ k²
    2.0
    >>> noise = np.random.default_rng(0).normal(size=(200, 200))
    >>> abs(tbs_like_index(noise, np.ones_like(noise, bool), pixel_mm=1.0)) < 0.02  # white noise: V flat
    True
    """
    v = variogram(image, roi, lags_px)
    if not np.all(np.isfinite(v)) or np.any(v <= 0):
        return float("nan")
    x = np.log(np.asarray(lags_px, dtype=float) * pixel_mm)
    return float(np.polyfit(x, np.log(v), 1)[0])


def fit_tbs_calibration(tbs_like: Sequence[float], tbs_dxa: Sequence[float]) -> LinearCalibration:
    """Least-squares line from the TBS-like index to DXA TBS on paired data (e.g. a cohort's TBS column).

    Raises
    ------
    StatisticsInputError
        Fewer than three complete pairs, or no spread in the index.

    Examples
    --------
    >>> c = fit_tbs_calibration([1.0, 1.2, 1.4, 1.6], [1.20, 1.26, 1.32, 1.38])
    >>> round(c.slope, 3), round(c.intercept, 3)
    (0.3, 0.9)
    """
    from ..stats import linear_regression

    x, y = np.asarray(tbs_like, dtype=float), np.asarray(tbs_dxa, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0:
        raise StatisticsInputError(f"a TBS calibration needs ≥ 3 complete pairs with spread in the index, got "
                                   f"{int(ok.sum())}")
    r = linear_regression(x[ok], y[ok])
    return LinearCalibration(slope=r["slope"], intercept=r["intercept"],
                             source=f"least squares on {r['n']} pairs, r = {r['r']:.3f}")
