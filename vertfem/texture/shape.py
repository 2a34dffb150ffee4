"""Morphological (shape) features of a VOI (IBSI §3.1, ``morph.*``).

The surface is the marching-cubes iso-surface at 0.5 of the zero-padded mask
in mm (VTK's contour filter through pyvista); volumes, areas, diameters and
hulls come from that mesh, PCA axes and Moran/Geary from voxel centres.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import spatial
from scipy.special import eval_legendre

__all__ = ["shape_features", "surface_mesh"]

#: Moran's I and Geary's C are O(N²); above this many voxels a fixed-seed subsample is used
MAX_AUTOCORR_VOXELS = 4000


def surface_mesh(mask: np.ndarray, spacing_mm: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Closed triangle mesh of a binary mask: vertices (mm, float64, index-aligned origin) and triangles.

    Marching cubes runs on the unit grid, where every vertex is a multiple of
    ½ and exact in VTK's float32 output; scaling to mm happens in float64, so
    volumes and areas do not depend on how the voxels are stored.
    """
    import pyvista as pv

    p = np.pad(np.asarray(mask, dtype=np.float32), 1)
    img = pv.ImageData(dimensions=p.shape[::-1], spacing=(1.0, 1.0, 1.0), origin=(-1.0, -1.0, -1.0))
    img.point_data["m"] = p.ravel()
    surf = img.contour([0.5], scalars="m", method="marching_cubes").triangulate()
    verts = np.asarray(surf.points, dtype=np.float64) * np.asarray(spacing_mm, float)
    tris = np.asarray(surf.faces).reshape(-1, 4)[:, 1:]
    return verts, tris


def _volume_area(verts: np.ndarray, tris: np.ndarray) -> tuple[float, float]:
    a, b, c = verts[tris[:, 0]], verts[tris[:, 1]], verts[tris[:, 2]]
    vol = abs(float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum()) / 6.0)
    area = float(np.linalg.norm(np.cross(b - a, c - a), axis=1).sum() / 2.0)
    return vol, area


def _ellipsoid_area(a: float, b: float, c: float, terms: int = 20) -> float:
    """Surface of an ellipsoid with semi-axes a ≥ b ≥ c by the Legendre series of IBSI."""
    if a <= 0:
        return float("nan")
    alpha = math.sqrt(max(0.0, 1 - b**2 / a**2))
    beta = math.sqrt(max(0.0, 1 - c**2 / a**2))
    if alpha * beta == 0:
        return 4 * math.pi * a * a if alpha == beta == 0 else float("nan")
    x = (alpha**2 + beta**2) / (2 * alpha * beta)
    s = sum((alpha * beta) ** nu / (1 - 4 * nu**2) * eval_legendre(nu, x) for nu in range(terms + 1))
    return float(4 * math.pi * a * b * s)


def _autocorrelation(pts: np.ndarray, x: np.ndarray, seed: int = 0) -> tuple[float, float]:
    if len(x) > MAX_AUTOCORR_VOXELS:
        sel = np.random.default_rng(seed).choice(len(x), MAX_AUTOCORR_VOXELS, replace=False)
        pts, x = pts[sel], x[sel]
    n = len(x)
    d = spatial.distance.pdist(pts)
    w = 1.0 / d
    dev = x - x.mean()
    ii, jj = np.triu_indices(n, 1)
    denom = (dev**2).sum()
    if denom == 0:
        return float("nan"), float("nan")
    wsum = 2 * w.sum()
    moran = n / wsum * 2 * (w * dev[ii] * dev[jj]).sum() / denom
    geary = (n - 1) / (2 * wsum) * 2 * (w * (x[ii] - x[jj]) ** 2).sum() / denom
    return float(moran), float(geary)


def shape_features(
    mask: np.ndarray, spacing_mm: tuple[float, float, float], image: np.ndarray | None = None,
    intensity_mask: np.ndarray | None = None,
) -> dict[str, float]:
    """IBSI morphological features.

    Parameters
    ----------
    mask : ndarray of bool (k, j, i)
        Morphological mask.
    spacing_mm : (3,) in (i, j, k) order
    image : ndarray, optional
        Intensities, for centre-of-mass shift, integrated intensity and
        Moran's I / Geary's C.
    intensity_mask : ndarray of bool, optional
        Re-segmented mask for the intensity-based ones (default ``mask``).
    """
    mask = np.asarray(mask, bool)
    imask = mask if intensity_mask is None else np.asarray(intensity_mask, bool)
    sp = np.asarray(spacing_mm, float)
    verts, tris = surface_mesh(mask, tuple(sp))
    vol, area = _volume_area(verts, tris)
    pts = np.argwhere(mask)[:, ::-1] * sp
    out: dict[str, float] = {
        "vol": vol,
        "approx.vol": float(mask.sum() * np.prod(sp)),
        "area": area,
        "av": area / vol,
        "comp.1": vol / (math.sqrt(math.pi) * area**1.5),
        "comp.2": 36 * math.pi * vol**2 / area**3,
        "sph.dispr": area / (36 * math.pi * vol**2) ** (1 / 3),
        "sphericity": (36 * math.pi * vol**2) ** (1 / 3) / area,
        "asphericity": (area**3 / (36 * math.pi * vol**2)) ** (1 / 3) - 1,
    }
    hull = spatial.ConvexHull(verts)
    out["diam"] = float(spatial.distance.pdist(verts[hull.vertices]).max())
    lam = np.sort(np.linalg.eigvalsh(np.cov(pts.T)))[::-1] if len(pts) > 1 else np.zeros(3)
    lam = np.maximum(lam, 0.0)
    out["pca.major"] = 4 * math.sqrt(lam[0])
    out["pca.minor"] = 4 * math.sqrt(lam[1])
    out["pca.least"] = 4 * math.sqrt(lam[2])
    out["pca.elongation"] = math.sqrt(lam[1] / lam[0]) if lam[0] > 0 else float("nan")
    out["pca.flatness"] = math.sqrt(lam[2] / lam[0]) if lam[0] > 0 else float("nan")
    ext = verts.max(axis=0) - verts.min(axis=0)
    out["v.dens.aabb"] = vol / float(np.prod(ext))
    out["a.dens.aabb"] = area / float(2 * (ext[0] * ext[1] + ext[0] * ext[2] + ext[1] * ext[2]))
    a, b, c = (2 * math.sqrt(x) for x in lam)
    out["v.dens.aee"] = vol / (4 * math.pi / 3 * a * b * c) if a * b * c > 0 else float("nan")
    out["a.dens.aee"] = area / _ellipsoid_area(a, b, c)
    out["v.dens.conv.hull"] = vol / float(hull.volume)
    out["a.dens.conv.hull"] = area / float(hull.area)
    if image is not None:
        img = np.asarray(image, float)
        ipts = np.argwhere(imask)[:, ::-1] * sp
        vals = img[imask]
        com_geom = pts.mean(axis=0)
        com_int = (ipts * vals[:, None]).sum(axis=0) / vals.sum() if vals.sum() != 0 else com_geom
        out["com"] = float(np.linalg.norm(com_geom - com_int))
        out["integ.int"] = vol * float(vals.mean())
        out["moran.i"], out["geary.c"] = _autocorrelation(ipts, vals)
    return {f"morph.{k}": float(v) for k, v in out.items()}
