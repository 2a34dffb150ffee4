"""Per-region results: where in the vertebra the load goes and the tissue strains.

Regions of the bone (caps excluded), from the mesh's geometry:

* ``cortical_shell`` / ``cancellous_core`` — elements whose centroid lies
  less / more than ``shell_mm`` below the bone's surface (a geometric shell:
  at clinical resolution the cortex is not resolved, so this is the outer
  layer of the model, not segmented cortex; with ``cortical_shell_mm`` set at
  meshing, the elements labelled cortical are used instead);
* ``anterior_third`` / ``middle_third`` / ``posterior_third`` — the body's
  extent along the anterior axis split in three;
* ``superior_endplate_zone`` / ``inferior_endplate_zone`` — elements within
  ``endplate_mm`` of the bone's superior / inferior endplate surface;
* ``posterior_elements`` — whole-vertebra models only.

Per region, at the applied load: volume fraction of the bone; the share of
the axial load (∫σ_axial dV over the region / over the bone — for regions that
span the body's height this is the mean share of the axial force through its
cross-sections; not reported for the endplate zones, nor for load cases
without axial force); the share of the strain energy; the mean and peak
(99th volume percentile: the maximum sits in the stress singularity at the
edge of the prescribed endplate and grows under refinement) strain energy
density; and the volume fraction whose effective strain exceeds
``strain_threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ..meshing.model import REGIONS, VertebraMesh, boundary_faces

__all__ = ["REGION_NAMES", "RegionSpec", "element_regions", "point_triangle_distance", "region_results",
           "surface_distance", "within_distance"]

#: Region names in the order they are reported.
REGION_NAMES = ("cortical_shell", "cancellous_core", "anterior_third", "middle_third", "posterior_third",
                "superior_endplate_zone", "inferior_endplate_zone", "posterior_elements")
_SPANNING = ("cortical_shell", "cancellous_core", "anterior_third", "middle_third", "posterior_third",
             "posterior_elements")


@dataclass(frozen=True)
class RegionSpec:
    """How the regions are cut and what counts as strained.

    Attributes
    ----------
    shell_mm : float
        Depth of the outer shell, mm.
    endplate_mm : float
        Thickness of the endplate zones, mm.
    strain_threshold : float
        Effective strain above which tissue counts as strained.
    """

    shell_mm: float = 2.0
    endplate_mm: float = 3.0
    strain_threshold: float = 0.011


def point_triangle_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Distance from points ``p`` to triangles ``(a, b, c)``, row by row (all (n, 3)).

    Closest point by Voronoi region of the triangle (Ericson, *Real-Time
    Collision Detection*, 2005, §5.1.5).

    Examples
    --------
    >>> t = np.array([[0.0, 0, 0]]), np.array([[1.0, 0, 0]]), np.array([[0.0, 1, 0]])
    >>> p = np.array([[0.2, 0.2, 2.0], [2.0, 0.0, 0.0]])
    >>> point_triangle_distance(p, *(np.repeat(x, 2, axis=0) for x in t)).tolist()
    [2.0, 1.0]
    """
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = np.einsum("ij,ij->i", ab, ap), np.einsum("ij,ij->i", ac, ap)
    bp = p - b
    d3, d4 = np.einsum("ij,ij->i", ab, bp), np.einsum("ij,ij->i", ac, bp)
    cp = p - c
    d5, d6 = np.einsum("ij,ij->i", ab, cp), np.einsum("ij,ij->i", ac, cp)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    with np.errstate(divide="ignore", invalid="ignore"):
        v_ab = d1 / (d1 - d3)
        w_ac = d2 / (d2 - d6)
        w_bc = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        denom = 1.0 / (va + vb + vc)
    inside = a + ab * (vb * denom)[:, None] + ac * (vc * denom)[:, None]
    conds = [
        (d1 <= 0) & (d2 <= 0),
        (d3 >= 0) & (d4 <= d3),
        (vc <= 0) & (d1 >= 0) & (d3 <= 0),
        (d6 >= 0) & (d5 <= d6),
        (vb <= 0) & (d2 >= 0) & (d6 <= 0),
        (va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0),
    ]
    choices = [a, b, a + ab * v_ab[:, None], c, a + ac * w_ac[:, None], b + (c - b) * w_bc[:, None]]
    closest = inside.copy()
    for cond, choice in zip(conds[::-1], choices[::-1]):
        closest = np.where(cond[:, None], choice, closest)
    return np.asarray(np.linalg.norm(p - closest, axis=1))


def surface_distance(points: np.ndarray, triangles: np.ndarray, *, k: int = 8) -> np.ndarray:
    """Distance (mm) from points (n, 3) to a triangle set (f, 3, 3): exact to the ``k`` faces nearest by centroid."""
    tree = cKDTree(triangles.mean(axis=1), balanced_tree=False, compact_nodes=False)
    k = min(k, len(triangles))
    _, idx = tree.query(points, k=k)
    idx = np.asarray(idx).reshape(len(points), k)
    rep = np.repeat(points, k, axis=0)
    t = triangles[idx.ravel()]
    d = point_triangle_distance(rep, t[:, 0], t[:, 1], t[:, 2]).reshape(len(points), k)
    return np.asarray(d.min(axis=1))


