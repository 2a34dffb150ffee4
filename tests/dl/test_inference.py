"""Inference: one batch for the levels of a scan equals one prediction per level, the thread setting changes the
time but not the prediction and is restored afterwards, and the batched ``dl`` measure."""

from __future__ import annotations

import numpy as np
import pytest

import vertfem as vf
from vertfem.dl.options import SlabOptions, TrainOptions

torch = pytest.importorskip("torch", reason="the learned route needs the dl extra (torch, torchvision)")

SLAB = SlabOptions(fov_mm=80.0, size_px=32)


@pytest.fixture(scope="module")
def model():
    from vertfem.dl.model import DLModel
    from vertfem.dl.net import build_network

    torch.manual_seed(0)
    return DLModel(("bmd", "tbs"), (("bmd",), ("tbs",)), [[build_network("resnet18", 1).eval()],
                                                          [build_network("resnet18", 1).eval()]],
                   {"bmd": 0.8, "tbs": 1.3}, {"bmd": 0.1, "tbs": 0.1}, SLAB, TrainOptions(arch="resnet18"))


@pytest.fixture(scope="module")
def levels(example):
    return list(vf.prepare_vertebrae(example.scan, example.labels, "L1-L3", kernel="B40f").values())


def test_batch_of_levels_equals_single_predictions(model, levels):
    batch = model.predict_vertebrae(levels, threads=1)
    single = [model.predict_vertebra(v, threads=1) for v in levels]
    assert [set(b) for b in batch] == [{"bmd", "tbs"}] * 3
    for b, s in zip(batch, single):
        assert b == pytest.approx(s, rel=1e-5, abs=1e-7)
    assert len({round(b["bmd"], 9) for b in batch}) == 3  # the levels' slabs differ, so do their predictions


def test_threads_change_nothing_but_the_time(model, levels):
    before = torch.get_num_threads()
    one = model.predict_vertebrae(levels, threads=1)
    assert torch.get_num_threads() == before
    two = model.predict_vertebrae(levels, threads=2)
    for a, b in zip(one, two):
        assert a == pytest.approx(b, rel=1e-5, abs=1e-7)
    assert model.predict_vertebrae([]) == []


def test_batched_measure_returns_one_result_per_level(model, levels, tmp_path):
    from vertfem.dl.measure import dl_predict, dl_predict_many

    path = model.save(tmp_path / "m.pt")
    many = dl_predict_many(levels, model=path)
    assert [r.vertebra for r in many] == [v.name for v in levels]
    assert len({r.model_sha256 for r in many}) == 1
    one = dl_predict(levels[1], {"model": str(path), "threads": None})  # None as an override would keep 1
    assert one.predictions == pytest.approx(many[1].predictions, rel=1e-5, abs=1e-7)
    assert np.isfinite(one.row()["dl_tbs"]) and one.options.threads is None
