"""Virtual PMMA embedding caps on the endplates.

Experimental protocols pot both endplates in PMMA and load the flat cement
faces; many vertebral FE models (e.g. the Bonelab spine benchmark: 2500 MPa,
ν 0.3) copy this with virtual caps. Here each cap fills the space between an
endplate and a plane perpendicular to the vertebral axis, ``thickness_mm``
beyond the endplate's outermost point, so the cement is thickest over the
concave centre of the endplate.

The cap is built from the bone mesh itself rather than re-meshed with gmsh:
every endplate face is extruded along the axis to the plane in ``n`` layers
(prisms split into three tetrahedra with a rule that depends only on global
node numbers, so neighbouring prisms split their shared quadrilaterals alike),
and the bottom layer reuses the endplate's own corner and mid-side nodes. The
interface between cement and bone is therefore exactly conforming — the
tests check that a linear field passes through it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, MeshingError
from .endplates import set_faces
from .model import REGIONS, VertebraMesh, boundary_faces
from .tet10 import EDGES
from .volume import check_jacobians, scaled_jacobian

__all__ = ["CapMesh", "add_caps", "extrude_cap"]


@dataclass(frozen=True, eq=False)
class CapMesh:
    """A cap's new nodes and TET10 elements, numbered after the bone mesh's nodes.

    Attributes
    ----------
    nodes_mm : ndarray (k, 3)
        New nodes only; their global indices start at the bone's node count.
    elements : ndarray (m, 10)
        Global node indices (bone nodes at the interface, new nodes above).
    face_nodes : ndarray
        Global indices of the nodes on the cap's flat loading face.
    n_layers : int
    """

    nodes_mm: np.ndarray
    elements: np.ndarray
    face_nodes: np.ndarray
    n_layers: int


def _with_midside_nodes(xyz: np.ndarray, tet4: np.ndarray,
                        face_nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """TET10 of the cap's tetrahedra: the endplate's own mid-side nodes on the interface edges, new straight
    midpoints elsewhere. Returns the nodes, the elements, every edge's end nodes and its mid-side node."""
    edge_pairs = np.sort(tet4[:, EDGES].reshape(-1, 2), axis=1)
    key = edge_pairs[:, 0] * (len(xyz) + 1) + edge_pairs[:, 1]
    uniq, inv = np.unique(key, return_inverse=True)
    base = np.sort(np.concatenate([face_nodes[:, [0, 1]], face_nodes[:, [1, 2]], face_nodes[:, [2, 0]]]), axis=1)
    base_mid = face_nodes[:, [3, 4, 5]].T.ravel()
    base_key = base[:, 0] * (len(xyz) + 1) + base[:, 1]
    mid = np.full(len(uniq), -1, dtype=np.int64)
    mid[np.searchsorted(uniq, base_key)] = base_mid
    new = mid < 0
    mid[new] = len(xyz) + np.arange(int(new.sum()))
    pairs = np.column_stack([uniq // (len(xyz) + 1), uniq % (len(xyz) + 1)])
    xyz = np.vstack([xyz, xyz[pairs[new]].mean(axis=1)])
    return xyz, np.hstack([tet4, mid[inv].reshape(-1, 6)]), pairs, mid


def extrude_cap(
    nodes_mm: np.ndarray,
    face_nodes: np.ndarray,
    axis: np.ndarray,
    thickness_mm: float,
    *,
    layer_mm: float,
) -> CapMesh:
    """Extrude TRI6 endplate faces along ``axis`` to a plane ``thickness_mm`` beyond their outermost node.

    Parameters
    ----------
    nodes_mm : ndarray (n, 3)
        Nodes of the bone mesh.
    face_nodes : ndarray (f, 6)
        Endplate boundary faces: three corners (outward orientation), then
        the mid-side nodes of edges (0,1), (1,2), (2,0).
    axis : ndarray (3,)
        Outward unit axis (cranial for the superior cap, caudal for the inferior).
    thickness_mm : float
        Cement thickness at the endplate's outermost point, mm.
    layer_mm : float
        Largest layer height (the thickest column is split into
        ``ceil(height / layer_mm)`` layers).

    Returns
    -------
    CapMesh
    """
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    n0 = len(nodes_mm)
    corners = face_nodes[:, :3]
    cols, local = np.unique(corners, return_inverse=True)
    local = local.reshape(-1, 3)
    z = nodes_mm[cols] @ axis
    height = z.max() + thickness_mm - z
    n_layers = max(1, int(np.ceil(height.max() / layer_mm - 1e-9)))
    k = len(cols)
    # layer 0 is the bone's own nodes; layers 1..n are new, numbered layer-major after the bone
    frac = np.arange(1, n_layers + 1) / n_layers
    layer_pts = nodes_mm[cols][None] + (frac[:, None] * height[None, :])[..., None] * axis
    ids = np.vstack([cols[None, :], n0 + np.arange(n_layers * k).reshape(n_layers, k)])

    # prism split: corners sorted by column index; the rule depends on global numbers only
    order = np.argsort(cols[local], axis=1)
    tri = np.take_along_axis(local, order, axis=1)
    a, b, c = tri.T
    tets = []
    for layer in range(n_layers):
        lo, hi = ids[layer], ids[layer + 1]
        tets += [
            np.column_stack([lo[a], lo[b], lo[c], hi[a]]),
            np.column_stack([lo[b], lo[c], hi[a], hi[b]]),
            np.column_stack([lo[c], hi[a], hi[b], hi[c]]),
        ]
    tet4 = np.vstack(tets)
    xyz = np.vstack([nodes_mm, layer_pts.reshape(-1, 3)])
    p = xyz[tet4]
    vol6 = np.einsum("ij,ij->i", p[:, 1] - p[:, 0], np.cross(p[:, 2] - p[:, 0], p[:, 3] - p[:, 0]))
    flip = vol6 < 0
    tet4[flip, 1], tet4[flip, 2] = tet4[flip, 2].copy(), tet4[flip, 1].copy()

    xyz, elements, pairs, mid = _with_midside_nodes(xyz, tet4, face_nodes)

    top_corner = ids[-1]
    top_edges = np.isin(pairs, top_corner).all(axis=1)
    face = np.concatenate([top_corner, mid[top_edges]])
    try:
        check_jacobians(xyz, elements)
    except MeshingError as exc:
        raise MeshingError(
            f"the {thickness_mm} mm cap could not be extruded along the axis: {exc}. The endplate folds over "
            "itself seen along the axis; use a flat_cut_mm"
        ) from exc
    return CapMesh(xyz[n0:], elements, np.sort(face), n_layers)


def add_caps(
    mesh: VertebraMesh,
    thickness_mm: float,
    modulus_MPa: float = 2500.0,
    *,
    layer_mm: float | None = None,
) -> VertebraMesh:
    """Embed both endplates of a mapped mesh in virtual PMMA caps.

    Each cap covers the mesh's endplate faces — the boundary faces all of
    whose nodes lie in the ``superior`` (``inferior``) node set, i.e. the
    endplates found from the body's anatomy (:mod:`vertfem.meshing.endplates`)
    — and ends in a flat face perpendicular to the vertebral axis,
    ``thickness_mm`` beyond the endplate's outermost node. Cap elements get
    region ``cap``, ``E = modulus_MPa``, zero density, and the mesh's
    Poisson's ratio.

    Parameters
    ----------
    mesh : VertebraMesh
        Mapped bone mesh with its frame and endplate node sets.
    thickness_mm : float
        Cement thickness at the outermost point of each endplate, mm.
    modulus_MPa : float
        Young's modulus of the cement (PMMA ≈ 2.4–3.3 GPa; 2500 MPa as in the
        Bonelab spine benchmark).
    layer_mm : float, optional
        Largest layer height inside the caps; default the mean edge length
        of the endplate faces.

    Returns
    -------
    VertebraMesh
        Node sets: ``superior`` / ``inferior`` become the flat cap faces (so
        every load case loads through the cement); the bone's endplates stay
        as ``superior_endplate`` / ``inferior_endplate``; ``superior_cap`` /
        ``inferior_cap`` hold all cap nodes. ``height_mm`` remains the bone's
        height (apparent strain refers to the bone). ``info["caps"]`` records
        the parameters and cap element counts.

    Examples
    --------
    >>> capped = add_caps(mesh, thickness_mm=5.0, modulus_MPa=2500.0)  # doctest: +SKIP
    >>> res = solve_load_case(capped, axial_compression(capped.height_mm))  # doctest: +SKIP
    """
    if thickness_mm <= 0 or modulus_MPa <= 0:
        raise ConfigError(f"cap thickness and modulus must be positive, got {thickness_mm} mm and {modulus_MPa} MPa")
    if np.any(mesh.region == REGIONS["cap"]):
        raise MeshingError("the mesh already has caps; add them to the uncapped mesh")
    _, bfaces = boundary_faces(mesh.elements)
    patches: dict[str, np.ndarray] = {}
    for name in ("superior", "inferior"):
        if name not in mesh.node_sets:
            raise MeshingError(f"the mesh has no {name!r} node set to cap; mesh it with mesh_vertebra")
        patches[name] = set_faces(bfaces, mesh.node_sets[name])
        if len(patches[name]) == 0:
            raise MeshingError(f"the {name!r} node set holds no complete boundary face to cap")
    if layer_mm is None:
        p = mesh.nodes_mm[np.vstack(list(patches.values()))[:, :3]]
        layer_mm = float(np.linalg.norm(p - np.roll(p, 1, axis=1), axis=2).mean())
    nodes = mesh.nodes_mm
    parts = [mesh.elements]
    sets = {k: v for k, v in mesh.node_sets.items() if k not in ("superior", "inferior", "surface")}
    caps_info: dict = {"thickness_mm": float(thickness_mm), "modulus_MPa": float(modulus_MPa)}
    ax = np.asarray(mesh.frame.cranial, float)
    for name, sign in (("superior", 1.0), ("inferior", -1.0)):
        patch = patches[name]
        cap = extrude_cap(nodes, patch, sign * ax, thickness_mm, layer_mm=layer_mm)
        n_before = len(nodes)
        nodes = np.vstack([nodes, cap.nodes_mm])
        parts.append(cap.elements)
        sets[f"{name}_endplate"] = np.unique(patch)
        sets[f"{name}_cap"] = np.concatenate([np.unique(patch), np.arange(n_before, len(nodes))])
        sets[name] = cap.face_nodes
        sj = scaled_jacobian(nodes, cap.elements)
        caps_info[name] = {"n_elements": len(cap.elements), "n_layers": cap.n_layers,
                           "n_endplate_faces": len(patch), "min_scaled_jacobian": float(sj.min())}
    elements = np.vstack(parts)
    m_new = len(elements) - mesh.n_elements
    sets["surface"] = np.unique(boundary_faces(elements)[1])
    return mesh.with_materials(
        nodes_mm=nodes,
        elements=elements,
        E_MPa=np.concatenate([mesh.E_MPa, np.full(m_new, float(modulus_MPa))]),
        rho_ash_g_cm3=np.concatenate([mesh.rho_ash_g_cm3, np.zeros(m_new)]),
        rho_app_g_cm3=np.concatenate([mesh.rho_app_g_cm3, np.zeros(m_new)]),
        region=np.concatenate([mesh.region, np.full(m_new, REGIONS["cap"], dtype=mesh.region.dtype)]),
        node_sets=sets,
        info={**mesh.info, "caps": caps_info},
    )
