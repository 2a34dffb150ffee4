"""Precision of repeated measurements: RMS-SD, LSC and intraclass correlation."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Precision", "icc", "precision"]


def icc(values: np.ndarray, kind: str = "2,1") -> float:
    """Intraclass correlation of an ``(n_subjects, n_repeats)`` table (Shrout & Fleiss 1979).

    Parameters
    ----------
    values : array (n, k)
        One row per subject, one column per repeat (scan, rater, kernel).
    kind : {"1,1", "2,1", "3,1", "1,k", "2,k", "3,k"}
        One-way random, two-way random (absolute agreement) or two-way mixed
        (consistency); single measure or mean of ``k``.

    Examples
    --------
    Shrout & Fleiss (1979), Table 2: ICC(2,1) = 0.29, ICC(3,1) = 0.71.

    >>> y = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    >>> round(icc(y, "2,1"), 2), round(icc(y, "3,1"), 2)
    (0.29, 0.71)
    """
    y = np.asarray(values, dtype=float)
    if y.ndim != 2 or y.shape[0] < 2 or y.shape[1] < 2:
        raise ValueError(f"ICC needs at least 2 subjects × 2 repeats, got shape {y.shape}")
    n, k = y.shape
    grand = y.mean()
    ss_rows = k * ((y.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((y.mean(axis=0) - grand) ** 2).sum()
    ss_tot = ((y - grand) ** 2).sum()
    ss_err = ss_tot - ss_rows - ss_cols
    bms = ss_rows / (n - 1)
    wms = (ss_tot - ss_rows) / (n * (k - 1))
    jms = ss_cols / (k - 1)
    ems = ss_err / ((n - 1) * (k - 1))
    forms = {
        "1,1": (bms - wms) / (bms + (k - 1) * wms),
        "2,1": (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n),
        "3,1": (bms - ems) / (bms + (k - 1) * ems),
        "1,k": (bms - wms) / bms,
        "2,k": (bms - ems) / (bms + (jms - ems) / n),
        "3,k": (bms - ems) / bms,
    }
    if kind not in forms:
        raise ValueError(f"unknown ICC kind {kind!r}; choose from {sorted(forms)}")
    return float(forms[kind])


@dataclass(frozen=True)
class Precision:
    """Short-term precision of a measure from repeated scans.

    Attributes
    ----------
    rms_sd : float
        Root-mean-square of the per-subject SDs (units of the measure).
    rms_cv_pct : float
        Root-mean-square coefficient of variation, %.
    lsc : float
        Least significant change at 95 % confidence, ``2.77 × RMS-SD``.
    icc : float
        ICC(2,1), two-way random, absolute agreement.
    n_subjects, n_repeats : int
    """

    rms_sd: float
    rms_cv_pct: float
    lsc: float
    icc: float
    n_subjects: int
    n_repeats: int

    def as_dict(self) -> dict:
        return asdict(self)


def precision(values: np.ndarray) -> Precision:
    """RMS-SD, RMS-CV, LSC (= 2.77 × RMS-SD) and ICC(2,1) of ``(n_subjects, n_repeats)`` data.

    Examples
    --------
    >>> p = precision([[1.0, 1.2], [2.0, 2.2], [3.0, 2.8]])
    >>> round(p.rms_sd, 4), round(p.lsc, 4)
    (0.1414, 0.3917)
    """
    y = np.asarray(values, dtype=float)
    if y.ndim != 2 or y.shape[1] < 2:
        raise ValueError(f"precision needs (n_subjects, n_repeats ≥ 2) data, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("precision data contain NaN/inf; drop the incomplete subjects first")
    sd = y.std(axis=1, ddof=1)
    rms_sd = float(np.sqrt(np.mean(sd**2)))
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = sd / np.abs(y.mean(axis=1))
    return Precision(
        rms_sd=rms_sd,
        rms_cv_pct=float(100.0 * np.sqrt(np.mean(cv**2))),
        lsc=2.77 * rms_sd,
        icc=icc(y, "2,1") if y.shape[0] >= 2 else float("nan"),
        n_subjects=int(y.shape[0]),
        n_repeats=int(y.shape[1]),
    )
