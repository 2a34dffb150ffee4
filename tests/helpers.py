"""Shared helpers for tests: grid flips, shared-data lookup, a box model for verification problems."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vertfem.geometry import ImageGeometry
from vertfem.meshing.model import VertebraMesh, boundary_faces
from vertfem.meshing.volume import box_mesh
from vertfem.vertebra import VertebralFrame

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with the reason."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared data not available: {p} is missing (tests that use ../shared need the workspace copy)")
    return p


def flip_axis(array: np.ndarray, geometry: ImageGeometry, axis_ijk: int) -> tuple[np.ndarray, ImageGeometry]:
    """Store the same physical image with one index axis reversed.

    Every voxel keeps its physical position: the array is reversed along the
    axis, the direction column negated and the origin moved to the far end.
    """
    np_axis = 2 - axis_ijk
    flipped = np.flip(array, axis=np_axis).copy()
    d = geometry.direction_matrix.copy()
    far = np.zeros(3)
    far[axis_ijk] = geometry.size[axis_ijk] - 1
    origin = geometry.index_to_physical(far[None, :])[0]
    d[:, axis_ijk] *= -1
    return flipped, ImageGeometry(geometry.size, tuple(origin), geometry.spacing_mm, tuple(d.ravel()))


def permute_axes(array: np.ndarray, geometry: ImageGeometry, order_ijk: tuple[int, int, int]):
    """Store the same image with index axes permuted (a rotation of the grid)."""
    np_order = tuple(2 - a for a in order_ijk[::-1])
    out = np.transpose(array, np_order).copy()
    d = geometry.direction_matrix[:, list(order_ijk)]
    size = tuple(geometry.size[a] for a in order_ijk)
    spacing = tuple(geometry.spacing_mm[a] for a in order_ijk)
    return out, ImageGeometry(size, geometry.origin_mm, spacing, tuple(d.ravel()))

def box_vertebra(size=(20.0, 20.0, 40.0), h=2.0, E=1000.0, nu=0.3, E_field=None) -> VertebraMesh:
    """A homogeneous (or given-moduli) box as a VertebraMesh with frame = scanner axes at its centre.

    Node sets: ``inferior`` (z = 0 face), ``superior`` (z = L face), ``surface``.
    """
    t = box_mesh(size, mesh_size_mm=h)
    x = t.nodes_mm
    _, faces = boundary_faces(t.elements)
    c = np.asarray(size) / 2
    frame = VertebralFrame(tuple(c), (0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0), -c[2], c[2])
    tol = 1e-6
    sets = {
        "inferior": np.flatnonzero(np.abs(x[:, 2]) < tol),
        "superior": np.flatnonzero(np.abs(x[:, 2] - size[2]) < tol),
        "surface": np.unique(faces),
    }
    m = len(t.elements)
    e = np.full(m, E) if E_field is None else E_field(x[t.elements[:, :4]].mean(axis=1))
    return VertebraMesh(t.nodes_mm, t.elements, e, np.full(m, 0.3), np.full(m, 0.5), np.zeros(m, np.int32), sets,
                        frame, float(size[2]), nu, t.quality, {"n_clamped": 0})


def patch_test_error(nodes: np.ndarray, elements: np.ndarray, boundary_nodes: np.ndarray, a: np.ndarray,
                     c: np.ndarray | float = 0.0) -> float:
    """Largest |u − exact| (mm) inside a homogeneous model when ``x·aᵀ + c`` is imposed on ``boundary_nodes``."""
    import scipy.sparse as sp

    from vertfem.solvers.assembly import assemble_stiffness
    from vertfem.solvers.linear import solve_spd

    exact = nodes @ np.asarray(a).T + c
    k = assemble_stiffness(nodes, elements, np.full(len(elements), 1000.0), 0.3)
    dofs = (3 * np.asarray(boundary_nodes)[:, None] + np.arange(3)).ravel()
    free = np.ones(k.shape[0])
    free[dofs] = 0
    up = np.zeros(k.shape[0])
    up[dofs] = exact.ravel()[dofs]
    df = sp.diags(free)
    u, _ = solve_spd((df @ k @ df + sp.diags(1 - free)).tocsr(), free * (-(k @ up)) + up, solver="superlu")
    return float(np.abs(u.reshape(-1, 3) - exact).max())


def phantom_vertebra(scan, labels, kernel="B40f", **options):
    """A prepared phantom vertebra (label 31 = L1); phantoms smaller than a lumbar vertebra skip the size check."""
    from vertfem.vertebra import prepare_vertebra

    return prepare_vertebra(scan, labels, "L1", kernel=kernel, anatomy_check=False, **options)
