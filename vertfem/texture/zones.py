"""Size-zone (GLSZM) and distance-zone (GLDZM) matrices and their IBSI features (§3.8–3.9)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .aggregation import aggregate_slices
from .runlength import glrlm_matrix_features

__all__ = ["gldzm_features", "glszm_features", "zone_triples"]

_CONN_3D = np.ones((3, 3, 3), bool)
_CONN_2D = np.zeros((3, 3, 3), bool)
_CONN_2D[1] = True
_CROSS_3D = ndimage.generate_binary_structure(3, 1)
_CROSS_2D = np.zeros((3, 3, 3), bool)
_CROSS_2D[1] = ndimage.generate_binary_structure(2, 1)

_SZM = {"sre": "sze", "lre": "lze", "lgre": "lgze", "hgre": "hgze", "srlge": "szlge", "srhge": "szhge",
        "lrlge": "lzlge", "lrhge": "lzhge", "glnu": "glnu", "glnu.norm": "glnu.norm", "rlnu": "zsnu",
        "rlnu.norm": "zsnu.norm", "r.perc": "z.perc", "gl.var": "gl.var", "rl.var": "zs.var", "rl.entr": "zs.entr"}
_DZM = {"sre": "sde", "lre": "lde", "lgre": "lgze", "hgre": "hgze", "srlge": "sdlge", "srhge": "sdhge",
        "lrlge": "ldlge", "lrhge": "ldhge", "glnu": "glnu", "glnu.norm": "glnu.norm", "rlnu": "zdnu",
        "rlnu.norm": "zdnu.norm", "r.perc": "z.perc", "gl.var": "gl.var", "rl.var": "zd.var", "rl.entr": "zd.entr"}


def _border_distance(roi: np.ndarray, two_d: bool) -> np.ndarray:
    """Steps (6- or in-slice 4-connected) to the outside of the ROI; 1 on its border."""
    padded = np.pad(roi, 1)
    d = ndimage.distance_transform_cdt(padded, metric=_CROSS_2D if two_d else _CROSS_3D)
    return d[1:-1, 1:-1, 1:-1]


def zone_triples(q: np.ndarray, *, two_d: bool, distance: bool, morph: np.ndarray | None = None) -> np.ndarray:
    """One row ``(slice, level − 1, column − 1)`` per zone.

    Columns are zone sizes (GLSZM) or zone distances to the ROI border
    (GLDZM): the smallest border distance of the zone's voxels, measured in
    the morphological mask ``morph`` (IBSI; default the intensity ROI
    ``q > 0``). A 3D zone is booked on its first slice.
    """
    roi = q > 0
    ns = q.shape[0]
    dist = _border_distance(roi if morph is None else np.asarray(morph, bool) | roi, two_d) if distance else None
    kk = np.broadcast_to(np.arange(ns)[:, None, None], q.shape).ravel()
    rows: list[np.ndarray] = []
    for g in np.unique(q[roi]):
        lab, n = ndimage.label(q == g, structure=_CONN_2D if two_d else _CONN_3D)
        if n == 0:
            continue
        flat = lab.ravel()
        sel = flat > 0
        ids = flat[sel]
        if dist is not None:
            col = np.full(n + 1, np.iinfo(np.int64).max)
            np.minimum.at(col, ids, dist.ravel()[sel].astype(np.int64))
            col = col[1:]
        else:
            col = np.bincount(ids, minlength=n + 1)[1:]
        first = np.full(n + 1, ns)
        np.minimum.at(first, ids, kk[sel])
        rows.append(np.column_stack([first[1:], np.full(n, g - 1), col - 1]))
    return np.concatenate(rows).astype(np.int64) if rows else np.zeros((0, 3), dtype=np.int64)


def _matrix(triples: np.ndarray, n_levels: int) -> np.ndarray:
    ncol = int(triples[:, 2].max()) + 1 if len(triples) else 1
    m = np.zeros((n_levels, ncol))
    np.add.at(m, (triples[:, 1], triples[:, 2]), 1.0)
    return m


def _family(q: np.ndarray, n_levels: int, distance: bool, prefix: str, names: dict, only=None,
            morph: np.ndarray | None = None) -> dict[str, float]:
    nv_slice = (q > 0).sum(axis=(1, 2)).astype(float)
    want_2d = only is None or bool({"2D", "2.5D"} & set(only))
    t2 = zone_triples(q, two_d=True, distance=distance, morph=morph) if want_2d else np.zeros((0, 3), np.int64)
    t3 = (zone_triples(q, two_d=False, distance=distance, morph=morph) if only is None or "3D" in only
          else np.zeros((0, 3), np.int64))
    # matrices are built per slice (their widths differ), never as one dense slices × levels × sizes block
    order = np.argsort(t2[:, 0], kind="stable")
    t2 = t2[order]
    bounds = np.searchsorted(t2[:, 0], np.arange(q.shape[0] + 1))
    per_slice = [_matrix(t2[bounds[s]:bounds[s + 1]], n_levels) for s in range(q.shape[0])]

    def fn(m, nv):
        return {names[k]: v for k, v in glrlm_matrix_features(m, nv).items()}

    return aggregate_slices(per_slice, nv_slice, _matrix(t2, n_levels), _matrix(t3, n_levels),
                            float(nv_slice.sum()), fn, prefix, only)


def glszm_features(q: np.ndarray, n_levels: int, only: frozenset[str] | None = None) -> dict[str, float]:
    """GLSZM features (``szm.<name>@2D|2.5D|3D``); zones 8-connected in 2D, 26-connected in 3D."""
    return _family(q, n_levels, False, "szm", _SZM, only)


def gldzm_features(q: np.ndarray, n_levels: int, only: frozenset[str] | None = None,
                   morph: np.ndarray | None = None) -> dict[str, float]:
    """GLDZM features (``dzm.<name>@2D|2.5D|3D``).

    Zones are grey-level zones of the intensity ROI; their distance is the
    number of 4- (2D) or 6-connected (3D) steps to the edge of the
    morphological mask ``morph`` (IBSI §3.9; default the intensity ROI).
    """
    return _family(q, n_levels, True, "dzm", _DZM, only, morph)
