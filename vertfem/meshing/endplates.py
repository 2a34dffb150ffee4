"""Endplate node sets of a TET10 mesh, from the body's anatomy (:mod:`vertfem.vertebra.endplates`).

A boundary face of the mesh belongs to the superior (inferior) endplate when

1. its outward normal lies within 45° of the endplate's own normal — the
   bisector of the rim's corner between endplate and wall
   (:data:`~vertfem.vertebra.endplates.RIM_BISECTOR_DEG`);
2. its column lies within ``margin_mm`` of the body's endplate region seen
   along the axis, and not on a column of the rest of the vertebra, and it
   lies within ``depth_mm`` of the endplate's surface
   (so a process or pedicle beside or below the body never joins the set:
   whole-vertebra models load the body's endplates only);

and the selection's holes are filled (every surface patch the selection
encloses — CT terraces steeper than 45°, a pit — joins it). The endplate's
normal is refitted to the selected faces (area-weighted mean normal) and the
selection repeated, so each endplate of a wedge-shaped body is judged against
its own plane. The node sets hold every node of the selected faces, mid-side
nodes included.

The two tolerances only decide which faces are *candidates*; the rim itself is
placed by the bisector. The margin absorbs the difference between the voxel
outline and the smoothed mesh surface, the depth the mesh surface's distance
from the voxel height field (both about a voxel). Over their reasonable
ranges (margin 1–4 mm, depth 2–4 mm, detection smoothing 0.5–1.5 mm on a 3 mm
CT) the stiffness of the bundled L1 and of a tilted wedge phantom stays
within 1 % (``tests/meshing/test_endplates.py``). A depth of 5 mm starts to
take the top of a pedicle stub that a body isolation left on the body.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ..errors import MeshingError
from ..vertebra.endplates import RIM_BISECTOR_DEG, BodyEndplates
from .model import boundary_faces
from .tet10 import physical_points, quadrature

__all__ = ["HEIGHT_DEFINITION", "EndplateSelection", "face_adjacency", "select_endplates", "set_faces"]

#: How the body height H of every result is defined.
HEIGHT_DEFINITION = ("mean endplate distance: area-weighted mean axial position of the superior endplate faces minus "
                     "that of the inferior endplate faces, along the cranial axis")


@dataclass(frozen=True, eq=False)
class EndplateSelection:
    """The endplate faces of a mesh and what follows from them.

    Attributes
    ----------
    faces : dict of str → ndarray (f, 6)
        ``superior`` and ``inferior`` boundary faces (corner then mid-side nodes).
    normals : dict of str → ndarray (3,)
        Outward normal of each endplate's fitted plane, frame coordinates.
    areas_mm2 : dict of str → float
        Area of each endplate projected on the plane perpendicular to the cranial axis, mm².
    height_mm : float
        Body height (:data:`HEIGHT_DEFINITION`).
    surface_nodes : ndarray of int
        Every node on the mesh's boundary.
    cross_section_mm2 : float
        The mesh's cross-section perpendicular to the cranial axis halfway between the endplates (the volume of a
        slab ±2 mm around that plane over its thickness, mm²).
    """

    faces: dict[str, np.ndarray]
    normals: dict[str, np.ndarray]
    areas_mm2: dict[str, float]
    height_mm: float
    surface_nodes: np.ndarray
    cross_section_mm2: float

    def node_sets(self) -> dict[str, np.ndarray]:
        """``superior`` and ``inferior`` node sets (every node of the endplate faces)."""
        return {k: np.unique(v) for k, v in self.faces.items()}

    @property
    def axis_angle_deg(self) -> float:
        """Angle between the frame's cranial axis and the endplates' mean normal (their bisector), degrees."""
        mean = self.normals["superior"] - self.normals["inferior"]
        return float(np.degrees(np.arccos(np.clip(mean[2] / np.linalg.norm(mean), -1.0, 1.0))))

    @property
    def wedge_deg(self) -> float:
        """Angle between the two endplates' fitted planes, degrees."""
        c = -float(np.dot(self.normals["superior"], self.normals["inferior"]))
        return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))

    def as_dict(self) -> dict:
        """JSON-ready summary: face and node counts, areas, normals (frame), wedge angle, height."""
        return {
            **{f"{k}_faces": len(v) for k, v in self.faces.items()},
            **{f"{k}_nodes": len(np.unique(v)) for k, v in self.faces.items()},
            **{f"{k}_area_mm2": float(a) for k, a in self.areas_mm2.items()},
            **{f"{k}_normal": [float(x) for x in n] for k, n in self.normals.items()},
            "wedge_deg": self.wedge_deg,
            "axis_to_endplates_deg": self.axis_angle_deg,
            "cross_section_mm2": self.cross_section_mm2,
            "height_mm": self.height_mm,
            "height_definition": HEIGHT_DEFINITION,
        }


def face_adjacency(tri: np.ndarray) -> sp.csr_matrix:
    """Edge-sharing adjacency of triangles (f, 3) as a symmetric sparse matrix."""
    f = len(tri)
    edges = np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), axis=1)
    owner = np.tile(np.arange(f), 3)
    key = edges[:, 0].astype(np.int64) * (int(tri.max()) + 1) + edges[:, 1]
    order = np.argsort(key, kind="stable")
    same = key[order][1:] == key[order][:-1]
    a, b = owner[order][1:][same], owner[order][:-1][same]
    adj = sp.coo_matrix((np.ones(len(a)), (a, b)), shape=(f, f))
    return (adj + adj.T).tocsr()


