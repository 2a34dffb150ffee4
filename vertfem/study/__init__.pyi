from .analyses import AnalysisResult, run_analyses
from .backends import InfrastructureError
from .check import CheckReport, Estimate, Problem, check_study
from .config import Analysis, Study, load_cohort, load_study
from .report import write_report
from .runner import RunProgress, StudyInterrupted, StudyRun, run_study, select_tasks, study_status
from .store import ResultStore
from .tasks import Task, make_tasks, run_task

__all__ = [
    "Analysis",
    "AnalysisResult",
    "CheckReport",
    "Estimate",
    "InfrastructureError",
    "Problem",
    "ResultStore",
    "RunProgress",
    "Study",
    "StudyInterrupted",
    "StudyRun",
    "Task",
    "check_study",
    "load_cohort",
    "load_study",
    "make_tasks",
    "run_analyses",
    "run_study",
    "run_task",
    "select_tasks",
    "study_status",
    "write_report",
]
