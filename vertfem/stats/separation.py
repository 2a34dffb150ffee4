"""Detection of (quasi-)complete separation by linear programming (Konis 2007; Albert & Anderson 1984).

The maximum-likelihood estimate of a logistic model exists if and only if no
non-zero coefficient vector β orders every observation correctly, i.e.
``zᵢᵀβ ≥ 0`` for all rows with ``zᵢ = (2yᵢ − 1)·xᵢ`` (Albert & Anderson 1984,
Biometrika 71:1). Complete separation: ``zᵢᵀβ > 0`` for all rows; quasi-complete:
``≥ 0`` with at least one row strictly positive. For conditional logistic
regression the rows are the case-minus-control differences within each matched
set. Both are decided exactly by linear programmes (Konis 2007, DPhil thesis,
Oxford; the method of R's ``detectseparation``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import linprog

from ..errors import SolverError

__all__ = ["Separation", "detect_separation", "separation_rows"]

# LP optima are accurate to ~1e-9 on the unit box; anything below this is no separation.
_TOL = 1e-7


@dataclass(frozen=True)
class Separation:
    """Result of :func:`detect_separation`.

    Attributes
    ----------
    kind : {"none", "quasi-complete", "complete"}
    unbounded : tuple of int
        Per column: +1 if the likelihood keeps increasing as that coefficient
        goes to +∞ along some separating direction, −1 for −∞, 0 if no
        separating direction moves it (its estimate stays finite), 2 if
        separating directions move it both ways.
    """

    kind: Literal["none", "quasi-complete", "complete"]
    unbounded: tuple[int, ...]

    @property
    def present(self) -> bool:
        return self.kind != "none"


def separation_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The rows ``zᵢ = (2yᵢ − 1)·xᵢ`` whose sign pattern decides separation in a logistic model."""
    return (2.0 * np.asarray(y, dtype=float) - 1.0)[:, None] * np.asarray(x, dtype=float)


def _max_over_cone(z: np.ndarray, c: np.ndarray) -> float:
    """max cᵀβ subject to zβ ≥ 0 and −1 ≤ β ≤ 1."""
    res = linprog(-c, A_ub=-z, b_ub=np.zeros(len(z)), bounds=[(-1.0, 1.0)] * z.shape[1], method="highs")
    if res.status != 0:
        raise SolverError(f"separation check: the linear program failed ({res.message}); the fit is not flagged")
    return float(-res.fun)


def detect_separation(z: np.ndarray) -> Separation:
    """Classify separation from the rows ``z`` (see :func:`separation_rows`).

    Parameters
    ----------
    z : array (n_rows, n_coefficients)
        Rows that a separating β must make non-negative. The design is assumed
        to have full column rank (a direction with ``zβ = 0`` for all rows is
        collinearity, not separation).

    Examples
    --------
    >>> x = np.column_stack([np.ones(6), [1.0, 2, 3, 4, 5, 6]])
    >>> detect_separation(separation_rows(x, [0, 0, 0, 1, 1, 1])).kind
    'complete'
    >>> detect_separation(separation_rows(x, [0, 1, 0, 1, 0, 1])).kind
    'none'
    """
    z = np.asarray(z, dtype=float)
    n, p = z.shape
    if _max_over_cone(z, z.sum(axis=0)) <= _TOL * max(1.0, np.abs(z).sum()):
        return Separation("none", (0,) * p)
    # complete: max t subject to zβ ≥ t, −1 ≤ β ≤ 1, t ≤ 1
    a = np.hstack([-z, np.ones((n, 1))])
    res = linprog(np.r_[np.zeros(p), -1.0], A_ub=a, b_ub=np.zeros(n), bounds=[(-1.0, 1.0)] * p + [(None, 1.0)],
                  method="highs")
    if res.status != 0:
        raise SolverError(f"separation check: the linear program failed ({res.message}); the fit is not flagged")
    kind: Literal["quasi-complete", "complete"] = "complete" if -res.fun > _TOL else "quasi-complete"
    unbounded = []
    for j in range(p):
        e = np.zeros(p)
        e[j] = 1.0
        up = _max_over_cone(z, e) > _TOL
        down = _max_over_cone(z, -e) > _TOL
        unbounded.append(2 if up and down else 1 if up else -1 if down else 0)
    return Separation(kind, tuple(unbounded))
