"""Learned route timings on the CPU: input preparation for 100 patients × 4 vertebrae (target ≤ 2 min on 2 cores)
and inference per vertebra (target ≤ 0.2 s).

Run: python benchmarks/bench_dl.py
Preparation: each "patient" reads the bundled example CT and label map from disk, prepares L1–L4 (selection,
guards, body, frame) and cuts the paper's slabs (3 × 5 mm, 300 mm field of view, 256 × 256). Inference: the
paper's ResNet50 and ResNet18 on 256 × 256 mid-plane slabs, one network (``ensemble="best_fold"``), batches of 1
and of 4 vertebrae; the weights do not change the time.
"""

from __future__ import annotations

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


def inference(arch: str, batch: int, repeats: int = 10) -> tuple[float, int]:
    import torch

    from vertfem.dl.model import DLModel
    from vertfem.dl.net import build_network

    model = DLModel(("bmd", "tbs"), (("bmd", "tbs"),), [[build_network(arch, 2).eval()]], {"bmd": 0.0, "tbs": 0.0},
                    {"bmd": 1.0, "tbs": 1.0}, SlabOptions(), TrainOptions(arch=arch))
    x = np.random.default_rng(0).random((batch, 256, 256), dtype=np.float32)
    model.predict(x)
    t = time.perf_counter()
    for _ in range(repeats):
        model.predict(x)
    return (time.perf_counter() - t) / repeats / batch, torch.get_num_threads()


def main() -> None:
    s = preparation()
    print(f"input preparation, 100 patients × 4 vertebrae (example CT read each time): {s:.1f} s "
          f"({s / 400 * 1000:.0f} ms per vertebra)")
    for arch in ("resnet50", "resnet18"):
        for batch in (1, 4):
            per, threads = inference(arch, batch)
            print(f"inference {arch}, batch {batch}, {threads} threads: {per:.3f} s per vertebra")


if __name__ == "__main__":
    main()
