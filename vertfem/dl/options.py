"""Options of the learned BMD/TBS predictor (Yoshida et al. 2023): input slabs, training, the config file, prediction.

Defaults follow the paper where it states a value (5 mm sagittal slabs, 300 × 300 mm field of view resized to
256 × 256, three slabs at and 5 mm beside the mid-plane for training, ResNet50, Huber loss, Adam, mini-batch 20,
500 epochs, 5-fold cross-validation, a held-out test set of 52/402 = 13 % of the patients, patient level = mean
of L1–L4, %YAM < 80 % osteopenia, < 70 % osteoporosis, TBS ≤ 1.31 impairment). Where the paper is silent (HU
window, learning rate, augmentation ranges) the choice is ours and documented here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..calibration import CalibrationEntry
from ..options import Options
from ..vertebra import VertebraOptions

__all__ = [
    "AugmentOptions",
    "DLColumns",
    "DLConfig",
    "DLPredictOptions",
    "EvalOptions",
    "SlabOptions",
    "Target",
    "TrainOptions",
]

Target = Literal["bmd", "tbs"]


class SlabOptions(Options):
    """How a vertebra becomes the network's input: thick sagittal slabs in the vertebral frame.

    Each slab is the mean HU over ``thickness_mm`` across the lateral axis, centred ``offset`` mm beside the
    body's mid-sagittal plane, sampled on a ``fov_mm`` square around the body centroid (columns anterior →
    posterior, rows cranial → caudal) with ``size_px`` pixels, and windowed linearly to [0, 1].
    """

    thickness_mm: float = Field(5.0, gt=0.0, le=30.0, description="slab thickness, mm (paper: 5)")
    fov_mm: float = Field(300.0, gt=10.0, le=600.0, description="square field of view, mm (paper: 300)")
    size_px: int = Field(256, ge=32, le=1024, description="image size, pixels (paper: 256)")
    offsets_mm: tuple[float, ...] = Field((-5.0, 0.0, 5.0), min_length=1,
                                          description="lateral offsets of the training slabs, mm (paper: 0, ±5)")
    hu_window: tuple[float, float] = Field((-200.0, 1300.0), description="HU mapped to 0 and 1 (our choice)")

    @field_validator("hu_window")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[1] <= v[0]:
            raise ValueError("the window's upper HU must exceed its lower HU")
        return v

    @field_validator("offsets_mm")
    @classmethod
    def _has_mid(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if 0.0 not in v:
            raise ValueError("the offsets must include 0 (the mid-plane slab validates and predicts)")
        return v


class AugmentOptions(Options):
    """Random geometric augmentation of training images (never intensity: the grey values carry the BMD)."""

    rotation_deg: float = Field(10.0, ge=0.0, le=45.0, description="largest rotation, degrees")
    shift_fraction: float = Field(0.05, ge=0.0, le=0.3, description="largest shift, fraction of the image")
    scale_fraction: float = Field(0.05, ge=0.0, le=0.3, description="largest zoom in or out, fraction")


class TrainOptions(Options):
    """Network, optimisation and validation scheme."""

    arch: Literal["resnet50", "resnet18"] = Field("resnet50", description="torchvision ResNet (paper: ResNet50)")
    targets: tuple[Target, ...] = Field(("bmd", "tbs"), min_length=1, description="regression heads")
    separate_models: bool = Field(False, description="one network per target (as the paper) instead of shared heads")
    epochs: int = Field(500, ge=1, le=5000, description="epochs per fold (paper: 500)")
    batch_size: int = Field(20, ge=1, le=1024, description="mini-batch (paper: 20)")
    learning_rate: float = Field(1e-3, gt=0.0, le=1.0, description="Adam step size (our choice)")
    huber_delta: float = Field(1.0, gt=0.0, description="Huber loss delta on standardised targets")
    folds: int = Field(5, ge=2, le=20, description="cross-validation folds, split by patient (paper: 5)")
    test_fraction: float = Field(0.13, ge=0.0, lt=0.9, description="held-out test patients (paper: 52/402)")
    ensemble: Literal["best_fold", "mean"] = Field("best_fold", description="final model: the fold with the "
                                                   "lowest validation loss, or the mean of all folds")
    patience: int | None = Field(None, ge=1, description="stop a fold after this many epochs without improvement")
    augment: AugmentOptions = AugmentOptions()
    seed: int = Field(0, description="seed of the split, initialisation, batches and augmentation")
    device: str = Field("auto", description="auto, cpu, cuda or cuda:N")
    threads: int | None = Field(None, ge=1, le=256, description="CPU threads for torch during the run")


class EvalOptions(Options):
    """The paper's evaluation classes."""

    yam_reference_g_cm2: float | None = Field(None, gt=0.0, description="young-adult mean BMD for %YAM when the "
                                                                       "cohort has no %YAM column")
    osteopenia_yam_below: float = Field(80.0, description="%YAM below which a patient is osteopenic")
    osteoporosis_yam_below: float = Field(70.0, description="%YAM below which a patient is osteoporotic")
    tbs_impaired_max: float = Field(1.31, description="TBS at or below which microarchitecture is impaired")


class DLColumns(BaseModel):
    """Column names of the cohort table (one row per vertebra)."""

    model_config = ConfigDict(extra="forbid")
    patient: str = "patient_id"
    ct: str = "ct"
    mask: str = "mask"
    vertebra: str = "vertebra"
    kernel: str = "kernel"
    bmd: str = "bmd_g_cm2"
    tbs: str = "tbs"
    yam: str = "yam_percent"


class DLConfig(BaseModel):
    """A training file for ``vertfem dl train`` (paths relative to the file)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    cohort: Path
    columns: DLColumns = DLColumns()
    vertebra: VertebraOptions = VertebraOptions()
    calibrations: dict[str, CalibrationEntry] = {}
    slab: SlabOptions = SlabOptions()
    train: TrainOptions = TrainOptions()
    evaluation: EvalOptions = EvalOptions()
    output: Path = Path("dl_results")
    root: Path = Path(".")

    @model_validator(mode="after")
    def _paths(self) -> DLConfig:
        self.cohort = self.cohort if self.cohort.is_absolute() else self.root / self.cohort
        self.output = self.output if self.output.is_absolute() else self.root / self.output
        return self


class DLPredictOptions(Options):
    """Options of the ``dl`` measure: which trained model predicts, on how many CPU threads.

    One thread is the default: a study runs vertebrae in parallel processes, and on a machine whose cores are busy
    torch's threads wait for each other at every layer (ResNet50, 256 px, 2 cores with a load of about 3: 0.15 s
    per vertebra on 1 thread, 0.4–0.6 s on 2; ``benchmarks/bench_dl.py``). On an idle machine more threads can be
    faster for a single prediction.
    """

    model: Path = Field(description="trained model file (vertfem dl train)")
    threads: int | None = Field(1, ge=1, le=256, description="CPU threads torch uses for a prediction (none: torch's "
                                                             "default, one per core)")
