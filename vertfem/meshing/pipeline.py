"""One call from a prepared vertebra to a mapped TET10 mesh."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from ..errors import MaskImageMismatchError
from ..materials import get_law, modulus_from_ash_density
from ..options import parse_options
from ..provenance import Flag
from ..vertebra import Vertebra, VertebralFrame, cortical_split
from .caps import add_caps
from .endplates import endplates
from .mapping import map_element_materials, sample_image
from .model import REGIONS, VertebraMesh
from .options import MeshOptions
from .surface import cut_surface, mask_to_surface
from .volume import tetrahedralize

__all__ = ["mesh_vertebra", "MAX_CLAMPED_FRACTION"]

log = logging.getLogger(__name__)

#: More than this fraction of elements with a non-physical density (clamped to the minimum modulus) means the mask
#: does not lie on bone or the calibration is wrong: an error, not a result. Fewer are recorded as a flag.
MAX_CLAMPED_FRACTION = 0.05


def _clamped_flags(n_clamped: int, n: int, name: str) -> list[Flag]:
    if n_clamped == 0:
        return []
    frac = n_clamped / n
    msg = (f"{n_clamped} of {n} elements ({100 * frac:.1f} %) of {name} have a non-physical density (≤ 0) and were "
           "clamped to the minimum modulus")
    if frac > MAX_CLAMPED_FRACTION:
        raise MaskImageMismatchError(
            msg + f"; more than {100 * MAX_CLAMPED_FRACTION:g} % means the mask does not lie on bone in this CT or the "
            "calibration is wrong — check the mask/CT pairing and the kernel"
        )
    return [Flag("clamped_elements", msg)]


def mesh_vertebra(
    vertebra: Vertebra,
    options: MeshOptions | dict[str, Any] | None = None,
    **overrides: Any,
) -> VertebraMesh:
    """Mesh a prepared vertebra into mapped quadratic tetrahedra in scanner space.

    Parameters
    ----------
    vertebra : Vertebra
        From :func:`~vertfem.vertebra.prepare_vertebra`, with a calibration.
    options : MeshOptions or mapping, optional
    **overrides
        Option fields by keyword (``mesh_size_mm=1.5``).

    Returns
    -------
    VertebraMesh
        With ``node_sets`` ``superior``, ``inferior``, ``surface`` and
        ``info["timings_s"]`` per stage. With ``cap_thickness_mm`` set,
        ``superior``/``inferior`` are the flat faces of the PMMA caps and the
        bone's endplates are ``superior_endplate``/``inferior_endplate``
        (:func:`~vertfem.meshing.caps.add_caps`).

    Raises
    ------
    UnknownKernelError, MeshingError, MaskImageMismatchError

    Examples
    --------
    >>> import vertfem as vf
    >>> p = vf.example_paths()
    >>> l1 = vf.prepare_vertebra(p["ct"], p["labels"], "L1", kernel="B40f")
    >>> mesh = vf.mesh_vertebra(l1, mesh_size_mm=3.0)
    >>> mesh.n_elements > 5000, mesh.info["n_clamped"]
    (True, 0)
    """
    opts = parse_options(MeshOptions, options, where="mesh options", **overrides)
    calibration = vertebra.require_calibration()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    hu, whole_c, geom = vertebra.hu, vertebra.mask, vertebra.geometry
    body = vertebra.region(opts.region)
    frame = vertebra.frame
    timings["isolate_frame"] = time.perf_counter() - t

    t = time.perf_counter()
    surface = mask_to_surface(body, geom, smoothing_mm=opts.smoothing_mm)
    if opts.flat_cut_mm is not None:
        ax = np.asarray(frame.cranial)
        c = np.asarray(frame.centroid_mm)
        surface = cut_surface(surface, c + (frame.superior_mm - opts.flat_cut_mm) * ax, -ax)
        surface = cut_surface(surface, c + (frame.inferior_mm + opts.flat_cut_mm) * ax, ax)
    timings["surface"] = time.perf_counter() - t

    t = time.perf_counter()
    tet = tetrahedralize(surface, mesh_size_mm=opts.mesh_size_mm, optimize_netgen=opts.optimize_netgen)
    timings["volume_mesh"] = time.perf_counter() - t

    t = time.perf_counter()
    density = calibration.density_g_cm3(hu)
    mats = map_element_materials(
        tet.nodes_mm, tet.elements, density, geom, law=opts.law, mask=body if opts.restrict_to_mask else None,
        integration=opts.integration, ash_app_ratio=opts.ash_app_ratio, min_modulus_MPa=opts.min_modulus_MPa,
    )
    e = mats.E_MPa.copy()
    region = np.full(len(e), REGIONS["bone"], dtype=np.int32)
    n_clamped = mats.n_clamped
    if opts.cortical_shell_mm:
        shell, _ = cortical_split(body, geom, shell_mm=opts.cortical_shell_mm)
        centroids = tet.nodes_mm[tet.elements[:, :4]].mean(axis=1)
        cort = sample_image(shell.astype(float), geom, centroids) >= 0.5
        region[cort] = REGIONS["cortical"]
        if opts.cortical_E_MPa is not None:
            e[cort] = opts.cortical_E_MPa
        elif opts.cortical_law is not None:
            e[cort], _ = modulus_from_ash_density(
                mats.rho_ash_g_cm3[cort], get_law(opts.cortical_law),
                ash_app_ratio=opts.ash_app_ratio, min_modulus_MPa=opts.min_modulus_MPa,
            )
    timings["material_mapping"] = time.perf_counter() - t

    zn = (tet.nodes_mm - np.asarray(frame.centroid_mm)) @ np.asarray(frame.cranial)
    frame = VertebralFrame(frame.centroid_mm, frame.cranial, frame.anterior, frame.lateral, float(zn.min()), float(zn.max()))
    sets, height = endplates(tet.nodes_mm, tet.elements, frame, max_angle_deg=opts.endplate_angle_deg)
    flags = _clamped_flags(int(n_clamped), len(e), vertebra.name)
    info = {
        "kernel": calibration.kernel,
        "calibration": calibration.as_dict(),
        "law": mats.law,
        "n_clamped": int(n_clamped),
        "options": opts.model_dump(mode="json"),
        "body_mask_volume_mm3": float(body.sum() * geom.voxel_volume_mm3),
        "vertebra": vertebra.name,
        "vertebra_record": vertebra.describe(),
        "inputs": {k: v.as_dict() for k, v in vertebra.inputs.items()},
        "flags": [f.as_dict() for f in (*vertebra.flags, *flags)],
        "timings_s": timings,
    }
    mesh = VertebraMesh(
        nodes_mm=tet.nodes_mm, elements=tet.elements, E_MPa=e, rho_ash_g_cm3=mats.rho_ash_g_cm3,
        rho_app_g_cm3=mats.rho_app_g_cm3, region=region, node_sets=sets, frame=frame, height_mm=height,
        poisson_ratio=opts.poisson_ratio, quality=tet.quality, info=info,
    )
    if opts.cap_thickness_mm is not None:
        t = time.perf_counter()
        mesh = add_caps(mesh, opts.cap_thickness_mm, opts.cap_modulus_MPa, max_angle_deg=opts.endplate_angle_deg)
        timings["caps"] = time.perf_counter() - t
    log.info("meshed %s: %d TET10, %d nodes, %d clamped", info["vertebra"], mesh.n_elements, mesh.n_nodes, n_clamped)
    return mesh
