"""Load the solver's compiled kernels and libraries in the background while gmsh meshes.

A fresh process pays about a second before its first assembly and solve:
numba loads the cached assembly kernels (initialising its compiler on first
use), pyamg is imported for the multigrid smoother, MKL is opened. gmsh
releases the GIL while it meshes, so :func:`warm_up_in_background`, started
before meshing, does that work on the second core instead of on the
critical path.
"""

from __future__ import annotations

import importlib.util
import logging
import threading

import numpy as np

from ..meshing.tet10 import EDGES
from .assembly import assemble_stiffness
from .fields import project_to_nodes

__all__ = ["warm_up", "warm_up_in_background"]

log = logging.getLogger(__name__)


def warm_up() -> None:
    """Assemble and project on one reference element and load pyamg and MKL, so that the first real solve does not."""
    corners = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    nodes = np.vstack([corners, 0.5 * (corners[EDGES[:, 0]] + corners[EDGES[:, 1]])])
    elements = np.arange(10)[None]
    assemble_stiffness(nodes, elements, np.ones(1), 0.3)
    project_to_nodes(nodes, elements, np.ones((1, 4, 1)), np.full((1, 4), 1.0 / 24))
    if importlib.util.find_spec("pyamg") is not None:
        import pyamg.relaxation.relaxation  # noqa: F401
    if importlib.util.find_spec("pypardiso") is not None:
        from .pardiso import _pardiso

        _pardiso()


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
