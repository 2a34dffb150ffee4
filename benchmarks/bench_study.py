"""Study benchmark: the kernel-comparison example end to end on 2 cores.

Prints the cohort-generation time, the study's wall time, tasks per minute,
mean task time per measure, and the runner's own overhead per task
(wall × workers − Σ task times, per task) as a share of the mean task time
(target < 5 %).

Run: ``python benchmarks/bench_study.py [n_subjects] [--workers 2]``. Uses
``examples/kernel_comparison`` in a temporary copy, so the example folder stays clean.
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

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "kernel_comparison"
sys.path.insert(0, str(EXAMPLE))

from make_cohort import make_cohort  # noqa: E402

from vertfem.study import run_study, write_report  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n_subjects", nargs="?", type=int, default=30)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", default=None, help="copy the results folder here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        shutil.copy(EXAMPLE / "study.yaml", root / "study.yaml")
        t = time.perf_counter()
        make_cohort(args.n_subjects, 1.0, root)
        print(f"cohort: {args.n_subjects} subjects × 2 kernels rendered and scanned in {time.perf_counter() - t:.0f} s")
        run = run_study(root / "study.yaml", workers=args.workers, progress=False)
        recs = [json.loads(p.read_text()) for p in (root / "results" / "records").glob("[!.]*.json")]
        per = defaultdict(list)
        for r in recs:
            per[r["measure"]].append(r["duration_s"])
        mean_task = run.task_time_s / max(1, run.done + run.failed)
        overhead = (run.wall_s * args.workers - run.task_time_s) / max(1, run.done + run.failed)
        print(f"study: {run.n_tasks} tasks ({run.done} done, {run.failed} failed) in {run.wall_s:.0f} s on "
              f"{args.workers} workers → {run.tasks_per_minute:.1f} tasks/min")
        print("  mean task time: " + ", ".join(f"{m} {sum(v) / len(v):.1f} s" for m, v in sorted(per.items())))
        print(f"  runner overhead {overhead:.2f} s per task = {100 * overhead / mean_task:.1f} % of the mean task "
              "time (target < 5 %; includes worker start-up and load imbalance at the end)")
        t = time.perf_counter()
        report = write_report(root / "study.yaml")
        print(f"report in {time.perf_counter() - t:.1f} s")
        print(report.read_text().split("## bland_altman")[0].split("## paired (paired)")[1][:1500])
        if args.keep:
            shutil.copytree(root / "results", args.keep, dirs_exist_ok=True)


if __name__ == "__main__":
    main()
