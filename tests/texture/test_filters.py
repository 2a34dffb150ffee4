"""Filters against closed forms: LoG of a quadratic and of a Gaussian blob on isotropic and anisotropic grids;
SimpleITK's recursive LoG (pyradiomics' filter); wavelet sub-band orientation; image-type names."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from vertfem.texture.filters import laplacian_of_gaussian, log_image_type, wavelet, wavelet_image_types

GRIDS = [(1.0, 1.0, 1.0), (3.0, 3.0, 3.0), (0.5, 0.5, 0.5), (0.8, 0.8, 2.0), (0.78, 0.78, 6.5)]


def _centred_grid(spacing_ijk, extent_mm):
    """Physical coordinates (z, y, x) of a grid centred on 0 with ``extent_mm`` per axis."""
    axes = []
    for s in spacing_ijk[::-1]:
        n = int(extent_mm / s) // 2
        axes.append(np.arange(-n, n + 1) * s)
    return np.meshgrid(*axes, indexing="ij")


@pytest.mark.parametrize("spacing", GRIDS)
@pytest.mark.parametrize("sigma", [0.5, 1.0, 3.0])
def test_log_of_a_quadratic_is_exact(spacing, sigma):
    # σ²∇²(G*f) = σ²·(2a + 2b + 2c) for f = a x² + b y² + c z² + linear terms, at every σ and grid
    z, y, x = _centred_grid(spacing, 70.0)
    f = 1.0 * x**2 + 0.5 * y**2 + 2.0 * z**2 + 3.0 * x - z + 7.0
    out = laplacian_of_gaussian(f, spacing, [sigma])[log_image_type(sigma)]
    inner = tuple(slice(n // 2 - 2, n // 2 + 3) for n in f.shape)  # clear of the edge padding
    assert np.abs(out[inner] - sigma**2 * 7.0).max() < 1e-10 * sigma**2 * 7.0


def test_log_of_a_constant_is_zero():
    # the old σ²·gaussian_laplace(img, σ/spacing) echoed the image itself for σ under a voxel
    img = np.full((9, 30, 30), 1000.0)
    for sigma in (0.3, 1.0, 4.0):
        assert np.abs(laplacian_of_gaussian(img, (0.78, 0.78, 6.5), [sigma])[log_image_type(sigma)]).max() < 1e-9


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (0.6, 0.6, 0.6), (0.8, 0.8, 2.0), (3.0, 3.0, 3.0)])
@pytest.mark.parametrize("sigma", [1.0, 2.0, 3.0])
def test_log_of_an_anisotropic_gaussian_blob_matches_the_closed_form(spacing, sigma):
    # f = exp(-Σ x_a²/2s_a²): G_σ*f has variances t_a = s_a² + σ² and amplitude Π s_a/√t_a;
    # ∇² of it multiplies by Σ (x_a²/t_a² − 1/t_a)
    z, y, x = _centred_grid(spacing, 66.0 if spacing[0] > 2 else 60.0)
    s = np.array([6.0, 5.0, 7.0])  # (z, y, x), mm
    f = np.exp(-(z**2 / (2 * s[0] ** 2) + y**2 / (2 * s[1] ** 2) + x**2 / (2 * s[2] ** 2)))
    t = s**2 + sigma**2
    amp = np.prod(s / np.sqrt(t)) * np.exp(-(z**2 / (2 * t[0]) + y**2 / (2 * t[1]) + x**2 / (2 * t[2])))
    exact = sigma**2 * amp * (z**2 / t[0] ** 2 + y**2 / t[1] ** 2 + x**2 / t[2] ** 2 - (1 / t).sum())
    got = laplacian_of_gaussian(f, spacing, [sigma])[log_image_type(sigma)]
    inner = (np.abs(z) < 12) & (np.abs(y) < 12) & (np.abs(x) < 12)  # 5σ clear of the edge padding
    err = np.abs(got - exact)[inner].max() / np.abs(exact).max()
    # measured: ≤ 8e-5 of the peak response where σ ≥ the voxel size; 0.5–1.8e-2 where σ is 1/3–2/3 of it and a
    # sampled kernel cannot resolve the blob
    assert err < (1e-4 if sigma >= max(spacing) else 2.5e-2), err


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (0.8, 0.8, 2.0)])
def test_log_agrees_with_simpleitk_recursive_gaussian(spacing):
    # pyradiomics' LoG: SimpleITK LaplacianRecursiveGaussian with NormalizeAcrossScale (an IIR approximation)
    z, y, x = _centred_grid(spacing, 60.0)
    f = 500.0 * np.exp(-(z**2 / 72.0 + y**2 / 50.0 + x**2 / 98.0)) + 0.2 * x
    img = sitk.GetImageFromArray(f)
    img.SetSpacing(spacing)
    inner = (np.abs(z) < 12) & (np.abs(y) < 12) & (np.abs(x) < 12)
    for sigma in (1.0, 2.0, 3.0):
        flt = sitk.LaplacianRecursiveGaussianImageFilter()
        flt.SetNormalizeAcrossScale(True)
        flt.SetSigma(sigma)
        ref = sitk.GetArrayFromImage(flt.Execute(img))
        got = laplacian_of_gaussian(f, spacing, [sigma])[log_image_type(sigma)]
        # the recursive filter itself is off the closed form by up to 8e-3 of the peak here
        assert np.abs(got - ref)[inner].max() < 1e-2 * np.abs(ref[inner]).max()


def test_log_names_as_pyradiomics():
    assert [log_image_type(s) for s in (1, 1.0, 2.5, 3)] == [
        "log-sigma-1-0-mm-3D", "log-sigma-1-0-mm-3D", "log-sigma-2-5-mm-3D", "log-sigma-3-0-mm-3D"]


@pytest.mark.parametrize("axis_letter", [(2, 0), (1, 1), (0, 2)])
def test_wavelet_letters_follow_x_y_z(axis_letter):
    # an intensity step across one physical axis puts high-pass energy in that axis' letter only
    np_axis, letter = axis_letter
    img = np.zeros((8, 10, 12))
    idx = [slice(None)] * 3
    idx[np_axis] = slice(img.shape[np_axis] // 2, None)
    img[tuple(idx)] = 100.0
    bands = wavelet(img, "haar")
    assert tuple(bands) == wavelet_image_types()
    active = {k for k, v in bands.items() if np.abs(v).max() > 1e-9}
    expected = "".join("H" if i == letter else "L" for i in range(3))
    assert active == {"wavelet-LLL", f"wavelet-{expected}"}