def _fill_holes(selected: np.ndarray, adjacency: sp.csr_matrix, area: np.ndarray) -> np.ndarray:
    """``selected`` plus every patch of the other faces that it encloses (all but the largest-area one)."""
    rest = np.flatnonzero(~selected)
    if len(rest) == 0:
        return selected
    n, lab = connected_components(adjacency[rest][:, rest], directed=False)
    if n <= 1:
        return selected
    sizes = np.bincount(lab, weights=area[rest], minlength=n)
    out = selected.copy()
    out[rest[lab != int(np.argmax(sizes))]] = True
    return out


def set_faces(face_nodes: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """The faces (rows of ``face_nodes``) all of whose nodes lie in the node set ``nodes``."""
    inside = np.zeros(int(max(face_nodes.max(), np.max(nodes, initial=0))) + 1, bool)
    inside[nodes] = True
    return face_nodes[inside[face_nodes].all(axis=1)]


def select_endplates(
    nodes_mm: np.ndarray,
    elements: np.ndarray,
    anatomy: BodyEndplates,
    *,
    margin_mm: float = 2.0,
    depth_mm: float = 3.0,
    boundary: tuple[np.ndarray, np.ndarray] | None = None,
) -> EndplateSelection:
    """Select the superior and inferior endplate faces of a TET10 mesh from the body's anatomy.

    Parameters
    ----------
    nodes_mm : ndarray (n, 3)
        Scanner coordinates.
    elements : ndarray (m, 10)
    anatomy : BodyEndplates
        From :func:`~vertfem.vertebra.endplates.find_endplates` on the body of the meshed vertebra.
    margin_mm : float
        How far outside the body's endplate region (seen along the axis) a face may lie.
    depth_mm : float
        How far from the endplate's surface (along the axis) a face may lie.
    boundary : tuple of ndarray, optional
        The mesh's :func:`~vertfem.meshing.model.boundary_faces`, when computed already.

    Returns
    -------
    EndplateSelection

    Raises
    ------
    MeshingError
        An endplate has no face, or the two endplates share nodes (the frame does not fit the mesh).
    """
    frame = anatomy.frame
    local = frame.to_local(nodes_mm)
    tri, face_nodes = boundary if boundary is not None else boundary_faces(elements)
    p = local[tri]
    cross = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    area = 0.5 * np.linalg.norm(cross, axis=1)
    normal = cross / np.maximum(2.0 * area, 1e-300)[:, None]
    centre = p.mean(axis=1)
    adjacency = face_adjacency(tri)
    cos_max = np.cos(np.radians(RIM_BISECTOR_DEG))
    rot_t = frame.rotation.T
    faces: dict[str, np.ndarray] = {}
    normals: dict[str, np.ndarray] = {}
    areas: dict[str, float] = {}
    axial: dict[str, float] = {}
    for side, anat in (("superior", anatomy.superior), ("inferior", anatomy.inferior)):
        near = ((anatomy.distance_to_region_mm(centre, side) <= margin_mm)
                & (np.abs(centre[:, 2] - anatomy.endplate_height_mm(centre, side)) <= depth_mm))
        n_e = rot_t @ np.asarray(anat.normal)
        selected = np.zeros(len(tri), bool)
        for _ in range(2):
            selected = _fill_holes(near & (normal @ n_e >= cos_max), adjacency, area)
            if not selected.any():
                break
            mean = (normal[selected] * area[selected, None]).sum(axis=0)
            n_e = mean / np.linalg.norm(mean)
        if not selected.any():
            raise MeshingError(f"no {side} endplate face found on the mesh; the mesh does not cover the body whose "
                               "endplates were detected (mesh and vertebra from different inputs?)")
        faces[side] = face_nodes[selected]
        normals[side] = n_e
        areas[side] = float(np.sum(area[selected] * np.abs(normal[selected, 2])))
        axial[side] = float(np.average(centre[selected, 2], weights=area[selected]))
    shared = np.intersect1d(faces["superior"], faces["inferior"])
    if len(shared):
        raise MeshingError(f"the superior and inferior endplates share {len(shared)} nodes; the body is too thin "
                           "along its axis for this mesh size, or the frame's axis does not cross the endplates")
    mid = 0.5 * (axial["superior"] + axial["inferior"])
    return EndplateSelection(faces, normals, areas, axial["superior"] - axial["inferior"], np.unique(face_nodes),
                             _slab_area(local, elements, mid, 2.0))


def _slab_area(local: np.ndarray, elements: np.ndarray, z_mm: float, half_mm: float) -> float:
    """Volume of the mesh between the planes ``z ± half_mm`` (order-4 quadrature points) over the slab's thickness."""
    xi, w = quadrature(4)
    z = physical_points(local, elements, xi)[..., 2]
    x = local[elements[:, :4]]
    det = np.abs(np.linalg.det(x[:, 1:] - x[:, :1]))
    inside = np.abs(z - z_mm) <= half_mm
    return float((det[:, None] * w[None, :] * inside).sum() / (2.0 * half_mm))
