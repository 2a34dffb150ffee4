"""Grey-level co-occurrence matrix (GLCM) and its IBSI features (§3.6, ``cm.*``)."""

from __future__ import annotations

import numpy as np

from .aggregation import DIRECTIONS_2D, DIRECTIONS_3D, aggregate_directional

__all__ = ["glcm_features", "glcm_matrices", "glcm_matrix_features"]


def _shifted(q: np.ndarray, d: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (a, b) = (q[v], q[v + d]) over the grid, with the slice index of v."""
    src, dst = [], []
    for o, n in zip(d, q.shape):
        src.append(slice(max(0, -o), n - max(0, o)))
        dst.append(slice(max(0, o), n - max(0, -o)))
    a, b = q[tuple(src)], q[tuple(dst)]
    k = np.broadcast_to(np.arange(q.shape[0])[src[0]][:, None, None], a.shape)
    return a, b, k


def glcm_matrices(q: np.ndarray, n_levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric co-occurrence counts, distance 1.

    Returns
    -------
    m2d : array (n_slices, 4, Ng, Ng)
    m3d : array (13, Ng, Ng)
    """
    ng = n_levels
    ns = q.shape[0]
    m2d = np.zeros((ns, len(DIRECTIONS_2D), ng, ng))
    m3d = np.zeros((len(DIRECTIONS_3D), ng, ng))
    for di, d in enumerate(DIRECTIONS_3D):
        a, b, k = _shifted(q, d)
        ok = (a > 0) & (b > 0)
        idx = (a[ok].astype(np.int64) - 1) * ng + (b[ok] - 1)
        m = np.bincount(idx, minlength=ng * ng).reshape(ng, ng)
        m3d[di] = m + m.T
        if d[0] == 0:
            j = DIRECTIONS_2D.index(d)
            ms = np.bincount(k[ok] * ng * ng + idx, minlength=ns * ng * ng).reshape(ns, ng, ng)
            m2d[:, j] = ms + ms.transpose(0, 2, 1)
    return m2d, m3d


def _entropy(p: np.ndarray) -> float:
    nz = p[p > 0]
    return float(-(nz * np.log2(nz)).sum())


def glcm_matrix_features(m: np.ndarray, _nv: float = 0.0) -> dict[str, float]:
    """IBSI GLCM features of one count matrix (levels 1 … Ng)."""
    p = m / m.sum()
    ng = p.shape[0]
    lv = np.arange(1, ng + 1, dtype=float)
    i, j = np.meshgrid(lv, lv, indexing="ij")
    pi = p.sum(axis=1)
    pj = p.sum(axis=0)
    mu = float((i * p).sum())
    mu_i, mu_j = float((lv * pi).sum()), float((lv * pj).sum())
    sd_i = np.sqrt(((lv - mu_i) ** 2 * pi).sum())
    sd_j = np.sqrt(((lv - mu_j) ** 2 * pj).sum())
    diff = np.abs(i - j).astype(int)
    p_diff = np.bincount(diff.ravel(), weights=p.ravel(), minlength=ng)
    k_d = np.arange(ng, dtype=float)
    ssum = (i + j).astype(int)
    p_sum = np.bincount(ssum.ravel(), weights=p.ravel(), minlength=2 * ng + 1)[2:]
    k_s = np.arange(2, 2 * ng + 1, dtype=float)
    d_avg = float((k_d * p_diff).sum())
    s_avg = float((k_s * p_sum).sum())
    hxy = _entropy(p)
    hx = _entropy(pi)
    pipj = np.outer(pi, pj)
    with np.errstate(divide="ignore", invalid="ignore"):
        hxy1 = float(-np.where(p > 0, p * np.log2(np.where(pipj > 0, pipj, 1.0)), 0.0).sum())
        hxy2 = float(-np.where(pipj > 0, pipj * np.log2(np.where(pipj > 0, pipj, 1.0)), 0.0).sum())
    clust = i + j - mu_i - mu_j
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = float(((i - mu_i) * (j - mu_j) * p).sum() / (sd_i * sd_j)) if sd_i * sd_j > 0 else float("nan")
        info1 = (hxy - hxy1) / hx if hx > 0 else float("nan")
    return {
        "joint.max": float(p.max()),
        "joint.avg": mu,
        "joint.var": float(((i - mu) ** 2 * p).sum()),
        "joint.entr": hxy,
        "diff.avg": d_avg,
        "diff.var": float(((k_d - d_avg) ** 2 * p_diff).sum()),
        "diff.entr": _entropy(p_diff),
        "sum.avg": s_avg,
        "sum.var": float(((k_s - s_avg) ** 2 * p_sum).sum()),
        "sum.entr": _entropy(p_sum),
        "energy": float((p**2).sum()),
        "contrast": float(((i - j) ** 2 * p).sum()),
        "dissimilarity": float((np.abs(i - j) * p).sum()),
        "inv.diff": float((p / (1 + np.abs(i - j))).sum()),
        "inv.diff.norm": float((p / (1 + np.abs(i - j) / ng)).sum()),
        "inv.diff.mom": float((p / (1 + (i - j) ** 2)).sum()),
        "inv.diff.mom.norm": float((p / (1 + (i - j) ** 2 / ng**2)).sum()),
        "inv.var": float((p_diff[1:] / k_d[1:] ** 2).sum()),
        "corr": corr,
        "auto.corr": float((i * j * p).sum()),
        "clust.tend": float((clust**2 * p).sum()),
        "clust.shade": float((clust**3 * p).sum()),
        "clust.prom": float((clust**4 * p).sum()),
        "info.corr.1": float(info1),
        "info.corr.2": float(np.sqrt(max(0.0, 1.0 - np.exp(-2.0 * (hxy2 - hxy))))),
    }


def glcm_features(q: np.ndarray, n_levels: int, only: frozenset[str] | None = None) -> dict[str, float]:
    """All GLCM features in all six IBSI aggregations (``cm.<name>@<aggregation>``)."""
    m2d, m3d = glcm_matrices(q, n_levels)
    zeros2 = np.zeros(m2d.shape[:2])
    return aggregate_directional(m2d, zeros2, m3d, np.zeros(len(m3d)), glcm_matrix_features, "cm", only)
