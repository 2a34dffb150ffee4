"""Vertebral coordinate frame from the body's geometry.

The cranial axis is the principal axis of least extent of the vertebral body
(its height), the anterior axis the in-plane principal axis closest to the
patient's anterior direction; signs come from the image's patient axes (ITK
physical space is LPS: +z cranial, −y anterior). The frame therefore follows
the bone, not the scanner: a vertebra tilted in the scanner gets the same
frame relative to the bone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import EmptyMaskError
from ..geometry import ImageGeometry

__all__ = ["VertebralFrame", "frame_from_points", "vertebral_frame"]

_LPS_CRANIAL = np.array([0.0, 0.0, 1.0])
_LPS_ANTERIOR = np.array([0.0, -1.0, 0.0])


@dataclass(frozen=True)
class VertebralFrame:
    """Right-handed body frame of a vertebra in scanner coordinates (mm).

    Attributes
    ----------
    centroid_mm : (3,) tuple
        Body centroid.
    cranial, anterior, lateral : (3,) tuple
        Unit vectors; ``lateral = anterior × cranial``, which points to the patient's right
        (in LPS scanner space, anterior = −y and cranial = +z, so lateral = −x).
    inferior_mm, superior_mm : float
        Extreme positions of the body along ``cranial`` relative to the
        centroid (inferior < 0 < superior).
    """

    centroid_mm: tuple[float, float, float]
    cranial: tuple[float, float, float]
    anterior: tuple[float, float, float]
    lateral: tuple[float, float, float]
    inferior_mm: float
    superior_mm: float

    @property
    def height_mm(self) -> float:
        """Body height along the cranial axis (extreme to extreme), mm."""
        return float(self.superior_mm - self.inferior_mm)

    @property
    def rotation(self) -> np.ndarray:
        """3x3 matrix whose columns are (lateral, anterior, cranial)."""
        return np.column_stack([self.lateral, self.anterior, self.cranial])

    def to_local(self, xyz_mm: np.ndarray) -> np.ndarray:
        """Scanner points → frame coordinates (lateral, anterior, cranial), mm."""
        return (np.asarray(xyz_mm, dtype=float) - np.asarray(self.centroid_mm)) @ self.rotation

    def to_scanner(self, local_mm: np.ndarray) -> np.ndarray:
        """Frame coordinates → scanner points, mm."""
        return np.asarray(local_mm, dtype=float) @ self.rotation.T + np.asarray(self.centroid_mm)

    def as_dict(self) -> dict:
        """JSON-ready form (axes as lists, extremes and height in mm)."""
        return {
            "centroid_mm": list(self.centroid_mm),
            "cranial": list(self.cranial),
            "anterior": list(self.anterior),
            "lateral": list(self.lateral),
            "inferior_mm": self.inferior_mm,
            "superior_mm": self.superior_mm,
            "height_mm": self.height_mm,
        }

    @classmethod
    def from_dict(cls, d: dict) -> VertebralFrame:
        """Inverse of :meth:`as_dict`."""
        return cls(
            tuple(d["centroid_mm"]), tuple(d["cranial"]), tuple(d["anterior"]), tuple(d["lateral"]),
            float(d["inferior_mm"]), float(d["superior_mm"]),
        )


def frame_from_points(
    points_mm: np.ndarray, weights: np.ndarray | None = None, *, posterior_mm: np.ndarray | None = None
) -> VertebralFrame:
    """Frame of a vertebral body given points filling it (voxel centres or nodes).

    When ``posterior_mm`` (a point on the posterior elements, e.g. their
    centroid) is given, the anterior axis points from it towards the body
    centroid; otherwise it is the in-plane principal axis closest to the
    patient's anterior (ill-defined for near-circular bodies).
    """
    pts = np.asarray(points_mm, dtype=float)
    w = np.ones(len(pts)) if weights is None else np.asarray(weights, dtype=float)
    c = (pts * w[:, None]).sum(axis=0) / w.sum()
    d = pts - c
    cov = (d * w[:, None]).T @ d / w.sum()
    _, vecs = np.linalg.eigh(cov)  # ascending variance: first = height axis
    cranial = vecs[:, 0] * np.sign(vecs[:, 0] @ _LPS_CRANIAL or 1.0)
    inplane = vecs[:, 1:]
    # in-plane principal axis closest to the patient's anterior
    proj = inplane.T @ _LPS_ANTERIOR
    ant = inplane[:, int(np.argmax(np.abs(proj)))]
    ant = ant * np.sign(ant @ _LPS_ANTERIOR or 1.0)
    if posterior_mm is not None:
        towards = c - np.asarray(posterior_mm, dtype=float)
        towards -= (towards @ cranial) * cranial
        if np.linalg.norm(towards) > 1e-6:
            ant = towards
    ant = ant - (ant @ cranial) * cranial
    ant /= np.linalg.norm(ant)
    lateral = np.cross(ant, cranial)
    z = d @ cranial
    return VertebralFrame(tuple(c), tuple(cranial), tuple(ant), tuple(lateral), float(z.min()), float(z.max()))


def vertebral_frame(
    mask: np.ndarray, geometry: ImageGeometry, *, vertebra_mask: np.ndarray | None = None
) -> VertebralFrame:
    """Frame of a vertebral-body mask on a physical grid.

    ``vertebra_mask`` (the whole vertebra) orients the anterior axis away
    from the posterior elements, which is robust for round bodies.

    Extremes along the axis are taken at the mask surface (half a voxel
    beyond the outermost voxel centres, projected on the axis).

    Examples
    --------
    >>> import numpy as np
    >>> from vertfem.geometry import ImageGeometry
    >>> g = ImageGeometry((40, 30, 20), (0, 0, 0), (1, 1, 1), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    >>> m = np.zeros(g.shape, bool); m[2:18, 5:25, 5:35] = True
    >>> f = vertebral_frame(m, g)
    >>> np.round(f.cranial, 6).tolist(), round(f.height_mm, 3)
    ([0.0, 0.0, 1.0], 16.0)
    """
    kji = np.argwhere(mask)
    if len(kji) < 4:
        raise EmptyMaskError(f"cannot compute a vertebral frame from {len(kji)} voxels; the body mask is empty or tiny")
    pts = geometry.index_to_physical(kji[:, ::-1].astype(float))
    posterior = None
    if vertebra_mask is not None:
        rest = np.argwhere(np.asarray(vertebra_mask, bool) & ~np.asarray(mask, bool))
        if len(rest) >= 0.05 * len(kji):
            posterior = geometry.index_to_physical(rest[:, ::-1].astype(float)).mean(axis=0)
    f = frame_from_points(pts, posterior_mm=posterior)
    half = 0.5 * np.abs(geometry.direction_matrix.T @ np.asarray(f.cranial)) @ np.asarray(geometry.spacing_mm)
    return VertebralFrame(f.centroid_mm, f.cranial, f.anterior, f.lateral, f.inferior_mm - half, f.superior_mm + half)
