"""The main job: vBMD and FE of prepared vertebrae, one level or every level of a scan.

:func:`analyze` runs the two measures on one :class:`~vertfem.vertebra.Vertebra`
(vBMD on the second core while gmsh meshes); :func:`analyze_vertebra` is the
front door from file paths; :func:`analyze_levels` runs several levels of one
scan, reading the inputs once and recording, per level, either the result or
the error that refused it.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .calibration import KernelCalibration, KernelRegistry
from .errors import VertfemError
from .fe.options import FEOptions
from .fe.run import fe_analysis
from .io import LabelMap, Scan
from .measures import table_row
from .meshing import mesh_vertebra
from .options import parse_options
from .solvers import FEResult
from .solvers.warmup import warm_up_in_background
from .vbmd import VBMDOptions, VBMDResult, trabecular_vbmd
from .vertebra import Vertebra, VertebraOptions, prepare_vertebra, prepare_vertebrae

__all__ = ["VertebraAnalysis", "analyze", "analyze_vertebra", "analyze_levels", "merge_rows"]

log = logging.getLogger(__name__)


def merge_rows(*rows: dict[str, Any]) -> dict[str, Any]:
    """One row from several measures' table rows: flags united, ``cut_by_fov`` if any says so."""
    out: dict[str, Any] = {}
    flags: set[str] = set()
    for r in rows:
        flags.update(x for x in str(r.get("flags") or "").split(";") if x)
        out.update(r)
    out["flags"] = ";".join(sorted(flags))
    out["cut_by_fov"] = any(bool(r.get("cut_by_fov")) for r in rows)
    return out


@dataclass(frozen=True, eq=False)
class VertebraAnalysis:
    """FE result plus trabecular vBMD of one vertebra.

    ``timings_s`` has one entry per stage; vBMD runs beside meshing, so the
    stages add up to more than ``wall_time_s``.
    """

    vertebra: str
    kernel: str
    fe: FEResult
    vbmd: VBMDResult
    timings_s: dict[str, float]
    wall_time_s: float

    def row(self) -> dict[str, Any]:
        """One flat row: vBMD and FE values with their provenance columns (units in the column names)."""
        return {**merge_rows(table_row(self.vbmd), table_row(self.fe)), "total_time_s": self.wall_time_s}

    def save(self, folder: str | Path) -> dict[str, Path]:
        """Write ``vbmd.json`` + ROI and ``result.json`` + ``result.vtu`` into ``folder``."""
        return {**{f"vbmd_{k}": v for k, v in self.vbmd.save(folder).items()}, **self.fe.save(folder)}


def analyze(
    vertebra: Vertebra,
    *,
    fe_options: FEOptions | dict[str, Any] | None = None,
    vbmd_options: VBMDOptions | dict[str, Any] | None = None,
    outdir: str | Path | None = None,
) -> VertebraAnalysis:
    """Stiffness (N/mm), strength (N) and vBMD (mg/cm³) of a prepared vertebra.

    Examples
    --------
    >>> import vertfem as vf
    >>> p = vf.example_paths()
    >>> v = vf.prepare_vertebra(p["ct"], p["labels"], "L1", kernel="B40f")
    >>> a = vf.analyze(v, fe_options={"mesh_size_mm": 3.0})
    >>> round(a.row()["vbmd_mg_cm3"], 1), a.row()["stiffness_N_per_mm"] > 10_000
    (80.0, True)
    """
    fopts = parse_options(FEOptions, fe_options, where="fe options")
    vopts = parse_options(VBMDOptions, vbmd_options, where="vbmd options")
    start = time.perf_counter()
    timings: dict[str, float] = {}
    warm = warm_up_in_background()

    def run_vbmd() -> VBMDResult:
        t0 = time.perf_counter()
        out = trabecular_vbmd(vertebra, vopts)
        timings["vbmd"] = time.perf_counter() - t0
        return out

    # vBMD runs on the second core while gmsh (which releases the GIL) meshes on the first
    with ThreadPoolExecutor(max_workers=1) as pool:
        vb_future = pool.submit(run_vbmd)
        mesh = mesh_vertebra(vertebra, fopts.mesh_options())
        vb = vb_future.result()
    timings.update({f"mesh_{k}": v for k, v in mesh.info["timings_s"].items()})
    warm.join()
    fe = fe_analysis(vertebra, fopts, mesh=mesh)
    timings.update({f"fe_{k}": v for k, v in fe.timings_s.items()})
    res = VertebraAnalysis(vertebra.name, vb.kernel, fe, vb, timings, time.perf_counter() - start)
    if outdir is not None:
        t = time.perf_counter()
        res.save(outdir)
        timings["write"] = time.perf_counter() - t
    return res


def analyze_vertebra(
    scan: Scan | str | Path,
    labels: LabelMap | str | Path,
    vertebra: str | int = "L1",
    *,
    kernel: str | KernelCalibration | None = None,
    registry: KernelRegistry | None = None,
    vertebra_options: VertebraOptions | dict[str, Any] | None = None,
    fe_options: FEOptions | dict[str, Any] | None = None,
    vbmd_options: VBMDOptions | dict[str, Any] | None = None,
    outdir: str | Path | None = None,
) -> VertebraAnalysis:
    """Prepare one vertebra from a CT and a label map, then :func:`analyze` it.

    Examples
    --------
    >>> import vertfem as vf
    >>> p = vf.example_paths()
    >>> a = vf.analyze_vertebra(p["ct"], p["labels"], "L1", kernel="B40f")  # doctest: +SKIP
    >>> round(a.fe.stiffness_N_per_mm)  # doctest: +SKIP
    15566
    """
    v = prepare_vertebra(scan, labels, vertebra, kernel=kernel, registry=registry, options=vertebra_options)
    return analyze(v, fe_options=fe_options, vbmd_options=vbmd_options, outdir=outdir)


def analyze_levels(
    scan: Scan | str | Path,
    labels: LabelMap | str | Path,
    levels: str | int | list[str | int] = "L1",
    *,
    kernel: str | KernelCalibration | None = None,
    registry: KernelRegistry | None = None,
    vertebra_options: VertebraOptions | dict[str, Any] | None = None,
    fe_options: FEOptions | dict[str, Any] | None = None,
    vbmd_options: VBMDOptions | dict[str, Any] | None = None,
    outdir: str | Path | None = None,
) -> dict[str, VertebraAnalysis | VertfemError]:
    """:func:`analyze` every requested level of one scan; a refused level records its error, the rest go on.

    With ``outdir``, each level's files go to ``outdir/<level>/``.
    """
    prepared = prepare_vertebrae(scan, labels, levels, kernel=kernel, registry=registry, options=vertebra_options)
    out: dict[str, VertebraAnalysis | VertfemError] = {}
    for name, v in prepared.items():
        if isinstance(v, VertfemError):
            out[name] = v
            continue
        try:
            out[name] = analyze(v, fe_options=fe_options, vbmd_options=vbmd_options,
                                outdir=None if outdir is None else Path(outdir) / name)
        except VertfemError as exc:
            log.warning("%s: %s: %s", name, type(exc).__name__, exc)
            out[name] = exc
    return out
