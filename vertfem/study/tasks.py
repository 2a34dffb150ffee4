"""Study tasks: one per (subject, scan, vertebra, measure); running one returns a plain record.

``run_task`` is a pure function of its arguments (no shared state), so the
local pool and dask workers produce identical records.
"""

from __future__ import annotations

import re
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from .config import Study

__all__ = ["Task", "make_tasks", "run_task"]


@dataclass(frozen=True)
class Task:
    """One unit of work; ``task_id`` names its record file."""

    task_id: str
    subject: str
    scan: str
    kernel: str
    vertebra: str
    measure: str
    ct: str
    mask: str
    row: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _safe(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", s)


def make_tasks(study: Study, cohort: pd.DataFrame) -> list[Task]:
    """All tasks of a study, in cohort order (a row's vertebra cell may list several: ``L1;L2``)."""
    c = study.columns
    tasks = []
    for i, r in cohort.iterrows():
        for vert in re.split(r"[;,\s]+", str(r[c.vertebra]).strip()):
            if not vert:
                continue
            for m in study.measures.enabled():
                tid = "__".join(_safe(str(x)) for x in (r[c.subject], r[c.scan], r[c.kernel], vert, m))
                tasks.append(Task(tid, str(r[c.subject]), str(r[c.scan]), str(r[c.kernel]), vert, m,
                                  str(study.path(r[c.ct])), str(study.path(r[c.mask])), int(i)))
    return tasks


def _measure(task: Task, study: Study, outdir: Path) -> dict[str, Any]:
    from ..analysis import analyze_vertebra
    from ..calibration import resolve_calibration
    from ..density import trabecular_vbmd
    from ..focal import FocalOptions, focal_bmc_loss
    from ..io import read_labels, read_scan
    from ..meshing.body import isolate_body
    from ..selection import select_vertebra
    from ..solvers import SolveOptions
    from ..texture import texture_features

    registry = study.registry()
    m = study.measures
    if task.measure == "fe":
        out = outdir / "fe" / task.task_id if m.fe.save_fields else None
        res = analyze_vertebra(task.ct, task.mask, task.vertebra, kernel=task.kernel, registry=registry,
                               convention=study.convention, load_case=m.fe.load_case,
                               mesh_options=m.fe.mesh_options(),
                               solve_options=SolveOptions(solver=m.fe.solver, nodal_fields=m.fe.save_fields),
                               vbmd_erosion_mm=m.vbmd.erosion_mm, outdir=out)
        # vBMD has its own task; run times differ between runs and backends and stay in the record only
        skip = {"vertebra", "kernel", "total_time_s", "acr_class", *res.vbmd.as_row()}
        return {k: v for k, v in res.row().items() if k not in skip}
    scan = read_scan(task.ct)
    cal = resolve_calibration(task.kernel, registry=registry)
    vert = select_vertebra(scan, read_labels(task.mask), task.vertebra, convention=study.convention)
    if task.measure == "vbmd":
        body = isolate_body(vert.mask, scan.geometry)
        r = trabecular_vbmd(scan, body, cal, erosion_mm=m.vbmd.erosion_mm)
        return {k: v for k, v in r.as_row().items() if k != "kernel"}
    if task.measure == "focal":
        r = focal_bmc_loss(scan, vert.mask, cal, FocalOptions(**m.focal.options))
        return {k: v for k, v in r.row().items() if k != "kernel"}
    if task.measure == "texture":
        return texture_features(scan, vert.mask, preset_name=m.texture.preset,
                                vois=tuple(m.texture.vois) if m.texture.vois else None, shell_mm=m.texture.shell_mm)
    raise ValueError(f"unknown measure {task.measure!r}")


def _plain(v: Any) -> Any:
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def run_task(task: Task, study: Study, outdir: str | Path, backend: str = "local") -> dict[str, Any]:
    """Run one task; never raises for a failure of the measure itself — it is recorded.

    Returns
    -------
    dict
        The record: the task's fields, ``status`` (done/failed), ``values``
        or ``error_type``/``error_message``/``traceback``, timing and provenance.
    """
    import warnings

    t0 = time.time()
    rec: dict[str, Any] = {**task.as_dict(), "vertfem_version": __version__, "backend": backend,
                           "started": t0}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            values = _measure(task, study, Path(outdir))
        rec.update(status="done", values={k: _plain(v) for k, v in values.items()},
                   warnings=sorted({f"{w.category.__name__}: {w.message}" for w in caught}))
    except Exception as exc:  # the study records every failure and goes on
        rec.update(status="failed", error_type=type(exc).__name__, error_message=str(exc),
                   traceback=traceback.format_exc(limit=6))
    rec["duration_s"] = time.time() - t0
    return rec
