# The public names of this sub-package, read by type checkers and (through lazy_loader) at run time.
from .measure import DXAResult, DXATotal, dxa_measure, dxa_total, fit_abmd_calibration, save_projection_png
from .options import DXAOptions, LinearCalibration
from .projection import Projection, mineral_factor, project_vertebra
from .reference import (
    YoungAdultReference,
    load_reference,
    percent_yam,
    t_score,
    tbs_class,
    who_class,
    yam_class,
)
from .tbs import fit_tbs_calibration, tbs_like_index, variogram

__all__ = [
    "DXAOptions", "DXAResult", "DXATotal", "LinearCalibration", "Projection", "YoungAdultReference",
    "dxa_measure", "dxa_total", "fit_abmd_calibration", "fit_tbs_calibration", "load_reference", "mineral_factor",
    "percent_yam", "project_vertebra", "save_projection_png", "t_score", "tbs_class", "tbs_like_index",
    "variogram", "who_class", "yam_class",
]
