"""Figure of a focal BMC-loss result: a mid-body section with the map over the BMD."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .measure import FocalResult

__all__ = ["plot_focal_section"]


def plot_focal_section(result: FocalResult, path: str | Path | None = None, *, ax: Any = None) -> Any:
    """Mid-body cross-section: BMD in grey with the focal BMC-loss map on top.

    Returns the path when ``path`` is given, else the matplotlib figure.
    """
    # the object-oriented Figure renders without pyplot, so no global backend is chosen or changed
    from matplotlib.figure import Figure

    roi_k = np.flatnonzero(result.roi.any(axis=(1, 2)))
    k = int(roi_k[len(roi_k) // 2]) if roi_k.size else result.roi.shape[0] // 2
    h = result.geometry.spacing_mm[0]
    ny, nx = result.roi.shape[1:]
    extent = (0, nx * h, 0, ny * h)
    own = ax is None
    if own:
        fig = Figure(figsize=(6, 5), dpi=120)
        ax = fig.subplots()
    else:
        fig = ax.figure
    ax.imshow(result.bmd_mg_cm3[k], cmap="gray", origin="lower", extent=extent, vmin=-50, vmax=450)
    overlay = np.ma.masked_invalid(result.maps.bmc_loss[k])
    im = ax.imshow(overlay, cmap="magma", origin="lower", extent=extent, alpha=0.85)
    ax.contour(result.roi[k].astype(float), levels=[0.5], colors="cyan", linewidths=0.8, origin="lower",
               extent=extent)
    fig.colorbar(im, ax=ax, label="focal BMC loss (100 % × mm)")
    ax.set_xlabel("lateral (mm)" if result.options.use_frame else "image axis 1 (mm)")
    ax.set_ylabel("anterior (mm)" if result.options.use_frame else "image axis 2 (mm)")
    ax.set_title(f"mid-body section, kernel {result.kernel}")
    if path is None:
        return fig
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, bbox_inches="tight")
    return p
