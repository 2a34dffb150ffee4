"""Report figures (matplotlib, PNG at 300 dpi by default): paired dots, Bland–Altman, scatter with fit, ROC,
radiomics panels. Axes carry names with units (``Stiffness (N/mm)``), never raw column names, and the ACR
class its names (osteoporosis < osteopenia < normal)."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["ACR_ORDER", "bland_altman_plot", "column_label", "paired_dots", "radiomics_plots", "roc_plot",
           "scatter_fit"]

#: The ACR classes of trabecular vBMD in their order (plotted at 0, 1, 2).
ACR_ORDER = {"osteoporosis": 0, "osteopenia": 1, "normal": 2}

_KNOWN = {
    "stiffness_N_per_mm": "Stiffness (N/mm)",
    "strength_N": "Strength (N)",
    "apparent_modulus_MPa": "Apparent modulus (MPa)",
    "vbmd_mg_cm3": "Trabecular vBMD (mg/cm³)",
    "vbmd_sd_mg_cm3": "SD of trabecular BMD (mg/cm³)",
    "acr_class": "ACR class (trabecular vBMD)",
    "bone_mineral_mass_g": "Bone mineral mass (g)",
    "bone_volume_mm3": "Bone volume (mm³)",
    "height_mm": "Body height (mm)",
    "focal_bmc_loss_fraction_mm_mean": "Focal BMC loss, mean (fraction·mm)",
    "focal_bmd_loss_fraction_mean": "Focal BMD loss, mean (fraction)",
    "focal_incpt_width_mm_mean": "Inter-plate width, mean (mm)",
    "focal_void_fraction": "Focal void fraction",
    "focal_mean_bmd_mg_cm3": "Mean BMD of the focal ROI (mg/cm³)",
    "age": "Age (years)",
}

_UNITS = (("_N_per_mm", "N/mm"), ("_mg_cm3", "mg/cm³"), ("_g_cm3", "g/cm³"), ("_MPa", "MPa"), ("_mm3", "mm³"),
          ("_mm", "mm"), ("_deg", "°"), ("_N", "N"), ("_g", "g"), ("_s", "s"), ("_pct", "%"))


def column_label(column: str) -> str:
    """Axis label with units for a results column.

    Examples
    --------
    >>> column_label("stiffness_N_per_mm"), column_label("roi_volume_mm3")
    ('Stiffness (N/mm)', 'Roi volume (mm³)')
    >>> column_label("body:original:ih.var")
    'Texture ih.var (body, original image)'
    """
    if column in _KNOWN:
        return _KNOWN[column]
    parts = column.split(":")
    if len(parts) == 3:  # IBSI texture names: voi:image:feature
        return f"Texture {parts[2]} ({parts[0]}, {parts[1]} image)"
    m = re.match(r"^(cortical|cancellous|body)_(original|log-sigma-[\d.-]+mm|wavelet-\w+)_(\w+?)_(\w+)$", column)
    if m:  # pyradiomics-style texture names: voi_image_family_feature
        return f"Texture {m.group(3)} {m.group(4)} ({m.group(1)}, {m.group(2)} image)"
    for suffix, unit in _UNITS:
        if column.endswith(suffix) and len(column) > len(suffix):
            return f"{column[: -len(suffix)].replace('_', ' ').capitalize()} ({unit})"
    return column.replace("_", " ").capitalize()


def _save(fig, path: Path, dpi: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path


def paired_dots(a, b, measure: str, ka: str, kb: str, path: Path, *, dpi: int = 300) -> Path:
    """One line per subject from kernel ``ka`` to kernel ``kb``."""
    fig, ax = plt.subplots(figsize=(4, 4.5))
    for x, y in zip(a, b):
        ax.plot([0, 1], [x, y], color="0.6", lw=0.8)
    ax.scatter(np.zeros(len(a)), a, color="tab:blue", zorder=3, s=18)
    ax.scatter(np.ones(len(b)), b, color="tab:red", zorder=3, s=18)
    ax.set_xticks([0, 1], [ka, kb])
    ax.set_xlim(-0.4, 1.4)
    ax.set_xlabel("reconstruction kernel")
    ax.set_ylabel(column_label(measure))
    ax.set_title(f"{column_label(measure).split(' (')[0]}: {kb} vs {ka} (n = {len(a)})", fontsize=10)
    return _save(fig, path, dpi)


def bland_altman_plot(a, b, measure: str, ka: str, kb: str, path: Path, *, dpi: int = 300) -> Path:
    """Difference ``b − a`` against the pair mean, with the bias and the limits of agreement (± 1.96 SD)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    m, d = 0.5 * (a + b), b - a
    bias, sd = d.mean(), d.std(ddof=1)
    label = column_label(measure)
    unit = label[label.rfind("(") + 1: -1] if label.endswith(")") else ""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.scatter(m, d, color="tab:blue", s=18)
    for y, style, lab in ((bias, "-", f"bias {bias:.4g}"), (bias + 1.96 * sd, "--", f"+1.96 SD {bias + 1.96 * sd:.4g}"),
                          (bias - 1.96 * sd, "--", f"−1.96 SD {bias - 1.96 * sd:.4g}")):
        ax.axhline(y, ls=style, color="k", lw=1)
        ax.text(m.max(), y, " " + lab, va="bottom", ha="right", fontsize=8)
    name = label.split(" (")[0]
    ax.set_xlabel(f"mean of {ka} and {kb}: {name}" + (f" ({unit})" if unit else ""))
    ax.set_ylabel(f"{kb} − {ka}" + (f" ({unit})" if unit else ""))
    ax.set_title(f"Bland–Altman: {name} (n = {len(a)})", fontsize=10)
    return _save(fig, path, dpi)


