"""IBSI pre-processing: interpolation grid, resampling, re-segmentation, grey-level discretisation.

Follows the IBSI reference manual, chapter "Image processing"
(Zwanenburg et al., Radiology 2020; github.com/theibsi/ibsi-doc,
``docs/02_Image_processing.rst``): the interpolation grid is aligned with the
centre of the original image grid and has ``ceil(n·s/s′)`` points per axis
(UMPJ, 026Q, QCY4); CT intensities are rounded after interpolation (68QD);
the ROI mask is interpolated linearly and kept where ≥ 0.5 (E8H9);
re-segmentation by range (USB3) and by mean ± 3σ (7ACA) gives the intensity
mask; fixed bin size starts at the lower bound of the re-segmentation range
(Q3RU). Discretised images are integer arrays with levels ``1 … Ng`` inside
the ROI and 0 outside, the form every texture matrix in this package consumes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import SimpleITK as sitk

from ..errors import ConfigError
from ..geometry import ImageGeometry, array_to_image

__all__ = ["Discretised", "discretise", "ibsi_grid", "resample", "resample_isotropic", "resegment"]

Interpolation = Literal["cubic", "linear", "nearest"]
_SITK_INTERPOLATOR = {"cubic": sitk.sitkBSpline, "linear": sitk.sitkLinear, "nearest": sitk.sitkNearestNeighbor}


def ibsi_grid(geometry: ImageGeometry, voxel_mm: float | Sequence[float | None]) -> ImageGeometry:
    """The IBSI interpolation grid of an image: centres aligned, ``ceil(n·s/s′)`` points per axis.

    Parameters
    ----------
    geometry : ImageGeometry
        Grid of the whole original image (its centre fixes the new grid).
    voxel_mm : float or (3,) in (i, j, k) order
        New spacing; ``None`` on an axis keeps that axis (``(2, 2, None)``:
        IBSI 2-D in-plane interpolation).

    Examples
    --------
    >>> g = ImageGeometry((4, 4, 1), (0, 0, 0), (3, 3, 3), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    >>> t = ibsi_grid(g, (2, 2, None))  # IBSI's 4 × 4 grid of 3 mm → 6 × 6 of 2 mm
    >>> t.size, np.round(t.origin_mm, 9).tolist()
    ((6, 6, 1), [-0.5, -0.5, 0.0])
    """
    old = np.asarray(geometry.spacing_mm, float)
    req = np.broadcast_to(np.asarray(voxel_mm, dtype=object), (3,))
    new = np.array([o if r is None else float(r) for o, r in zip(old, req)])
    n = np.asarray(geometry.size, float)
    # a relative tolerance keeps exact multiples (3 × 2/2) from rounding up by one
    size = np.maximum(1, np.ceil(n * old / new - 1e-9)).astype(int)
    start = 0.5 * ((n - 1) - new / old * (size - 1))  # first new centre in old index units
    origin = geometry.index_to_physical(start[None, :])[0]
    return ImageGeometry(tuple(size), tuple(origin), tuple(new), geometry.direction)


def resample(
    image: np.ndarray,
    mask: np.ndarray,
    geometry: ImageGeometry,
    target: ImageGeometry,
    *,
    interpolation: Interpolation = "cubic",
    round_intensities: bool = False,
    mask_threshold: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Interpolate an image and its ROI mask onto ``target`` (any grid in the same space).

    The image is interpolated with a cubic B-spline (interpolating, ITK's
    ``BSplineInterpolateImageFunction``), trilinearly or by nearest
    neighbour; points outside the image take the nearest edge value (IBSI:
    pad with the boundary intensities). The mask is interpolated linearly and
    kept where ≥ ``mask_threshold``. With ``round_intensities`` the image is
    rounded to integers afterwards (CT, IBSI 68QD).

    Returns
    -------
    image, mask : ndarrays on ``target`` (k, j, i)
    """
    ref = target.reference_image()
    out = []
    for arr, interp in ((image, _SITK_INTERPOLATOR[interpolation]), (mask, sitk.sitkLinear)):
        f = sitk.ResampleImageFilter()
        f.SetReferenceImage(ref)
        f.SetInterpolator(interp)
        f.SetOutputPixelType(sitk.sitkFloat64)
        f.SetUseNearestNeighborExtrapolator(True)
        out.append(sitk.GetArrayFromImage(f.Execute(array_to_image(np.asarray(arr, dtype=np.float64), geometry))))
    img, msk = out
    # ties (a mask value of exactly 0.5, an intensity of exactly n + ½) must not depend on 1e-15 mm shifts of a
    # cropped grid: values within 1e-9 of a tie are treated as the tie
    if round_intensities:
        lo = np.floor(img)
        img = np.round(np.where(np.abs(img - lo - 0.5) < 1e-9, lo + 0.5, img))
    return img, msk >= mask_threshold - 1e-9


def resample_isotropic(
    image: np.ndarray,
    mask: np.ndarray,
    geometry: ImageGeometry,
    voxel_mm: float,
    *,
    interpolation: Interpolation = "cubic",
) -> tuple[np.ndarray, np.ndarray, ImageGeometry]:
    """Resample a whole image and its ROI to isotropic voxels on the IBSI grid of ``geometry``.

    Returns
    -------
    image, mask, geometry
    """
    target = ibsi_grid(geometry, voxel_mm)
    img, msk = resample(image, mask, geometry, target, interpolation=interpolation)
    return img, msk, target


def resegment(
    image: np.ndarray,
    mask: np.ndarray,
    range_: tuple[float | None, float | None] | None = None,
    *,
    outlier_sigma: float | None = None,
) -> np.ndarray:
    """Intensity mask: ROI voxels kept by the range ``[lo, hi]`` (None = open), then by mean ± k·σ.

    The outlier bounds are computed from the voxels the range kept (the
    methods applied in order, as MIRP, the IBSI reference implementation).

    Examples
    --------
    >>> img = np.array([[[-2000.0, 0.0, 10.0, 20.0, 5000.0]]])
    >>> resegment(img, np.ones(img.shape, bool), (-1000, None)).sum()
    np.int64(4)
    """
    out = np.asarray(mask, bool).copy()
    if range_ is not None:
        lo, hi = range_
        if lo is not None:
            out &= image >= lo
        if hi is not None:
            out &= image <= hi
    if outlier_sigma is not None and out.any():
        v = image[out]
        mu, sd = float(v.mean()), float(v.std())
        out &= (image >= mu - outlier_sigma * sd) & (image <= mu + outlier_sigma * sd)
    return out


@dataclass(frozen=True, eq=False)
class Discretised:
    """Grey levels ``1 … n_levels`` inside the ROI, 0 outside.

    Attributes
    ----------
    levels : ndarray of int32
    n_levels : int
        ``Ng``: number of levels of the discretisation (empty ones included).
    bin_edges : ndarray or None
        Lower edge of each bin in intensity units (fixed bin size), for
        mapping levels back.
    """

    levels: np.ndarray
    n_levels: int
    bin_edges: np.ndarray | None = None


def discretise(
    image: np.ndarray,
    mask: np.ndarray,
    method: Literal["none", "fbn", "fbs"] = "fbn",
    *,
    n_bins: int = 32,
    bin_width: float = 25.0,
    min_value: float | None = None,
) -> Discretised:
    """Discretise ROI intensities (IBSI §2.7).

    Parameters
    ----------
    method : {"none", "fbn", "fbs"}
        ``none``: intensities are already integer levels ≥ 1 (the IBSI digital
        phantom); ``fbn``: fixed bin number ``n_bins`` between ROI min and max;
        ``fbs``: fixed bin size ``bin_width`` from ``min_value`` (IBSI: the
        lower bound of the re-segmentation range; default the ROI minimum).

    Examples
    --------
    >>> img = np.array([[[0.0, 0.5, 1.0, 0.99]]]); roi = np.ones(img.shape, bool)
    >>> discretise(img, roi, "fbn", n_bins=4).levels.tolist()
    [[[1, 3, 4, 4]]]
    >>> discretise(np.array([[[-990.0, -960.0]]]), np.ones((1, 1, 2), bool), "fbs", min_value=-1000).levels.tolist()
    [[[1, 2]]]
    """
    mask = np.asarray(mask, bool)
    x = np.asarray(image, dtype=np.float64)
    out = np.zeros(x.shape, dtype=np.int32)
    if not mask.any():
        return Discretised(out, 0)
    v = x[mask]
    if method == "none":
        if np.any(v < 1) or np.any(v != np.round(v)):
            raise ConfigError("discretisation 'none' needs integer intensities ≥ 1 in the ROI; use 'fbn' or 'fbs'")
        out[mask] = v.astype(np.int32)
        return Discretised(out, int(v.max()))
    if method == "fbn":
        lo, hi = float(v.min()), float(v.max())
        if hi == lo:
            out[mask] = 1
            return Discretised(out, n_bins)
        q = np.floor(n_bins * (v - lo) / (hi - lo)).astype(np.int64) + 1
        out[mask] = np.minimum(q, n_bins)
        return Discretised(out, n_bins)
    if method == "fbs":
        lo = float(v.min()) if min_value is None else float(min_value)
        q = np.floor((v - lo) / bin_width).astype(np.int64) + 1
        q = np.maximum(q, 1)
        out[mask] = q
        n = int(q.max())
        return Discretised(out, n, lo + bin_width * np.arange(n))
    raise ConfigError(f"unknown discretisation {method!r}; use 'none', 'fbn' or 'fbs'")
