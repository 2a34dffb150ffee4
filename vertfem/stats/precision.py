"""Precision of repeated measurements: RMS-SD, LSC and intraclass correlations with confidence intervals."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import StatisticsInputError

__all__ = ["Precision", "icc", "icc_table", "precision"]


_FORMS = {  # Shrout–Fleiss kind: (McGraw–Wong name, psych::ICC name)
    "1,1": ("ICC(1)", "ICC1"), "2,1": ("ICC(A,1)", "ICC2"), "3,1": ("ICC(C,1)", "ICC3"),
    "1,k": ("ICC(k)", "ICC1k"), "2,k": ("ICC(A,k)", "ICC2k"), "3,k": ("ICC(C,k)", "ICC3k"),
}


def _mean_squares(values) -> tuple[int, int, float, float, float, float]:
    y = np.asarray(values, dtype=float)
    if y.ndim != 2 or y.shape[0] < 2 or y.shape[1] < 2:
        raise StatisticsInputError(f"ICC needs at least 2 subjects × 2 repeats, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise StatisticsInputError("ICC data contain NaN/inf; drop the incomplete subjects first")
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
    # numpy scalars: perfect agreement (zero error mean square) gives inf/NaN, not ZeroDivisionError
    return n, k, np.float64(bms), np.float64(wms), np.float64(jms), np.float64(ems)


def _icc_point(n: int, k: int, bms: float, wms: float, jms: float, ems: float) -> dict[str, float]:
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "1,1": (bms - wms) / (bms + (k - 1) * wms),
            "2,1": (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n),
            "3,1": (bms - ems) / (bms + (k - 1) * ems),
            "1,k": (bms - wms) / bms,
            "2,k": (bms - ems) / (bms + (jms - ems) / n),
            "3,k": (bms - ems) / bms,
        }


def icc(values, kind: str = "2,1") -> float:
    """Intraclass correlation of an ``(n_subjects, n_repeats)`` table (Shrout & Fleiss 1979).

    Parameters
    ----------
    values : array (n, k)
        One row per subject, one column per repeat (scan, rater, kernel).
    kind : {"1,1", "2,1", "3,1", "1,k", "2,k", "3,k"}
        One-way random, two-way random (absolute agreement) or two-way mixed
        (consistency); single measure or mean of ``k``. :func:`icc_table`
        gives all six with F tests and confidence intervals.

    Examples
    --------
    Shrout & Fleiss (1979), Table 2: ICC(2,1) = 0.29, ICC(3,1) = 0.71.

    >>> y = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    >>> round(icc(y, "2,1"), 2), round(icc(y, "3,1"), 2)
    (0.29, 0.71)
    """
    if kind not in _FORMS:
        raise StatisticsInputError(f"unknown ICC kind {kind!r}; choose from {sorted(_FORMS)}")
    return float(_icc_point(*_mean_squares(values))[kind])


def icc_table(values, *, level: float = 0.95) -> pd.DataFrame:
    """All six ICC forms with F test and F-distribution confidence intervals, as R's ``psych::ICC``.

    Intervals follow Shrout & Fleiss (1979, Psychol Bull 86:420) and McGraw &
    Wong (1996, Psychol Methods 1:30): exact F pivots for the one-way and the
    consistency forms, Satterthwaite's approximate df for absolute agreement
    ICC(2,1), whose average-measure bounds are its bounds stepped up by the
    Spearman–Brown formula (as psych does).

    Parameters
    ----------
    values : array (n, k)
        One row per subject, one column per repeat; no missing values.
    level : float
        Confidence level.

    Returns
    -------
    DataFrame
        One row per form: ``kind`` (Shrout–Fleiss ``"2,1"``), ``mcgraw_wong``
        (``"ICC(A,1)"``), ``psych`` (``"ICC2"``), ``icc``, ``F``, ``df1``,
        ``df2``, ``p`` (H0: ICC = 0), ``ci_low``, ``ci_high``, ``level``.

    Examples
    --------
    psych::ICC on the Shrout–Fleiss data prints ICC2 0.29, bounds 0.019 and 0.76.

    >>> y = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    >>> row = icc_table(y).set_index("kind").loc["2,1"]
    >>> round(float(row["icc"]), 2), round(float(row["ci_low"]), 3), round(float(row["ci_high"]), 2)
    (0.29, 0.019, 0.76)
    """
    if not 0.0 < level < 1.0:
        raise StatisticsInputError(f"confidence level must lie in (0, 1), got {level!r}")
    n, k, bms, wms, jms, ems = _mean_squares(values)
    point = _icc_point(n, k, bms, wms, jms, ems)
    q = 0.5 + level / 2.0
    df_b, df_w, df_e = n - 1, n * (k - 1), (n - 1) * (k - 1)
    # perfect agreement (zero error mean square): F = inf, bounds at 1 or NaN instead of an exception
    with np.errstate(divide="ignore", invalid="ignore"):
        f_one, f_two = bms / wms, bms / ems

        def pivot(f_obs: float, df2: int) -> tuple[float, float]:
            """F bounds of the single-measure exact pivot: observed F over/times the critical values."""
            return f_obs / stats.f.ppf(q, df_b, df2), f_obs * stats.f.ppf(q, df2, df_b)

        fl1, fu1 = pivot(f_one, df_w)
        fl3, fu3 = pivot(f_two, df_e)
        rho = point["2,1"]
        fj = jms / ems
        a = n * (1 + (k - 1) * rho) - k * rho
        v = df_e * (k * rho * fj + a) ** 2 / (df_b * k**2 * rho**2 * fj**2 + a**2)
        f_u, f_l = stats.f.ppf(q, df_b, v), stats.f.ppf(q, v, df_b)
        c = k * jms + (k * n - k - n) * ems
        lo2 = n * (bms - f_u * ems) / (f_u * c + n * bms)
        hi2 = n * (f_l * bms - ems) / (c + n * f_l * bms)

        def brown(r: float) -> float:
            return k * r / (1 + (k - 1) * r)

        bounds = {
            "1,1": ((fl1 - 1) / (fl1 + k - 1), (fu1 - 1) / (fu1 + k - 1)),
            "2,1": (lo2, hi2),
            "3,1": ((fl3 - 1) / (fl3 + k - 1), (fu3 - 1) / (fu3 + k - 1)),
            "1,k": (1 - 1 / fl1, 1 - 1 / fu1),
            "2,k": (brown(lo2), brown(hi2)),
            "3,k": (1 - 1 / fl3, 1 - 1 / fu3),
        }
    rows = []
    for kind, (mw, ps) in _FORMS.items():
        one_way = kind.startswith("1")
        f_obs, df2 = (f_one, df_w) if one_way else (f_two, df_e)
        rows.append({"kind": kind, "mcgraw_wong": mw, "psych": ps, "icc": float(point[kind]), "F": float(f_obs),
                     "df1": int(df_b), "df2": int(df2), "p": float(stats.f.sf(f_obs, df_b, df2)),
                     "ci_low": float(bounds[kind][0]), "ci_high": float(bounds[kind][1]), "level": float(level)})
    return pd.DataFrame(rows)


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
    icc_ci_low, icc_ci_high : float
        Its 95 % confidence interval (Shrout & Fleiss 1979, as psych::ICC).
    n_subjects, n_repeats : int
    """

    rms_sd: float
    rms_cv_pct: float
    lsc: float
    icc: float
    icc_ci_low: float
    icc_ci_high: float
    n_subjects: int
    n_repeats: int

    def as_dict(self) -> dict:
        return asdict(self)