def _acr_axis(ax, which: str) -> None:
    ticks, names = list(ACR_ORDER.values()), list(ACR_ORDER)
    if which == "x":
        ax.set_xticks(ticks, names)
        ax.set_xlim(-0.5, 2.5)
    else:
        ax.set_yticks(ticks, names)
        ax.set_ylim(-0.5, 2.5)


def scatter_fit(series, xname: str, yname: str, path: Path, *, fit: bool = True, dpi: int = 300) -> Path:
    """Scatter per kernel, with the least-squares line (``fit=True``); ACR classes as names with a jitter."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    rng = np.random.default_rng(0)
    for label, x, y in series:
        xs_plot = x + rng.uniform(-0.12, 0.12, len(x)) if xname == "acr_class" else x
        pts = ax.scatter(xs_plot, y, label=f"{label} (n = {len(x)})", s=18)
        if fit and len(x) > 2:
            k, c = np.polyfit(x, y, 1)
            xs = np.linspace(x.min(), x.max(), 50)
            r2 = np.corrcoef(x, y)[0, 1] ** 2
            ax.plot(xs, k * xs + c, color=pts.get_facecolor()[0], label=f"{label} fit, r² = {r2:.2f}")
    if xname == "acr_class":
        _acr_axis(ax, "x")
    if yname == "acr_class":
        _acr_axis(ax, "y")
    ax.set_xlabel(column_label(xname))
    ax.set_ylabel(column_label(yname))
    ax.legend(fontsize=8)
    return _save(fig, path, dpi)


def roc_plot(curves, title: str, path: Path, *, dpi: int = 300) -> Path:
    """ROC curves of several measures for one kernel."""
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for name, fpr, tpr, auc in curves:
        ax.plot(fpr, tpr, label=f"{column_label(name).split(' (')[0]} (AUC {auc:.2f})")
    ax.plot([0, 1], [0, 1], color="0.7", ls=":")
    ax.set_xlabel("1 − specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title(f"ROC, {title}", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, path, dpi)


def radiomics_plots(model, title: str, path: Path, *, dpi: int = 300) -> Path:
    """Radscore ROC (train/test), calibration and decision curve of a radiomics model."""
    from ..stats import roc_analysis

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for name, y, s in (("train", model.y_train, model.radscore_train), ("test", model.y_test, model.radscore_test)):
        r = roc_analysis(y, s, higher_is_positive=True)  # a higher radscore means the event
        axes[0].plot(r["fpr"], r["tpr"], label=f"{name} AUC {r['auc']:.2f}")
    axes[0].plot([0, 1], [0, 1], color="0.7", ls=":")
    axes[0].set(xlabel="1 − specificity", ylabel="sensitivity", title=f"radscore ROC, {title}")
    axes[0].legend(fontsize=8)
    c = model.calibration_test
    axes[1].plot(c["mean_predicted"], c["observed_fraction"], "o-")
    axes[1].plot([0, 1], [0, 1], color="0.7", ls=":")
    axes[1].set(xlabel="predicted probability", ylabel="observed fraction", title="calibration (test)")
    d = model.decision_curve_test
    axes[2].plot(d["threshold"], d["net_benefit_model"], label="model")
    axes[2].plot(d["threshold"], d["net_benefit_all"], label="treat all")
    axes[2].plot(d["threshold"], d["net_benefit_none"], label="treat none")
    axes[2].set(xlabel="threshold probability", ylabel="net benefit", title="decision curve (test)",
                ylim=(-0.05, max(0.05, float(d["net_benefit_model"].max()) * 1.2)))
    axes[2].legend(fontsize=8)
    return _save(fig, path, dpi)
