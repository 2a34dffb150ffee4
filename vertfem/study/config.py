"""Study files: YAML validated by pydantic, errors naming the key and the line.

A study file names the cohort table, kernel calibrations, the measures to
compute with their options, the analyses and the output folder. Paths are
relative to the YAML file. See ``examples/kernel_comparison/study.yaml`` for
a documented example.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..calibration import CalibrationEntry, KernelRegistry, default_registry
from ..errors import ConfigError
from ..focal import FocalOptions
from ..labels import CONVENTIONS
from ..meshing import MeshOptions
from ..solvers.linear import SolverName
from ..texture import preset

__all__ = ["Analysis", "Columns", "Measures", "Study", "load_cohort", "load_study"]

MEASURES = ("vbmd", "fe", "focal", "texture")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Columns(_Model):
    """Names of the cohort table's columns (one row per subject and scan)."""

    subject: str = "subject_id"
    scan: str = "scan_id"
    kernel: str = "kernel"
    ct: str = "ct"
    mask: str = "mask"
    vertebra: str = "vertebra"
    group: str = "group"
    matched_set: str = "matched_set"
    covariates: list[str] = ["age", "sex"]


class VBMDMeasure(_Model):
    enabled: bool = True
    erosion_mm: float = Field(6.0, ge=0)


class FEMeasure(_Model):
    enabled: bool = True
    mesh_size_mm: float = Field(2.0, gt=0.3, le=6.0)
    law: str = "morgan2003-vertebra"
    load_case: str | dict[str, Any] = "axial_compression"
    solver: SolverName = "auto"
    save_fields: bool = False
    mesh: dict[str, Any] = Field({}, description="further MeshOptions, e.g. cap_thickness_mm: 5")

    @field_validator("mesh")
    @classmethod
    def _valid_mesh(cls, v: dict) -> dict:
        MeshOptions(**v)
        return v

    def mesh_options(self) -> MeshOptions:
        return MeshOptions(**{"mesh_size_mm": self.mesh_size_mm, "law": self.law, **self.mesh})


class FocalMeasure(_Model):
    enabled: bool = False
    options: dict[str, Any] = {}

    @field_validator("options")
    @classmethod
    def _valid(cls, v: dict) -> dict:
        FocalOptions(**v)
        return v


class TextureMeasure(_Model):
    enabled: bool = False
    preset: str = "goller2023"
    vois: list[Literal["body", "cortical", "cancellous"]] | None = None
    shell_mm: float = Field(2.0, gt=0)

    @field_validator("preset")
    @classmethod
    def _known(cls, v: str) -> str:
        preset(v)  # raises ConfigError (a ValueError) naming the presets
        return v


class Measures(_Model):
    vbmd: VBMDMeasure = VBMDMeasure()
    fe: FEMeasure = FEMeasure()
    focal: FocalMeasure = FocalMeasure()
    texture: TextureMeasure = TextureMeasure()

    def enabled(self) -> list[str]:
        return [m for m in MEASURES if getattr(self, m).enabled]


_NEEDS = {
    "paired": ("kernels", "measures"), "bland_altman": ("kernels", "measures"), "regression": ("x", "measures"),
    "spearman": ("x", "measures"), "roc": ("outcome", "measures"), "delong": ("outcome", "measures"),
    "odds_ratios": ("outcome", "measures"), "conditional_logistic": ("outcome", "measures"),
    "precision": ("measures",), "radiomics": ("outcome",),
}


class Analysis(_Model):
    """One analysis of the results table.

    ``type`` is one of paired, bland_altman, regression, spearman, roc,
    delong, odds_ratios, conditional_logistic, precision, radiomics.
    ``measures`` are result columns (``stiffness_N_per_mm``); ``kernels``
    the two kernels compared (paired, Bland–Altman); ``x`` the regressor
    (``vbmd_mg_cm3``) or, for Spearman, the class column; ``outcome`` a 0/1
    cohort column; ``by`` an optional subgroup column; ``kernel`` restricts
    single-kernel analyses to one kernel (default: each kernel separately).
    """

    type: Literal["paired", "bland_altman", "regression", "spearman", "roc", "delong", "odds_ratios",
                  "conditional_logistic", "precision", "radiomics"]
    name: str | None = None
    measures: list[str] = []
    kernels: tuple[str, str] | None = None
    kernel: str | None = None
    x: str | None = None
    outcome: str | None = None
    by: str | None = None
    covariates: list[str] = []
    higher_is_positive: bool = False
    feature_prefix: str = ""
    n_mrmr: int = Field(30, ge=1)
    test_size: float = Field(0.3, gt=0, lt=1)
    seed: int = 0

    @model_validator(mode="after")
    def _required(self) -> "Analysis":
        missing = [f for f in _NEEDS[self.type] if not getattr(self, f)]
        if missing:
            raise ValueError(f"analysis type {self.type!r} needs {', '.join(missing)}")
        return self

    @property
    def label(self) -> str:
        return self.name or self.type


