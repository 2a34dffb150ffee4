"""Endplate node sets and body height from a TET10 mesh and its frame.

Superior (inferior) endplate = boundary faces whose outward normal points
within ``max_angle_deg`` of the cranial (caudal) axis and that lie in the
cranial (caudal) part of the body; all their nodes, mid-side ones included.
"""

from __future__ import annotations

import numpy as np

from ..vertebra.frame import VertebralFrame
from .model import boundary_faces

__all__ = ["endplate_faces", "endplates", "endplate_node_sets", "endplate_height_mm"]


def _face_geometry(nodes: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = nodes[faces]
    cross = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    area = 0.5 * np.linalg.norm(cross, axis=1)
    normal = cross / np.maximum(2 * area, 1e-300)[:, None]
    return normal, area, p.mean(axis=1)


def endplate_faces(
    nodes: np.ndarray,
    elements: np.ndarray,
    frame: VertebralFrame,
    *,
    max_angle_deg: float = 45.0,
    depth_fraction: float = 0.35,
) -> dict[str, np.ndarray]:
    """Boundary-face selections: ``faces`` (f, 6 nodes), ``area``, ``axial_mm``,
    and boolean ``superior`` / ``inferior`` masks over the faces.

    Parameters
    ----------
    max_angle_deg : float
        Largest angle between a face normal and the axis.
    depth_fraction : float
        Faces must lie within this fraction of the height from the extreme
        plane (keeps bumps on the walls out of the endplates).
    """
    faces, face_nodes = boundary_faces(elements)
    normal, area, centre = _face_geometry(nodes, faces)
    ax = np.asarray(frame.cranial)
    z = (centre - np.asarray(frame.centroid_mm)) @ ax
    zn = (nodes - np.asarray(frame.centroid_mm)) @ ax
    top, bottom = zn.max(), zn.min()
    depth = depth_fraction * (top - bottom)
    cosmax = np.cos(np.deg2rad(max_angle_deg))
    sup = (normal @ ax >= cosmax) & (z >= top - depth)
    inf = (normal @ ax <= -cosmax) & (z <= bottom + depth)
    return {"faces": face_nodes, "area": area, "axial_mm": z, "superior": sup, "inferior": inf}


def endplates(
    nodes: np.ndarray, elements: np.ndarray, frame: VertebralFrame, **kwargs
) -> tuple[dict[str, np.ndarray], float]:
    """Node sets ``superior``, ``inferior``, ``surface`` and the body height (mm), from one face pass.

    The height is the area-weighted mean axial position of the superior
    endplate faces minus that of the inferior ones: the mean height for
    concave endplates, the exact distance between the cuts for flat-cut
    bodies. Keywords as :func:`endplate_faces`.
    """
    f = endplate_faces(nodes, elements, frame, **kwargs)
    sup, inf = f["superior"], f["inferior"]
    if not (sup.any() and inf.any()):
        raise ValueError("no superior or inferior endplate faces found; check the vertebral frame")
    sets = {
        "superior": np.unique(f["faces"][sup]),
        "inferior": np.unique(f["faces"][inf]),
        "surface": np.unique(f["faces"]),
    }
    top = np.average(f["axial_mm"][sup], weights=f["area"][sup])
    bottom = np.average(f["axial_mm"][inf], weights=f["area"][inf])
    return sets, float(top - bottom)


def endplate_node_sets(nodes: np.ndarray, elements: np.ndarray, frame: VertebralFrame, **kwargs) -> dict[str, np.ndarray]:
    """``superior``, ``inferior`` and ``surface`` node sets (see :func:`endplates`)."""
    return endplates(nodes, elements, frame, **kwargs)[0]


def endplate_height_mm(nodes: np.ndarray, elements: np.ndarray, frame: VertebralFrame, **kwargs) -> float:
    """Body height between the endplates, mm (see :func:`endplates`)."""
    return endplates(nodes, elements, frame, **kwargs)[1]
