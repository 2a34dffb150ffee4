"""CT of a vertebra phantom inside a body whose tissue CT numbers follow from their composition.

:mod:`vertfem.ctsim` turns density into HU through a kernel's calibration
line, so every scan of a phantom reads the same HU whatever the beam. Here
the scanner is a monochromatic-equivalent beam of effective energy ``E``:

* each tissue is a material of known composition (ICRU-44 adipose tissue,
  skeletal muscle, blood, soft tissue; dry air), with linear attenuation
  ``μ = ρ·(μ/ρ)(E)`` from :mod:`vertfem.phantomless.attenuation`;
* the vertebra (:func:`vertfem.phantom.render_phantom`) is K2HPO4 in water at
  the phantom's K2HPO4-equivalent density ``c``: ``μ = μ_water + c·(μ/ρ)_K2HPO4``,
  so its true K2HPO4-equivalent density is ``c`` at every energy;
* blood may carry iodine (``blood_iodine_mg_ml``, added mass) to mimic a
  contrast-enhanced scan;
* the attenuation map is blurred with the kernel's point-spread function
  (:class:`vertfem.ctsim.SimulatedKernel`), converted to HU by the Hounsfield
  definition ``1000·(μ − μ_water)/(μ_water − μ_air)``, optionally distorted by
  a scanner offset and scale, and given the kernel's correlated noise.

The body is an elliptic cylinder of subcutaneous fat around soft tissue
(fat behind the vertebral body), with paraspinal muscles behind the vertebra, psoas muscles beside it and the aorta
in front of it (left of the midline), all in physical LPS coordinates (``+x``
patient left, ``+y`` posterior, ``+z`` cranial) on a grid with any axial
direction cosines. TotalSegmentator-style label maps of the tissues come with
the scan.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from ..ctsim import SIMULATED_KERNELS, SimulatedKernel
from ..errors import GeometryError
from ..geometry import ImageGeometry
from ..io import Scan
from ..phantom import REGION_CODES, PhantomImage, PhantomSpec, render_phantom
from .attenuation import linear_attenuation_per_cm, mass_attenuation_cm2_g

__all__ = [
    "BodyPhantom",
    "BodySpec",
    "SimulatedBodyCT",
    "render_body_phantom",
    "scan_body_phantom",
    "simulate_body_ct",
]

#: Label ids of :attr:`SimulatedBodyCT.total_labels` (TotalSegmentator v2 "total" task) and of
#: :attr:`SimulatedBodyCT.tissue_types` (task "tissue_types").
TOTAL_IDS = {"vertebra": 31, "aorta": 52, "autochthon_left": 86, "autochthon_right": 87,
             "iliopsoas_left": 88, "iliopsoas_right": 89}
TISSUE_TYPE_IDS = {"subcutaneous_fat": 1, "skeletal_muscle": 3}


@dataclass(frozen=True)
class BodySpec:
    """Soft-tissue anatomy around the vertebra (mm, in LPS relative to the vertebral-body centre).

    Attributes
    ----------
    width_mm, depth_mm : float
        Lateral and antero-posterior diameters of the body (elliptic cylinder).
    centre_y_mm : float
        Body centre along +y (posterior) from the vertebral-body centre;
        negative: the vertebra lies in the back half of the body.
    fat_mm : float
        Thickness of the subcutaneous fat layer.
    paraspinal_centre_mm : (float, float)
        |x| and y of the centres of the two paraspinal muscles.
    paraspinal_axes_mm : (float, float)
        Their semi-axes along x and y.
    psoas_centre_mm, psoas_axes_mm : (float, float)
        The same for the two psoas muscles.
    aorta_centre_mm : (float, float)
        x (patient left is +x) and y of the aorta's centre.
    aorta_radius_mm : float
    air_margin_mm : float
        Air between the body and the edge of the field of view.
    z_margin_mm : float
        Extent of the scan above and below the vertebra.
    """

    width_mm: float = 280.0
    depth_mm: float = 200.0
    centre_y_mm: float = -30.0
    fat_mm: float = 18.0
    paraspinal_centre_mm: tuple[float, float] = (33.0, 38.0)
    paraspinal_axes_mm: tuple[float, float] = (19.0, 13.0)
    psoas_centre_mm: tuple[float, float] = (34.0, -2.0)
    psoas_axes_mm: tuple[float, float] = (11.0, 14.0)
    aorta_centre_mm: tuple[float, float] = (14.0, -31.0)
    aorta_radius_mm: float = 11.0
    air_margin_mm: float = 20.0
    z_margin_mm: float = 15.0


@dataclass(frozen=True, eq=False)
class BodyPhantom:
    """A rendered body phantom, independent of energy and kernel (render once, scan many times).

    Attributes
    ----------
    geometry : ImageGeometry
        The scan grid.
    layers : tuple of (str, ndarray)
        Material key and its in-plane volume fraction (shape ``(nj, ni)``), in
        painting order: each layer replaces that fraction of what lies under it.
    truth : PhantomImage
        The vertebra on a sub-grid of ``geometry`` (K2HPO4-equivalent mg/cm³).
    box : tuple of slice
        Where ``truth`` lies in the scan grid.
    total_labels, tissue_types : ndarray of int32
        TotalSegmentator-style label maps (:data:`TOTAL_IDS`, :data:`TISSUE_TYPE_IDS`).
    """

    geometry: ImageGeometry
    layers: tuple[tuple[str, np.ndarray], ...]
    truth: PhantomImage
    box: tuple[slice, slice, slice]
    total_labels: np.ndarray
    tissue_types: np.ndarray

    @property
    def vertebra_mask(self) -> np.ndarray:
        """The whole vertebra on the scan grid."""
        return self.total_labels == TOTAL_IDS["vertebra"]

    @property
    def body_mask(self) -> np.ndarray:
        """The vertebral body on the scan grid."""
        m = np.zeros(self.geometry.shape, bool)
        m[self.box] = self.truth.body_mask
        return m


@dataclass(frozen=True, eq=False)
class SimulatedBodyCT:
    """A simulated scan of a :class:`BodyPhantom`.

    Attributes
    ----------
    scan : Scan
    phantom : BodyPhantom
    energy_keV : float
    kernel : SimulatedKernel
    hu_offset, hu_scale : float
        Scanner distortion applied: ``HU = hu_offset + hu_scale·HU_ideal``.
    blood_iodine_mg_ml : float
    """

    scan: Scan
    phantom: BodyPhantom
    energy_keV: float
    kernel: SimulatedKernel
    hu_offset: float
    hu_scale: float
    blood_iodine_mg_ml: float

    @property
    def vertebra_mask(self) -> np.ndarray:
        return self.phantom.vertebra_mask

    def tissue_masks(self) -> dict[str, np.ndarray]:
        """Reference-tissue masks as :func:`~vertfem.phantomless.tissues.totalsegmentator_tissue_masks` gives them."""
        from .tissues import totalsegmentator_tissue_masks

        return totalsegmentator_tissue_masks(self.phantom.total_labels, self.phantom.tissue_types)


def _ellipse_fraction(x: np.ndarray, y: np.ndarray, cx: float, cy: float, ax: float, ay: float,
                      h_mm: float) -> np.ndarray:
    """Approximate in-plane area fraction of each pixel inside an ellipse (signed-distance ramp one pixel wide)."""
    r = np.sqrt(((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2)
    sd = (r - 1.0) * min(ax, ay)  # ≈ signed distance near the boundary, mm
    return np.clip(0.5 - sd / h_mm, 0.0, 1.0).astype(np.float32)


def render_body_phantom(
    spec: PhantomSpec | None = None,
    body: BodySpec | None = None,
    *,
    spacing_mm: float = 0.5,
    direction: tuple[float, ...] = (-1, 0, 0, 0, -1, 0, 0, 0, 1),
    oversample: int | None = None,
) -> BodyPhantom:
    """Lay out the body and render the vertebra on an axial grid.

    Parameters
    ----------
    spec : PhantomSpec, optional
        The vertebra (K2HPO4-equivalent densities, mg/cm³); its background
        density is ignored (the body replaces it). Default: the standard
        phantom with posterior elements.
    body : BodySpec, optional
    spacing_mm : float
        Isotropic voxel size.
    direction : tuple of 9 float
        Direction cosines; the third index axis must be ±z (axial slices).
        Default diag(−1, −1, 1), as DICOM-derived CTs often have.
    oversample : int, optional
        Sub-samples per voxel axis of the vertebra
        (:func:`vertfem.phantom.render_phantom`'s default when omitted: up to
        13³ per voxel for textured phantoms). Rendering time grows with its
        cube: at 1 mm, 5 (0.2 mm sub-samples, finer than half the texture's
        0.7–1 mm spacing) takes (5/9)³ ≈ 1/6 of the default 9's time.

    Returns
    -------
    BodyPhantom
    """
    spec = spec or PhantomSpec(posterior_elements=True)
    body = body or BodySpec()
    geom = _body_grid(spec, body, spacing_mm, direction)
    layers, organs, subcutaneous = _soft_tissue_layers(geom, spec, body, spacing_mm)
    truth, box = _render_vertebra(geom, spec, oversample)
    total, ttypes = _label_maps(geom, organs, subcutaneous, truth, box)
    return BodyPhantom(geom, layers, truth, box, total, ttypes)


def _body_grid(spec: PhantomSpec, body: BodySpec, spacing_mm: float, direction: tuple[float, ...]) -> ImageGeometry:
    """The axial grid holding the body, its air margin and the vertebra's cranio-caudal extent plus margins."""
    d = np.asarray(direction, float).reshape(3, 3)
    if not np.allclose(np.abs(d[:, 2]), [0, 0, 1]):
        raise GeometryError("render_body_phantom simulates axial CT: the third index axis must be ±z")
    half_w, half_d = body.width_mm / 2 + body.air_margin_mm, body.depth_mm / 2 + body.air_margin_mm
    lo_s, hi_s = spec.extent_mm()
    box_lo = np.array([-half_w, body.centre_y_mm - half_d, lo_s[2] - body.z_margin_mm])
    box_hi = np.array([half_w, body.centre_y_mm + half_d, hi_s[2] + body.z_margin_mm])
    corners = np.array([[x, y, z] for x in (box_lo[0], box_hi[0]) for y in (box_lo[1], box_hi[1])
                        for z in (box_lo[2], box_hi[2])])
    local = corners @ d
    size = np.ceil((local.max(axis=0) - local.min(axis=0)) / spacing_mm).astype(int) + 1
    return ImageGeometry(tuple(size), tuple(d @ local.min(axis=0)), (spacing_mm,) * 3, tuple(d.ravel()))


