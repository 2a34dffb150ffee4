"""Report figures (matplotlib, PNG): paired dots, Bland–Altman, scatter with fit, ROC, radiomics panels."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["bland_altman_plot", "paired_dots", "radiomics_plots", "roc_plot", "scatter_fit"]


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def paired_dots(a, b, measure: str, ka: str, kb: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(4, 4.5))
    for x, y in zip(a, b):
        ax.plot([0, 1], [x, y], color="0.6", lw=0.8)
    ax.scatter(np.zeros(len(a)), a, color="tab:blue", zorder=3)
    ax.scatter(np.ones(len(b)), b, color="tab:red", zorder=3)
    ax.set_xticks([0, 1], [ka, kb])
    ax.set_xlim(-0.4, 1.4)
    ax.set_ylabel(measure)
    ax.set_title(f"{measure}: {kb} vs {ka}")
    return _save(fig, path)


def bland_altman_plot(a, b, measure: str, ka: str, kb: str, path: Path) -> Path:
    a, b = np.asarray(a, float), np.asarray(b, float)
    m, d = 0.5 * (a + b), b - a
    bias, sd = d.mean(), d.std(ddof=1)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.scatter(m, d, color="tab:blue")
    for y, style, lab in ((bias, "-", f"bias {bias:.3g}"), (bias + 1.96 * sd, "--", f"+1.96 SD {bias + 1.96 * sd:.3g}"),
                          (bias - 1.96 * sd, "--", f"−1.96 SD {bias - 1.96 * sd:.3g}")):
        ax.axhline(y, ls=style, color="k", lw=1)
        ax.text(m.max(), y, " " + lab, va="bottom", ha="right", fontsize=8)
    ax.set_xlabel(f"mean of {ka} and {kb}: {measure}")
    ax.set_ylabel(f"{kb} − {ka}")
    ax.set_title(f"Bland–Altman: {measure}")
    return _save(fig, path)


def scatter_fit(series, xname: str, yname: str, path: Path, *, fit: bool = True) -> Path:
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for label, x, y in series:
        pts = ax.scatter(x, y, label=label, s=18)
        if fit and len(x) > 2:
            k, c = np.polyfit(x, y, 1)
            xs = np.linspace(x.min(), x.max(), 50)
            r2 = np.corrcoef(x, y)[0, 1] ** 2
            ax.plot(xs, k * xs + c, color=pts.get_facecolor()[0], label=f"{label} fit, r² = {r2:.2f}")
    ax.set_xlabel(xname)
    ax.set_ylabel(yname)
    ax.legend(fontsize=8)
    return _save(fig, path)


def roc_plot(curves, title: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for name, fpr, tpr, auc in curves:
        ax.plot(fpr, tpr, label=f"{name} (AUC {auc:.2f})")
    ax.plot([0, 1], [0, 1], color="0.7", ls=":")
    ax.set_xlabel("1 − specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title(f"ROC, {title}")
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, path)


def radiomics_plots(model, title: str, path: Path) -> Path:
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
    return _save(fig, path)
