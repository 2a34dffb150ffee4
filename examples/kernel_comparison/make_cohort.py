"""Make the synthetic kernel-comparison cohort: phantom vertebrae scanned with a smooth and a sharp kernel.

Each subject is a phantom L1 from ``vertfem.synthetic_cohort`` (trabecular
vBMD 45–190 mg/cm³, body size ±10 %, own trabecular texture), rendered once
and "scanned" twice: smooth kernel (B40f-like) and sharp kernel (B70f-like),
same noise seed. A synthetic fracture outcome is drawn with a probability
that falls with vBMD (logistic, so ROC analyses have something to find).

Run: ``python examples/kernel_comparison/make_cohort.py [n_subjects] [spacing_mm]``;
writes ``data/`` and ``cohort.csv`` next to this file.

``cohort.csv`` has one row per subject and kernel: ``subject_id`` (S001 …),
``scan_id`` ("1"), ``kernel`` (B40f for the smooth scan, B70f for the sharp
one: each picks its calibration line), ``ct`` and ``mask`` (paths relative to
the table), ``vertebra`` (L1), ``age`` (years, 50–85), ``sex`` (F/M),
``fracture`` (0/1, more likely at low vBMD) and ``true_vbmd_mg_cm3`` (the
phantom's trabecular vBMD).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

import vertfem as vf
from vertfem.ctsim import simulate_ct
from vertfem.phantom import render_phantom

HERE = Path(__file__).resolve().parent


def make_cohort(n_subjects: int = 30, spacing_mm: float = 1.0, outdir: Path = HERE, seed: int = 7) -> Path:
    """Render and scan ``n_subjects`` phantoms at ``spacing_mm`` into ``outdir``; returns the cohort table's path."""
    rng = np.random.default_rng(seed)
    data = outdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, spec in enumerate(vf.synthetic_cohort(n_subjects, seed=seed)):
        sid = f"S{i + 1:03d}"
        truth = render_phantom(spec, spacing_mm=spacing_mm)
        age = float(rng.uniform(50, 85))
        sex = str(rng.choice(["F", "M"]))
        risk = 1.0 / (1.0 + np.exp((spec.trabecular_vbmd_mg_cm3 - 100.0) / 15.0))
        fracture = int(rng.random() < risk)
        for kernel in ("smooth", "sharp"):
            sim = simulate_ct(truth, kernel, seed=1000 + i)
            ct = vf.write_image(sim.scan.hu.astype(np.int16), sim.scan.geometry, data / f"{sid}_{kernel}_ct.nii.gz")
            mask = vf.write_image(sim.labels.labels.astype(np.uint8), sim.labels.geometry,
                                  data / f"{sid}_{kernel}_labels.nii.gz")
            rows.append({"subject_id": sid, "scan_id": "1", "kernel": sim.scan.kernel,
                         "ct": str(ct.relative_to(outdir)), "mask": str(mask.relative_to(outdir)), "vertebra": "L1",
                         "age": round(age, 1), "sex": sex, "fracture": fracture,
                         "true_vbmd_mg_cm3": spec.trabecular_vbmd_mg_cm3})
    path = outdir / "cohort.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    sp = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    print(f"cohort → {make_cohort(n, sp)}")
