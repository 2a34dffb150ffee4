"""Training: patient-level split, k-fold cross-validation with the best-validation checkpoint per fold."""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from ..errors import ConfigError
from ..provenance import package_versions
from .data import SlabDataset
from .model import DLModel
from .net import build_network, random_affine, resolve_device, torch_threads
from .options import SlabOptions, TrainOptions
from .split import PatientSplit, split_patients

__all__ = ["FoldResult", "train_model"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class FoldResult:
    """One fold of one target group: its best epoch, validation loss and loss history."""

    group: tuple[str, ...]
    fold: int
    best_epoch: int
    best_val_loss: float
    train_loss: tuple[float, ...]
    val_loss: tuple[float, ...]
    state: dict


def _masked_huber(pred: torch.Tensor, y: torch.Tensor, delta: float) -> torch.Tensor:
    ok = torch.isfinite(y)
    return F.huber_loss(pred[ok], y[ok], delta=delta)


def _batches(n: int, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    order = rng.permutation(n)
    out = [order[i:i + size] for i in range(0, n, size)]
    # batch normalisation needs two samples per batch; a lone last sample joins the previous batch
    if len(out) > 1 and len(out[-1]) == 1:
        out[-2] = np.concatenate([out[-2], out.pop()])
    return out


def _fold(data: SlabDataset, group: tuple[str, ...], split: PatientSplit, fold: int, opts: TrainOptions,
          scale: tuple[np.ndarray, np.ndarray], device: torch.device) -> FoldResult:
    train_p, val_p = split.train_val(fold)
    tr, va = data.rows(train_p), data.rows(val_p)
    y = (data.target_matrix(group) - scale[0]) / scale[1]
    n_slabs = data.images.shape[1]
    x_tr = torch.from_numpy(data.images[tr].reshape(-1, 1, *data.images.shape[2:]))
    y_tr = torch.from_numpy(np.repeat(y[tr], n_slabs, axis=0)).float()
    x_va = torch.from_numpy(data.images[va, data.mid][:, None]).to(device)
    y_va = torch.from_numpy(y[va]).float().to(device)
    seed = opts.seed * 1000 + fold
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_network(opts.arch, len(group)).to(device)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    optim = torch.optim.Adam(net.parameters(), lr=opts.learning_rate)
    best, best_epoch, state, hist_tr, hist_va = np.inf, -1, None, [], []
    for epoch in range(opts.epochs):
        net.train()
        total = 0.0
        for b in _batches(len(x_tr), opts.batch_size, rng):
            xb = random_affine(x_tr[b], opts.augment, gen).to(device)
            loss = _masked_huber(net(xb), y_tr[b].to(device), opts.huber_delta)
            optim.zero_grad()
            loss.backward()
            optim.step()
            total += float(loss.detach()) * len(b)
        net.eval()
        with torch.inference_mode():
            val = float(_masked_huber(net(x_va), y_va, opts.huber_delta))
        hist_tr.append(total / len(x_tr))
        hist_va.append(val)
        if val < best:
            best, best_epoch = val, epoch
            state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
        if opts.patience is not None and epoch - best_epoch >= opts.patience:
            break
    log.info("%s fold %d: best validation loss %.4f at epoch %d", "+".join(group), fold, best, best_epoch)
    return FoldResult(group, fold, best_epoch, best, tuple(hist_tr), tuple(hist_va), state or {})


def train_model(data: SlabDataset, options: TrainOptions | None = None, slab: SlabOptions | None = None, *,
                split: PatientSplit | None = None) -> tuple[DLModel, PatientSplit, list[FoldResult]]:
    """Train the predictor by k-fold cross-validation on the non-test patients.

    Returns
    -------
    model : DLModel
        Per target group the best-validation network of the best fold (``ensemble="best_fold"``) or of every
        fold (``"mean"``).
    split : PatientSplit
        Test patients and folds (no patient in two of them).
    folds : list of FoldResult

    Raises
    ------
    ConfigError
        Too few patients for the folds, or a target without values.
    """
    opts = options or TrainOptions()
    split = split or split_patients(data.patients, test_fraction=opts.test_fraction, folds=opts.folds,
                                    seed=opts.seed)
    split.check()
    groups = tuple((t,) for t in opts.targets) if opts.separate_models else (tuple(opts.targets),)
    fit_rows = data.rows([p for f in split.folds for p in f])
    y_fit = data.target_matrix(opts.targets)[fit_rows]
    mean, sd = np.nanmean(y_fit, axis=0), np.nanstd(y_fit, axis=0)
    if not np.all(sd > 0):
        raise ConfigError(f"targets {list(opts.targets)} need spread in the training patients (SD {sd.tolist()})")
    device = resolve_device(opts.device)
    results: list[FoldResult] = []
    networks = []
    t0 = time.perf_counter()
    with torch_threads(opts.threads):
        for group in groups:
            cols = [opts.targets.index(t) for t in group]
            fr = [_fold(data, group, split, k, opts, (mean[cols], sd[cols]), device) for k in range(len(split.folds))]
            results += fr
            chosen = [min(fr, key=lambda r: r.best_val_loss)] if opts.ensemble == "best_fold" else fr
            nets = []
            for r in chosen:
                net = build_network(opts.arch, len(group))
                net.load_state_dict(copy.deepcopy(r.state))
                nets.append(net.eval())
            networks.append(nets)
    meta = {"split": split.as_dict(), "train_seconds": time.perf_counter() - t0, "device": str(device),
            "folds": [{"group": list(r.group), "fold": r.fold, "best_epoch": r.best_epoch,
                       "best_val_loss": r.best_val_loss} for r in results],
            "chosen_folds": {"+".join(g): [r.fold for r in results if r.group == g and
                                           (opts.ensemble == "mean" or r.best_val_loss == min(
                                               x.best_val_loss for x in results if x.group == g))]
                             for g in groups},
            "trained_with": package_versions()}
    model = DLModel(tuple(opts.targets), groups, networks, dict(zip(opts.targets, map(float, mean))),
                    dict(zip(opts.targets, map(float, sd))), slab or SlabOptions(), opts, meta)
    return model, split, results
