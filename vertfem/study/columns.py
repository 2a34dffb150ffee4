"""The columns a study's results table will have, known before any task runs.

The pre-flight check (:mod:`vertfem.study.check`) uses them to find a typo in
an analysis (``stifness_N_per_mm``) before a long run instead of after it.
vBMD and focal rows have fixed columns (their results' ``row()``; a test runs
each measure and compares). FE rows have fixed core columns plus columns that
depend on the model (regions, endplates, load-case sweeps): FE is *open*, and
a name the check does not know is only a note, unless it is close to a known
one. Texture columns depend on the preset, the filters and the VOIs: they are
obtained by extracting the configured features once from a small synthetic
volume (names only; about 0.1–1 s). A measure the list does not cover is
open as well.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from .._version import __version__
from ..options import Options, options_sha256

__all__ = ["IDENTITY_COLUMNS", "OPEN_MEASURES", "PROVENANCE_COLUMNS", "measure_columns", "result_columns"]

#: Columns that identify a row of the results table.
IDENTITY_COLUMNS = ("subject", "scan", "kernel", "vertebra")

#: Provenance columns of every row (:meth:`vertfem.provenance.Provenance.row`); ``<measure>_options_sha256`` too.
PROVENANCE_COLUMNS = ("vertfem_version", "ct_sha256", "mask_sha256", "calibration", "cut_by_fov", "flags")

_FIXED: dict[str, tuple[str, ...]] = {
    "vbmd": ("vbmd_mg_cm3", "vbmd_sd_mg_cm3", "acr_class", "vbmd_roi_voxels", "vbmd_roi_volume_mm3",
             "vbmd_erosion_mm"),
    "fe": ("load_case", "stiffness_N_per_mm", "rotational_stiffness_Nm_per_deg", "axial_force_N", "moment_Nm",
           "strength_N", "strength_rule", "strength_definition", "apparent_modulus_MPa", "height_mm",
           "height_definition", "bone_apparent_strain", "boundary_conditions", "bone_volume_mm3",
           "bone_mineral_mass_g", "n_elements", "n_clamped_elements", "cranial_x", "cranial_y", "cranial_z"),
    "focal": ("focal_roi_voxels", "focal_roi_volume_mm3", "focal_voxels_with_value", "focal_void_fraction",
              "focal_incpt_width_mm_mean", "focal_incpt_width_mm_sd", "focal_bmd_loss_fraction_mean",
              "focal_bmd_loss_fraction_sd", "focal_bmc_loss_fraction_mm_mean", "focal_bmc_loss_fraction_mm_sd",
              "focal_incpt_width_per_void_mm_mean", "focal_incpt_width_per_void_mm_sd", "focal_n_voids",
              "focal_void_line_share_mean", "focal_mean_bmd_mg_cm3", "focal_loss_average",
              "focal_reference_bmd_mg_cm3", "focal_erosion_mm", "focal_voxel_mm", "focal_sigma_mm",
              "focal_directions", "focal_n_orientations"),
}


#: Measures whose rows may hold columns beyond the listed ones (FE: regions, endplates, sweeps of load cases).
OPEN_MEASURES = frozenset({"fe"})


def _texture_columns(options: Any) -> tuple[str, ...]:
    from ..geometry import ImageGeometry
    from ..texture.extract import extract_features

    settings, vois = options.resolved()
    # names do not depend on the grid: skip the resampling and filter margins on a 16³ noise cube
    settings = settings.model_copy(update={"resample_mm": None, "min_voxels": 1})
    n = 16
    g = ImageGeometry((n, n, n), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), tuple(np.eye(3).ravel()))
    image = np.random.default_rng(0).normal(200.0, 60.0, (n, n, n))
    voi = np.zeros((n, n, n), bool)
    voi[3:-3, 3:-3, 3:-3] = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined features of a noise cube are NaN with a FeatureWarning
        names = list(extract_features(image, voi, g, settings))
    sep = ":" if settings.naming == "ibsi" else "_"
    return ("texture_preset", *(f"{v}{sep}{k}" for v in vois for k in names))


def measure_columns(measure: str, options: Options) -> tuple[str, ...] | None:
    """The value columns one measure adds to the results table (identity and provenance columns aside).

    None for a measure whose columns are not known before it runs (the check then cannot verify names of it).

    Examples
    --------
    >>> from vertfem.vbmd import VBMDOptions
    >>> measure_columns("vbmd", VBMDOptions())[:2]
    ('vbmd_mg_cm3', 'vbmd_sd_mg_cm3')
    """
    if measure == "texture":
        return _texture_columns(options)
    return _FIXED.get(measure)


def result_columns(measures: dict[str, Options], cohort_columns: list[str], *, needed: Iterable[str] | None = None,
                   cache: dict[str, Any] | None = None) -> tuple[set[str], list[str]]:
    """Every column of the results table known in advance (identity, each measure's, provenance, the cohort's
    own), and the measures that may add others (open or not listed).

    Parameters
    ----------
    measures : dict
        The study's measures and their options.
    cohort_columns : list of str
    needed : iterable of str, optional
        The names the caller will look up: texture names are worked out only when one of these is not known
        without them (they take about a second). None: always.
    cache : dict, optional
        Where texture names are kept between calls (per options and vertfem version).

    Examples
    --------
    >>> from vertfem.vbmd import VBMDOptions
    >>> cols, unknown = result_columns({"vbmd": VBMDOptions()}, ["subject_id", "age"])
    >>> {"subject", "vbmd_mg_cm3", "ct_sha256", "age"} <= cols, unknown
    (True, [])
    """
    out = set(IDENTITY_COLUMNS) | set(PROVENANCE_COLUMNS) | set(cohort_columns)
    unknown = []
    for name, opts in measures.items():
        out.add(f"{name}_options_sha256")
        if name == "texture":
            continue
        cols = measure_columns(name, opts)
        if cols is None or name in OPEN_MEASURES:
            unknown.append(name)
        out.update(cols or ())
    if "texture" in measures and (needed is None or any(n not in out for n in needed)):
        key = f"texture-columns|{options_sha256(measures['texture'])}|{__version__}"
        if cache is None or key not in cache:
            names = list(_texture_columns(measures["texture"]))
            if cache is not None:
                cache[key] = names
        out.update(cache[key] if cache is not None else names)
    return out, unknown