def _soft_tissue_layers(geom: ImageGeometry, spec: PhantomSpec, body: BodySpec, h: float
                        ) -> tuple[tuple[tuple[str, np.ndarray], ...], dict[str, np.ndarray], np.ndarray]:
    """In-plane layers (material, area fraction) in painting order, the organs' fractions and the subcutaneous fat."""
    ni, nj = geom.size[0], geom.size[1]
    ii, jj = np.meshgrid(np.arange(ni, dtype=float), np.arange(nj, dtype=float))
    pts = geom.index_to_physical(np.stack([ii.ravel(), jj.ravel(), np.zeros(ii.size)], axis=1))
    x, y = pts[:, 0].reshape(nj, ni), pts[:, 1].reshape(nj, ni)
    a, b = body.width_mm / 2, body.depth_mm / 2
    outer = _ellipse_fraction(x, y, 0.0, body.centre_y_mm, a, b, h)
    inner = _ellipse_fraction(x, y, 0.0, body.centre_y_mm, a - body.fat_mm, b - body.fat_mm, h)
    px, py = body.paraspinal_centre_mm
    qx, qy = body.psoas_centre_mm
    organs = {
        "autochthon_left": _ellipse_fraction(x, y, px, py, *body.paraspinal_axes_mm, h),
        "autochthon_right": _ellipse_fraction(x, y, -px, py, *body.paraspinal_axes_mm, h),
        "iliopsoas_left": _ellipse_fraction(x, y, qx, qy, *body.psoas_axes_mm, h),
        "iliopsoas_right": _ellipse_fraction(x, y, -qx, qy, *body.psoas_axes_mm, h),
        "aorta": _ellipse_fraction(x, y, *body.aorta_centre_mm, body.aorta_radius_mm, body.aorta_radius_mm, h),
    }
    # behind the vertebral body the trunk holds no organs: muscles wrapped in fat
    back = np.clip(0.5 + (y - spec.depth_mm / 2) / h, 0.0, 1.0).astype(np.float32) * outer
    layers = (("adipose", outer), ("soft_tissue", inner), ("adipose", back),
              *((("blood" if k == "aorta" else "muscle"), f) for k, f in organs.items()))
    return layers, organs, (outer >= 0.5) & (inner < 0.5)