def within_distance(points: np.ndarray, triangles: np.ndarray, distance_mm: float) -> np.ndarray:
    """Which points (n, 3) lie closer than ``distance_mm`` to a triangle set (f, 3, 3).

    The distance to the nearest of seven samples per triangle (corners, edge
    midpoints, centroid) bounds the true distance from above, and from below
    after subtracting the largest gap between a triangle point and its
    nearest sample; only points between the bounds get the exact
    :func:`surface_distance`.
    """
    mids = 0.5 * (triangles + np.roll(triangles, -1, axis=1))
    samples = np.concatenate([triangles, mids, triangles.mean(axis=1, keepdims=True)], axis=1)
    gap = 0.5 * float(np.linalg.norm(triangles - np.roll(triangles, -1, axis=1), axis=2).max())
    tree = cKDTree(np.unique(samples.reshape(-1, 3), axis=0), balanced_tree=False, compact_nodes=False)
    d_sample, _ = tree.query(points, distance_upper_bound=distance_mm + gap)
    out = d_sample < distance_mm
    maybe = np.flatnonzero(~out & (d_sample < distance_mm + gap))
    if len(maybe):
        out[maybe] = surface_distance(points[maybe], triangles) < distance_mm
    return out


def element_regions(mesh: VertebraMesh, local_mm: np.ndarray, spec: RegionSpec,
                    endplate_faces: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Boolean element masks of the regions (empty regions are left out).

    Parameters
    ----------
    mesh : VertebraMesh
    local_mm : ndarray (n, 3)
        Node coordinates in the vertebral frame.
    spec : RegionSpec
    endplate_faces : dict
        The bone's ``superior`` / ``inferior`` endplate faces (f, ≥3 node indices).
    """
    bone = mesh.region != REGIONS["cap"]
    centroid = local_mm[mesh.elements[:, :4]].mean(axis=1)
    out: dict[str, np.ndarray] = {}
    if np.any(mesh.region == REGIONS["cortical"]):
        shell = mesh.region == REGIONS["cortical"]
    else:
        tri = mesh.boundary[0] if bone.all() else boundary_faces(mesh.elements[bone])[0]
        shell = np.zeros(mesh.n_elements, bool)
        shell[np.flatnonzero(bone)[within_distance(centroid[bone], local_mm[tri], spec.shell_mm)]] = True
    out["cortical_shell"] = shell & bone
    out["cancellous_core"] = bone & ~shell
    posterior = mesh.region == REGIONS["posterior"]
    body = bone & ~posterior
    y = centroid[:, 1]
    y_nodes = local_mm[np.unique(mesh.elements[body, :4]), 1]
    lo, hi = y_nodes.min(), y_nodes.max()
    cut1, cut2 = lo + (hi - lo) / 3.0, lo + 2.0 * (hi - lo) / 3.0
    out["anterior_third"] = body & (y >= cut2)
    out["middle_third"] = body & (y >= cut1) & (y < cut2)
    out["posterior_third"] = body & (y < cut1)
    for side, faces in endplate_faces.items():
        zone = np.zeros(mesh.n_elements, bool)
        zone[np.flatnonzero(bone)[within_distance(centroid[bone], local_mm[faces[:, :3]], spec.endplate_mm)]] = True
        out[f"{side}_endplate_zone"] = zone
    out["posterior_elements"] = posterior
    return {k: out[k] for k in REGION_NAMES if k in out and out[k].any()}


def _weighted_percentile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    pos = min(int(np.searchsorted(cum, q * cum[-1])), len(order) - 1)
    return float(values[order][pos])


def region_results(regions: dict[str, np.ndarray], fields: dict[str, np.ndarray], bone: np.ndarray, spec: RegionSpec,
                   *, axial_load: bool) -> dict[str, dict[str, float | None]]:
    """Per-region values (see the module docstring) from the element fields of one load case.

    ``fields`` holds ``volume_mm3``, ``sed_MPa``, ``effective_strain`` and ``stress_MPa`` (frame
    components, zz = axial) per element; ``bone`` masks the bone elements.
    """
    vol, sed, eff = fields["volume_mm3"], fields["sed_MPa"], fields["effective_strain"]
    szz = fields["stress_MPa"][:, 2]
    v_bone = float(vol[bone].sum())
    energy = float((sed * vol)[bone].sum())
    axial = float((szz * vol)[bone].sum())
    out: dict[str, dict[str, float | None]] = {}
    for name, sel in regions.items():
        v = vol[sel]
        share = (float((szz * vol)[sel].sum()) / axial if axial_load and name in _SPANNING and axial != 0 else None)
        out[name] = {
            "volume_fraction": float(v.sum()) / v_bone,
            "load_share": share,
            "strain_energy_share": float((sed * vol)[sel].sum()) / energy if energy > 0 else None,
            "sed_mean_MPa": float((sed[sel] * v).sum() / v.sum()),
            "sed_peak_MPa": _weighted_percentile(sed[sel], v, 0.99),
            "strained_fraction": float(v[eff[sel] > spec.strain_threshold].sum() / v.sum()),
        }
    return out
