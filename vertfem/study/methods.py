"""The report's Methods paragraphs and provenance, written from the study's settings and its records.

:func:`methods_paragraphs` states what was computed, with which settings,
calibrations, statistical methods and software versions — the text a paper's
Methods section needs, generated from the same objects that ran, so it cannot
drift from them. :func:`provenance` gathers what a reviewer needs to trace a
number: the versions recorded by the tasks, the hashes of the study file, the
cohort table and each measure's settings, the calibrations, the flags.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from ..calibration import KernelRegistry
from ..io import file_sha256
from .analyses import AnalysisResult
from .config import Study

__all__ = ["methods_paragraphs", "provenance"]

_SOFTWARE = ("numpy", "scipy", "SimpleITK", "gmsh", "pandas", "statsmodels", "scikit-learn", "PyWavelets")


def _g(x: float) -> str:
    return f"{x:g}"


def _versions(records: list[dict[str, Any]]) -> dict[str, str]:
    """The versions recorded by the finished tasks; a package recorded with several versions lists them all."""
    seen: dict[str, Counter] = {}
    for r in records:
        for k, v in (r.get("provenance") or {}).get("versions", {}).items():
            seen.setdefault(k, Counter())[v] += 1
    return {k: " / ".join(v for v, _ in c.most_common()) for k, c in seen.items()}


def _vertebra_text(study: Study) -> str:
    o = study.vertebra
    cut = ("vertebrae cut by the field of view of the CT or of the label map were included and flagged" if o.allow_cut
           else "vertebrae cut by the field of view of the CT or of the label map were excluded")
    return (f"Vertebrae were taken from label maps ({o.convention} convention) resampled onto each CT's grid "
            f"(nearest neighbour, in scanner space); the largest connected component of each label was kept, {cut}, "
            f"and the vertebral body was isolated from the posterior elements by a morphological opening of radius "
            f"{_g(o.opening_mm)} mm." + (" CT numbers and the position of each mask on bone were checked "
                                        "(plausible HU of the surrounding soft tissue and of the vertebra)."
                                        if o.hu_check else ""))


def _calibration_text(kernels: list[str], registry: KernelRegistry) -> str:
    lines = []
    for k in kernels:
        if k not in registry:
            continue
        c = registry[k]
        lines.append(f"{c.kernel}: ρ = {c.intercept_g_cm3:+.3g} + {c.slope_g_cm3_per_HU:.3g}·HU ({c.source})")
    if not lines:
        return ""
    return ("CT numbers were converted to equivalent ash density ρ (g/cm³) with linear, kernel-specific "
            "calibrations: " + "; ".join(lines) + ".")


def _fe_text(o: Any) -> str:
    from ..materials import LAWS

    law = LAWS.get(o.law)
    lc = o.load_case if isinstance(o.load_case, str) else "a custom load case"
    caps = (f", with both endplates embedded in virtual PMMA caps of {_g(o.cap_thickness_mm)} mm "
            f"(E = {_g(o.cap_modulus_MPa)} MPa)" if o.cap_thickness_mm else "")
    cut = f", cut parallel to the endplates {_g(o.flat_cut_mm)} mm inside" if o.flat_cut_mm else ""
    strength = (f"the axial force at {100 * o.strength_strain:g} % apparent strain" if o.strength == "apparent_strain"
                else f"the Pistoia criterion ({o.pistoia_volume_fraction:.0%} of the bone volume above "
                     f"{o.pistoia_strain:.2%} effective strain)")
    return (f"Finite-element models of the vertebral {o.region} were meshed with quadratic tetrahedra (TET10) of "
            f"{_g(o.mesh_size_mm)} mm target edge length (gmsh){cut}{caps}. Element moduli followed "
            f"{o.law}" + (f" (E = {_g(law.a)}·ρ^{_g(law.b)} MPa, {law.density} density; {law.source})" if law
                          and law.form == "power" else "")
            + f", with apparent density ρ_app = ρ_ash / {_g(o.ash_app_ratio)}, {o.integration}-averaged per element "
            f"and Poisson's ratio {_g(o.poisson_ratio)}; elements of non-physical density were given "
            f"{_g(o.min_modulus_MPa)} MPa. Load case: {lc.replace('_', ' ')}"
            + (" with the transverse displacements of the loaded endplate fixed" if o.transverse_fixed else "")
            + ". Stiffness (N/mm) is the axial reaction force over the applied displacement; strength (N) is "
            f"{strength}. Linear systems were solved with the '{o.solver}' solver (relative residual {o.rtol:.0e}).")


def _focal_text(o: Any) -> str:
    n = len(o.directions_frame())
    how = (f"{n} star-line orientations ({_g(o.angle_step_deg)}° apart) in sections perpendicular to the "
           f"{'vertebral axis' if o.use_frame else 'image axis'}" if o.directions == "planar"
           else f"{n} line directions spread over the hemisphere")
    smooth = (f"unsharp masking (amount {_g(o.unsharp_amount)}, σ {_g(o.sigma_mm)} mm)" if o.unsharp_amount
              else f"Gaussian smoothing (σ {_g(o.sigma_mm)} mm)")
    return (f"Focal BMC loss was computed after Li et al. (2022) on a {_g(o.voxel_mm)} mm isotropic grid after "
            f"{smooth}, along {how}, within the vertebral {o.region} eroded by {_g(o.erosion_mm)} mm, relative to "
            f"fully mineralised bone of {_g(o.reference_bmd_mg_cm3)} mg/cm³.")


def _texture_text(o: Any) -> str:
    settings, vois = o.resolved()
    s = settings
    disc = {"fbn": f"a fixed bin number ({s.n_bins})", "fbs": f"a fixed bin size ({_g(s.bin_width)} HU)",
            "none": "no discretisation"}.get(s.discretisation, s.discretisation)
    res = (f"resampled to {_g(s.resample_mm)} mm isotropic voxels ({s.interpolation} interpolation)"
           if s.resample_mm else "on the CT grid")
    feats = f"{len(s.features)} features ({', '.join(s.features)})" if s.features else "all features of the families"
    filt = [f"LoG σ {', '.join(map(_g, s.filters.log_sigmas_mm))} mm"] if s.filters.log_sigmas_mm else []
    filt += [f"wavelet ({s.filters.wavelet_name})"] if s.filters.wavelet else []
    return (f"Texture features (IBSI definitions; preset '{o.preset}') were computed in the {', '.join(vois)} "
            f"VOI(s), {res}, with {disc}"
            + (", intensities normalised to [0, 1]" if s.normalise else "")
            + f"; families {', '.join(s.families)}" + (f"; filtered images: {'; '.join(filt)}" if filt else "")
            + f"; {feats}.")


def _vbmd_text(o: Any) -> str:
    return (f"Trabecular vBMD (mg/cm³) was the mean calibrated density in the vertebral {o.region} eroded by "
            f"{_g(o.erosion_mm)} mm (at least {o.min_roi_voxels} voxels), classified after the ACR "
            "(< 80 mg/cm³ osteoporosis, 80–120 osteopenia, > 120 normal).")


def _generic_text(name: str, o: Any) -> str:
    from ..measures import MEASURES

    opts = ", ".join(f"{k} = {v}" for k, v in o.model_dump(mode="json").items() if v is not None)
    return f"{MEASURES[name].title[:1].upper()}{MEASURES[name].title[1:]} ('{name}' measure; options: {opts})."


_MEASURE_TEXT = {"vbmd": _vbmd_text, "fe": _fe_text, "focal": _focal_text, "texture": _texture_text}


def _statistics_text(results: list[AnalysisResult]) -> str:
    parts = []
    for r in results:
        if r.table.empty or "method" not in r.table:
            continue
        methods = list(dict.fromkeys(str(m) for m in r.table["method"].dropna()))
        extra = ""
        a = r.analysis
        if a is not None and a.type in ("roc", "delong"):
            extra = (" (higher values indicate the event)" if a.higher_is_positive else
                     " (lower values indicate the event)" if a.higher_is_positive is False else
                     " (direction chosen from the data, as pROC's 'auto')")
        parts.append(f"{r.label}: {'; '.join(methods)}{extra}")
    if not parts:
        return ""
    return "Statistics (two-sided tests; 95 % confidence intervals): " + " — ".join(parts) + "."


def methods_paragraphs(study: Study, table: pd.DataFrame, records: list[dict[str, Any]],
                       results: list[AnalysisResult]) -> list[str]:
    """Paragraphs for a paper's Methods section: cohort, vertebra stage, calibration, each measure, statistics.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "s.yaml"
    >>> _ = p.write_text("name: x\\ncohort: c.csv\\nmeasures: {vbmd: {erosion_mm: 5}}\\n")
    >>> from vertfem.study import load_study
    >>> text = methods_paragraphs(load_study(p), pd.DataFrame(), [], [])
    >>> "eroded by 5 mm" in text[2]
    True
    """
    versions = _versions(records)
    vf = versions.get("vertfem", "unknown")
    software = ", ".join(f"{k} {versions[k]}" for k in _SOFTWARE if k in versions)
    if len(table):
        kernels = sorted(table["kernel"].astype(str).unique())
        levels = sorted(table["vertebra"].astype(str).unique())
        head = (f"{table['subject'].nunique()} subjects ({len(table)} vertebra scans; levels {', '.join(levels)}; "
                f"reconstruction kernels {', '.join(kernels)}) were analysed with vertfem {vf}"
                + (f" (Python {versions['python']}; {software})" if "python" in versions else "") + ".")
    else:
        kernels, head = [], f"No vertebra has been analysed yet (vertfem {vf})."
    paras = [head, _vertebra_text(study)]
    cal = _calibration_text(kernels, study.registry())
    if cal:
        paras.append(cal)
    paras += [_MEASURE_TEXT[m](o) if m in _MEASURE_TEXT else _generic_text(m, o) for m, o in study.enabled().items()]
    stats_text = _statistics_text(results)
    if stats_text:
        paras.append(stats_text)
    return paras


def provenance(study: Study, records: list[dict[str, Any]], table: pd.DataFrame) -> dict[str, Any]:
    """What traces the report's numbers to their inputs and settings.

    Returns
    -------
    dict
        ``study_file`` and ``cohort`` (path, sha256), ``versions`` (package → version(s) recorded by the
        tasks), ``settings`` (measure → its options and the ``<measure>_options_sha256`` values of the results
        table with their row counts: one per kernel, as the hash includes the calibration), ``vertebra_options``,
        ``calibrations`` (kernel → line and source), ``flags`` (code → rows), ``inputs`` (distinct CT and
        mask files), ``records`` (done/failed counts).
    """
    def sha(p: Path | None) -> str | None:
        return file_sha256(p) if p is not None and p.exists() else None

    cohort = study.path(study.cohort)
    settings = {}
    for m, o in study.enabled().items():
        col = f"{m}_options_sha256"
        hashes = dict(Counter(table[col].dropna().astype(str))) if col in table else {}
        settings[m] = {"options": o.model_dump(mode="json"), "options_sha256": hashes}
    reg = study.registry()
    kernels = sorted(table["kernel"].astype(str).unique()) if len(table) else []
    flags: Counter = Counter()
    if "flags" in table:
        for f in table["flags"].fillna("").astype(str):
            flags.update(x for x in f.split(";") if x)
    status = Counter(r.get("status") for r in records)
    return {
        "study_file": {"path": str(study.source.resolve()) if study.source else None, "sha256": sha(study.source)},
        "cohort": {"path": str(cohort), "sha256": sha(cohort)},
        "versions": _versions(records),
        "settings": settings,
        "vertebra_options": study.vertebra.model_dump(mode="json"),
        "calibrations": {k: reg[k].as_dict() for k in kernels if k in reg},
        "flags": dict(flags),
        "inputs": {"ct": int(table["ct_sha256"].nunique()) if "ct_sha256" in table else 0,
                   "mask": int(table["mask_sha256"].nunique()) if "mask_sha256" in table else 0},
        "records": dict(status),
    }
