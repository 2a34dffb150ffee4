"""Studies from YAML: cohort tables, resumable task runner (local pool or dask), analyses, report."""

from .analyses import AnalysisResult, run_analyses
from .config import Analysis, Study, load_cohort, load_study
from .report import write_report
from .runner import StudyRun, run_study, study_status
from .store import ResultStore
from .tasks import Task, make_tasks, run_task

__all__ = [
    "Analysis",
    "AnalysisResult",
    "ResultStore",
    "Study",
    "StudyRun",
    "Task",
    "load_cohort",
    "load_study",
    "make_tasks",
    "run_analyses",
    "run_study",
    "run_task",
    "study_status",
    "write_report",
]
