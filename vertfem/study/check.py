"""Pre-flight check of a study: every problem listed before a long run, with a run-time and memory estimate.

:func:`check_study` reads every CT's header (not its voxels) and every label
map, resolves every kernel, selects every vertebra the cohort names on the
CT's grid exactly as the tasks will (:func:`~vertfem.vertebra.select_mask`:
label present, not cut by the field of view of the CT or of the label map,
one piece) and checks its volume, and checks each analysis against the
columns the results table will have and the kernels of the cohort. Results
per input pair are cached by content hash in ``<output>/.preflight.json``, so
a rerun checks only new or changed inputs.

Three severities: an **error** is a mistake in the study definition (an
analysis naming a column or a kernel that will not exist, a duplicated cohort
row) and stops ``vertfem study run`` before any task; a **problem** is an
input that will make its tasks fail (they are recorded as failed and the
study goes on; ``--strict`` stops instead); a **note** is worth knowing.
"""

from __future__ import annotations

import difflib
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..measures import MEASURES
from .columns import _FIXED, result_columns
from .config import Study, load_cohort, load_study
from .estimate import Estimate, estimate, memory_note
from .inputs import Cache, Problem, check_inputs, read_header
from .tasks import InputHashes, Task, make_tasks

__all__ = ["CheckReport", "Estimate", "Problem", "check_study", "read_header"]


