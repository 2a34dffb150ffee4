"""Image filters for radiomics: Laplacian of Gaussian, 3-D wavelets, mean and Gaussian.

Each filter returns ``{image_type: array}`` with image-type names as
radiomics papers write them (``log-sigma-1-0-mm-3D``, ``wavelet-LHL``).
"""

from __future__ import annotations

import numpy as np
import pywt
from scipy import ndimage

__all__ = ["gaussian", "laplacian_of_gaussian", "mean", "wavelet"]


def _sigma_vox(sigma_mm: float, spacing_mm) -> tuple[float, float, float]:
    return tuple(sigma_mm / s for s in np.asarray(spacing_mm, float)[::-1])


def laplacian_of_gaussian(image: np.ndarray, spacing_mm, sigmas_mm) -> dict[str, np.ndarray]:
    """LoG at each σ (mm), scaled by σ² so that responses at different σ compare (as pyradiomics)."""
    out = {}
    for s in sigmas_mm:
        name = f"log-sigma-{s:g}-mm-3D".replace(".", "-")
        out[name] = float(s) ** 2 * ndimage.gaussian_laplace(np.asarray(image, float), _sigma_vox(s, spacing_mm),
                                                             mode="nearest")
    return out


def wavelet(image: np.ndarray, wavelet_name: str = "coif1") -> dict[str, np.ndarray]:
    """Undecimated 3-D wavelet decomposition, level 1: eight sub-bands LLL … HHH.

    Letters follow the array axes (k, j, i): ``wavelet-LLH`` is high-pass
    along the in-slice i axis, as in pyradiomics.
    """
    img = np.asarray(image, float)
    pad = [(0, n % 2) for n in img.shape]
    padded = np.pad(img, pad, mode="symmetric")
    coeffs = pywt.swtn(padded, wavelet_name, level=1, start_level=0, trim_approx=False)[0]
    crop = tuple(slice(0, n) for n in img.shape)
    return {f"wavelet-{k.replace('a', 'L').replace('d', 'H')}": v[crop] for k, v in sorted(coeffs.items())}


def mean(image: np.ndarray, size_vox: int = 3) -> dict[str, np.ndarray]:
    """Mean filter over a cube of ``size_vox`` voxels."""
    return {f"mean-{size_vox}vox": ndimage.uniform_filter(np.asarray(image, float), size_vox, mode="nearest")}


def gaussian(image: np.ndarray, spacing_mm, sigma_mm: float) -> dict[str, np.ndarray]:
    """Gaussian smoothing with σ in mm."""
    name = f"gaussian-sigma-{sigma_mm:g}-mm".replace(".", "-")
    return {name: ndimage.gaussian_filter(np.asarray(image, float), _sigma_vox(sigma_mm, spacing_mm), mode="nearest")}