def precision(values: np.ndarray) -> Precision:
    """RMS-SD, RMS-CV, LSC (= 2.77 × RMS-SD) and ICC(2,1) with 95 % CI of ``(n_subjects, n_repeats)`` data.

    Examples
    --------
    >>> p = precision([[1.0, 1.2], [2.0, 2.2], [3.0, 2.8]])
    >>> round(p.rms_sd, 4), round(p.lsc, 4)
    (0.1414, 0.3917)
    """
    y = np.asarray(values, dtype=float)
    if y.ndim != 2 or y.shape[1] < 2:
        raise StatisticsInputError(f"precision needs (n_subjects, n_repeats ≥ 2) data, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise StatisticsInputError("precision data contain NaN/inf; drop the incomplete subjects first")
    sd = y.std(axis=1, ddof=1)
    rms_sd = float(np.sqrt(np.mean(sd**2)))
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = sd / np.abs(y.mean(axis=1))
    if y.shape[0] >= 2:
        row = icc_table(y).set_index("kind").loc["2,1"]
        icc21, lo, hi = float(row["icc"]), float(row["ci_low"]), float(row["ci_high"])
    else:
        icc21 = lo = hi = float("nan")
    return Precision(
        rms_sd=rms_sd,
        rms_cv_pct=float(100.0 * np.sqrt(np.mean(cv**2))),
        lsc=2.77 * rms_sd,
        icc=icc21,
        icc_ci_low=lo,
        icc_ci_high=hi,
        n_subjects=int(y.shape[0]),
        n_repeats=int(y.shape[1]),
    )
