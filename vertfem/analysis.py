"""The main job: vBMD and FE of prepared vertebrae, one level or every level of a scan.

:func:`analyze` runs the two measures on one :class:`~vertfem.vertebra.Vertebra`
(vBMD on the second core while gmsh meshes); :func:`analyze_vertebra` is the
front door from file paths; :func:`analyze_levels` runs several levels of one
scan, reading the scan, label map and calibration once, keeping the solver's
compiled kernels warm, and meshing the next level while the current one
solves; it records, per level, either the result or the error that refused it
(levels without a vertebral body between two endplates — sacrum, S1, C1, C2 —
are refused by name). :func:`levels_table` turns the levels into one table,
one row per level, with the per-level plausibility checks of
:mod:`vertfem.fe.plausibility`.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .calibration import KernelCalibration, KernelRegistry
from .errors import VertfemError
from .fe.options import FEOptions
from .fe.plausibility import check_levels
from .fe.run import fe_analysis
from .io import LabelMap, Scan
from .labels import check_supported_level
from .materials import get_law
from .measures import table_row
from .meshing import VertebraMesh, mesh_vertebra
from .options import parse_options
from .solvers import FEResult
from .solvers.warmup import warm_up_in_background
from .vbmd import VBMDOptions, VBMDResult, trabecular_vbmd
from .vertebra import Vertebra, VertebraOptions, prepare_vertebra, prepare_vertebrae

__all__ = ["VertebraAnalysis", "analyze", "analyze_levels", "analyze_prepared", "analyze_vertebra", "levels_table",
           "merge_rows"]

log = logging.getLogger(__name__)

#: What :func:`analyze` does, checked first: FE needs a vertebral body between two endplates.
_METHOD = "vertfem analyze (vBMD and FE of the vertebral body)"


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
        """Write ``vbmd.json`` + ROI and ``result.json`` + ``result.vtu`` (+ ``sweep.csv``) into ``folder``."""
        return {**{f"vbmd_{k}": v for k, v in self.vbmd.save(folder).items()}, **self.fe.save(folder)}


@dataclass(frozen=True, eq=False)
class _Meshed:
    """A level after its first stage: the mesh and vBMD, with their timings."""

    vertebra: Vertebra
    mesh: VertebraMesh
    vbmd: VBMDResult
    timings_s: dict[str, float]
    wall_time_s: float


def _mesh_and_vbmd(vertebra: Vertebra, fopts: FEOptions, vopts: VBMDOptions) -> _Meshed:
    """Stage one: vBMD on a second thread while gmsh (which releases the GIL) meshes."""
    check_supported_level(vertebra.name, _METHOD)
    log.info("%s: meshing (vBMD beside it)", vertebra.name)
    start = time.perf_counter()
    timings: dict[str, float] = {}

    def run_vbmd() -> VBMDResult:
        t0 = time.perf_counter()
        out = trabecular_vbmd(vertebra, vopts)
        timings["vbmd"] = time.perf_counter() - t0
        return out

    with ThreadPoolExecutor(max_workers=1) as pool:
        vb_future = pool.submit(run_vbmd)
        mesh = mesh_vertebra(vertebra, fopts.mesh_options())
        vb = vb_future.result()
    timings.update({f"mesh_{k}": v for k, v in mesh.info["timings_s"].items()})
    return _Meshed(vertebra, mesh, vb, timings, time.perf_counter() - start)


def _solve(meshed: _Meshed, fopts: FEOptions, outdir: str | Path | None) -> VertebraAnalysis:
    """Stage two: the FE solve(s) on the mesh, then the files."""
    start = time.perf_counter()
    log.info("%s: solving", meshed.vertebra.name)
    fe = fe_analysis(meshed.vertebra, fopts, mesh=meshed.mesh)
    timings = {**meshed.timings_s, **{f"fe_{k}": v for k, v in fe.timings_s.items()}}
    res = VertebraAnalysis(meshed.vertebra.name, meshed.vbmd.kernel, fe, meshed.vbmd, timings,
                           meshed.wall_time_s + time.perf_counter() - start)
    if outdir is not None:
        t = time.perf_counter()
        res.save(outdir)
        timings["write"] = time.perf_counter() - t
    return res


def analyze(
    vertebra: Vertebra,
    *,
    fe_options: FEOptions | dict[str, Any] | None = None,
    vbmd_options: VBMDOptions | dict[str, Any] | None = None,
    outdir: str | Path | None = None,
) -> VertebraAnalysis:
    """Stiffness (N/mm), strength (N) and vBMD (mg/cm³) of a prepared vertebra.

    Raises
    ------
    UnsupportedLevelError
        The sacrum, S1, C1 or C2 (no vertebral body between two endplates).

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
    warm = warm_up_in_background()
    meshed = _mesh_and_vbmd(vertebra, fopts, vopts)
    warm.join()
    return _solve(meshed, fopts, outdir)


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
    15563
    """
    check_supported_level(str(vertebra), _METHOD)
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

    The scan, the label map and the calibration are read once; the next
    level is meshed (and its vBMD computed) on a worker thread while the
    current level solves. With ``outdir``, each level's files go to
    ``outdir/<level>/``; :func:`levels_table` makes the table.

    Examples
    --------
    >>> import vertfem as vf
    >>> p = vf.example_paths()
    >>> out = vf.analyze_levels(p["ct"], p["labels"], "L5,S1", kernel="B40f",
    ...                         fe_options={"mesh_size_mm": 4.0})  # doctest: +SKIP
    >>> type(out["S1"]).__name__  # doctest: +SKIP
    'UnsupportedLevelError'
    """
    warm = warm_up_in_background()
    prepared = prepare_vertebrae(scan, labels, levels, kernel=kernel, registry=registry, options=vertebra_options)
    return analyze_prepared(prepared, fe_options=fe_options, vbmd_options=vbmd_options, outdir=outdir, warm=warm)


