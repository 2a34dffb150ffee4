"""Neighbourhood grey-tone difference (NGTDM) and grey-level dependence (NGLDM) features (§3.10–3.11)."""

from __future__ import annotations

import itertools

import numpy as np

from .aggregation import aggregate_slices
from .runlength import glrlm_matrix_features

__all__ = ["ngldm_features", "ngtdm_features"]

_OFFSETS_3D = [d for d in itertools.product((-1, 0, 1), repeat=3) if d != (0, 0, 0)]
_OFFSETS_2D = [d for d in _OFFSETS_3D if d[0] == 0]

_NGL = {"sre": "lde", "lre": "hde", "lgre": "lgce", "hgre": "hgce", "srlge": "ldlge", "srhge": "ldhge",
        "lrlge": "hdlge", "lrhge": "hdhge", "glnu": "glnu", "glnu.norm": "glnu.norm", "rlnu": "dcnu",
        "rlnu.norm": "dcnu.norm", "r.perc": "dc.perc", "gl.var": "gl.var", "rl.var": "dc.var", "rl.entr": "dc.entr"}


def _neighbours(q: np.ndarray, two_d: bool):
    """Yield the level of each voxel's neighbour (0 outside the ROI or the grid), one offset at a time."""
    p = np.pad(q, 1)
    nk, nj, ni = q.shape
    for dk, dj, di in _OFFSETS_2D if two_d else _OFFSETS_3D:
        yield p[1 + dk:1 + dk + nk, 1 + dj:1 + dj + nj, 1 + di:1 + di + ni]


def _ngtdm_table(q: np.ndarray, n_levels: int, two_d: bool) -> np.ndarray:
    """Per-slice ``(n_slices, Ng, 2)`` table of (n_i, s_i)."""
    total = np.zeros(q.shape)
    count = np.zeros(q.shape)
    for nb in _neighbours(q, two_d):
        total += nb
        count += nb > 0
    valid = (q > 0) & (count > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.abs(q - total / np.maximum(count, 1))
    ns = q.shape[0]
    kk = np.broadcast_to(np.arange(ns)[:, None, None], q.shape)[valid]
    g = q[valid] - 1
    out = np.zeros((ns, n_levels, 2))
    np.add.at(out[:, :, 0], (kk, g), 1.0)  # out[:, :, c] are views: add.at writes into out
    np.add.at(out[:, :, 1], (kk, g), diff[valid])
    return out


def _ngtdm_matrix_features(t: np.ndarray, _nv: float = 0.0) -> dict[str, float]:
    n, s = t[:, 0], t[:, 1]
    nvc = n.sum()
    p = n / nvc
    lv = np.arange(1, len(n) + 1, dtype=float)
    keep = p > 0
    pk, sk, ik = p[keep], s[keep], lv[keep]
    ngp = keep.sum()
    ps = float((pk * sk).sum())
    ssum = float(sk.sum())
    di = ik[:, None] - ik[None, :]
    pp = pk[:, None] * pk[None, :]
    nan = float("nan")
    contrast = float((pp * di**2).sum() / (ngp * (ngp - 1)) * ssum / nvc) if ngp > 1 else 0.0
    denom_b = float(np.abs(ik[:, None] * pk[:, None] - ik[None, :] * pk[None, :]).sum())
    psum = pk[:, None] + pk[None, :]
    p_s = pk * sk
    complexity = float((np.abs(di) * (p_s[:, None] + p_s[None, :]) / psum).sum() / nvc)
    return {
        "coarseness": 1.0 / ps if ps > 0 else 1e6,
        "contrast": contrast,
        "busyness": ps / denom_b if denom_b > 0 else 0.0,
        "complexity": complexity,
        "strength": float((psum * di**2).sum() / ssum) if ssum > 0 else nan,
    }


def ngtdm_features(q: np.ndarray, n_levels: int, only: frozenset[str] | None = None) -> dict[str, float]:
    """NGTDM features (``ngt.<name>@2D|2.5D|3D``); neighbours outside the ROI are ignored."""
    t2 = _ngtdm_table(q, n_levels, True)
    t3 = _ngtdm_table(q, n_levels, False).sum(axis=0)
    nv = (q > 0).sum(axis=(1, 2)).astype(float)

    def fn(t, _nv):
        return _ngtdm_matrix_features(t)

    return aggregate_slices(list(t2), nv, t2.sum(axis=0), t3, float(nv.sum()), fn, "ngt", only)


def _ngldm_counts(q: np.ndarray, n_levels: int, two_d: bool) -> np.ndarray:
    dep = np.ones(q.shape, dtype=np.int64)
    for nb in _neighbours(q, two_d):
        dep += (nb == q) & (nb > 0)
    roi = q > 0
    ns = q.shape[0]
    ncol = 9 if two_d else 27
    out = np.zeros((ns, n_levels, ncol))
    kk = np.broadcast_to(np.arange(ns)[:, None, None], q.shape)[roi]
    np.add.at(out, (kk, q[roi] - 1, dep[roi] - 1), 1.0)
    return out


def ngldm_features(q: np.ndarray, n_levels: int, only: frozenset[str] | None = None) -> dict[str, float]:
    """NGLDM features (``ngl.<name>@2D|2.5D|3D``): coarseness α = 0, Chebyshev distance 1."""
    m2 = _ngldm_counts(q, n_levels, True)
    m3 = _ngldm_counts(q, n_levels, False).sum(axis=0)
    nv = (q > 0).sum(axis=(1, 2)).astype(float)

    def fn(m, n_vox):
        out = {_NGL[k]: v for k, v in glrlm_matrix_features(m, n_vox).items()}
        out["dc.energy"] = float(((m / m.sum()) ** 2).sum())
        return out

    return aggregate_slices(list(m2), nv, m2.sum(axis=0), m3, float(nv.sum()), fn, "ngl", only)