def _render_vertebra(geom: ImageGeometry, spec: PhantomSpec,
                     oversample: int | None) -> tuple[PhantomImage, tuple[slice, slice, slice]]:
    """The vertebra (background density 0) on the sub-grid of ``geom`` around it, and where that sub-grid lies."""
    lo_s, hi_s = spec.extent_mm()
    vspec = replace(spec, background_density_mg_cm3=0.0)
    corners_v = np.array([[xx, yy, zz] for xx in (lo_s[0], hi_s[0]) for yy in (lo_s[1], hi_s[1])
                          for zz in (lo_s[2], hi_s[2])])
    idx = geom.physical_to_index(corners_v)
    lo_i = np.maximum(np.floor(idx.min(axis=0)).astype(int) - 3, 0)
    hi_i = np.minimum(np.ceil(idx.max(axis=0)).astype(int) + 4, np.asarray(geom.size))
    sub = geom.cropped(lo_i, hi_i)
    truth = render_phantom(vspec, sub, oversample=oversample)
    box = (slice(int(lo_i[2]), int(hi_i[2])), slice(int(lo_i[1]), int(hi_i[1])), slice(int(lo_i[0]), int(hi_i[0])))
    return truth, box


def _label_maps(geom: ImageGeometry, organs: dict[str, np.ndarray], subcutaneous: np.ndarray, truth: PhantomImage,
                box: tuple[slice, slice, slice]) -> tuple[np.ndarray, np.ndarray]:
    """TotalSegmentator-style ``total`` and ``tissue_types`` label maps of the body phantom."""
    total = np.zeros(geom.shape, np.int32)
    ttypes = np.zeros(geom.shape, np.int32)
    ttypes[:] = np.where(subcutaneous, TISSUE_TYPE_IDS["subcutaneous_fat"], 0)[None]
    for k, f in organs.items():
        total[:, f >= 0.5] = TOTAL_IDS[k]
        if k != "aorta":
            ttypes[:, f >= 0.5] = TISSUE_TYPE_IDS["skeletal_muscle"]
    vert = truth.vertebra_mask
    total[box][vert] = TOTAL_IDS["vertebra"]
    ttypes[box][vert] = 0
    return total, ttypes


