"""Statistics against published worked examples and independent computations."""

import numpy as np
import pytest

from vertfem.stats import icc, precision

SHROUT_FLEISS = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


@pytest.mark.parametrize("kind,expected", [("1,1", 0.17), ("2,1", 0.29), ("3,1", 0.71),
                                           ("1,k", 0.44), ("2,k", 0.62), ("3,k", 0.91)])
def test_icc_shrout_fleiss_table(kind, expected):
    assert icc(SHROUT_FLEISS, kind) == pytest.approx(expected, abs=0.005)


def test_precision_by_hand():
    y = np.array([[10.0, 12.0], [20.0, 19.0], [30.0, 30.0]])
    sds = np.array([np.std(r, ddof=1) for r in y])
    p = precision(y)
    assert p.rms_sd == pytest.approx(np.sqrt(np.mean(sds**2)))
    assert p.lsc == pytest.approx(2.77 * p.rms_sd)
    with pytest.raises(ValueError, match="NaN"):
        precision([[1.0, np.nan], [2.0, 2.0]])
    with pytest.raises(ValueError, match="unknown ICC"):
        icc(y, "4,1")
