"""The learned route: slabs, patient-level splits, the synthetic-cohort training run (r ≥ 0.8 on held-out
patients), save → load → identical predictions, the config file and the ``dl`` measure."""

from __future__ import annotations

import numpy as np
import pytest

import vertfem as vf
from vertfem.dl.options import EvalOptions, SlabOptions, TrainOptions
from vertfem.dl.slab import prepare_slabs
from vertfem.dl.split import PatientSplit, split_patients
from vertfem.errors import ConfigError

torch = pytest.importorskip("torch", reason="the learned route needs the dl extra (torch, torchvision)")

SLAB = SlabOptions(fov_mm=80.0, size_px=32)


def test_slab_follows_the_vertebral_frame():
    spec = vf.PhantomSpec(texture=False)
    straight = vf.scan_phantom(spec, "smooth", spacing_mm=1.0)
    tilted = vf.scan_phantom(spec, "smooth", spacing_mm=1.0, pose=vf.Pose.tilted(20.0, "x"))
    a, b = (prepare_slabs(vf.prepare_vertebra(c.scan, c.labels, "L1", kernel="B40f"), SLAB)
            for c in (straight, tilted))
    assert a.shape == (3, 32, 32)
    # the same bone in another pose gives the same mid-plane slab (up to interpolation) where both CTs have data
    centre = (1, slice(8, 24), slice(8, 24))
    assert np.abs(a[centre] - b[centre]).mean() < 0.01
    assert np.abs(a[centre] - a[0][8:24, 8:24]).mean() > 0.0  # the ±5 mm slabs differ from the mid-plane


def test_split_keeps_every_patient_in_one_group():
    patients = [f"P{i:02d}" for i in range(23)]
    s = split_patients(patients * 4, test_fraction=0.2, folds=5, seed=3)
    groups = [set(s.test), *map(set, s.folds)]
    assert sum(map(len, groups)) == 23 and set().union(*groups) == set(patients)
    for k in range(5):
        train, val = s.train_val(k)
        assert not set(train) & set(val) and not (set(train) | set(val)) & set(s.test)
    with pytest.raises(ConfigError, match="two groups"):
        PatientSplit(("P00",), (("P00", "P01"), ("P02",))).check()
    with pytest.raises(ConfigError, match="fewer folds"):
        split_patients(patients[:5], test_fraction=0.2, folds=5, seed=0)


@pytest.fixture(scope="module")
def cohort():
    from vertfem.dl.synthetic import synthetic_dataset

    return synthetic_dataset(40, spacing_mm=1.25, oversample=1, slab=SLAB, seed=0)


@pytest.fixture(scope="module")
def trained(cohort, tmp_path_factory):
    from vertfem.dl.pipeline import train_and_report

    opts = TrainOptions(arch="resnet18", targets=("bmd",), epochs=12, batch_size=16, folds=3, test_fraction=0.2,
                        seed=0, threads=1, device="cpu")
    yam = float(np.quantile(cohort.targets["bmd"], 0.95))
    out = tmp_path_factory.mktemp("dl")
    return train_and_report(cohort, train=opts, slab=SLAB, evaluation=EvalOptions(yam_reference_g_cm2=yam),
                            output=out, title="synthetic cohort"), out


@pytest.mark.slow
def test_synthetic_cohort_training_predicts_held_out_patients(cohort, trained):
    res, out = trained
    split = res["split"]
    test_patients = set(res["table"]["patient"])
    assert test_patients == set(split.test)
    assert not test_patients & {p for f in split.folds for p in f}
    assert res["vertebra"]["bmd"]["n"] == 2 * len(split.test)
    assert res["vertebra"]["bmd"]["pearson_r"] >= 0.8
    assert res["patient"]["bmd"]["pearson_r"] >= 0.8
    assert (out / "report.md").exists() and (out / "agreement_bmd.png").exists()


@pytest.mark.slow
def test_saved_model_predicts_identically(cohort, trained, tmp_path):
    from vertfem.dl.model import load_model

    res, _ = trained
    loaded = load_model(res["model"])
    rows = cohort.rows(res["split"].test)
    assert np.array_equal(loaded.predict(cohort.images[rows, cohort.mid])[:, 0],
                          res["table"]["pred_bmd"].to_numpy())
    again = load_model(loaded.save(tmp_path / "copy.pt"))
    assert np.array_equal(again.predict(cohort.images[rows, cohort.mid]), loaded.predict(cohort.images[rows,
                                                                                                         cohort.mid]))
    assert again.slab == SLAB and again.meta["split"]["test"] == list(res["split"].test)


@pytest.mark.slow
def test_dl_measure_applies_a_trained_model(trained):
    from vertfem.dl.measure import dl_predict

    res, _ = trained
    ct = vf.scan_phantom(vf.PhantomSpec(texture=False, trabecular_vbmd_mg_cm3=150.0), "smooth", spacing_mm=1.25)
    v = vf.prepare_vertebra(ct.scan, ct.labels, "L1", kernel="B40f")
    r = dl_predict(v, model=res["model"])
    assert set(r.row()) == {"vertebra", "dl_bmd_g_cm2", "dl_model_sha256"}
    assert 0.2 < r.predictions["bmd"] < 0.9


@pytest.mark.slow
def test_dl_predict_command(trained, tmp_path):
    import argparse
    import json

    from rich.console import Console

    from vertfem.cli import dl

    res, _ = trained
    ct = vf.scan_phantom(vf.PhantomSpec(texture=False), "smooth", spacing_mm=1.25)
    vf.write_image(ct.scan.hu, ct.scan.geometry, tmp_path / "ct.nii.gz")
    vf.write_image(ct.labels.labels, ct.labels.geometry, tmp_path / "mask.nii.gz")
    parser = argparse.ArgumentParser()
    dl.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["dl", "predict", str(res["model"]), str(tmp_path / "ct.nii.gz"),
                              str(tmp_path / "mask.nii.gz"), "--vertebra", "L1", "--kernel", "B40f",
                              "-o", str(tmp_path / "out")])
    assert args.func(args, Console(quiet=True)) == 0
    rows = json.loads((tmp_path / "out" / "dl.json").read_text())
    assert rows[0]["status"] == "done" and 0.2 < rows[0]["dl_bmd_g_cm2"] < 0.9


def test_model_file_is_checked(tmp_path):
    from vertfem.dl.model import load_model

    torch.save({"format": "something else"}, tmp_path / "x.pt")
    with pytest.raises(ConfigError, match="not a vertfem model"):
        load_model(tmp_path / "x.pt")


def test_config_file_validates(tmp_path):
    from vertfem.dl.pipeline import load_config

    (tmp_path / "c.yaml").write_text("name: t\ncohort: cohort.csv\ntrain: {arch: resnet18, epochs: 2}\n")
    cfg = load_config(tmp_path / "c.yaml")
    assert cfg.cohort == tmp_path / "cohort.csv" and cfg.train.folds == 5 and cfg.slab.size_px == 256
    (tmp_path / "bad.yaml").write_text("name: t\ncohort: c.csv\ntrain: {arch: vgg}\n")
    with pytest.raises(ConfigError, match=r"train\.arch"):
        load_config(tmp_path / "bad.yaml")
