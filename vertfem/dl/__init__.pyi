# The public names of this sub-package, read by type checkers and (through lazy_loader) at run time.
# Only .model, .net and .train import torch; options, slabs, splits, evaluation and the synthetic cohort do not.
from ._torch import require_torch
from .data import SlabDataset
from .evaluate import agreement, diagnostic_metrics, evaluate, patient_level
from .measure import DLResult, dl_predict, dl_predict_many
from .model import DLModel, load_model
from .options import (
    AugmentOptions,
    DLColumns,
    DLConfig,
    DLPredictOptions,
    EvalOptions,
    SlabOptions,
    TrainOptions,
)
from .pipeline import build_dataset, load_config, run_training, train_and_report
from .slab import prepare_slabs, save_slabs_png
from .split import PatientSplit, split_patients
from .synthetic import synthetic_dataset
from .train import train_model

__all__ = [
    "AugmentOptions", "DLColumns", "DLConfig", "DLModel", "DLPredictOptions", "DLResult", "EvalOptions",
    "PatientSplit", "SlabDataset", "SlabOptions", "TrainOptions", "agreement", "build_dataset", "diagnostic_metrics",
    "dl_predict", "dl_predict_many", "evaluate", "load_config", "load_model", "patient_level", "prepare_slabs",
    "require_torch", "run_training", "save_slabs_png", "split_patients", "synthetic_dataset", "train_and_report",
    "train_model",
]
