"""Run-time and memory estimate of a study's pending tasks (part of the pre-flight check).

Each measure's time is the mean of this study's finished tasks with the same options when there are any,
otherwise a model scaled from reference runs on the bundled L1 (module constants, stated with their sources);
memory is modelled per task from the CT's size and, for FE, the model's degrees of freedom.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from ..fe.options import FEOptions
from ..focal.options import FocalOptions
from ..texture.settings import TextureOptions
from .config import Study
from .tasks import Task

__all__ = ["Estimate", "estimate", "hms", "memory_note"]

# Run-time and memory model of a task (used until the study has finished tasks of its own to measure).
# Reference: the bundled L1 (3 mm CT of 1.38 M voxels; vertebra 57.9 cm³, body 41.3 cm³) on the 2-core VM of the
# README. Times scale with the body volume and the resolution of each measure; expect ±2× between machines.
#: Reading the CT and preparing the vertebra: fixed part (s) and s per million CT voxels (bundled: 0.37 s).
PREPARE_S = (0.25, 0.09)
#: Body volume as a fraction of the whole vertebra (bundled L1: 41.3 / 57.9 cm³).
BODY_FRACTION = 0.71
#: FE: free DOF of the bundled body at 2 mm (132 k) and the analysis's time there beyond preparation (9.5 s
#: median of ``vertfem analyze``, README: ~3 s of meshing and solver start-up, the rest growing with the DOF);
#: memory grows linearly with the DOF (bench_fe_memory: 0.87 GB at 0.13 M DOF, 1.9 GB at 0.50 M, 3.1 GB at
#: 0.89 M → 0.5 GB + 2.9 kB per DOF).
FE_REFERENCE = {"dof": 132e3, "body_cm3": 41.3, "mesh_mm": 2.0, "s_fixed": 3.0, "s": 6.0, "gb_fixed": 0.5,
                "gb_per_dof": 2.9e-6}
#: Focal BMC loss: fixed s, and s per million analysis voxels for the default 15 orientations (bundled: 1.5 M
#: voxels, 1.0–1.9 s).
FOCAL_S = (0.5, 0.7)
#: Texture: fixed s, and s on the bundled body per preset (resampled as the preset says), scaled by body volume.
TEXTURE_S = (0.5, {"goller2023": 1.0, "che2025": 14.0, "ibsi": 0.2})
#: Starting a pool of worker processes (spawn, import vertfem), s.
STARTUP_S = 5.0
#: Bytes per CT voxel held by a task: float32 HU, int32 labels as read and on the CT grid, boolean masks.
BYTES_PER_CT_VOXEL = 14


@dataclass(frozen=True)
class Estimate:
    """Run time and memory of the pending tasks.

    Attributes
    ----------
    n_tasks : int
    cpu_s : dict of str → float
        Summed task time per measure, s.
    wall_s : float
        Expected wall time on ``workers`` parallel workers, s.
    workers : int
    peak_gb : float
        Largest expected memory of one task, GB (a worker holds one task at a time).
    peak_task : str
        The task it belongs to.
    basis : dict of str → str
        Per measure: ``"measured (n tasks of this study)"`` or ``"model"`` (module constants).
    """

    n_tasks: int
    cpu_s: dict[str, float]
    wall_s: float
    workers: int
    peak_gb: float
    peak_task: str
    basis: dict[str, str]

    def line(self) -> str:
        """One line of text."""
        per = ", ".join(f"{m} {hms(s)} ({self.basis[m]})" for m, s in self.cpu_s.items())
        return (f"estimate: {self.n_tasks} tasks, {hms(sum(self.cpu_s.values()))} of task time ({per}); "
                f"≈ {hms(self.wall_s)} wall on {self.workers} worker(s); peak memory ≈ {_gb(self.peak_gb)} per "
                f"worker ({self.peak_task}), {_gb(self.peak_gb * self.workers)} in all")


def _gb(x: float) -> str:
    return f"{x:.1f} GB" if x >= 1 else f"{1000 * x:.0f} MB"


def hms(s: float) -> str:
    """Seconds as h:mm:ss.

    Examples
    --------
    >>> hms(3723.4)
    '1:02:03'
    """
    s = round(s)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def model_seconds(task: Task, study: Study, size: dict | None) -> tuple[float, float]:
    """(seconds, GB) of one task from the module's model; ``size`` from the input check (None: unknown)."""
    if size is None:
        return PREPARE_S[0], 0.0
    ct_mvox = size["ct_voxels"] / 1e6
    body_cm3 = size["volume_mm3"] / 1000.0 * BODY_FRACTION
    prep = PREPARE_S[0] + PREPARE_S[1] * ct_mvox
    gb = BYTES_PER_CT_VOXEL * size["ct_voxels"] / 1e9
    opts = study.enabled()[task.measure]
    if isinstance(opts, FEOptions):
        ref = FE_REFERENCE
        dof = ref["dof"] * body_cm3 / ref["body_cm3"] * (ref["mesh_mm"] / opts.mesh_size_mm) ** 3
        return prep + ref["s_fixed"] + ref["s"] * dof / ref["dof"], gb + ref["gb_fixed"] + ref["gb_per_dof"] * dof
    if isinstance(opts, FocalOptions):
        mvox = body_cm3 * 1000.0 / opts.voxel_mm**3 / 1e6
        n_dir = len(opts.directions_frame())
        return prep + FOCAL_S[0] + FOCAL_S[1] * mvox * n_dir / 15, gb + 100 * mvox / 1000
    if isinstance(opts, TextureOptions):
        per_preset = TEXTURE_S[1].get(opts.preset, 2.0)
        return prep + TEXTURE_S[0] + per_preset * body_cm3 / FE_REFERENCE["body_cm3"], gb + 0.3
    return prep + 0.05, gb


