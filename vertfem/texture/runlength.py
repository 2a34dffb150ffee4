"""Grey-level run-length matrix (GLRLM) and its IBSI features (§3.7, ``rlm.*``)."""

from __future__ import annotations

import numba
import numpy as np

from .aggregation import DIRECTIONS_2D, DIRECTIONS_3D, aggregate_directional

__all__ = ["glrlm_features", "glrlm_matrices", "glrlm_matrix_features"]


@numba.njit(cache=True)
def _runs(q, dk, dj, di, out, by_slice):
    """Add the runs of direction (dk, dj, di) to ``out[slice, level-1, length-1]`` (slice 0 unless ``by_slice``)."""
    nk, nj, ni = q.shape
    for k0 in range(nk):
        for j0 in range(nj):
            for i0 in range(ni):
                # a line starts where its predecessor falls off the grid
                kp, jp, ip = k0 - dk, j0 - dj, i0 - di
                if 0 <= kp < nk and 0 <= jp < nj and 0 <= ip < ni:
                    continue
                k, j, i = k0, j0, i0
                level = 0
                length = 0
                start_k = k0
                while 0 <= k < nk and 0 <= j < nj and 0 <= i < ni:
                    g = q[k, j, i]
                    if g != level:
                        if level > 0:
                            out[start_k if by_slice else 0, level - 1, length - 1] += 1
                        level = g
                        length = 1
                        start_k = k
                    else:
                        length += 1
                    k += dk
                    j += dj
                    i += di
                if level > 0:
                    out[start_k if by_slice else 0, level - 1, length - 1] += 1


def glrlm_matrices(q: np.ndarray, n_levels: int, *, per_slice: bool = True,
                   per_direction: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Run-length counts per slice and in-plane direction, and per 3D direction.

    ``per_slice=False`` leaves ``m2d`` empty (no 2D/2.5D aggregation wanted);
    ``per_direction=False`` sums the 13 directions into one matrix (3D_mrg).

    Returns
    -------
    m2d : array (n_slices, 4, Ng, max_run)
    m3d : array (13 or 1, Ng, max_run)
    """
    q = np.ascontiguousarray(q, dtype=np.int32)
    ns = q.shape[0]
    lmax = max(q.shape)
    m2d = np.zeros((ns if per_slice else 0, len(DIRECTIONS_2D), n_levels, lmax))
    m3d = np.zeros((len(DIRECTIONS_3D) if per_direction else 1, n_levels, lmax))
    for di, d in enumerate(DIRECTIONS_3D):
        by_slice = per_slice and d[0] == 0
        acc = np.zeros((ns if by_slice else 1, n_levels, lmax))
        _runs(q, d[0], d[1], d[2], acc, by_slice)
        m3d[di if per_direction else 0] += acc.sum(axis=0) if by_slice else acc[0]
        if by_slice:
            m2d[:, DIRECTIONS_2D.index(d)] = acc
    return m2d, m3d


def _entropy(p: np.ndarray) -> float:
    nz = p[p > 0]
    return float(-(nz * np.log2(nz)).sum())


def glrlm_matrix_features(r: np.ndarray, n_voxels: float) -> dict[str, float]:
    """IBSI run-length features of one ``(Ng, max_run)`` count matrix.

    ``n_voxels`` is the number of voxels behind the matrix (summed over the
    merged matrices), used for the run percentage.
    """
    ns = r.sum()
    i = np.arange(1, r.shape[0] + 1, dtype=float)[:, None]
    j = np.arange(1, r.shape[1] + 1, dtype=float)[None, :]
    p = r / ns
    ri = r.sum(axis=1)
    rj = r.sum(axis=0)
    mu_i = float((i * p).sum())
    mu_j = float((j * p).sum())
    return {
        "sre": float((r / j**2).sum() / ns),
        "lre": float((r * j**2).sum() / ns),
        "lgre": float((r / i**2).sum() / ns),
        "hgre": float((r * i**2).sum() / ns),
        "srlge": float((r / (i**2 * j**2)).sum() / ns),
        "srhge": float((r * i**2 / j**2).sum() / ns),
        "lrlge": float((r * j**2 / i**2).sum() / ns),
        "lrhge": float((r * i**2 * j**2).sum() / ns),
        "glnu": float((ri**2).sum() / ns),
        "glnu.norm": float((ri**2).sum() / ns**2),
        "rlnu": float((rj**2).sum() / ns),
        "rlnu.norm": float((rj**2).sum() / ns**2),
        "r.perc": float(ns / n_voxels) if n_voxels else float("nan"),
        "gl.var": float(((i - mu_i) ** 2 * p).sum()),
        "rl.var": float(((j - mu_j) ** 2 * p).sum()),
        "rl.entr": _entropy(p),
    }


def glrlm_features(q: np.ndarray, n_levels: int, only: frozenset[str] | None = None) -> dict[str, float]:
    """GLRLM features in the IBSI aggregations ``only`` (default all six): ``rlm.<name>@<aggregation>``."""
    per_slice = only is None or any(a.startswith("2") for a in only)
    per_direction = only is None or "3D_avg" in only
    m2d, m3d = glrlm_matrices(q, n_levels, per_slice=per_slice, per_direction=per_direction)
    nv_slice = (q > 0).sum(axis=(1, 2)).astype(float)
    nv2d = np.repeat(nv_slice[:, None], len(DIRECTIONS_2D), axis=1)
    # a merged matrix stands for all 13 directions' runs: its voxel count is 13 N
    nv3d = np.full(len(m3d), float((q > 0).sum()) * (len(DIRECTIONS_3D) // len(m3d)))
    return aggregate_directional(m2d, nv2d, m3d, nv3d, glrlm_matrix_features, "rlm", only)