def analyze_prepared(
    prepared: dict[str, Vertebra | VertfemError],
    *,
    fe_options: FEOptions | dict[str, Any] | None = None,
    vbmd_options: VBMDOptions | dict[str, Any] | None = None,
    outdir: str | Path | None = None,
    warm: threading.Thread | None = None,
) -> dict[str, VertebraAnalysis | VertfemError]:
    """:func:`analyze` prepared levels (:func:`~vertfem.vertebra.prepare_vertebrae`), meshing one ahead.

    Entries that are errors (levels the preparation refused) are passed through.
    """
    fopts = parse_options(FEOptions, fe_options, where="fe options")
    vopts = parse_options(VBMDOptions, vbmd_options, where="vbmd options")
    warm = warm or warm_up_in_background()
    out: dict[str, VertebraAnalysis | VertfemError] = {n: v for n, v in prepared.items() if isinstance(v, VertfemError)}
    todo = [(n, v) for n, v in prepared.items() if not isinstance(v, VertfemError)]
    with ThreadPoolExecutor(max_workers=1) as pool:
        # one worker meshes level k+1 (and computes its vBMD) while the main thread solves level k
        futures = [pool.submit(_mesh_and_vbmd, todo[0][1], fopts, vopts)] if todo else []
        for k, (name, _) in enumerate(todo):
            if k + 1 < len(todo):
                futures.append(pool.submit(_mesh_and_vbmd, todo[k + 1][1], fopts, vopts))
            try:
                meshed = futures[k].result()
                warm.join()
                out[name] = _solve(meshed, fopts, None if outdir is None else Path(outdir) / name)
            except VertfemError as exc:
                log.warning("%s: %s: %s", name, type(exc).__name__, exc)
                out[name] = exc
    return {name: out[name] for name in prepared}


def levels_table(results: dict[str, VertebraAnalysis | VertfemError], *,
                 fe_options: FEOptions | dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One row per level: its values, or the error that refused it; plus the per-level plausibility checks.

    The checks (:func:`~vertfem.fe.plausibility.check_levels`) compare each
    level with the scan's other levels; a flagged level lists its codes in
    ``plausibility_flags`` (also added to ``flags``) and says why in
    ``plausibility_reasons``.
    """
    fopts = parse_options(FEOptions, fe_options, where="fe options")
    law = get_law(fopts.law)
    exponent = law.b if law.form == "power" else 1.0
    rows: dict[str, dict[str, Any]] = {}
    for name, res in results.items():
        if isinstance(res, VertfemError):
            rows[name] = {"vertebra": name, "status": "failed", "error_type": type(res).__name__,
                          "error_message": str(res)}
        else:
            rows[name] = {"vertebra": name, "status": "done", **res.row()}
    checks = check_levels({n: r for n, r in rows.items() if r["status"] == "done"}, law_exponent=exponent)
    for name, check in checks.items():
        row = rows[name]
        row.update(check.row())
        if check.flags:
            row["flags"] = ";".join(sorted({*str(row.get("flags") or "").split(";"), *(f.code for f in check.flags)}
                                           - {""}))
    return list(rows.values())
