"""``vertfem dl train``: a config file → slabs of every vertebra → cross-validated training → test-set
evaluation and report, all from one YAML (the study-file conventions: paths relative to the file, a cohort
table, ``vertebra`` and ``calibrations`` sections)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import ValidationError

from ..calibration import default_registry
from ..errors import ConfigError, VertfemError
from ..vertebra import prepare_vertebrae
from .data import SlabDataset
from .options import DLConfig, EvalOptions, SlabOptions, TrainOptions
from .slab import prepare_slabs, save_slabs_png

__all__ = ["build_dataset", "load_config", "run_training", "train_and_report"]

log = logging.getLogger(__name__)


def load_config(path: str | Path) -> DLConfig:
    """Read and validate a training file.

    Raises
    ------
    ConfigError
        Unreadable YAML or invalid content (each bad key named).
    """
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the training file {p}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{p} must hold a mapping (name, cohort, columns, slab, train, ...)")
    try:
        return DLConfig.model_validate({**data, "root": p.resolve().parent})
    except ValidationError as exc:
        lines = [f"  {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(f"invalid training file {p}:\n" + "\n".join(lines)) from None


def _column(df: pd.DataFrame, name: str) -> np.ndarray:
    return df[name].to_numpy(float) if name in df else np.full(len(df), np.nan)


def build_dataset(config: DLConfig, *, slab_pngs: Path | None = None) -> tuple[SlabDataset, list[dict[str, str]]]:
    """Slabs and targets of every cohort row (one row per vertebra); rows whose vertebra is refused are
    returned as failures (patient, vertebra, error) instead of stopping the run."""
    c = config.columns
    try:
        df = pd.read_excel(config.cohort) if config.cohort.suffix.lower() in (".xlsx", ".xls") else \
            pd.read_csv(config.cohort)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the cohort table {config.cohort}: {exc}") from exc
    missing = [x for x in (c.patient, c.ct, c.mask, c.vertebra) if x not in df]
    if missing:
        raise ConfigError(f"cohort table {config.cohort} lacks column(s) {missing}; it has {list(df.columns)}")
    registry = default_registry().with_calibration(*(e.build(k) for k, e in config.calibrations.items()))
    images, keep, failures = [], [], []
    for (ct, mask), rows in df.groupby([c.ct, c.mask], sort=False):
        kernel = str(rows[c.kernel].iloc[0]) if c.kernel in rows and pd.notna(rows[c.kernel].iloc[0]) else None
        levels = [str(v) for v in rows[c.vertebra]]
        prepared = prepare_vertebrae(_path(config, ct), _path(config, mask), levels, kernel=kernel,
                                     registry=registry, options=config.vertebra)
        for idx, lv in zip(rows.index, levels):
            v = prepared.get(lv)
            if not isinstance(v, VertfemError) and v is not None:
                s = prepare_slabs(v, config.slab)
                images.append(s)
                keep.append(idx)
                if slab_pngs is not None:
                    save_slabs_png(s, slab_pngs / f"{df.at[idx, c.patient]}_{lv}.png", title=f"{ct} {lv}")
            else:
                failures.append({"patient": str(df.at[idx, c.patient]), "vertebra": lv,
                                 "error": f"{type(v).__name__}: {v}"})
    if not keep:
        raise ConfigError(f"no vertebra of {config.cohort} could be prepared; first failure: {failures[:1]}")
    sub = df.loc[keep]
    ds = SlabDataset(np.stack(images), tuple(sub[c.patient].astype(str)), tuple(sub[c.vertebra].astype(str)),
                     {"bmd": _column(sub, c.bmd), "tbs": _column(sub, c.tbs)},
                     list(config.slab.offsets_mm).index(0.0), {"yam_percent": _column(sub, c.yam)})
    return ds, failures


def _path(config: DLConfig, p: Any) -> Path:
    q = Path(str(p)).expanduser()
    return q if q.is_absolute() else config.root / q


def train_and_report(data: SlabDataset, *, train: TrainOptions, slab: SlabOptions, evaluation: EvalOptions,
                     output: str | Path, title: str, info: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train (:func:`~vertfem.dl.train.train_model`), predict the held-out test patients, evaluate and write
    ``model.pt``, ``split.json`` and the report into ``output``. Returns the evaluation with paths and timings."""
    from .train import train_model

    out = Path(output)
    t0 = time.perf_counter()
    model, split, folds = train_model(data, train, slab)
    t_train = time.perf_counter() - t0
    rows = data.rows(split.test)
    if len(rows) == 0:
        raise ConfigError("the test set is empty (test_fraction = 0): nothing to evaluate")
    t1 = time.perf_counter()
    pred = model.predict(data.images[rows, data.mid])
    t_pred = (time.perf_counter() - t1) / len(rows)
    table = pd.DataFrame({"patient": np.asarray(data.patients)[rows], "vertebra": np.asarray(data.vertebrae)[rows]})
    for t in model.targets:
        table[t] = data.targets[t][rows]
        table[f"pred_{t}"] = pred[:, model.targets.index(t)]
    if "yam_percent" in data.extra and np.isfinite(data.extra["yam_percent"][rows]).any():
        table["yam_percent"] = data.extra["yam_percent"][rows]
    from .evaluate import evaluate
    from .report import write_report

    ev = evaluate(table, evaluation)
    model_path = model.save(out / "model.pt")
    facts = {"patients (train+validation / test)": f"{len(set(data.patients)) - len(split.test)} / {len(split.test)}",
             "vertebrae in the test set": len(rows), "architecture": train.arch, "folds": train.folds,
             "epochs": train.epochs, "training time (s)": round(t_train, 1),
             "inference per vertebra (s)": round(t_pred, 4), "model": str(model_path), **(info or {})}
    report = write_report(out, title, table, ev, facts)
    (out / "split.json").write_text(pd.Series(split.as_dict()).to_json(indent=2))
    return {**ev, "model": model_path, "report": report, "train_seconds": t_train, "predict_seconds": t_pred,
            "split": split, "folds": folds, "table": table}


def run_training(config: DLConfig | str | Path) -> dict[str, Any]:
    """Everything ``vertfem dl train config.yaml`` does; see :func:`train_and_report`."""
    cfg = config if isinstance(config, DLConfig) else load_config(config)
    t0 = time.perf_counter()
    data, failures = build_dataset(cfg, slab_pngs=cfg.output / "slabs")
    t_prep = time.perf_counter() - t0
    if failures:
        pd.DataFrame(failures).to_csv(cfg.output / "failures.csv", index=False)
        log.warning("%d vertebrae could not be prepared (see %s)", len(failures), cfg.output / "failures.csv")
    return train_and_report(data, train=cfg.train, slab=cfg.slab, evaluation=cfg.evaluation, output=cfg.output,
                            title=cfg.name, info={"input preparation (s)": round(t_prep, 1),
                                                  "vertebrae refused": len(failures)})