@dataclass(frozen=True)
class CheckReport:
    """Result of :func:`check_study`."""

    study: str
    n_rows: int
    n_tasks: int
    n_inputs: int
    problems: tuple[Problem, ...]
    estimate: Estimate
    duration_s: float
    tasks: tuple[Task, ...] = field(default=(), repr=False)

    @property
    def errors(self) -> tuple[Problem, ...]:
        """Findings of severity ``error``."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def failing(self) -> tuple[Problem, ...]:
        """Findings of severity ``problem`` (tasks that will fail)."""
        return tuple(p for p in self.problems if p.severity == "problem")

    @property
    def ok(self) -> bool:
        """No errors and no problems."""
        return not self.errors and not self.failing

    def lines(self) -> list[str]:
        """The report as text lines (what ``vertfem study check`` prints)."""
        head = (f"{self.study}: {self.n_rows} cohort rows, {self.n_inputs} CT/mask pairs, {self.n_tasks} tasks "
                f"checked in {self.duration_s:.1f} s")
        counts = {s: sum(p.severity == s for p in self.problems) for s in ("error", "problem", "note")}
        summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items())
        return [head, *(p.line() for p in self.problems), self.estimate.line(), summary]


def _kernels(study: Study, cohort: pd.DataFrame, tasks: list[Task], out: list[Problem]) -> None:
    from ..vertebra.prepare import INTERNAL

    calibrated = [m for m in study.enabled() if MEASURES[m].calibrated]
    registry = study.registry()
    kernels = cohort[study.columns.kernel].astype(str)
    for k in sorted(set(kernels)):
        if k in registry or k.strip().lower() == INTERNAL or not calibrated:
            continue
        rows = list(cohort.index[kernels == k])
        n = sum(t.kernel == k and t.measure in calibrated for t in tasks)
        out.append(Problem("problem", f"kernel {k!r} (cohort rows {_rows(rows)})",
                           f"no calibration; its {', '.join(calibrated)} tasks will fail. Add it under "
                           f"'calibrations:' (slope/intercept or inserts); known: {', '.join(registry)}", n))
    unused = sorted(set(study.calibrations) - set(kernels))
    if unused:
        out.append(Problem("note", "calibrations", f"kernel(s) {unused} are calibrated but not in the cohort"))


def _rows(rows: list[int]) -> str:
    return ", ".join(map(str, rows[:8])) + (f" and {len(rows) - 8} more" if len(rows) > 8 else "")


# ----------------------------------------------------------------------------------------------- analyses


def _owner(column: str, study: Study) -> str | None:
    """The measure whose results carry ``column`` although the study does not compute it."""
    for m, cols in _FIXED.items():
        if column in cols and m not in study.enabled():
            return m
    return None


def _unknown(column: str, known: set[str], study: Study, open_measures: list[str]) -> Problem | str:
    """Why a column is not known: an error, or a note when an open measure may produce it."""
    owner = _owner(column, study)
    if owner:
        return f"{column!r} is a column of the {owner!r} measure, which the study does not compute (add it under "\
               "'measures:')"
    every = known | {c for cols in _FIXED.values() for c in cols}
    close = difflib.get_close_matches(column, sorted(every), n=3, cutoff=0.75)
    if not close and open_measures:
        return Problem("note", "", f"{column!r} cannot be checked before the run: the columns of "
                                   f"{', '.join(open_measures)} depend on the model")
    hint = "; did you mean " + " or ".join(
        repr(c) + (f" (a column of the {_owner(c, study)!r} measure, which the study does not compute)"
                   if _owner(c, study) else "") for c in close) + "?" if close else ""
    return f"{column!r} is neither a result column nor a cohort column{hint}"


def _analyses(study: Study, cohort: pd.DataFrame, out: list[Problem]) -> None:
    c = study.columns
    ident = {c.ct, c.mask, c.subject, c.scan, c.kernel, c.vertebra}
    cohort_cols = [col for col in cohort.columns if col not in ident]
    cache = Cache(study.output_dir)
    names = [n for a in study.analyses for n in [*a.measures, *(x for x in (a.x, a.by) if x), *a.covariates]]
    known, unverifiable = result_columns(study.enabled(), cohort_cols, needed=names, cache=cache.data)
    cache.save()
    kernels = set(cohort[c.kernel].astype(str))
    multi_scan = cohort.groupby([c.subject, c.kernel])[c.scan].nunique().max() >= 2 if len(cohort) else False
    for i, a in enumerate(study.analyses):
        where = f"analyses[{i}] ({a.label})"
        for col in [*a.measures, *(x for x in (a.x, a.by) if x), *a.covariates]:
            if col not in known:
                why = _unknown(col, known, study, unverifiable)
                out.append(Problem("note", where, why.message) if isinstance(why, Problem)
                           else Problem("error", where, why))
        for k in [*(a.kernels or ()), *([a.kernel] if a.kernel else [])]:
            if k not in kernels:
                out.append(Problem("error", where, f"kernel {k!r} is not in the cohort's {c.kernel!r} column "
                                   f"(kernels present: {', '.join(sorted(kernels))})"))
        if a.outcome:
            if a.outcome not in cohort.columns:
                close = difflib.get_close_matches(a.outcome, cohort_cols, n=3, cutoff=0.75)
                hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
                out.append(Problem("error", where, f"outcome {a.outcome!r} is not a cohort column{hint}"))
            else:
                vals = set(pd.to_numeric(cohort[a.outcome], errors="coerce").dropna().unique())
                if not vals <= {0.0, 1.0}:
                    shown = ", ".join(f"{v:g}" for v in sorted(vals)[:5])
                    out.append(Problem("error", where, f"outcome {a.outcome!r} must be coded 0/1, has {shown}"
                                       + (" ..." if len(vals) > 5 else "")))
                elif len(vals) < 2:
                    out.append(Problem("error", where, f"outcome {a.outcome!r} has only the value {vals or '{}'}"))
        if a.type == "conditional_logistic" and c.matched_set not in cohort.columns:
            out.append(Problem("error", where, f"matched-set column {c.matched_set!r} is not in the cohort "
                               "(columns: matched_set: ...)"))
        if a.type == "precision" and not multi_scan:
            out.append(Problem("error", where, f"precision needs repeat scans: no subject has two {c.scan!r} "
                               "values with one kernel"))
    n_subjects = cohort[c.subject].nunique()
    if study.analyses and n_subjects < study.report.small_n:
        out.append(Problem("note", "cohort", f"{n_subjects} subjects (fewer than report.small_n = "
                           f"{study.report.small_n}): statistics will carry small-n warnings"))


def _duplicates(study: Study, cohort: pd.DataFrame, out: list[Problem]) -> None:
    c = study.columns
    dup = cohort[cohort.duplicated([c.subject, c.scan, c.kernel], keep=False)]
    for (subj, scan, kern), d in dup.groupby([c.subject, c.scan, c.kernel]):
        out.append(Problem("error", f"cohort rows {_rows(list(d.index))}",
                           f"subject {subj!r}, scan {scan!r}, kernel {kern!r} appear {len(d)} times; give repeat "
                           f"scans their own {c.scan!r}"))


# ----------------------------------------------------------------------------------------------- entry point


def check_study(study: Study | str | Path, *, tasks: list[Task] | None = None, cohort: pd.DataFrame | None = None,
                workers: int | None = None) -> CheckReport:
    """Check a study before running it and estimate its run time and memory.

    Parameters
    ----------
    study : Study or path
    tasks : list of Task, optional
        The tasks to check and estimate (default: every task of the study).
    cohort : DataFrame, optional
        The cohort table, if already read.
    workers : int, optional
        Parallel workers of the estimate (default: the study's).

    Returns
    -------
    CheckReport
        Every finding (errors, problems, notes) and the estimate.

    Raises
    ------
    ConfigError
        The cohort table cannot be read or lacks required columns.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "c.csv").write_text("subject_id,kernel,ct,mask,vertebra\\nS1,B40f,no.nii,no.nii,L1\\n")
    >>> _ = (d / "s.yaml").write_text("name: x\\ncohort: c.csv\\nmeasures: {vbmd: {}}\\n")
    >>> r = check_study(d / "s.yaml")
    >>> r.ok, r.failing[0].message
    (False, 'CT ... does not exist and label map ... does not exist')
    """
    t0 = time.perf_counter()
    study = study if isinstance(study, Study) else load_study(study)
    cohort = load_cohort(study) if cohort is None else cohort
    tasks = make_tasks(study, cohort, InputHashes(study.output_dir)) if tasks is None else tasks
    out: list[Problem] = []
    _duplicates(study, cohort, out)
    _analyses(study, cohort, out)
    _kernels(study, cohort, tasks, out)
    sizes = check_inputs(study, tasks, cohort, out)
    est = estimate(study, tasks, sizes, workers or study.execution.workers)
    note = memory_note(est)
    if note:
        out.append(Problem("note", "execution", note))
    order = {"error": 0, "problem": 1, "note": 2}
    out.sort(key=lambda p: order[p.severity])
    n_inputs = len({(t.ct, t.mask) for t in tasks})
    return CheckReport(study.name, len(cohort), len(tasks), n_inputs, tuple(out), est,
                       time.perf_counter() - t0, tuple(tasks))
