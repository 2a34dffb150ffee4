"""A CT slice with the mask outline and a map on top (matplotlib, no pyplot state)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

__all__ = ["plot_ct_overlay"]


def plot_ct_overlay(
    ct: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    overlay: np.ndarray | None = None,
    overlay_label: str = "",
    slice_index: int | None = None,
    axis: int = 0,
    spacing_mm: tuple[float, float] = (1.0, 1.0),
    window: tuple[float, float] = (-200.0, 1000.0),
    cmap: str = "magma",
    dpi: int = 150,
    screenshot: str | Path | None = None,
) -> Figure | Path:
    """A CT slice with the mask outline and a map (density, focal BMC loss, …) on top.

    Parameters
    ----------
    ct : ndarray (k, j, i)
        HU.
    mask, overlay : ndarray (k, j, i), optional
        Same grid as ``ct``; NaN in the overlay is transparent.
    slice_index : int, optional
        Default: the middle slice of the mask (of the image without one).
    axis : int
        Slicing direction (0 = axial for axial CT).
    spacing_mm : (float, float)
        In-slice pixel size (rows, columns), for the axes in mm.
    window : (float, float)
        Grey-level window, HU.
    dpi : int
        Resolution of the PNG (300 for print).
    screenshot : path, optional
        Write a PNG and return its path; otherwise return the figure.

    Examples
    --------
    >>> ct = np.zeros((4, 8, 8)); mask = np.zeros((4, 8, 8), bool); mask[:, 2:6, 2:6] = True
    >>> plot_ct_overlay(ct, mask=mask).axes[0].get_title()
    'slice 2 (axis 0)'
    """
    ct = np.asarray(ct, float)
    if slice_index is None:
        if mask is not None and np.any(mask):
            idx = np.flatnonzero(np.any(np.moveaxis(np.asarray(mask, bool), axis, 0), axis=(1, 2)))
            slice_index = int(idx[len(idx) // 2])
        else:
            slice_index = ct.shape[axis] // 2

    def take(a: np.ndarray) -> np.ndarray:
        return np.take(a, slice_index, axis=axis)

    sl = take(ct)
    extent = (0, sl.shape[1] * spacing_mm[1], 0, sl.shape[0] * spacing_mm[0])
    # a Figure without pyplot: no global backend or figure registry is touched
    fig = Figure(figsize=(6, 5), dpi=dpi)
    ax = fig.subplots()
    ax.imshow(sl, cmap="gray", vmin=window[0], vmax=window[1], origin="lower", extent=extent)
    if overlay is not None:
        im = ax.imshow(np.ma.masked_invalid(take(np.asarray(overlay, float))), cmap=cmap, origin="lower",
                       extent=extent, alpha=0.8)
        fig.colorbar(im, ax=ax, label=overlay_label)
    if mask is not None:
        ax.contour(take(np.asarray(mask, float)), levels=[0.5], colors="cyan", linewidths=0.8, origin="lower",
                   extent=extent)
    ax.set_xlabel("mm")
    ax.set_ylabel("mm")
    ax.set_title(f"slice {slice_index} (axis {axis})")
    if screenshot is None:
        return fig
    out = Path(screenshot)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, bbox_inches="tight", dpi=dpi)
    return out
