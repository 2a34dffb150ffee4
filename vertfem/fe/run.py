"""Running the FE measure: mesh a prepared vertebra, apply the load case, solve, attach the provenance."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..meshing import VertebraMesh, mesh_vertebra
from ..options import parse_options
from ..provenance import Flag
from ..solvers import FEResult, LoadCase, solve_load_case
from ..vertebra import Vertebra
from .options import FEOptions, build_load_case

__all__ = ["fe_analysis"]

def fe_analysis(
    vertebra: Vertebra,
    options: FEOptions | dict[str, Any] | None = None,
    *,
    load_case: LoadCase | str | dict[str, Any] | None = None,
    mesh: VertebraMesh | None = None,
    **overrides: Any,
) -> FEResult:
    """Stiffness (N/mm) and strength (N) of a prepared vertebra by linear FE.

    Parameters
    ----------
    vertebra : Vertebra
        From :func:`~vertfem.vertebra.prepare_vertebra`, with a calibration.
    options : FEOptions or mapping, optional
    load_case : LoadCase, str or mapping, optional
        A load case built in Python, or the ``load_case`` option (a built-in
        name or a mapping as in the YAML); overrides ``options.load_case``.
    mesh : VertebraMesh, optional
        A mesh of this vertebra made before (skips meshing).
    **overrides
        Fields of :class:`FEOptions`.

    Returns
    -------
    FEResult
        With the provenance of the vertebra, the options and the mesh's flags.

    Examples
    --------
    >>> import vertfem as vf
    >>> p = vf.example_paths()
    >>> v = vf.prepare_vertebra(p["ct"], p["labels"], "L1", kernel="B40f")
    >>> r = vf.fe_analysis(v, mesh_size_mm=3.0)
    >>> 10_000 < r.stiffness_N_per_mm < 20_000
    True
    """
    custom = load_case if isinstance(load_case, LoadCase) else None
    if custom is None and load_case is not None:
        overrides["load_case"] = load_case
    opts = parse_options(FEOptions, options, where="fe options", **overrides)
    m = mesh if mesh is not None else mesh_vertebra(vertebra, opts.mesh_options())
    lc = custom or build_load_case(opts, m.height_mm)
    res = solve_load_case(m, lc, opts.solve_options())
    flags = [Flag.from_dict(f) for f in m.info.get("flags", [])]
    return dataclasses.replace(res, provenance=vertebra.provenance("fe", opts, *flags))
