"""Study tasks: one per (subject, scan, vertebra, measure); running one returns a plain record.

A task's identity has two parts: ``task_id`` names its record file (who and
what), ``settings_sha256`` hashes everything that determines its result — the
measure's options, the vertebra stage's options, the kernel's calibration, the
content hashes of the CT and the mask, and vertfem's major.minor version. A
finished record is reused only when its ``settings_sha256`` matches, so a
rerun with changed settings (or changed input files) recomputes.

``run_task`` is a pure function of its arguments (no shared state), so the
local pool and dask workers produce identical records.
"""

from __future__ import annotations

import json
import re
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..errors import ConfigError, VertfemError
from ..io import file_sha256
from ..labels import parse_levels
from ..options import options_sha256
from .config import Study

__all__ = ["InputHashes", "Task", "make_tasks", "run_task", "task_id"]


@dataclass(frozen=True)
class Task:
    """One unit of work; ``task_id`` names its record file, ``settings_sha256`` identifies its settings."""

    task_id: str
    subject: str
    scan: str
    kernel: str
    vertebra: str
    measure: str
    ct: str
    mask: str
    row: int
    settings: dict[str, Any]
    settings_sha256: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (written into the task's record)."""
        return asdict(self)


def _safe(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", s)


def task_id(subject: str, scan: str, kernel: str, vertebra: str, measure: str) -> str:
    """The id (and record file name) of a task.

    Examples
    --------
    >>> task_id("S 01", "1", "B40f", "L1", "fe")
    'S-01__1__B40f__L1__fe'
    """
    return "__".join(_safe(str(x)) for x in (subject, scan, kernel, vertebra, measure))


class InputHashes:
    """Content hashes of input files, cached by (size, mtime) in ``<output>/.input_hashes.json``.

    Hashing every CT at each rerun would cost seconds per scan; a file whose
    size and modification time are unchanged keeps its hash.
    """

    def __init__(self, outdir: Path) -> None:
        self.path = outdir / ".input_hashes.json"
        try:
            self._cache: dict[str, Any] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self._cache = {}

    def __call__(self, path: str | Path) -> str | None:
        p = Path(path)
        try:
            st = p.stat() if p.is_file() else max((q.stat() for q in p.rglob("*") if q.is_file()),
                                                 key=lambda s: s.st_mtime_ns)
        except (OSError, ValueError):
            return None  # a missing input: the task fails with the reader's error
        key = str(p.resolve())
        stamp = [st.st_size, st.st_mtime_ns]
        hit = self._cache.get(key)
        if hit and hit["stamp"] == stamp:
            return str(hit["sha256"])
        sha = file_sha256(p)
        self._cache[key] = {"stamp": stamp, "sha256": sha}
        return sha

    def save(self) -> None:
        """Write the cache (best effort: a read-only output folder only costs rehashing next time)."""
        try:
            self.path.write_text(json.dumps(self._cache))
        except OSError:
            return


def _settings(study: Study, measure: str, kernel: str, ct_sha: str | None, mask_sha: str | None) -> dict[str, Any]:
    entry = study.calibrations.get(kernel)
    return {
        "measure": measure,
        "options": study.enabled()[measure].model_dump(mode="json"),
        "vertebra_options": study.vertebra.model_dump(mode="json"),
        "calibration": entry.model_dump(mode="json") if entry is not None else kernel,
        "ct_sha256": ct_sha,
        "mask_sha256": mask_sha,
        "vertfem": ".".join(__version__.split(".")[:2]),
    }


def make_tasks(study: Study, cohort: pd.DataFrame, hashes: InputHashes | None = None) -> list[Task]:
    """All tasks of a study, in cohort order.

    A row's vertebra cell may name several levels (``L1;L2``, ``L1-L4``).

    Raises
    ------
    ConfigError
        A vertebra cell that is not a list of levels (``all`` needs the label map and is not accepted here).
    """
    c = study.columns
    hashes = hashes or InputHashes(study.output_dir)
    tasks = []
    for i, r in cohort.iterrows():
        cell = str(r[c.vertebra]).strip()
        if cell.lower() == "all":
            raise ConfigError(f"cohort row {i}: vertebra 'all' is not accepted in a study; list the levels "
                              "(e.g. L1-L4) so that every task is known before the run")
        try:
            levels = [str(x) for x in parse_levels(cell, study.convention)]
        except VertfemError:
            levels = [cell]  # an unknown level fails its own tasks, with the error recorded
        ct, mask = study.path(r[c.ct]), study.path(r[c.mask])
        ct_sha, mask_sha = hashes(ct), hashes(mask)
        for vert in levels:
            for m in study.enabled():
                settings = _settings(study, m, str(r[c.kernel]), ct_sha, mask_sha)
                tid = task_id(r[c.subject], r[c.scan], r[c.kernel], vert, m)
                tasks.append(Task(tid, str(r[c.subject]), str(r[c.scan]), str(r[c.kernel]), vert, m, str(ct),
                                  str(mask), int(i), settings, options_sha256(settings)))
    hashes.save()
    return tasks


def _measure(task: Task, study: Study, outdir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The task's table row and its provenance block."""
    from ..measures import get_measure, table_row
    from ..vertebra import prepare_vertebra

    m = get_measure(task.measure)
    vert = prepare_vertebra(task.ct, task.mask, task.vertebra, kernel=task.kernel if m.calibrated else None,
                            registry=study.registry(), options=study.vertebra)
    res = m.run(vert, study.enabled()[task.measure])
    if task.measure in study.save_files:
        res.save(outdir / "files" / task.task_id)
    row = {k: v for k, v in table_row(res).items() if k not in ("vertebra", "kernel")}
    return row, res.provenance.as_dict()


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
        The record: the task's fields (with its settings and their hash),
        ``status`` (done/failed), ``values`` and ``provenance`` or
        ``error_type``/``error_message``/``traceback``, timing and backend.
    """
    import warnings

    t0 = time.time()
    rec: dict[str, Any] = {**task.as_dict(), "vertfem_version": __version__, "backend": backend, "started": t0}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            values, provenance = _measure(task, study, Path(outdir))
        rec.update(status="done", values={k: _plain(v) for k, v in values.items()}, provenance=provenance,
                   warnings=sorted({f"{w.category.__name__}: {w.message}" for w in caught}))
    except Exception as exc:  # the study records every failure and goes on
        rec.update(status="failed", error_type=type(exc).__name__, error_message=str(exc),
                   traceback=traceback.format_exc(limit=6))
    rec["duration_s"] = time.time() - t0
    return rec
