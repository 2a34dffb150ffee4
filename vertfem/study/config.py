"""Study files: YAML validated by pydantic, errors naming the key and the line.

A study file names the cohort table, kernel calibrations, the measures to
compute with their options, the analyses, the report and the output folder.
Paths are relative to the YAML file. A key given twice in one mapping is an
error naming both lines (PyYAML would keep the last one silently). See
``examples/kernel_comparison/study.yaml`` for a documented example.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, cast

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator, model_validator

from ..calibration import CalibrationEntry, KernelRegistry, default_registry
from ..errors import ConfigError
from ..measures import MEASURES
from ..options import Options, load_yaml
from ..vertebra.model import VertebraOptions

__all__ = ["Analysis", "Columns", "Execution", "Measures", "ReportOptions", "Study", "load_cohort", "load_study"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Columns(_Model):
    """Names of the cohort table's columns (one row per subject and scan)."""

    subject: str = Field("subject_id", description="subject identifier")
    scan: str = Field("scan_id", description="scan of the subject (repeat scans for precision); optional column")
    kernel: str = Field("kernel", description="reconstruction kernel, picks the HU → density calibration")
    ct: str = Field("ct", description="CT file (NIfTI/NRRD/MHA) or DICOM folder")
    mask: str = Field("mask", description="label map")
    vertebra: str = Field("vertebra", description="level(s): L1, L1;L2 or L1-L4")
    group: str = Field("group", description="subgroup column (optional)")
    matched_set: str = Field("matched_set", description="matched-set id for conditional logistic regression")
    covariates: list[str] = Field(["age", "sex"], description="adjustment variables of the odds-ratio analyses")


def _measures_model() -> type[BaseModel]:
    """The ``measures:`` section: one optional key per registered measure, holding its options model verbatim."""
    fields: dict[str, Any] = {name: (m.options_model | None, None) for name, m in MEASURES.items()}
    model = create_model("Measures", __config__=ConfigDict(extra="forbid"), __module__=__name__, **fields)
    model.__doc__ = ("Measures to compute, each with its options (the same names as the Python options models and "
                     "the command-line flags); a measure listed is computed, an empty entry uses its defaults.")
    return model


Measures = _measures_model()


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
                  "conditional_logistic", "precision", "radiomics"] = Field(description="what to compute")
    name: str | None = Field(None, description="label in the report and file names (default: the type)")
    measures: list[str] = Field([], description="result columns analysed, e.g. stiffness_N_per_mm")
    kernels: tuple[str, str] | None = Field(None, description="the two kernels compared (paired, bland_altman)")
    kernel: str | None = Field(None, description="restrict a single-kernel analysis to this kernel")
    x: str | None = Field(None, description="regressor (regression) or class column (spearman)")
    outcome: str | None = Field(None, description="0/1 cohort column (1 = event)")
    by: str | None = Field(None, description="subgroup column (paired, bland_altman)")
    covariates: list[str] = Field([], description="adjustment variables (odds_ratios, conditional_logistic)")
    higher_is_positive: bool | None = Field(
        False, description="a higher value means the event (None: decide from the data, as pROC's 'auto')")
    method: Literal["ml", "firth"] = Field(
        "ml", description="odds_ratios: maximum likelihood (R glm) or Firth's penalised likelihood (R logistf)")
    feature_prefix: str = Field("", description="radiomics: candidate feature columns start with this")
    n_mrmr: int = Field(30, ge=1, description="radiomics: features kept by mRMR before LASSO")
    test_size: float = Field(0.3, gt=0, lt=1, description="radiomics: held-out fraction")
    seed: int = Field(0, description="radiomics: seed of the train/test split")

    @model_validator(mode="after")
    def _required(self) -> Analysis:
        missing = [f for f in _NEEDS[self.type] if not getattr(self, f)]
        if missing:
            raise ValueError(f"analysis type {self.type!r} needs {', '.join(missing)}")
        return self

    @property
    def label(self) -> str:
        return self.name or self.type


