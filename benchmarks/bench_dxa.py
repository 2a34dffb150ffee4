"""Wall time of the DXA projection measure per vertebra (target ≤ 1 s).

Run: python benchmarks/bench_dxa.py
Cases: the bundled example's L1–L4 (3 mm CT) and a phantom with posterior elements at 0.5 mm (a thin-slice CT's
vertebra), tilted 17°. Prints the median of 5 runs per vertebra (preparation excluded).
"""

from __future__ import annotations

import statistics
import time

import vertfem as vf
from vertfem.dxa import dxa_measure


def _median_s(v, n: int = 5) -> float:
    dxa_measure(v)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        dxa_measure(v)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    p = vf.example_paths()
    for name, v in vf.prepare_vertebrae(p["ct"], p["labels"], "L1-L4", kernel="B40f").items():
        print(f"example {name} (3 mm): {_median_s(v):.3f} s")
    ct = vf.scan_phantom(vf.PhantomSpec(texture=False, posterior_elements=True), "smooth", spacing_mm=0.5,
                         pose=vf.Pose.tilted(17.0, "x"))
    v = vf.prepare_vertebra(ct.scan, ct.labels, "L1", kernel="B40f")
    print(f"phantom with posterior elements (0.5 mm, {v.mask.sum()} mask voxels): {_median_s(v):.3f} s")


if __name__ == "__main__":
    main()