def simulate_body_ct(
    phantom: BodyPhantom,
    *,
    energy_keV: float = 70.0,
    kernel: str | SimulatedKernel = "smooth",
    seed: int = 0,
    hu_offset: float = 0.0,
    hu_scale: float = 1.0,
    blood_iodine_mg_ml: float = 0.0,
) -> SimulatedBodyCT:
    """Scan a body phantom at an effective energy with a simulated kernel.

    Parameters
    ----------
    phantom : BodyPhantom
    energy_keV : float
        Effective (monochromatic-equivalent) energy of the beam, 10–200 keV.
    kernel : {"smooth", "sharp"} or SimulatedKernel
        Blur and noise (:data:`vertfem.ctsim.SIMULATED_KERNELS`); its name is
        recorded as the scan's ``convolution_kernel``.
    seed : int
        Noise realisation.
    hu_offset, hu_scale : float
        Scanner distortion: ``HU = hu_offset + hu_scale·HU_ideal``.
    blood_iodine_mg_ml : float
        Iodine added to the blood (contrast enhancement), mg/mL.

    Returns
    -------
    SimulatedBodyCT

    Examples
    --------
    >>> from vertfem.phantom import PhantomSpec
    >>> ph = render_body_phantom(PhantomSpec(texture=False), BodySpec(width_mm=120, depth_mm=100,
    ...                          centre_y_mm=-5, fat_mm=10, paraspinal_centre_mm=(28, 30), air_margin_mm=10,
    ...                          psoas_centre_mm=(30, -5), aorta_centre_mm=(10, -27), aorta_radius_mm=6),
    ...                          spacing_mm=2.0)
    >>> ct = simulate_body_ct(ph, energy_keV=60.0, kernel="smooth", seed=1)
    >>> ct.scan.kernel, ct.scan.hu.shape == ph.geometry.shape
    ('B40f', True)
    """
    k = SIMULATED_KERNELS[kernel] if isinstance(kernel, str) else kernel
    e = float(energy_keV)
    g = phantom.geometry
    mu_w = float(linear_attenuation_per_cm("water", e))
    mu_a = float(linear_attenuation_per_cm("air", e))
    mu2d = np.full(g.shape[1:], mu_a, np.float32)
    for mat, frac in phantom.layers:
        mu_m = float(linear_attenuation_per_cm(mat, e))
        if mat == "blood":
            mu_m += blood_iodine_mg_ml / 1000.0 * float(mass_attenuation_cm2_g("iodine", e))
        mu2d += frac * (mu_m - mu2d)
    mu = np.broadcast_to(mu2d, g.shape).copy()
    t = phantom.truth
    f_v = np.maximum(t.body_fraction, (t.region == REGION_CODES["posterior"]).astype(np.float32))
    m_k = float(mass_attenuation_cm2_g("k2hpo4", e))
    under = mu[phantom.box]
    mu[phantom.box] = (1.0 - f_v) * under + f_v * mu_w + t.density_mg_cm3 / 1000.0 * m_k

    sp = np.asarray(g.spacing_mm)[::-1]
    blurred = (1.0 + k.overshoot) * ndimage.gaussian_filter(mu, k.psf_sigma_mm / sp, mode="nearest")
    if k.overshoot > 0:
        blurred -= k.overshoot * ndimage.gaussian_filter(mu, k.overshoot_sigma_mm / sp, mode="nearest")
    hu = hu_offset + hu_scale * 1000.0 * (blurred - mu_w) / (mu_w - mu_a)
    if k.noise_sd_HU > 0:
        rng = np.random.default_rng(seed)
        noise = ndimage.gaussian_filter(rng.standard_normal(g.shape, dtype=np.float32), k.noise_corr_mm / sp)
        noise *= k.noise_sd_HU / max(float(noise.std()), 1e-12)
        hu += noise
    scan = Scan(hu=hu.astype(np.float32, copy=False), geometry=g, metadata={
        "path": f"<simulated body {k.name} {e:g} keV seed={seed}>", "convolution_kernel": k.name, "simulated": True})
    return SimulatedBodyCT(scan, phantom, e, k, float(hu_offset), float(hu_scale), float(blood_iodine_mg_ml))


def scan_body_phantom(
    spec: PhantomSpec | None = None,
    body: BodySpec | None = None,
    *,
    spacing_mm: float = 0.5,
    energy_keV: float = 70.0,
    kernel: str | SimulatedKernel = "smooth",
    seed: int = 0,
) -> SimulatedBodyCT:
    """Render a body phantom and scan it once (see :func:`render_body_phantom`, :func:`simulate_body_ct`)."""
    return simulate_body_ct(render_body_phantom(spec, body, spacing_mm=spacing_mm), energy_keV=energy_keV,
                            kernel=kernel, seed=seed)
