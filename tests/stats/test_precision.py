"""ICC point estimates and confidence intervals against Shrout & Fleiss, psych::ICC and McGraw & Wong; precision."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vertfem.stats import icc, icc_table, precision

DATA = Path(__file__).parents[1] / "data" / "stats"
REF = json.loads((DATA / "reference_values.json").read_text())
SHROUT_FLEISS = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


@pytest.mark.parametrize("kind,expected", [("1,1", 0.17), ("2,1", 0.29), ("3,1", 0.71),
                                           ("1,k", 0.44), ("2,k", 0.62), ("3,k", 0.91)])
def test_icc_shrout_fleiss_table(kind, expected):
    assert icc(SHROUT_FLEISS, kind) == pytest.approx(expected, abs=0.005)


def test_icc_ci_against_psych_printout_on_shrout_fleiss():
    ref = REF["psych_icc_shrout_fleiss"]
    t = icc_table(SHROUT_FLEISS).set_index("kind").loc[ref["kind"]]
    assert t["ci_low"].to_numpy() == pytest.approx(ref["ci_low"], abs=5e-4)  # printed to 3 decimals
    assert t["ci_high"].to_numpy() == pytest.approx(ref["ci_high"], abs=5e-3)  # printed to 2 decimals
    assert t["F"].to_numpy() == pytest.approx(ref["F"], abs=0.05)
    assert t["p"].to_numpy() == pytest.approx(ref["p"], abs=5e-6)
    assert t[["df1", "df2"]].to_numpy().tolist() == [[5, 18], [5, 15], [5, 15], [5, 18], [5, 15], [5, 15]]


def test_icc_ci_against_psych_on_irr_anxiety():
    """psych::ICC(anxiety) printed to 7–8 digits; psych fits by lmer, the ANOVA formulas agree to ~3e-7."""
    ref = REF["psych_icc_anxiety"]
    t = icc_table(pd.read_csv(DATA / "anxiety.csv").to_numpy()).set_index("kind").loc[ref["kind"]]
    assert t["icc"].to_numpy() == pytest.approx(ref["icc"], abs=5e-7)
    assert t["ci_low"].to_numpy() == pytest.approx(ref["ci_low"], abs=5e-7)
    assert t["ci_high"].to_numpy() == pytest.approx(ref["ci_high"], abs=5e-7)


def test_icc_a1_interval_equals_mcgraw_wong_form():
    """McGraw & Wong (1996) Table 7 write ICC(A,1)'s Satterthwaite df differently; both must agree."""
    rng = np.random.default_rng(4)
    y = rng.normal(size=(15, 1)) * 2 + rng.normal(size=(15, 3)) + np.array([0.0, 0.5, 1.0])
    n, k = y.shape
    g = y.mean()
    msr = k * ((y.mean(axis=1) - g) ** 2).sum() / (n - 1)
    msc = n * ((y.mean(axis=0) - g) ** 2).sum() / (k - 1)
    mse = (((y - g) ** 2).sum() - msr * (n - 1) - msc * (k - 1)) / ((n - 1) * (k - 1))
    rho = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    a = k * rho / (n * (1 - rho))
    b = 1 + k * rho * (n - 1) / (n * (1 - rho))
    v = (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / ((n - 1) * (k - 1)))
    fs = stats.f.ppf(0.975, n - 1, v)
    low = n * (msr - fs * mse) / (fs * (k * msc + (k * n - k - n) * mse) + n * msr)
    fs = stats.f.ppf(0.975, v, n - 1)
    high = n * (fs * msr - mse) / (k * msc + (k * n - k - n) * mse + n * fs * msr)
    row = icc_table(y).set_index("kind").loc["2,1"]
    assert (row["icc"], row["ci_low"], row["ci_high"]) == pytest.approx((rho, low, high), rel=1e-12)


def test_icc_exact_pivot_intervals_have_their_coverage():
    """ICC(3,1)'s interval is an exact F pivot: its coverage over simulated data matches 95 % (±3 SE = ±3 %)."""
    rng = np.random.default_rng(9)
    n, k, true_icc = 12, 3, 0.6
    hits = 0
    for _ in range(500):
        y = rng.normal(size=(n, 1)) * np.sqrt(true_icc) + rng.normal(size=(n, k)) * np.sqrt(1 - true_icc)
        row = icc_table(y).set_index("kind").loc["3,1"]
        hits += row["ci_low"] <= true_icc <= row["ci_high"]
    assert hits / 500 == pytest.approx(0.95, abs=0.03)


def test_precision_by_hand_with_icc_ci():
    y = np.array([[10.0, 12.0], [20.0, 19.0], [30.0, 30.0]])
    sds = np.array([np.std(r, ddof=1) for r in y])
    p = precision(y)
    assert p.rms_sd == pytest.approx(np.sqrt(np.mean(sds**2)))
    assert p.lsc == pytest.approx(2.77 * p.rms_sd)
    row = icc_table(y).set_index("kind").loc["2,1"]
    assert (p.icc, p.icc_ci_low, p.icc_ci_high) == (row["icc"], row["ci_low"], row["ci_high"])
    assert set(p.as_dict()) >= {"icc", "icc_ci_low", "icc_ci_high"}
    with pytest.raises(ValueError, match="NaN"):
        precision([[1.0, np.nan], [2.0, 2.0]])
    with pytest.raises(ValueError, match="unknown ICC"):
        icc(y, "4,1")
    perfect = icc_table([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]).set_index("kind")
    assert perfect.loc["3,1", "icc"] == 1.0  # no ZeroDivisionError, no numpy warning
