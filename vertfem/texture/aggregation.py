"""Directions and the IBSI ways of aggregating texture matrices over slices and directions."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

__all__ = ["DIRECTIONS_2D", "DIRECTIONS_3D", "aggregate_directional", "aggregate_slices"]

#: the 13 unique (k, j, i) offsets of the 26-neighbourhood (a direction and its reverse are one)
DIRECTIONS_3D: tuple[tuple[int, int, int], ...] = tuple(
    (k, j, i) for k, j, i in itertools.product((-1, 0, 1), repeat=3) if (k, j, i) > (0, 0, 0)
)
#: the 4 in-slice (j, i) offsets of the 8-neighbourhood, as (k, j, i) with k = 0
DIRECTIONS_2D: tuple[tuple[int, int, int], ...] = tuple(d for d in DIRECTIONS_3D if d[0] == 0)

Features = Callable[[np.ndarray, float], dict[str, float]]


def _mean_dicts(dicts: list[dict[str, float]]) -> dict[str, float]:
    if not dicts:
        return {}
    return {k: float(np.mean([d[k] for d in dicts])) for k in dicts[0]}


def _apply(fn: Features, m: np.ndarray, nv: float) -> dict[str, float] | None:
    return fn(m, nv) if m.sum() > 0 else None


def aggregate_directional(
    m2d: np.ndarray, nv2d: np.ndarray, m3d: np.ndarray, nv3d: np.ndarray, fn: Features, prefix: str,
    only: frozenset[str] | None = None,
) -> dict[str, float]:
    """Six IBSI aggregations of a directional matrix family (GLCM, GLRLM).

    Parameters
    ----------
    m2d : array (n_slices, 4, ...)
        Per-slice, per-in-plane-direction matrices.
    nv2d : array (n_slices, 4)
        Voxel count behind each matrix (for run/zone percentages).
    m3d : array (13, ...), nv3d : array (13,)
        Per-3D-direction matrices.
    fn : callable (matrix, n_voxels) → {name: value}
    prefix : str
        Family key, e.g. ``"cm"``.
    only : set of str, optional
        Aggregations to compute (default all six).

    Returns
    -------
    dict
        ``"{prefix}.{name}@{2D_avg|2D_smrg|2.5D_dmrg|2.5D_mrg|3D_avg|3D_mrg}"``.
    """
    def want(agg: str) -> bool:
        return only is None or agg in only

    out: dict[str, dict[str, float]] = {}
    if want("2D_avg"):
        per = [_apply(fn, m2d[s, d], nv2d[s, d]) for s in range(m2d.shape[0]) for d in range(m2d.shape[1])]
        out["2D_avg"] = _mean_dicts([x for x in per if x is not None])
    if want("2D_smrg"):
        per = [_apply(fn, m2d[s].sum(axis=0), nv2d[s].sum()) for s in range(m2d.shape[0])]
        out["2D_smrg"] = _mean_dicts([x for x in per if x is not None])
    if want("2.5D_dmrg"):
        per = [_apply(fn, m2d[:, d].sum(axis=0), nv2d[:, d].sum()) for d in range(m2d.shape[1])]
        out["2.5D_dmrg"] = _mean_dicts([x for x in per if x is not None])
    if want("2.5D_mrg"):
        out["2.5D_mrg"] = _apply(fn, m2d.sum(axis=(0, 1)), nv2d.sum()) or {}
    if want("3D_avg"):
        per = [_apply(fn, m3d[d], nv3d[d]) for d in range(m3d.shape[0])]
        out["3D_avg"] = _mean_dicts([x for x in per if x is not None])
    if want("3D_mrg"):
        out["3D_mrg"] = _apply(fn, m3d.sum(axis=0), nv3d.sum()) or {}
    return {f"{prefix}.{k}@{agg}": v for agg, feats in out.items() for k, v in feats.items()}


def aggregate_slices(
    per_slice: list[np.ndarray], nv2d: np.ndarray, merged_2d: np.ndarray, m3d: np.ndarray, nv3d: float,
    fn: Features, prefix: str, only: frozenset[str] | None = None,
) -> dict[str, float]:
    """Three IBSI aggregations of a non-directional family (GLSZM, GLDZM, NGTDM, NGLDM).

    ``2D``: features of each slice's matrix, averaged over slices with a
    non-empty matrix; ``2.5D``: the slice matrices merged (``merged_2d``);
    ``3D``: the volume's matrix ``m3d``.
    """
    out: dict[str, dict[str, float]] = {}
    if only is None or "2D" in only:
        per = [_apply(fn, m, nv) for m, nv in zip(per_slice, nv2d)]
        out["2D"] = _mean_dicts([x for x in per if x is not None])
    if only is None or "2.5D" in only:
        out["2.5D"] = _apply(fn, merged_2d, float(np.sum(nv2d))) or {}
    if only is None or "3D" in only:
        out["3D"] = _apply(fn, m3d, nv3d) or {}
    return {f"{prefix}.{k}@{agg}": v for agg, feats in out.items() for k, v in feats.items()}