def estimate(study: Study, tasks: list[Task], sizes: dict, workers: int) -> Estimate:
    """Task time per measure, wall time on ``workers`` and the largest task's memory.

    ``sizes`` maps (cohort row, level) to ``{"volume_mm3", "ct_voxels"}`` (from the input check).
    """
    from .store import ResultStore

    measured: dict[str, list[float]] = defaultdict(list)
    if (study.output_dir / "records").is_dir():
        enabled = {m: o.model_dump(mode="json") for m, o in study.enabled().items()}
        for r in ResultStore(study.output_dir).records():
            m = r.get("measure")
            if r.get("status") == "done" and m in enabled and r.get("settings", {}).get("options") == enabled[m]:
                measured[m].append(float(r.get("duration_s", 0.0)))
    cpu: dict[str, float] = defaultdict(float)
    basis: dict[str, str] = {}
    peak, peak_task = 0.0, "-"
    for t in tasks:
        s, gb = model_seconds(t, study, sizes.get((t.row, t.vertebra)))
        if measured.get(t.measure):
            s = float(np.mean(measured[t.measure]))
            basis[t.measure] = f"measured: mean of {len(measured[t.measure])} finished tasks"
        else:
            basis.setdefault(t.measure, "model")
        cpu[t.measure] += s
        if gb > peak:
            peak, peak_task = gb, t.task_id
    total = sum(cpu.values())
    longest = max((model_seconds(t, study, sizes.get((t.row, t.vertebra)))[0] for t in tasks), default=0.0)
    wall = max(total / max(1, workers), longest) + (STARTUP_S if workers > 1 and tasks else 0.0)
    return Estimate(len(tasks), dict(cpu), wall, workers, peak, peak_task, basis)


def memory_note(est: Estimate) -> str | None:
    """A warning when the workers' expected memory exceeds 90 % of this machine's, or None."""
    try:
        total_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError, AttributeError):
        return None
    if est.peak_gb * est.workers > 0.9 * total_gb:
        return (f"{est.workers} workers × {est.peak_gb:.1f} GB may exceed this machine's {total_gb:.1f} GB; use "
                "fewer workers (--workers) if tasks are killed")
    return None


