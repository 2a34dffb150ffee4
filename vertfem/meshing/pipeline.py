"""One call from a selected vertebra to a mapped TET10 mesh."""

from __future__ import annotations

import logging
import time
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..calibration import KernelCalibration
from ..geometry import mask_box
from ..io import Scan
from ..materials import ASH_APP_RATIO, POISSON_RATIO, get_law, modulus_from_ash_density
from ..selection import Vertebra
from .body import cortical_split, isolate_body
from .caps import add_caps
from .endplates import endplates
from .frame import VertebralFrame, vertebral_frame
from .mapping import map_element_materials, sample_image
from .model import REGIONS, VertebraMesh
from .surface import cut_surface, mask_to_surface
from .volume import tetrahedralize

__all__ = ["MeshOptions", "mesh_vertebra"]

log = logging.getLogger(__name__)


class MeshOptions(BaseModel):
    """Meshing and material-mapping options (the ``mesh`` section of a config)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mesh_size_mm: float = Field(2.0, gt=0, description="target TET10 edge length, mm")
    isolate_body: bool = Field(True, description="cut the posterior elements at the pedicles")
    opening_mm: float = Field(5.5, gt=0, description="opening radius for body isolation, mm")
    smoothing_mm: float | None = Field(None, ge=0, description="Gaussian σ on the upsampled mask, mm")
    flat_cut_mm: float | None = Field(
        None, ge=0, description="cut the body with planes parallel to the endplates this far inside the extremes, mm"
    )
    law: str = Field("morgan2003-vertebra", description="density–modulus law name")
    integration: Literal["density", "modulus"] = "density"
    restrict_to_mask: bool = Field(True, description="sample only voxels inside the bone mask")
    ash_app_ratio: float = Field(ASH_APP_RATIO, gt=0, le=1)
    min_modulus_MPa: float = Field(1.0, gt=0)
    poisson_ratio: float = Field(POISSON_RATIO, ge=0, lt=0.5)
    cortical_shell_mm: float | None = Field(None, gt=0, description="label elements within this depth as cortical")
    cortical_E_MPa: float | None = Field(None, gt=0, description="fixed modulus of cortical elements")
    cortical_law: str | None = Field(None, description="separate law for cortical elements")
    endplate_angle_deg: float = Field(45.0, gt=0, lt=90)
    cap_thickness_mm: float | None = Field(
        None, gt=0, description="embed both endplates in virtual PMMA caps this thick beyond the endplate, mm"
    )
    cap_modulus_MPa: float = Field(2500.0, gt=0, description="Young's modulus of the virtual PMMA caps, MPa")
    optimize_netgen: bool = False


def _crop(scan: Scan, mask: np.ndarray, margin: int = 4):
    """HU, mask and grid cropped to the mask's box (plus margin), and the slices used."""
    sl, sub = mask_box(mask, scan.geometry, margin)
    return scan.hu[sl], mask[sl], sub, sl


def mesh_vertebra(
    scan: Scan,
    vertebra: Vertebra | np.ndarray,
    calibration: KernelCalibration,
    options: MeshOptions | None = None,
    *,
    body_mask: np.ndarray | None = None,
    **overrides,
) -> VertebraMesh:
    """Mesh a vertebra into mapped quadratic tetrahedra in scanner space.

    Parameters
    ----------
    scan : Scan
    vertebra : Vertebra or ndarray of bool
        Whole vertebra (the body is isolated) or a body mask, on the scan grid.
    calibration : KernelCalibration
    options : MeshOptions, optional
    body_mask : ndarray of bool, optional
        Vertebral-body mask on the scan grid when the caller has already
        isolated it (skips ``isolate_body``).
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

    Examples
    --------
    >>> import vertfem as vf
    >>> p = vf.example_paths()
    >>> scan = vf.read_scan(p["ct"])
    >>> l1 = vf.select_vertebra(scan, vf.read_labels(p["labels"]), "L1")
    >>> mesh = vf.mesh_vertebra(scan, l1, vf.resolve_calibration("B40f"))  # doctest: +SKIP
    """
    opts = MeshOptions.model_validate({**(options or MeshOptions()).model_dump(), **overrides})
    timings: dict[str, float] = {}
    t = time.perf_counter()
    whole = vertebra.mask if isinstance(vertebra, Vertebra) else np.asarray(vertebra, bool)
    hu, whole_c, geom, sl = _crop(scan, whole)
    if body_mask is not None:
        body = np.asarray(body_mask, bool)[sl]
    elif opts.isolate_body:
        body = isolate_body(whole_c, geom, opening_mm=opts.opening_mm)
    else:
        body = whole_c
    frame = vertebral_frame(body, geom, vertebra_mask=whole_c)
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
    info = {
        "kernel": calibration.kernel,
        "calibration": calibration.as_dict(),
        "law": mats.law,
        "n_clamped": int(n_clamped),
        "options": opts.model_dump(),
        "body_mask_volume_mm3": float(body.sum() * geom.voxel_volume_mm3),
        "scan": scan.path,
        "scan_sha256": scan.metadata.get("sha256"),
        "vertebra": getattr(vertebra, "name", None),
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
