from __future__ import annotations

import numpy as np

from vertfem.meshing.frame import VertebralFrame
from vertfem.meshing.model import VertebraMesh, boundary_faces
from vertfem.meshing.volume import box_mesh


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
