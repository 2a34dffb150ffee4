"""Texture benchmark on the bundled L1: Goller 2023 features, the full Che 2025 preset, Moran's I / Geary's C.

Targets (issue 16): the 8 Goller features and the che2025 preset (cortical +
cancellous VOIs, original + 3 LoG + 8 wavelet sub-bands, all families) within
1.2× of their timings before the IBSI fixes (0.48–0.68 s and 6.4–6.7 s on this
2-core VM, same script). Each preset runs ``--repeat`` times after a warm-up;
the minimum and median of the wall time and the process CPU time are printed
(CPU time is less disturbed by other jobs on a shared VM). Moran's I and
Geary's C are timed on the same VOIs (exact, all voxel pairs).

Run: ``python benchmarks/bench_texture.py [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np

import vertfem as vf
from vertfem.errors import FeatureWarning
from vertfem.texture import preset, texture_features, vertebra_vois
from vertfem.texture.extract import prepare_voi, voi_margin_mm
from vertfem.texture.preprocess import resegment
from vertfem.texture.shape import autocorrelation


def _timed(fn, *a, **k):
    w, c = time.perf_counter(), time.process_time()
    out = fn(*a, **k)
    return out, time.perf_counter() - w, time.process_time() - c


def _repeat(n: int, fn, *a, **k):
    fn(*a, **k)  # warm-up: numba JIT, SimpleITK and FFT plans
    runs = [_timed(fn, *a, **k) for _ in range(n)]
    wall = [r[1] for r in runs]
    cpu = [r[2] for r in runs]
    return runs[-1][0], wall, cpu


def _fmt(label: str, values: list[float]) -> str:
    return f"{label} min {min(values):.2f} s, median {statistics.median(values):.2f} s"


def _brute_force_pairs_per_s(n: int = 3000) -> float:
    """Rate of the O(N²) pairwise Moran sum (pdist + weights) on n random voxels, pairs/s."""
    from scipy import spatial

    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 50, (n, 3))
    x = rng.normal(size=n)
    t = time.perf_counter()
    w = 1.0 / spatial.distance.pdist(pts)
    i, j = np.triu_indices(n, 1)
    float((w * x[i] * x[j]).sum())
    return n * (n - 1) / 2 / (time.perf_counter() - t)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore", FeatureWarning)
    p = vf.example_paths()
    v = vf.prepare_vertebra(p["ct"], p["labels"], "L1")
    r, wall, cpu = _repeat(args.repeat, texture_features, v, preset="goller2023")
    print(f"goller2023 on L1 (body, 0.5 mm): {len(r.features)} features; {_fmt('wall', wall)}; {_fmt('CPU', cpu)}")
    print("  " + ", ".join(f"{k.split(':')[-1]} {val:.4g}" for k, val in r.features.items()))
    r, wall, cpu = _repeat(max(1, args.repeat // 2), texture_features, v, preset="che2025")
    print(f"che2025 on L1 (cortical + cancellous, 1 mm, original + 3 LoG + 8 wavelet): {len(r.features)} features; "
          f"{_fmt('wall', wall)}; {_fmt('CPU', cpu)}")

    rate = _brute_force_pairs_per_s()
    for name, spacing in (("goller2023", 0.5), ("che2025", 1.0)):
        settings, vois = preset(name)
        crop = v.crop(voi_margin_mm(settings, v.scan.geometry.spacing_mm))
        img, m, g = prepare_voi(crop.hu, crop.body, crop.geometry, settings, grid_of=v.scan.geometry)
        for voi_name, voi in vertebra_vois(m, g, vois, 2.0).items():
            imask = resegment(img, voi, settings.resegment_range)
            n = int(imask.sum())
            _, w, c = _timed(autocorrelation, img, imask, g.spacing_mm)
            print(f"Moran/Geary exact, {voi_name} at {spacing} mm ({n} voxels): {w:.2f} s wall, {c:.2f} s CPU "
                  f"(all {n * (n - 1) // 2:.3g} pairs by brute force: ≈ {n * (n - 1) / 2 / rate:.0f} s)")
    # a ~10⁵-voxel VOI: a 60 × 60 × 30 box of 1 mm voxels
    rng = np.random.default_rng(1)
    img = rng.normal(100.0, 30.0, (34, 64, 64))
    roi = np.zeros(img.shape, bool)
    roi[2:32, 2:62, 2:62] = True
    n = int(roi.sum())
    _, w, c = _timed(autocorrelation, img, roi, (1.0, 1.0, 1.0))
    print(f"Moran/Geary exact, box VOI ({n} voxels): {w:.2f} s wall, {c:.2f} s CPU "
          f"(brute force ≈ {n * (n - 1) / 2 / rate:.0f} s at {rate:.3g} pairs/s)")


if __name__ == "__main__":
    main()
