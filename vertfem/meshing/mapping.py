"""Material mapping: per-element density and modulus sampled from the CT.

Each element's values come from the calibrated density image sampled at the
element's quadrature points in physical space (trilinear interpolation in
the image's index space, whatever its direction cosines). Two schemes, as in
Bonemat:

* ``"density"`` (default): volume-average the density, then apply the law;
* ``"modulus"``: apply the law at every quadrature point, then average E.

Partial-volume control (``MeshOptions.restrict_to_mask``, on by default,
``--no-restrict-to-mask`` to turn it off): only voxels inside the bone mask
contribute (normalised convolution: trilinear weights of outside voxels are
dropped and the rest renormalised), so the soft tissue around a surface
element does not dilute its density. Points with no mask voxel among their
eight neighbours fall back to plain trilinear sampling. Its effect on the
bundled L1 at 2 mm: the elements touching the surface (40 % of them) get a
mean modulus 24 % higher (546 against 439 MPa), the interior is unchanged
(+0.08 %), and the stiffness rises by 6.5 % (15 563 against 14 617 N/mm). It
is a choice, not a correction: with a sharp kernel or a mask drawn wide, the
voxels just inside the mask also carry partial volume, and plain sampling is
the more conservative of the two.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import ndimage

from ..errors import ConfigError
from ..geometry import ImageGeometry
from ..materials import ASH_APP_RATIO, MaterialLaw, MaterialValues, apparent_density, get_law, modulus_from_ash_density
from .tet10 import jacobians, physical_points, quadrature

__all__ = ["map_element_materials", "sample_image"]


def sample_image(
    image: np.ndarray,
    geometry: ImageGeometry,
    points_mm: np.ndarray,
    *,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Trilinear samples of an image at physical points, optionally mask-restricted.

    Parameters
    ----------
    image : ndarray ``(k, j, i)``
    geometry : ImageGeometry
    points_mm : ndarray (n, 3)
    mask : ndarray of bool, optional
        Only voxels inside contribute (renormalised weights).
    """
    ijk = geometry.physical_to_index(points_mm)
    coords = ijk[:, ::-1].T
    img = np.asarray(image, dtype=np.float64)
    if mask is None:
        return ndimage.map_coordinates(img, coords, order=1, mode="nearest")
    m = np.asarray(mask, dtype=np.float64)
    num = ndimage.map_coordinates(img * m, coords, order=1, mode="constant", cval=0.0)
    den = ndimage.map_coordinates(m, coords, order=1, mode="constant", cval=0.0)
    plain = ndimage.map_coordinates(img, coords, order=1, mode="nearest")
    ok = den > 1e-6
    return np.where(ok, num / np.where(ok, den, 1.0), plain)


def map_element_materials(
    nodes_mm: np.ndarray,
    elements: np.ndarray,
    density_g_cm3: np.ndarray,
    geometry: ImageGeometry,
    *,
    law: str | MaterialLaw = "morgan2003-vertebra",
    mask: np.ndarray | None = None,
    integration: Literal["density", "modulus"] = "density",
    quadrature_order: int = 2,
    ash_app_ratio: float = ASH_APP_RATIO,
    min_modulus_MPa: float = 1.0,
) -> MaterialValues:
    """Per-element ρash, ρapp and E for a TET10 mesh.

    Parameters
    ----------
    nodes_mm, elements : TET10 mesh in scanner coordinates.
    density_g_cm3 : ndarray ``(k, j, i)``
        Calibrated ash-equivalent density image.
    geometry : ImageGeometry
        Grid of ``density_g_cm3``.
    law : str or MaterialLaw
    mask : ndarray of bool, optional
        Restrict sampling to these voxels (partial-volume control).
    integration : {"density", "modulus"}
    quadrature_order : int
        Polynomial order the quadrature integrates exactly (2 → 4 points).

    Returns
    -------
    MaterialValues
        ``E_MPa`` clamped to ``min_modulus_MPa``; ``n_clamped`` counts elements.

    Examples
    --------
    >>> import numpy as np
    >>> from vertfem.geometry import ImageGeometry
    >>> g = ImageGeometry((4, 4, 4), (0, 0, 0), (1, 1, 1), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    >>> nodes = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1.]])
    >>> from vertfem.meshing.tet10 import EDGES
    >>> nodes = np.vstack([nodes, nodes[EDGES].mean(axis=1)])
    >>> m = map_element_materials(nodes, np.arange(10)[None], np.full(g.shape, 0.3), g)
    >>> round(float(m.E_MPa[0]), 2)
    1604.18
    """
    xi, w = quadrature(quadrature_order)
    det = np.linalg.det(jacobians(nodes_mm, elements, xi))  # (e, q)
    wq = det * w
    pts = physical_points(nodes_mm, elements, xi).reshape(-1, 3)
    rho_q = sample_image(density_g_cm3, geometry, pts, mask=mask).reshape(len(elements), len(w))
    rho_ash = (rho_q * wq).sum(axis=1) / wq.sum(axis=1)
    lw = get_law(law)
    if integration == "density":
        e, n_clamped = modulus_from_ash_density(rho_ash, lw, ash_app_ratio=ash_app_ratio,
                                                min_modulus_MPa=min_modulus_MPa)
    elif integration == "modulus":
        e_q, _ = modulus_from_ash_density(rho_q, lw, ash_app_ratio=ash_app_ratio, min_modulus_MPa=min_modulus_MPa)
        e = (e_q * wq).sum(axis=1) / wq.sum(axis=1)
        low = e <= min_modulus_MPa
        n_clamped = int(low.sum())
        e = np.where(low, min_modulus_MPa, e)
    else:
        raise ConfigError(f"integration must be 'density' or 'modulus', got {integration!r}")
    return MaterialValues(rho_ash, apparent_density(rho_ash, ash_app_ratio), e, int(n_clamped), lw.name)
