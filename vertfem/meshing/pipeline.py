"""One call from a prepared vertebra to a mapped TET10 mesh."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from ..errors import MaskImageMismatchError
from ..geometry import ImageGeometry
from ..materials import MaterialValues, get_law, modulus_from_ash_density
from ..options import parse_options
from ..provenance import Flag
from ..vertebra import Vertebra, VertebralFrame, cortical_split
from ..vertebra.endplates import BodyEndplates, find_endplates
from .caps import add_caps
from .endplates import select_endplates
from .mapping import map_element_materials, sample_image
from .model import REGIONS, VertebraMesh, boundary_faces
from .options import MeshOptions
from .surface import Surface, cut_surface, mask_to_surface
from .volume import tetrahedralize

__all__ = ["MAX_CLAMPED_FRACTION", "TRIM_FLAG_FRACTION", "mesh_vertebra"]

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


#: Share of the isolated body outside the column under its endplates above which the trimming is flagged.
TRIM_FLAG_FRACTION = 0.02


def _trim_to_column(body: np.ndarray, geometry: ImageGeometry, anatomy: BodyEndplates,
                    name: str) -> tuple[np.ndarray, list[Flag]]:
    """The body within its column (two voxels, at least 3 mm, beyond the endplates' outline), and a flag if that
    dropped more than :data:`TRIM_FLAG_FRACTION` of it."""
    margin = max(2.0 * max(geometry.spacing_mm), 3.0)
    kept = body & anatomy.column_mask(geometry, margin)
    dropped = int(body.sum() - kept.sum())
    if dropped <= TRIM_FLAG_FRACTION * body.sum():
        return kept, []
    msg = (f"{dropped * geometry.voxel_volume_mm3:.0f} mm³ ({100 * dropped / body.sum():.1f} %) of the isolated "
           "body of "
           f"{name} lies beside the column under its endplates (a process or pedicle stub the body isolation left "
           "attached) and is not part of the FE model; vBMD and the vertebra's volume still include it")
    return kept, [Flag("body_trimmed", msg)]


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
        With ``node_sets`` ``superior``, ``inferior`` (the body's endplates,
        found from its anatomy: :mod:`vertfem.meshing.endplates`), ``surface``,
        ``info["endplates"]`` (set sizes, areas, normals, wedge angle, height)
        and ``info["timings_s"]`` per stage. With ``cap_thickness_mm`` set,
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
    geom, frame = vertebra.geometry, vertebra.frame

    t = time.perf_counter()
    anatomy = find_endplates(vertebra.body, geom, frame, smoothing_mm=opts.smoothing_mm,
                             vertebra_mask=vertebra.mask if opts.region == "whole" else None)
    body = vertebra.region(opts.region)
    trim_flags: list[Flag] = []
    if opts.region == "body" and opts.trim_to_endplates:
        body, trim_flags = _trim_to_column(body, geom, anatomy, vertebra.name)
    timings["endplates"] = time.perf_counter() - t

    t = time.perf_counter()
    surface = mask_to_surface(body, geom, smoothing_mm=opts.smoothing_mm)
    if opts.flat_cut_mm is not None:
        surface, anatomy = _flat_cuts(surface, anatomy, frame, opts.flat_cut_mm)
    timings["surface"] = time.perf_counter() - t

    t = time.perf_counter()
    tet = tetrahedralize(surface, mesh_size_mm=opts.mesh_size_mm, optimize_netgen=opts.optimize_netgen)
    timings["volume_mesh"] = time.perf_counter() - t

    t = time.perf_counter()
    mats, e, region = _materials(vertebra, tet.nodes_mm, tet.elements, body, opts)
    timings["material_mapping"] = time.perf_counter() - t

    t = time.perf_counter()
    zn = (tet.nodes_mm - np.asarray(frame.centroid_mm)) @ np.asarray(frame.cranial)
    frame = VertebralFrame(frame.centroid_mm, frame.cranial, frame.anterior, frame.lateral, float(zn.min()),
                           float(zn.max()))
    boundary = boundary_faces(tet.elements)
    selection = select_endplates(tet.nodes_mm, tet.elements, anatomy, margin_mm=opts.endplate_margin_mm,
                                 depth_mm=opts.endplate_depth_mm, boundary=boundary)
    timings["endplate_sets"] = time.perf_counter() - t
    flags = [*trim_flags, *_clamped_flags(mats.n_clamped, len(e), vertebra.name)]
    info = {
        "kernel": calibration.kernel, "calibration": calibration.as_dict(), "law": mats.law,
        "n_clamped": int(mats.n_clamped), "options": opts.model_dump(mode="json"),
        "body_mask_volume_mm3": float(body.sum() * geom.voxel_volume_mm3), "vertebra": vertebra.name,
        "vertebra_record": vertebra.describe(), "inputs": {k: v.as_dict() for k, v in vertebra.inputs.items()},
        "flags": [f.as_dict() for f in (*vertebra.flags, *flags)],
        "endplates": {**selection.as_dict(), "body": anatomy.as_dict()}, "timings_s": timings,
    }
    sets = {**selection.node_sets(), "surface": selection.surface_nodes}
    mesh = VertebraMesh(tet.nodes_mm, tet.elements, e, mats.rho_ash_g_cm3, mats.rho_app_g_cm3, region, sets, frame,
                        selection.height_mm, opts.poisson_ratio, tet.quality, info)
    mesh.__dict__["boundary"] = boundary  # the cached property, computed once above
    if opts.cap_thickness_mm is not None:
        t = time.perf_counter()
        mesh = add_caps(mesh, opts.cap_thickness_mm, opts.cap_modulus_MPa)
        timings["caps"] = time.perf_counter() - t
    log.info("meshed %s: %d TET10, %d nodes, %d clamped", vertebra.name, mesh.n_elements, mesh.n_nodes,
             mats.n_clamped)
    return mesh


def _flat_cuts(surface: Surface, anatomy: BodyEndplates, frame: VertebralFrame,
               cut_mm: float) -> tuple[Surface, BodyEndplates]:
    """The surface cut by planes perpendicular to the axis ``cut_mm`` inside its extremes, and the anatomy to match."""
    ax, c = np.asarray(frame.cranial), np.asarray(frame.centroid_mm)
    cut_sup, cut_inf = frame.superior_mm - cut_mm, frame.inferior_mm + cut_mm
    surface = cut_surface(cut_surface(surface, c + cut_sup * ax, -ax), c + cut_inf * ax, ax)
    return surface, anatomy.clipped(superior_mm=cut_sup, inferior_mm=cut_inf)


def _materials(vertebra: Vertebra, nodes: np.ndarray, elements: np.ndarray, mask: np.ndarray,
               opts: MeshOptions) -> tuple[MaterialValues, np.ndarray, np.ndarray]:
    """Mapped materials, the moduli (cortical overrides applied) and the element region codes."""
    geom = vertebra.geometry
    density = vertebra.require_calibration().density_g_cm3(vertebra.hu)
    mats = map_element_materials(
        nodes, elements, density, geom, law=opts.law, mask=mask if opts.restrict_to_mask else None,
        integration=opts.integration, ash_app_ratio=opts.ash_app_ratio, min_modulus_MPa=opts.min_modulus_MPa,
    )
    e = mats.E_MPa.copy()
    region = np.full(len(e), REGIONS["bone"], dtype=np.int32)
    centroids = nodes[elements[:, :4]].mean(axis=1)
    if opts.cortical_shell_mm:
        shell, _ = cortical_split(mask, geom, shell_mm=opts.cortical_shell_mm)
        cort = sample_image(shell.astype(float), geom, centroids) >= 0.5
        region[cort] = REGIONS["cortical"]
        if opts.cortical_E_MPa is not None:
            e[cort] = opts.cortical_E_MPa
        elif opts.cortical_law is not None:
            e[cort], _ = modulus_from_ash_density(
                mats.rho_ash_g_cm3[cort], get_law(opts.cortical_law),
                ash_app_ratio=opts.ash_app_ratio, min_modulus_MPa=opts.min_modulus_MPa,
            )
    if opts.region == "whole":
        region[sample_image(vertebra.body.astype(float), geom, centroids) < 0.5] = REGIONS["posterior"]
    return mats, e, region
