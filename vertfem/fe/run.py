"""Running the FE measure: mesh a prepared vertebra, apply the load case(s), solve, attach the provenance."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..labels import check_supported_level
from ..meshing import VertebraMesh, mesh_vertebra
from ..options import parse_options
from ..provenance import Flag
from ..solvers import FEResult, LoadCase, solve_load_cases
from ..vertebra import Vertebra
from .options import FEOptions, build_load_cases

__all__ = ["fe_analysis"]


def fe_analysis(
    vertebra: Vertebra,
    options: FEOptions | dict[str, Any] | None = None,
    *,
    load_case: LoadCase | str | dict[str, Any] | None = None,
    mesh: VertebraMesh | None = None,
    **overrides: Any,
) -> FEResult:
    """Stiffness and strength of a prepared vertebra by linear FE, for one load case or a sweep.

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
        Fields of :class:`FEOptions` (``sweep=("flexion", "extension")``).

    Returns
    -------
    FEResult
        The main load case's result, with the provenance of the vertebra, the
        options and the mesh's flags; the ``sweep`` cases (solved on the same
        assembled model) in ``result.sweep``.

    Raises
    ------
    UnsupportedLevelError
        The level is not a vertebra with a body between two endplates (sacrum, S1, C1, C2).

    Examples
    --------
    >>> import vertfem as vf
    >>> p = vf.example_paths()
    >>> v = vf.prepare_vertebra(p["ct"], p["labels"], "L1", kernel="B40f")
    >>> r = vf.fe_analysis(v, mesh_size_mm=3.0, sweep=("flexion",))
    >>> 10_000 < r.stiffness_N_per_mm < 20_000, 20 < r.sweep[0].rotational_stiffness_Nm_per_deg < 80
    (True, True)
    """
    check_supported_level(vertebra.name, "FE of the vertebral body")
    custom = load_case if isinstance(load_case, LoadCase) else None
    if custom is None and load_case is not None:
        overrides["load_case"] = load_case
    opts = parse_options(FEOptions, options, where="fe options", **overrides)
    m = mesh if mesh is not None else mesh_vertebra(vertebra, opts.mesh_options())
    cases = build_load_cases(opts, m.height_mm)
    if custom is not None:
        cases[0] = custom
    main, *rest = solve_load_cases(m, cases, opts.solve_options(), nodal_cases=(0,))
    flags = [Flag.from_dict(f) for f in m.info.get("flags", [])]
    return dataclasses.replace(main, sweep=tuple(rest), provenance=vertebra.provenance("fe", opts, *flags))
