"""Automatic input preparation: thick sagittal slabs of a vertebra in its own frame (no manual cropping)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ..vertebra import Vertebra
from .options import SlabOptions

__all__ = ["AIR_HU", "prepare_slabs", "save_slabs_png"]

#: HU outside the CT's field of view.
AIR_HU = -1024.0


def _slab_axes(vertebra: Vertebra) -> np.ndarray:
    """Columns: image column (anterior → posterior), image row (cranial → caudal), slab normal (lateral)."""
    f = vertebra.frame
    return np.column_stack([-np.asarray(f.anterior), -np.asarray(f.cranial), np.asarray(f.lateral)])


def prepare_slabs(vertebra: Vertebra, options: SlabOptions | None = None, *,
                  offsets_mm: tuple[float, ...] | None = None) -> np.ndarray:
    """Thick sagittal slabs of a prepared vertebra, windowed to [0, 1].

    Parameters
    ----------
    vertebra : Vertebra
    options : SlabOptions, optional
    offsets_mm : tuple of float, optional
        Lateral offsets (mm) of the slabs; default ``options.offsets_mm``.

    Returns
    -------
    ndarray of float32, shape (n_offsets, size_px, size_px)

    Examples
    --------
    >>> import vertfem as vf
    >>> p = vf.example_paths()
    >>> v = vf.prepare_vertebra(p["ct"], p["labels"], "L1")
    >>> s = prepare_slabs(v, SlabOptions(fov_mm=120, size_px=64))
    >>> s.shape, s.dtype, 0.0 <= float(s.min()) <= float(s.max()) <= 1.0
    ((3, 64, 64), dtype('float32'), True)
    """
    opts = options or SlabOptions()
    offs = np.asarray(opts.offsets_mm if offsets_mm is None else offsets_mm, dtype=float)
    g = vertebra.scan.geometry
    axes = _slab_axes(vertebra)
    n_thick = max(3, int(np.ceil(opts.thickness_mm / min(g.spacing_mm))))
    px = opts.fov_mm / opts.size_px
    dz = opts.thickness_mm / n_thick
    centre = np.asarray(vertebra.frame.centroid_mm)
    out = np.empty((len(offs), opts.size_px, opts.size_px), np.float32)
    for s, off in enumerate(offs):
        local0 = np.array([-opts.fov_mm / 2 + px / 2, -opts.fov_mm / 2 + px / 2, off - opts.thickness_mm / 2 + dz / 2])
        corners = np.array([[a, b, c] for a in (0.0, opts.fov_mm) for b in (0.0, opts.fov_mm)
                            for c in (0.0, opts.thickness_mm)]) + local0 - [px / 2, px / 2, dz / 2]
        ijk = g.physical_to_index(centre + corners @ axes.T)
        lo = np.clip(np.floor(ijk.min(axis=0)).astype(int) - 1, 0, np.asarray(g.size) - 1)
        hi = np.clip(np.ceil(ijk.max(axis=0)).astype(int) + 2, lo + 1, np.asarray(g.size))
        sub = vertebra.scan.hu[lo[2]:hi[2], lo[1]:hi[1], lo[0]:hi[0]]
        img = sitk.GetImageFromArray(np.ascontiguousarray(sub, dtype=np.float32))
        img.SetOrigin(tuple(g.index_to_physical(lo[None].astype(float))[0]))
        img.SetSpacing(g.spacing_mm)
        img.SetDirection(g.direction)
        ref = sitk.Image([opts.size_px, opts.size_px, n_thick], sitk.sitkFloat32)
        ref.SetOrigin(tuple(centre + axes @ local0))
        ref.SetSpacing((px, px, dz))
        ref.SetDirection(tuple(axes.ravel()))
        res = sitk.Resample(img, ref, sitk.Transform(), sitk.sitkLinear, AIR_HU, sitk.sitkFloat32)
        hu = sitk.GetArrayFromImage(res).mean(axis=0)
        out[s] = np.clip((hu - opts.hu_window[0]) / (opts.hu_window[1] - opts.hu_window[0]), 0.0, 1.0)
    return out


def save_slabs_png(slabs: np.ndarray, path: str | Path, *, title: str = "") -> Path:
    """The slabs side by side as one PNG (for inspection)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    n = len(slabs)
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n, 2.9), squeeze=False)
    for ax, img in zip(axes[0], slabs):
        ax.imshow(img, cmap="gray", vmin=0.0, vmax=1.0)
        ax.set_axis_off()
    fig.suptitle(title, fontsize=9)
    fig.savefig(p, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return p
