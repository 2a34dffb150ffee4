"""The mapped vertebra mesh: the data the FE solver consumes."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import ConfigError, MissingMaterialError
from ..vertebra.frame import VertebralFrame
from .volume import MeshQuality

__all__ = ["REGIONS", "VertebraMesh", "boundary_faces"]

#: Element region codes: bone, bone labelled cortical (``cortical_shell_mm``), PMMA cap, and the posterior elements
#: of a whole-vertebra model (bone outside the isolated body).
REGIONS = {"bone": 0, "cortical": 1, "cap": 2, "posterior": 3}

# Vertex triples of the four faces of a positively oriented tetrahedron, outward normals,
# with the mid-side nodes (VTK order) of each face.
_FACES = np.array([[0, 2, 1], [0, 1, 3], [1, 2, 3], [0, 3, 2]])
_FACE_MID = np.array([[6, 5, 4], [4, 8, 7], [5, 9, 8], [7, 9, 6]])


def boundary_faces(elements: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boundary faces of a TET10 mesh.

    Returns
    -------
    faces : ndarray (f, 3)
        Outward-oriented vertex triangles.
    face_nodes : ndarray (f, 6)
        The three vertices and three mid-side nodes of each face.
    """
    tri = elements[:, _FACES].reshape(-1, 3)
    mid = elements[:, _FACE_MID].reshape(-1, 3)
    key = np.sort(tri, axis=1)
    _, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    once = counts[inverse.ravel()] == 1
    return tri[once], np.hstack([tri[once], mid[once]])


@dataclass(frozen=True, eq=False)
class VertebraMesh:
    """A TET10 vertebra mesh in scanner coordinates with materials and node sets.

    Attributes
    ----------
    nodes_mm : ndarray (n, 3)
    elements : ndarray (m, 10)
        VTK/Abaqus C3D10 order.
    E_MPa, rho_ash_g_cm3, rho_app_g_cm3 : ndarray (m,)
        Per-element material (NaN-free once mapped).
    region : ndarray (m,) of int
        :data:`REGIONS` code per element.
    node_sets : dict of str → ndarray of int
        Named node sets (``superior``, ``inferior``, ``surface``, ...).
    frame : VertebralFrame
    height_mm : float
        Body height used for apparent strain: mean distance between the
        superior and inferior endplate faces along the cranial axis
        (:func:`~vertfem.meshing.endplates.endplate_height_mm`).
    poisson_ratio : float
    quality : MeshQuality or None
    info : dict
        Provenance and mapping summary (law, kernel, clamped count, options).
    """

    nodes_mm: np.ndarray
    elements: np.ndarray
    E_MPa: np.ndarray
    rho_ash_g_cm3: np.ndarray
    rho_app_g_cm3: np.ndarray
    region: np.ndarray
    node_sets: dict[str, np.ndarray]
    frame: VertebralFrame
    height_mm: float
    poisson_ratio: float = 0.3
    quality: MeshQuality | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        m = len(self.elements)
        if self.elements.ndim != 2 or self.elements.shape[1] != 10:
            raise ConfigError(f"elements must be (m, 10) TET10 connectivity, got {self.elements.shape}")
        for name in ("E_MPa", "rho_ash_g_cm3", "rho_app_g_cm3", "region"):
            if len(getattr(self, name)) != m:
                raise ConfigError(f"{name} has {len(getattr(self, name))} values for {m} elements")

    @functools.cached_property
    def boundary(self) -> tuple[np.ndarray, np.ndarray]:
        """The mesh's boundary faces: outward vertex triangles (f, 3) and TRI6 faces (f, 6) (:func:`boundary_faces`)."""
        return boundary_faces(self.elements)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes_mm)

    @property
    def n_elements(self) -> int:
        return len(self.elements)

    def check_materials(self) -> None:
        """Raise :class:`MissingMaterialError` unless every element has a positive modulus."""
        e = np.asarray(self.E_MPa, dtype=float)
        bad = ~np.isfinite(e) | (e <= 0)
        if bad.any():
            raise MissingMaterialError(
                f"{int(bad.sum())} of {len(e)} elements have no valid modulus (NaN or ≤ 0 MPa); "
                "map materials first (mesh_vertebra or map_element_materials)"
            )
        if not 0 <= self.poisson_ratio < 0.5:
            raise MissingMaterialError(f"Poisson's ratio must be in [0, 0.5), got {self.poisson_ratio}")

    def with_materials(self, **changes: Any) -> VertebraMesh:
        """A copy with some fields replaced (materials, node sets, info)."""
        return replace(self, **changes)