class Execution(_Model):
    workers: int = Field(2, ge=1)
    scheduler: str | None = None
    cluster: Literal["local"] | None = None


class Study(_Model):
    """A study file."""

    name: str
    cohort: Path
    columns: Columns = Columns()
    convention: str = "totalsegmentator"
    calibrations: dict[str, CalibrationEntry] = {}
    measures: Measures = Measures()
    analyses: list[Analysis] = []
    output: Path = Path("results")
    execution: Execution = Execution()
    root: Path = Path(".")

    @field_validator("convention")
    @classmethod
    def _conv(cls, v: str) -> str:
        if v not in CONVENTIONS:
            raise ValueError(f"unknown label convention {v!r}; choose from {sorted(CONVENTIONS)}")
        return v

    def path(self, p: str | Path) -> Path:
        """A path from the study or cohort table, resolved against the YAML file's folder."""
        p = Path(p).expanduser()
        return p if p.is_absolute() else (self.root / p)

    @property
    def output_dir(self) -> Path:
        return self.path(self.output)

    def registry(self) -> KernelRegistry:
        return default_registry().with_calibration(*(e.build(k) for k, e in self.calibrations.items()))


def _line_of(node: yaml.Node | None, loc: tuple) -> int | None:
    """Line (1-based) of the YAML node at a pydantic error location."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == str(key)), None)
            if nxt is None:
                nxt_key = next((k for k, _ in node.value if k.value == str(key)), None)
                return nxt_key.start_mark.line + 1 if nxt_key is not None else line
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
        line = node.start_mark.line + 1
    return line


def load_study(path: str | Path) -> Study:
    """Read and validate a study YAML file.

    Raises
    ------
    ConfigError
        Unreadable or malformed YAML, or invalid content; the message names
        each bad key with its line.
    """
    p = Path(path)
    try:
        text = p.read_text()
        data = yaml.safe_load(text)
        tree = yaml.compose(text)
    except OSError as exc:
        raise ConfigError(f"cannot read study file {p}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{p} must contain a mapping of study settings (name, cohort, measures, ...)")
    try:
        study = Study.model_validate({**data, "root": p.resolve().parent})
    except ValidationError as exc:
        lines = []
        for e in exc.errors():
            loc = tuple(x for x in e["loc"] if not (isinstance(x, str) and x.startswith("function-")))
            line = _line_of(tree, loc)
            where = ".".join(str(x) for x in loc) or "(top level)"
            lines.append(f"  {where} (line {line}): {e['msg']}" if line else f"  {where}: {e['msg']}")
        raise ConfigError(f"invalid study file {p}:\n" + "\n".join(lines)) from None
    return study


def load_cohort(study: Study) -> pd.DataFrame:
    """The cohort table (CSV or Excel) with required columns checked; one row per subject and scan."""
    p = study.path(study.cohort)
    try:
        df = pd.read_excel(p) if p.suffix.lower() in (".xlsx", ".xls") else pd.read_csv(p)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the cohort table {p}: {exc}") from exc
    c = study.columns
    required = [c.subject, c.kernel, c.ct, c.mask, c.vertebra]
    missing = [col for col in required if col not in df.columns]
    if missing:
        raise ConfigError(f"cohort table {p} lacks column(s) {missing}; it has {list(df.columns)} "
                          "(rename them or map them under 'columns:' in the study file)")
    if c.scan not in df.columns:
        df[c.scan] = "1"
    for col in (c.subject, c.scan, c.kernel, c.vertebra):
        df[col] = df[col].astype(str)
    return df
