"""Study benchmark: the kernel-comparison example end to end, and what the runner itself costs.

Prints the cohort-generation time, the study's wall time, tasks per minute,
the mean task time per measure, and the runner's overhead — all as ratios to
the mean task time, from one run of ``run_study`` as ``vertfem study run``
calls it (pre-flight check included):

* **start**: idle worker time before the first task starts (hashing the
  inputs, the pre-flight check, spawning the workers and importing vertfem,
  which overlap), per task;
* **dispatch**: idle worker time between the first and the last task's start
  (submitting, collecting, writing records, progress), per task;
* **tail**: idle worker time after the last task started (load imbalance at
  the end), per task;
* **results table**: writing the results table after the last task, per task.

The target (< 5 %) applies to the total. Idle time is measured from the
records' own start times and durations: worker-seconds available minus
worker-seconds spent in tasks.

Run: ``python benchmarks/bench_study.py [n_subjects] [--workers 2] [--spacing 1.0] [--keep DIR]``.
Uses ``examples/kernel_comparison`` in a temporary copy, so the example folder stays clean.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "kernel_comparison"
sys.path.insert(0, str(EXAMPLE))

from make_cohort import make_cohort  # noqa: E402

from vertfem.study import run_study, write_report  # noqa: E402


def idle_split(starts: np.ndarray, durations: np.ndarray, t0: float, t1: float, workers: int) -> dict[str, float]:
    """Idle worker-seconds before the first start, between the first and the last start, after the last start
    until the last task ends, and from then until ``t1`` (the run's return).

    Examples
    --------
    >>> r = idle_split(np.array([1.0, 1.0, 3.0]), np.array([2.0, 2.0, 1.0]), 0.0, 5.0, 2)
    >>> {k: round(v, 6) for k, v in r.items()}
    {'start': 2.0, 'dispatch': 0.0, 'tail': 1.0, 'results table': 2.0}
    """
    ends = starts + durations
    first, last, end = starts.min(), starts.max(), ends.max()

    def busy(a: float, b: float) -> float:
        return float(np.clip(np.minimum(ends, b) - np.maximum(starts, a), 0, None).sum())

    return {"start": float(workers * (first - t0) - busy(t0, first)),
            "dispatch": float(workers * (last - first) - busy(first, last)),
            "tail": float(workers * (end - last) - busy(last, end)),
            "results table": float(workers * (t1 - end))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n_subjects", nargs="?", type=int, default=30)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--spacing", type=float, default=1.0, help="phantom voxel size, mm")
    ap.add_argument("--keep", default=None, help="copy the results folder here")
    ap.add_argument("--cohort", type=Path, default=None,
                    help="make the cohort in this folder, or reuse the one already there (cohort.csv, data/)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        shutil.copy(EXAMPLE / "study.yaml", root / "study.yaml")
        t = time.perf_counter()
        if args.cohort is not None and (args.cohort / "cohort.csv").exists():
            print(f"cohort: reused from {args.cohort}")
        else:
            make_cohort(args.n_subjects, args.spacing, args.cohort or root)
            print(f"cohort: {args.n_subjects} subjects × 2 kernels rendered and scanned in "
                  f"{time.perf_counter() - t:.0f} s")
        if args.cohort is not None:
            shutil.copy(args.cohort / "cohort.csv", root / "cohort.csv")
            (root / "data").symlink_to((args.cohort / "data").resolve())
        t_call = time.time()
        run = run_study(root / "study.yaml", workers=args.workers)
        t_return = time.time()
        chk = run.check
        print(f"check: {len(chk.problems)} findings in {chk.duration_s:.1f} s; {chk.estimate.line()}")
        recs = [json.loads(p.read_text()) for p in (root / "results" / "records").glob("[!.]*.json")]
        per = defaultdict(list)
        for r in recs:
            per[r["measure"]].append(r["duration_s"])
        n = run.done + run.failed
        mean_task = run.task_time_s / max(1, n)
        idle = idle_split(np.array([r["started"] for r in recs]), np.array([r["duration_s"] for r in recs]),
                          t_call, t_return, args.workers)
        print(f"study: {run.n_tasks} tasks ({run.done} done, {run.failed} failed) in {t_return - t_call:.0f} s on "
              f"{args.workers} workers → {60 * n / (t_return - t_call):.1f} tasks/min; estimate was "
              f"{chk.estimate.wall_s:.0f} s")
        print("  mean task time: " + ", ".join(f"{m} {sum(v) / len(v):.2f} s" for m, v in sorted(per.items()))
              + f"; all {mean_task:.2f} s")
        print("  runner overhead per task, as a share of the mean task time:")
        for k, v in idle.items():
            print(f"    {k:<14} {v / n:6.3f} s  {100 * v / n / mean_task:5.1f} %")
        tot = sum(idle.values()) / n
        print(f"    {'total':<14} {tot:6.3f} s  {100 * tot / mean_task:5.1f} %  (target < 5 %)")
        t = time.perf_counter()
        report = write_report(root / "study.yaml")
        print(f"report in {time.perf_counter() - t:.1f} s ({report.stat().st_size / 1e6:.1f} MB, QC images included)")
        tab = pd.read_csv(report.parent / "paired.csv")
        cols = ["measure", "n", "mean_pct_diff", "pct_ci_low", "pct_ci_high", "p_ttest", "p_wilcoxon"]
        print(tab[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        if args.keep:
            shutil.copytree(root / "results", args.keep, dirs_exist_ok=True)


if __name__ == "__main__":
    main()
