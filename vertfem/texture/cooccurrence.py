"""Grey-level co-occurrence matrix (GLCM) and its IBSI features (§3.6, ``cm.*``)."""

from __future__ import annotations

import numpy as np

from .aggregation import DIRECTIONS_2D, DIRECTIONS_3D, aggregate_directional

__all__ = ["glcm_features", "glcm_matrices", "glcm_matrix_features"]


def _pairs(q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ROI voxels of a zero-padded copy of ``q``: padded levels, flat indices, levels and slice indices."""
    p = np.pad(q, 1)
    flat = np.flatnonzero(p)
    return p.ravel(), flat, p.ravel()[flat].astype(np.int64), flat // (p.shape[1] * p.shape[2]) - 1


def glcm_matrices(q: np.ndarray, n_levels: int, *, per_slice: bool = True,
                  per_direction: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric co-occurrence counts, distance 1.

    Parameters
    ----------
    per_slice : bool
        Also count the in-plane directions slice by slice (the 2D and 2.5D
        aggregations); otherwise ``m2d`` is empty.
    per_direction : bool
        Keep the 13 directions apart (3D_avg); otherwise ``m3d`` holds their
        sum as one matrix (all 3D_mrg needs, 13× less memory at many levels).

    Returns
    -------
    m2d : array (n_slices, 4, Ng, Ng)
    m3d : array (13 or 1, Ng, Ng)
    """
    ng = n_levels
    ns = q.shape[0] if per_slice else 0
    m2d = np.zeros((ns, len(DIRECTIONS_2D), ng, ng))
    m3d = np.zeros((len(DIRECTIONS_3D) if per_direction else 1, ng, ng))
    merged: list[np.ndarray] = []
    # neighbours by flat offsets on a zero-padded grid: work grows with the ROI, not with its bounding box
    levels, flat, a_all, k_all = _pairs(q)
    strides = np.array([(q.shape[1] + 2) * (q.shape[2] + 2), q.shape[2] + 2, 1])
    for di, d in enumerate(DIRECTIONS_3D):
        b_all = levels[flat + int(np.dot(d, strides))]
        ok = b_all > 0
        idx = (a_all[ok] - 1) * ng + (b_all[ok] - 1)
        if per_direction:
            m = np.bincount(idx, minlength=ng * ng).reshape(ng, ng)
            m3d[di] = m + m.T
        else:
            merged.append(idx)
        if per_slice and d[0] == 0:
            j = DIRECTIONS_2D.index(d)
            ms = np.bincount(k_all[ok] * ng * ng + idx, minlength=ns * ng * ng).reshape(ns, ng, ng)
            m2d[:, j] = ms + ms.transpose(0, 2, 1)
    if not per_direction:
        # one count over all directions: a single Ng² pass however many grey levels
        m = np.bincount(np.concatenate(merged), minlength=ng * ng).reshape(ng, ng)
        m3d[0] = m + m.T
    return m2d, m3d


def _entropy(p: np.ndarray) -> float:
    nz = p[p > 0]
    return float(-(nz * np.log2(nz)).sum())


def glcm_matrix_features(m: np.ndarray, _nv: float = 0.0) -> dict[str, float]:
    """IBSI GLCM features of one count matrix (levels 1 … Ng).

    Sums run over the non-zero cells only, so the cost does not grow with
    Ng² (thousands of levels, Goller 2023's scale, stay cheap).
    """
    ng = m.shape[0]
    ii, jj = np.nonzero(m)
    p = m[ii, jj] / m.sum()
    i = ii + 1.0
    j = jj + 1.0
    pi = np.bincount(ii, weights=p, minlength=ng)
    pj = np.bincount(jj, weights=p, minlength=ng)
    lv = np.arange(1, ng + 1, dtype=float)
    mu = float((i * p).sum())
    mu_i, mu_j = float((lv * pi).sum()), float((lv * pj).sum())
    sd_i = np.sqrt(((lv - mu_i) ** 2 * pi).sum())
    sd_j = np.sqrt(((lv - mu_j) ** 2 * pj).sum())
    adiff = np.abs(ii - jj)
    p_diff = np.bincount(adiff, weights=p, minlength=ng)
    k_d = np.arange(ng, dtype=float)
    p_sum = np.bincount(ii + jj, weights=p, minlength=2 * ng - 1)
    k_s = np.arange(2, 2 * ng + 1, dtype=float)
    d_avg = float((k_d * p_diff).sum())
    s_avg = float((k_s * p_sum).sum())
    hxy = _entropy(p)
    hx, hy = _entropy(pi), _entropy(pj)
    hxy1 = float(-(p * np.log2(pi[ii] * pj[jj])).sum())
    # -Σ_ij p_i p_j log2(p_i p_j) separates into the marginal entropies
    hxy2 = hx + hy
    clust = i + j - mu_i - mu_j
    dij = i - j
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
        "contrast": float((dij**2 * p).sum()),
        "dissimilarity": float((adiff * p).sum()),
        "inv.diff": float((p / (1 + adiff)).sum()),
        "inv.diff.norm": float((p / (1 + adiff / ng)).sum()),
        "inv.diff.mom": float((p / (1 + dij**2)).sum()),
        "inv.diff.mom.norm": float((p / (1 + dij**2 / ng**2)).sum()),
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
    """GLCM features in the IBSI aggregations ``only`` (default all six): ``cm.<name>@<aggregation>``."""
    per_slice = only is None or any(a.startswith("2") for a in only)
    per_direction = only is None or "3D_avg" in only
    m2d, m3d = glcm_matrices(q, n_levels, per_slice=per_slice, per_direction=per_direction)
    zeros2 = np.zeros(m2d.shape[:2])
    return aggregate_directional(m2d, zeros2, m3d, np.zeros(len(m3d)), glcm_matrix_features, "cm", only)
