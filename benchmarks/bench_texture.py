"""Texture benchmark on the bundled L1: Goller 2023 features and the full Che 2025 preset.

Targets (issue 6): the 8 Goller features on an L1 body resampled to 0.5 mm in
under 2 s; the che2025 preset (cortical + cancellous VOIs, original + LoG
3 σ + 8 wavelet sub-bands, all families) in under 60 s, on 2 cores.

Run: ``python benchmarks/bench_texture.py``.
"""

from __future__ import annotations

import time
import warnings

import vertfem as vf
from vertfem.errors import FeatureWarning
from vertfem.texture import texture_features


def _timed(fn, *a, **k):
    t = time.perf_counter()
    out = fn(*a, **k)
    return out, time.perf_counter() - t


def main() -> None:
    warnings.simplefilter("ignore", FeatureWarning)
    p = vf.example_paths()
    scan = vf.read_scan(p["ct"])
    v = vf.select_vertebra(scan, vf.read_labels(p["labels"]), "L1")
    texture_features(scan, v.mask, preset_name="goller2023")  # JIT warm-up
    f, t = _timed(texture_features, scan, v.mask, preset_name="goller2023")
    body = vf.meshing.isolate_body(v.mask, scan.geometry)
    n05 = int(body.sum() * scan.geometry.voxel_volume_mm3 / 0.125)
    print(f"goller2023 on L1 (≈{n05} body voxels at 0.5 mm): {t:.2f} s for {len(f)} features (target < 2 s)")
    f, t = _timed(texture_features, scan, v.mask, preset_name="che2025")
    print(f"che2025 on L1 (cortical + cancellous, 1 mm, original + 3 LoG + 8 wavelet): {t:.1f} s for {len(f)} "
          "features (target < 60 s)")


if __name__ == "__main__":
    main()
