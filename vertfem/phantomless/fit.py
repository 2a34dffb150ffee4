"""Effective energy and the HU → K2HPO4-equivalent density line from reference tissues.

Method (internal calibration after Michalski et al., Med Eng Phys 2020,
doi:10.1016/j.medengphy.2020.01.009, implemented in Bonelab's Ogo; the physics
is written out here, not taken from Ogo):

1. A CT scanner at effective (monochromatic-equivalent) energy ``E`` maps a
   tissue's linear attenuation μ linearly to its CT number,
   ``HU = α + β·μ(E)``, where ``μ_t(E) = ρ_t·(μ/ρ)_t(E)`` follows from the
   tissue's composition and density (ICRU-44 via NIST SRD 126). An ideal
   scanner has ``α = −1000·μ_w/(μ_w − μ_air)`` and ``β = 1000/(μ_w − μ_air)``;
   leaving α and β free absorbs an offset and a scale error of the scan.
2. For every ``E`` on a 0.1 keV grid, α and β are the weighted least-squares
   line through the measured tissue medians (weights ``1/σ_t²``, ``σ_t`` the
   tissue's expected spread); ``E`` is where the weighted residual is
   smallest (refined by bounded scalar minimisation). Michalski et al. pick
   ``E`` maximising r² of HU against μ/ρ; fitting μ = ρ·μ/ρ keeps the
   tissues' different densities in the model.
3. A voxel's K2HPO4-equivalent density is the K2HPO4 concentration in water
   that attenuates like it: ``ρ_K = (μ − μ_w)/(μ/ρ)_K``, with
   ``μ = (HU − α)/β``, which is linear in HU:
   slope ``1/(β·(μ/ρ)_K)``, intercept ``−(α + β·μ_w)/(β·(μ/ρ)_K)``.
   Michalski et al. instead use a two-component (K2HPO4, triglyceride) model
   that makes the line quadratic; vertfem keeps the water background of the
   K2HPO4 phantoms its kernel lines (Jiang et al. 2023) were fitted with.

Ash density: vertfem's modulus laws take K2HPO4-equivalent density as ash
density, ρ_ash = ρ_K2HPO4 (Jiang et al. 2023, Front. Endocrinol. 14:1076990,
§2.2; ρ_app = ρ_ash/0.6 in :mod:`vertfem.materials`). The returned
:class:`~vertfem.calibration.KernelCalibration` is therefore the ash-density
line; the hydroxyapatite-equivalent line is reported alongside for
comparison with HA phantoms.

With three tissues (air, adipose, muscle) the fit is exactly determined and
cannot check itself; a fourth (blood, cortical bone) gives residuals. Tissues
whose residual exceeds ``outlier_sigma·σ_t``, or an implied water CT number
off by more than ``max_water_offset_hu``, flag the calibration; with four or
more tissues the one whose removal makes the rest consistent is excluded
(e.g. contrast-enhanced blood) and named in the report.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import Field

from ..calibration import KernelCalibration
from ..errors import CalibrationError, TissueDisagreementWarning
from ..io import Scan
from ..options import Options, parse_options
from ._energy import EnergyFit, fit_energy, mineral_line, propagate, tissue_attenuation, water_hu
from .attenuation import linear_attenuation_per_cm
from .tissues import REFERENCE_TISSUES, TissueSamples, TissueSamplingOptions, sample_reference_tissues

__all__ = [
    "InternalCalibrationOptions",
    "InternalCalibrationReport",
    "TissueFit",
    "fit_internal_calibration",
    "internal_calibration",
]

#: Expected spread (HU, 1 SD) of each reference tissue's median CT number beyond noise: composition differences
#: between people and scanner offsets. vertfem's assumption; they weight the fit and set the outlier threshold.
DEFAULT_TISSUE_SD_HU = {"air": 5.0, "adipose": 10.0, "muscle": 8.0, "blood": 8.0, "cortical_bone": 60.0}

_METHOD = "internal calibration (Michalski et al. 2020 method; vertfem attenuation fit)"


class InternalCalibrationOptions(Options):
    """Options of the internal-calibration fit.

    Attributes
    ----------
    energy_range_keV : (float, float)
        Effective energies searched, keV.
    tissue_sd_hu : dict of str to float
        Expected spread of each tissue's CT number, HU (defaults
        :data:`DEFAULT_TISSUE_SD_HU`; keys given here replace the defaults).
    outlier_sigma : float
        A tissue is inconsistent when ``|residual| > outlier_sigma · σ_t``.
    max_water_offset_hu : float
        Largest plausible CT number of water implied by the fit, HU.
    exclude_outliers : bool
        With ≥ 4 tissues, refit without the tissue whose removal makes the
        rest consistent.
    """

    energy_range_keV: tuple[float, float] = (30.0, 150.0)
    tissue_sd_hu: dict[str, float] = Field(default_factory=dict)
    outlier_sigma: float = Field(3.0, gt=0.0)
    max_water_offset_hu: float = Field(25.0, gt=0.0)
    exclude_outliers: bool = True


@dataclass(frozen=True)
class TissueFit:
    """One reference tissue in the fit.

    Attributes
    ----------
    tissue : str
    hu_measured : float
        Median HU of the sample.
    hu_expected : float
        CT number the fitted scanner model gives the tissue, HU.
    residual_hu : float
        ``hu_measured − hu_expected``.
    sd_hu : float
        Expected spread used as weight and outlier scale.
    used : bool
        Whether the tissue entered the final fit.
    flagged : bool
        ``|residual| > outlier_sigma · sd_hu``.
    """

    tissue: str
    hu_measured: float
    hu_expected: float
    residual_hu: float
    sd_hu: float
    used: bool
    flagged: bool

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class InternalCalibrationReport:
    """Result of an internal calibration.

    Attributes
    ----------
    calibration : KernelCalibration
        HU → K2HPO4-equivalent (= ash) density line, kernel ``"internal"``.
    energy_keV : float
        Fitted effective energy.
    energy_sd_keV : float
        Its uncertainty from the tissues' expected spreads (linear propagation).
    slope_g_cm3_per_HU, intercept_g_cm3 : float
        The K2HPO4-equivalent line (as in ``calibration``).
    slope_rel_sd : float
        Relative uncertainty of the slope from the tissues' spreads.
    ha_slope_g_cm3_per_HU, ha_intercept_g_cm3 : float
        The hydroxyapatite-equivalent line at the same energy.
    hu_offset : float
        α of ``HU = α + β·μ``, HU.
    hu_per_attenuation : float
        β, HU·cm.
    water_hu : float
        CT number the fitted model gives water (0 for an ideal scanner).
    r2 : float
        Coefficient of determination of measured vs fitted HU over the used tissues.
    dof : int
        Used tissues minus 3 fitted parameters (0: no self-check).
    tissues : tuple of TissueFit
    excluded : tuple of str
        Tissues left out of the final fit.
    flagged : bool
        The tissues disagreed (see ``messages``).
    messages : tuple of str
    """

    calibration: KernelCalibration
    energy_keV: float
    energy_sd_keV: float
    slope_g_cm3_per_HU: float
    intercept_g_cm3: float
    slope_rel_sd: float
    ha_slope_g_cm3_per_HU: float
    ha_intercept_g_cm3: float
    hu_offset: float
    hu_per_attenuation: float
    water_hu: float
    r2: float
    dof: int
    tissues: tuple[TissueFit, ...]
    excluded: tuple[str, ...] = ()
    flagged: bool = False
    messages: tuple[str, ...] = field(default_factory=tuple)

    def table(self) -> list[dict[str, Any]]:
        """One row per tissue (for printing or a DataFrame)."""
        return [t.as_dict() for t in self.tissues]

    def as_dict(self) -> dict[str, Any]:
        """Scalars, the line and the tissue table (for YAML/JSON provenance)."""
        d = {k: v for k, v in self.__dict__.items() if k not in ("calibration", "tissues")}
        d["calibration"] = self.calibration.as_dict()
        d["tissues"] = self.table()
        d["excluded"] = list(self.excluded)
        d["messages"] = list(self.messages)
        return d


def fit_internal_calibration(
    samples: TissueSamples | Mapping[str, float],
    *,
    options: InternalCalibrationOptions | Mapping[str, Any] | None = None,
    **overrides: Any,
) -> InternalCalibrationReport:
    """Fit the effective energy and the HU → K2HPO4-equivalent density line to reference tissues.

    Parameters
    ----------
    samples : TissueSamples or mapping of str to float
        Sampled tissues (:func:`~vertfem.phantomless.tissues.sample_reference_tissues`)
        or tissue → median HU for any of ``air``, ``adipose``, ``muscle``,
        ``blood``, ``cortical_bone`` (at least three, air among them or not).
    options : InternalCalibrationOptions or mapping, optional
    **overrides
        Fields of :class:`InternalCalibrationOptions`.

    Returns
    -------
    InternalCalibrationReport
        ``.calibration`` is the line to use; ``.flagged`` says whether the
        tissues disagreed.

    Raises
    ------
    CalibrationError
        Fewer than three tissues, an unknown tissue, or a non-physical fit
        (CT number falling with attenuation).

    Warns
    -----
    TissueDisagreementWarning
        When the tissues disagree (the report is flagged and names them).

    Examples
    --------
    CT numbers of ICRU-44 tissues at 70 keV on an ideal scanner give back 70 keV
    and the K2HPO4 line through the origin:

    >>> from vertfem.phantomless.attenuation import expected_hu
    >>> hu = {t: float(expected_hu(t, 70.0)) for t in ("air", "adipose", "muscle", "blood")}
    >>> rep = fit_internal_calibration(hu)
    >>> round(rep.energy_keV, 2), round(rep.slope_g_cm3_per_HU * 1e3, 4), abs(rep.intercept_g_cm3) < 1e-9
    (70.0, 0.6389, True)
    """
    opts = parse_options(InternalCalibrationOptions, options, where="internal calibration options", **overrides)
    hu_map = _tissue_hu(samples)
    sd_map = {**DEFAULT_TISSUE_SD_HU, **opts.tissue_sd_hu}
    names = tuple(hu_map)
    hu = np.array([hu_map[t] for t in names])
    sd = np.array([sd_map[t] for t in names])
    fit = fit_energy(names, hu, sd, opts.energy_range_keV)
    flagged = not _consistent(fit, hu, sd, opts)
    used = np.ones(len(names), bool)
    if flagged and opts.exclude_outliers and len(names) >= 4:
        fit, used = _refit_without_outlier(names, hu, sd, fit, opts)
    if fit.beta <= 0:
        raise CalibrationError(f"the reference tissues give CT numbers that fall with attenuation ({hu_map}); "
                               "check the samples")
    report = _report(names, hu, sd, fit, used, flagged, opts)
    if report.flagged:
        warnings.warn("internal calibration: " + "; ".join(m for m in report.messages if "exactly" not in m),
                      TissueDisagreementWarning, stacklevel=2)
    return report


def _tissue_hu(samples: TissueSamples | Mapping[str, float]) -> dict[str, float]:
    """Tissue → median HU, checked: known tissues, at least three, finite."""
    hu_map = samples.hu() if isinstance(samples, TissueSamples) else {k: float(v) for k, v in samples.items()}
    unknown = [t for t in hu_map if t not in REFERENCE_TISSUES]
    if unknown:
        raise CalibrationError(f"unknown reference tissues {unknown}; choose from {REFERENCE_TISSUES}")
    if len(hu_map) < 3:
        raise CalibrationError(
            f"internal calibration needs at least three reference tissues (effective energy, offset and scale), "
            f"got {sorted(hu_map)}"
        )
    if not all(np.isfinite(v) for v in hu_map.values()):
        raise CalibrationError(f"reference-tissue CT numbers must be finite, got {hu_map}")
    return hu_map


# ---------------------------------------------------------------------------------------------------------------
# consistency: residuals within outlier_sigma·σ, a plausible water CT number, an energy inside the search range


def _consistent(f: EnergyFit, hu: np.ndarray, sd: np.ndarray, opts: InternalCalibrationOptions) -> bool:
    return bool(np.all(np.abs(hu - f.expected) <= opts.outlier_sigma * sd)
                and abs(water_hu(f)) <= opts.max_water_offset_hu and not f.at_bound)


def _refit_without_outlier(names: tuple[str, ...], hu: np.ndarray, sd: np.ndarray, fit: EnergyFit,
                           opts: InternalCalibrationOptions) -> tuple[EnergyFit, np.ndarray]:
    """Refit without the one tissue whose removal leaves the rest consistent (the one farthest, in σ, from their fit).

    Returns the fit (its expected HU for every tissue) and which tissues it used; the fit given and all tissues
    when no single removal makes the rest consistent.
    """
    used = np.ones(len(names), bool)
    best: tuple[float, int, EnergyFit] | None = None
    for i in range(len(names)):
        keep = np.arange(len(names)) != i
        sub = tuple(np.array(names)[keep])
        fi = fit_energy(sub, hu[keep], sd[keep], opts.energy_range_keV)
        if not _consistent(fi, hu[keep], sd[keep], opts):
            continue
        pred = fi.alpha + fi.beta * float(linear_attenuation_per_cm(names[i], fi.energy_keV))
        z = abs(hu[i] - pred) / sd[i]
        if best is None or z > best[0]:
            best = (z, i, fi)
    if best is None:
        return fit, used
    _, i, sub_fit = best
    used[i] = False
    mu_all = tissue_attenuation(names, np.array([sub_fit.energy_keV]))[0]
    return EnergyFit(sub_fit.energy_keV, sub_fit.alpha, sub_fit.beta, sub_fit.alpha + sub_fit.beta * mu_all,
                     sub_fit.at_bound), used


# ---------------------------------------------------------------------------------------------------------------
# the report


def _disagreements(names: tuple[str, ...], hu: np.ndarray, sd: np.ndarray, fit: EnergyFit, used: np.ndarray,
                   opts: InternalCalibrationOptions) -> list[str]:
    """One message per tissue off the fit, an implausible water CT number and an energy at the search bound."""
    messages: list[str] = []
    resid = hu - fit.expected
    bad = np.abs(resid) > opts.outlier_sigma * sd
    for j in np.flatnonzero(bad):
        hint = " (contrast-enhanced blood?)" if names[j] == "blood" and resid[j] > 0 else ""
        messages.append(f"{names[j]}: measured {hu[j]:.1f} HU, expected {fit.expected[j]:.1f} HU at "
                        f"{fit.energy_keV:.1f} keV, residual {resid[j]:+.1f} HU > {opts.outlier_sigma:g}·"
                        f"{sd[j]:g} HU{hint}" + (" — excluded from the fit" if not used[j] else ""))
    water = water_hu(fit)
    if abs(water) > opts.max_water_offset_hu:
        messages.append(f"the fitted scanner model reads water at {water:.1f} HU (|·| > {opts.max_water_offset_hu:g})")
    if fit.at_bound:
        messages.append(f"the effective energy hit the search bound ({fit.energy_keV:.1f} keV): the tissues fit no "
                        "energy in range")
    return messages


def _report(names: tuple[str, ...], hu: np.ndarray, sd: np.ndarray, fit: EnergyFit, used: np.ndarray,
            flagged: bool, opts: InternalCalibrationOptions) -> InternalCalibrationReport:
    """The calibration line, its uncertainty, the tissue table and the messages of a final fit."""
    excluded = tuple(t for t, u in zip(names, used) if not u)
    resid = hu - fit.expected
    bad = np.abs(resid) > opts.outlier_sigma * sd
    messages = _disagreements(names, hu, sd, fit, used, opts)
    if flagged and not messages:
        messages.append("the tissues disagreed with one effective energy; resolved by excluding "
                        + ", ".join(excluded))
    sel = tuple(np.array(names)[used])
    e_sd, s_rel = propagate(sel, hu[used], sd[used], fit, opts.energy_range_keV)
    slope, intercept = mineral_line(fit)
    ha_slope, ha_intercept = mineral_line(fit, "hydroxyapatite")
    hu_used, exp_used = hu[used], fit.expected[used]
    ss_tot = float(np.sum((hu_used - hu_used.mean()) ** 2))
    r2 = 1.0 - float(np.sum((hu_used - exp_used) ** 2)) / ss_tot if ss_tot > 0 else 1.0
    dof = int(used.sum()) - 3
    if dof == 0:
        messages.append("three tissues determine the fit exactly: no consistency check (add blood or cortical bone)")
    source = (f"{_METHOD}: E_eff = {fit.energy_keV:.1f} keV from {', '.join(sel)}"
              + (f" (excluded {', '.join(excluded)})" if excluded else ""))
    cal = KernelCalibration("internal", float(slope), float(intercept), source, float(r2),
                            tuple(float(r * slope) for r in resid[used]))
    fits = tuple(TissueFit(t, float(hu[i]), float(fit.expected[i]), float(resid[i]), float(sd[i]), bool(used[i]),
                           bool(bad[i])) for i, t in enumerate(names))
    return InternalCalibrationReport(
        calibration=cal, energy_keV=fit.energy_keV, energy_sd_keV=e_sd, slope_g_cm3_per_HU=float(slope),
        intercept_g_cm3=float(intercept), slope_rel_sd=s_rel, ha_slope_g_cm3_per_HU=float(ha_slope),
        ha_intercept_g_cm3=float(ha_intercept), hu_offset=fit.alpha, hu_per_attenuation=fit.beta,
        water_hu=water_hu(fit), r2=float(r2), dof=dof, tissues=fits, excluded=excluded,
        flagged=flagged or bool(bad.any()) or fit.at_bound, messages=tuple(messages),
    )


def internal_calibration(
    scan: Scan,
    vertebra_mask: np.ndarray,
    *,
    tissue_labels: Mapping[str, np.ndarray] | None = None,
    sampling: TissueSamplingOptions | Mapping[str, Any] | None = None,
    fit: InternalCalibrationOptions | Mapping[str, Any] | None = None,
) -> tuple[TissueSamples, InternalCalibrationReport]:
    """Sample the reference tissues near a vertebra and fit the internal calibration (one call per scan).

    Parameters
    ----------
    scan : Scan
    vertebra_mask : ndarray of bool
        Any vertebra of the scan, on its grid (places the tissue samples).
    tissue_labels : mapping of str to ndarray of bool, optional
        Masks for any reference tissue (see
        :func:`~vertfem.phantomless.tissues.totalsegmentator_tissue_masks`).
    sampling : TissueSamplingOptions or mapping, optional
    fit : InternalCalibrationOptions or mapping, optional

    Returns
    -------
    (TissueSamples, InternalCalibrationReport)

    Examples
    --------
    >>> import vertfem as vf
    >>> from vertfem.io import read_scan, read_labels
    >>> p = vf.example_paths()
    >>> scan = read_scan(p["ct"])
    >>> samples, rep = internal_calibration(scan, read_labels(p["labels"]).labels == 31)
    >>> sorted(samples.samples), round(rep.energy_keV)
    (['adipose', 'air', 'muscle'], 61)
    """
    samples = sample_reference_tissues(scan, vertebra_mask, tissue_labels=tissue_labels, options=sampling)
    return samples, fit_internal_calibration(samples, options=fit)
