"""Learned route timings on the CPU: inference per vertebra (target ≤ 0.2 s) and input preparation for 100 patients
× 4 vertebrae (target ≤ 2 min on 2 cores).

Run: python benchmarks/bench_dl.py [--no-preparation] [--repeats N]

Inference goes through :meth:`vertfem.dl.model.DLModel.predict` (the code path of ``vertfem dl predict`` and the
``dl`` measure) with one network of random weights (the weights do not change the time): ResNet50 and ResNet18 on the
paper's 256 × 256 slabs, 1 and 2 torch threads, one vertebra per call (batch 1) and the four levels of a scan in one
call (batch 4, :meth:`~vertfem.dl.model.DLModel.predict_vertebrae`); ResNet50 also on smaller slabs. Each line is the
median over ``N`` calls after a warm-up call, divided by the batch; the 1-minute load average of the machine is
printed with every line (the timings are only meaningful together with it). The paper's configuration trains one
ResNet50 per target (``separate_models: true``), so a vertebra's BMD and TBS cost two networks: twice the ResNet50
line.

Preparation: each "patient" reads the bundled example CT and label map from disk, prepares L1–L4 (selection,
guards, body, frame) and cuts the paper's slabs (3 × 5 mm, 300 mm field of view, 256 × 256).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import vertfem as vf
from vertfem.dl.options import SlabOptions, TrainOptions
from vertfem.dl.slab import prepare_slabs


def preparation(n_patients: int = 100) -> float:
    p = vf.example_paths()
    t = time.perf_counter()
    for _ in range(n_patients):
        for v in vf.prepare_vertebrae(p["ct"], p["labels"], "L1-L4").values():
            prepare_slabs(v, SlabOptions())
    return time.perf_counter() - t


def inference(arch: str, size_px: int, batch: int, threads: int, repeats: int) -> float:
    """Median seconds per vertebra of ``DLModel.predict`` on ``batch`` slabs of ``size_px``."""
    import torch

    from vertfem.dl.model import DLModel
    from vertfem.dl.net import build_network

    torch.manual_seed(0)
    model = DLModel(("bmd", "tbs"), (("bmd", "tbs"),), [[build_network(arch, 2).eval()]], {"bmd": 0.0, "tbs": 0.0},
                    {"bmd": 1.0, "tbs": 1.0}, SlabOptions(size_px=size_px), TrainOptions(arch=arch))
    x = np.random.default_rng(0).random((batch, size_px, size_px), dtype=np.float32)
    model.predict(x, threads=threads)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model.predict(x, threads=threads)
        times.append(time.perf_counter() - t)
    return statistics.median(times) / batch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-preparation", action="store_true", help="skip the 100-patient preparation timing")
    ap.add_argument("--repeats", type=int, default=7, help="timed calls per configuration")
    args = ap.parse_args()
    print(f"{os.cpu_count()} CPUs; load average at start {os.getloadavg()[0]:.2f}")
    for arch in ("resnet50", "resnet18"):
        for threads in (1, 2):
            for batch in (1, 4):
                per = inference(arch, 256, batch, threads, args.repeats)
                print(f"inference {arch} 256 px, {threads} thread(s), batch {batch}: {per:.3f} s per vertebra "
                      f"(load {os.getloadavg()[0]:.2f})", flush=True)
    for size in (192, 128):
        per = inference("resnet50", size, 4, 1, args.repeats)
        print(f"inference resnet50 {size} px, 1 thread, batch 4: {per:.3f} s per vertebra "
              f"(load {os.getloadavg()[0]:.2f})", flush=True)
    if not args.no_preparation:
        s = preparation()
        print(f"input preparation, 100 patients × 4 vertebrae (example CT read each time): {s:.1f} s "
              f"({s / 400 * 1000:.0f} ms per vertebra; load {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
