"""Shared input checks and conventions of the statistics package."""

from __future__ import annotations

import numpy as np
from scipy import stats

from ..errors import StatisticsInputError, StatisticsWarning

__all__ = ["StatisticsWarning", "paired_arrays", "z_quantile"]


def paired_arrays(a, b, *, name_a: str = "a", name_b: str = "b", min_pairs: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Two equally long float arrays reduced to the pairs where both are finite.

    Raises
    ------
    ValueError
        If the lengths differ or fewer than ``min_pairs`` complete pairs remain.
    """
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise StatisticsInputError(f"{name_a} and {name_b} must be 1-D and equally long, "
                                   f"got shapes {x.shape} and {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < min_pairs:
        raise StatisticsInputError(f"{name_a}/{name_b}: needs at least {min_pairs} complete pairs, got {int(ok.sum())}")
    return x[ok], y[ok]


def z_quantile(level: float) -> float:
    """Two-sided standard-normal quantile for a confidence ``level`` (0.95 → 1.959964)."""
    if not 0.0 < level < 1.0:
        raise StatisticsInputError(f"confidence level must lie in (0, 1), got {level!r}")
    return float(stats.norm.ppf(0.5 + level / 2.0))
