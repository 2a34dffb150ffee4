"""The nonlinear FE measure: elastic–plastic strength of a prepared vertebra to 2 % apparent strain.

Its options are the FE measure's (mesh, materials, load case) plus the
elastic–plastic analysis' (:class:`~vertfem.solvers.nonlinear_options.NonlinearOptions`), one flat model, so
``measures: {fe_nonlinear: {mesh_size_mm: 2, post_yield_ratio: 0.05}}`` in a study and
``vertfem fe_nonlinear ... --post-yield-ratio 0.05`` on the command line name the same options. The numerical
stack is imported only when the measure runs.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from pydantic import model_validator

from ..labels import check_supported_level
from ..options import parse_options
from ..provenance import Flag
from ..solvers.nonlinear_options import NonlinearOptions
from .options import FEOptions, build_load_cases

if TYPE_CHECKING:
    from ..meshing.model import VertebraMesh
    from ..solvers.loadcases import LoadCase
    from ..solvers.nonlinear_result import NonlinearResult
    from ..vertebra import Vertebra

__all__ = ["NonlinearFEOptions", "fe_nonlinear"]


class NonlinearFEOptions(FEOptions, NonlinearOptions):
    """Options of the nonlinear FE measure: :class:`~vertfem.fe.options.FEOptions` and
    :class:`~vertfem.solvers.nonlinear_options.NonlinearOptions` in one flat model."""

    @model_validator(mode="after")
    def _one_load_case(self) -> NonlinearFEOptions:
        # a sweep would be silently dropped: each nonlinear case is its own incremental analysis
        if self.sweep:
            raise ValueError("the nonlinear analysis runs one load case (load_case); a sweep of load cases is an "
                             "option of the linear 'fe' measure — run fe_nonlinear once per case instead")
        return self

    def nonlinear_options(self) -> NonlinearOptions:
        """The elastic–plastic part."""
        return NonlinearOptions(**{k: getattr(self, k) for k in NonlinearOptions.model_fields})


def fe_nonlinear(
    vertebra: Vertebra,
    options: NonlinearFEOptions | dict[str, Any] | None = None,
    *,
    load_case: LoadCase | str | dict[str, Any] | None = None,
    mesh: VertebraMesh | None = None,
    **overrides: Any,
) -> NonlinearResult:
    """Elastic–plastic strength (N) of a prepared vertebra, with its load–displacement curve.

    Parameters
    ----------
    vertebra : Vertebra
        From :func:`~vertfem.vertebra.prepare_vertebra`, with a calibration.
    options : NonlinearFEOptions or mapping, optional
    load_case : LoadCase, str or mapping, optional
        As in :func:`~vertfem.fe.run.fe_analysis` (default: axial compression).
    mesh : VertebraMesh, optional
        A mesh of this vertebra made before (skips meshing).
    **overrides
        Fields of :class:`NonlinearFEOptions`.

    Returns
    -------
    NonlinearResult
        ``row()`` has ``strength_nonlinear_N`` beside the linear rule at the same strain.

    Examples
    --------
    >>> import vertfem as vf
    >>> p = vf.example_paths()
    >>> v = vf.prepare_vertebra(p["ct"], p["labels"], "L1", kernel="B40f")
    >>> r = vf.fe.fe_nonlinear(v, mesh_size_mm=4.0, n_steps=4)  # doctest: +SKIP
    >>> r.row()["strength_nonlinear_N"] < r.row()["strength_linear_same_strain_N"]  # doctest: +SKIP
    True
    """
    from ..meshing import mesh_vertebra
    from ..solvers.loadcases import LoadCase
    from ..solvers.nonlinear import solve_nonlinear

    check_supported_level(vertebra.name, "FE of the vertebral body")

    custom = load_case if isinstance(load_case, LoadCase) else None
    if custom is None and load_case is not None:
        overrides["load_case"] = load_case
    opts = parse_options(NonlinearFEOptions, options, where="fe_nonlinear options", **overrides)
    m = mesh if mesh is not None else mesh_vertebra(vertebra, opts.mesh_options())
    res = solve_nonlinear(m, custom or build_load_cases(opts, m.height_mm)[0], opts.nonlinear_options())
    flags = [Flag.from_dict(f) for f in m.info.get("flags", [])]
    return dataclasses.replace(res, provenance=vertebra.provenance("fe_nonlinear", opts, *flags))
