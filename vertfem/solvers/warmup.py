"""Load the solver's compiled kernels and libraries in the background while gmsh meshes.

A fresh process pays about half a second before its first assembly and
solve: numba loads the cached assembly, projection and multigrid kernels
(initialising its compiler and its threading layer on first use) and MKL is
opened. gmsh releases the GIL while it meshes, so
:func:`warm_up_in_background`, started before meshing (``vertfem analyze``
starts it before reading the CT), does that work on the second core instead
of on the critical path.
"""

from __future__ import annotations

import logging
import threading

import numpy as np
import scipy.sparse as sp

from ..meshing.tet10 import EDGES
from .assembly import assemble_stiffness
from .fields import project_to_nodes
from .multigrid import CompiledCSR, TwoLevelPreconditioner, block_pcg, p1_prolongation
from .static import _eliminate

__all__ = ["warm_up", "warm_up_in_background"]

log = logging.getLogger(__name__)


def warm_up() -> None:
    """Run the compiled kernels once on one reference element and open MKL, so that the first real solve does not.

    Loads numba's cached assembly, projection and multigrid kernels (each load costs tens of milliseconds in a
    fresh process) and MKL's PARDISO entry point.
    """
    corners = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    nodes = np.vstack([corners, 0.5 * (corners[EDGES[:, 0]] + corners[EDGES[:, 1]])])
    elements = np.arange(10)[None]
    k = assemble_stiffness(nodes, elements, np.ones(1), 0.3)
    project_to_nodes(nodes, elements, np.ones((1, 4, 1)), np.full((1, 4), 1.0 / 24))
    a = _eliminate((k + sp.identity(k.shape[0], format="csr")).tocsr(), np.array([0]))
    pc = TwoLevelPreconditioner(a, p1_prolongation(elements, 10))
    try:
        block_pcg(CompiledCSR(a).matvecs, np.ones((1, a.shape[0])), pc.apply, rtol=1e-2)
    finally:
        pc.free()


def warm_up_in_background() -> threading.Thread:
    """Run :func:`warm_up` in a daemon thread; join it before solving.

    Examples
    --------
    >>> t = warm_up_in_background()
    >>> t.join()
    """

    def run() -> None:
        try:
            warm_up()
        except Exception:  # the real call reports the real error later
            log.debug("solver warm-up failed", exc_info=True)

    thread = threading.Thread(target=run, name="vertfem-solver-warm-up", daemon=True)
    thread.start()
    return thread
