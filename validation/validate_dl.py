"""The synthetic-cohort training run of the learned route, written as a report like the study report.

Run: python validation/validate_dl.py [OUTPUT]   (default ./dl_synthetic_report; pytest collects the check)
60 phantom patients × 2 vertebrae (1.25 mm CT, smooth and sharp kernels alternating per patient, 80 mm / 64 px
slabs), target = the physics-route aBMD of the same CT, ResNet18, 5-fold cross-validation by patient, 20 % of
the patients held out. Writes report.md, predictions.csv, patients.csv, evaluation.json, figures and model.pt.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the learned route needs the dl extra (torch, torchvision)")


def run(output: Path, *, n_patients: int = 60, epochs: int = 15, folds: int = 5) -> dict:
    from vertfem.dl.options import EvalOptions, SlabOptions, TrainOptions
    from vertfem.dl.pipeline import train_and_report
    from vertfem.dl.synthetic import synthetic_dataset

    slab = SlabOptions(fov_mm=80.0, size_px=64)
    t = time.perf_counter()
    data = synthetic_dataset(n_patients, spacing_mm=1.25, oversample=1, slab=slab, seed=1)
    t_data = time.perf_counter() - t
    # a synthetic "young-adult mean": the 95th percentile of the cohort's aBMD (classes for the ROC analysis)
    yam = float(np.quantile(data.targets["bmd"], 0.95))
    opts = TrainOptions(arch="resnet18", targets=("bmd",), epochs=epochs, batch_size=16, folds=folds,
                        test_fraction=0.2, seed=1, threads=1, device="cpu")
    return train_and_report(data, train=opts, slab=slab, evaluation=EvalOptions(yam_reference_g_cm2=yam),
                            output=output, title="Learned route on a synthetic cohort (target: physics-route aBMD)",
                            info={"cohort": f"{n_patients} phantom patients × 2 vertebrae, 1.25 mm CT, both kernels",
                                  "synthetic YAM (g/cm²)": round(yam, 4), "data preparation (s)": round(t_data, 1),
                                  "command": "python validation/validate_dl.py"})


@pytest.mark.slow
def test_synthetic_run_reaches_r_08(tmp_path):
    res = run(tmp_path, n_patients=30, epochs=10, folds=3)
    assert res["vertebra"]["bmd"]["pearson_r"] >= 0.8


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "dl_synthetic_report")
    res = run(out)
    print(f"report → {res['report']}")
    print((out / "report.md").read_text())