class Execution(_Model):
    """Where and how the tasks run."""

    workers: int = Field(2, ge=1, description="parallel tasks (1: inline, in the calling process)")
    scheduler: str | None = Field(None, description="address of a running dask scheduler, e.g. tcp://host:8786")
    cluster: Literal["local"] | None = Field(None, description="'local': start a dask LocalCluster for this run")
    connect_timeout_s: float = Field(10.0, gt=0, description="give up connecting to the dask scheduler after this, s")
    no_workers_timeout_s: float = Field(
        300.0, gt=0, description="stop when the dask cluster has had no worker for this long, s")


class ReportOptions(_Model):
    """What ``vertfem study report`` writes."""

    qc_images: bool = Field(True, description="one QC image per subject, scan, kernel and vertebra")
    figure_dpi: int = Field(300, ge=72, le=1200, description="resolution of the report's figures (PNG), dpi")
    small_n: int = Field(10, ge=2, description="statistics on fewer subjects than this carry a small-n warning")


class Study(_Model):
    """A study file: cohort, calibrations, measures with their options, analyses, report and execution."""

    name: str = Field(description="title of the study (report heading)")
    cohort: Path = Field(description="cohort table (CSV or Excel), relative to the study file")
    columns: Columns = Columns()
    vertebra: VertebraOptions = VertebraOptions()
    calibrations: dict[str, CalibrationEntry] = Field({}, description="kernels beyond the built-in B40f and B70f")
    measures: Measures = Field(default_factory=lambda: Measures.model_validate({"vbmd": {}, "fe": {}}))  # type: ignore[valid-type]
    save_files: list[str] = Field([], description="measures whose files (maps, VTU) are saved per task")
    analyses: list[Analysis] = []
    output: Path = Field(Path("results"), description="output folder, relative to the study file")
    execution: Execution = Execution()
    report: ReportOptions = ReportOptions()
    root: Path = Field(Path("."), description="folder of the study file (set when it is read)")
    source: Path | None = Field(None, description="the study file itself (set when it is read)")

    @field_validator("measures", mode="before")
    @classmethod
    def _empty_is_default(cls, v: Any) -> Any:
        # "vbmd:" with nothing after it (None) means: compute vBMD with its default options
        return {k: ({} if x is None else x) for k, x in v.items()} if isinstance(v, dict) else v

    @field_validator("save_files")
    @classmethod
    def _known_measures(cls, v: list[str]) -> list[str]:
        bad = sorted(set(v) - set(MEASURES))
        if bad:
            raise ValueError(f"unknown measure(s) {bad}; known: {list(MEASURES)}")
        return v

    def enabled(self) -> dict[str, Options]:
        """The measures to compute, in registry order, with their options."""
        measures = cast(BaseModel, self.measures)
        return {name: getattr(measures, name) for name in MEASURES if name in measures.model_fields_set}

    @property
    def convention(self) -> str:
        """Label convention of the cohort's masks."""
        return self.vertebra.convention

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
        Unreadable or malformed YAML, a key given twice, or invalid content;
        the message names each bad key with its line.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "study.yaml"
    >>> _ = p.write_text("name: demo\\ncohort: cohort.csv\\nmeasures: {vbmd: {erosion_mm: 5}}\\n")
    >>> s = load_study(p)
    >>> s.enabled()["vbmd"].erosion_mm, s.execution.workers
    (5.0, 2)
    """
    p = Path(path)
    data = load_yaml(p, what="study file")
    tree = yaml.compose(p.read_text())  # the node tree gives the line of each key for the messages
    if not isinstance(data, dict):
        raise ConfigError(f"{p} must contain a mapping of study settings (name, cohort, measures, ...)")
    try:
        study = Study.model_validate({**data, "root": p.resolve().parent, "source": p})
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
