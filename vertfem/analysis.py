"""End-to-end analysis of one vertebra: read, select, isolate, mesh, map, solve, report."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .calibration import KernelCalibration, KernelRegistry, resolve_calibration
from .density import VBMDResult, trabecular_vbmd
from .io import LabelMap, Scan, read_labels, read_scan
from .meshing import MeshOptions, mesh_vertebra
from .meshing.body import isolate_body
from .selection import select_vertebra
from .solvers import FEResult, LoadCase, SolveOptions, load_case_from_mapping, save_result, solve_load_case
from .solvers.warmup import warm_up_in_background

__all__ = ["VertebraAnalysis", "analyze_vertebra"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class VertebraAnalysis:
    """FE result plus trabecular vBMD of one vertebra.

    ``timings_s`` has one entry per stage; vBMD runs beside meshing, so the
    stages add up to more than ``wall_time_s``.
    """

    vertebra: str
    kernel: str
    fe: FEResult
    vbmd: VBMDResult
    timings_s: dict[str, float]
    wall_time_s: float

    def row(self) -> dict[str, Any]:
        """One flat row for tables: units in the column names."""
        return {
            "vertebra": self.vertebra,
            "kernel": self.kernel,
            "load_case": self.fe.load_case,
            "stiffness_N_per_mm": self.fe.stiffness_N_per_mm,
            "strength_N": self.fe.strength_N,
            "strength_definition": self.fe.strength_definition,
            "apparent_modulus_MPa": self.fe.apparent_modulus_MPa,
            "height_mm": self.fe.height_mm,
            "bone_volume_mm3": self.fe.bone_volume_mm3,
            "n_elements": self.fe.mesh.n_elements,
            **{k: v for k, v in self.vbmd.as_row().items() if k != "kernel"},
            "total_time_s": self.wall_time_s,
        }


def analyze_vertebra(
    scan: Scan | str | Path,
    labels: LabelMap | str | Path,
    vertebra: str | int = "L1",
    *,
    kernel: str | KernelCalibration | None = None,
    registry: KernelRegistry | None = None,
    convention: str = "totalsegmentator",
    load_case: str | LoadCase | dict = "axial_compression",
    mesh_options: MeshOptions | None = None,
    solve_options: SolveOptions | None = None,
    vbmd_erosion_mm: float = 6.0,
    allow_cut: bool = False,
    outdir: str | Path | None = None,
) -> VertebraAnalysis:
    """Stiffness (N/mm), strength (N) and vBMD of one vertebra from CT + labels.

    Parameters
    ----------
    scan, labels : Scan/LabelMap or paths
    vertebra : str or int
    kernel : str or KernelCalibration, optional
        Default: the scan's DICOM kernel.
    load_case : str, LoadCase or mapping
        A built-in name, a :class:`LoadCase`, or a mapping as in YAML
        (built once the body height is known).
    outdir : path, optional
        Write ``result.json`` and ``result.vtu`` there.

    Examples
    --------
    >>> import vertfem as vf
    >>> p = vf.example_paths()
    >>> a = vf.analyze_vertebra(p["ct"], p["labels"], "L1", kernel="B40f")  # doctest: +SKIP
    >>> a.fe.stiffness_N_per_mm  # doctest: +SKIP
    """
    timings: dict[str, float] = {}
    start = t = time.perf_counter()
    scan = scan if isinstance(scan, Scan) else read_scan(scan)
    labels = labels if isinstance(labels, LabelMap) else read_labels(labels)
    cal = resolve_calibration(kernel, scan_kernel=scan.kernel, registry=registry)
    vert = select_vertebra(scan, labels, vertebra, convention=convention, allow_cut=allow_cut)
    timings["read_select"] = time.perf_counter() - t

    mopts = mesh_options or MeshOptions()
    warm = warm_up_in_background()
    t = time.perf_counter()
    body = isolate_body(vert.mask, scan.geometry, opening_mm=mopts.opening_mm) if mopts.isolate_body else vert.mask
    timings["isolate_body"] = time.perf_counter() - t

    def vbmd() -> VBMDResult:
        t0 = time.perf_counter()
        out = trabecular_vbmd(scan, body, cal, erosion_mm=vbmd_erosion_mm)
        timings["vbmd"] = time.perf_counter() - t0
        return out

    # vBMD runs on the second core while gmsh (which releases the GIL) meshes on the first
    with ThreadPoolExecutor(max_workers=1) as pool:
        vb_future = pool.submit(vbmd)
        mesh = mesh_vertebra(scan, vert, cal, mopts, body_mask=body)
        vb = vb_future.result()
    timings.update({f"mesh_{k}": v for k, v in mesh.info["timings_s"].items()})

    if isinstance(load_case, LoadCase):
        lc = load_case
    elif isinstance(load_case, str):
        lc = load_case_from_mapping({"builtin": load_case}, height_mm=mesh.height_mm)
    else:
        lc = load_case_from_mapping(load_case, height_mm=mesh.height_mm)
    warm.join()
    fe = solve_load_case(mesh, lc, solve_options)
    timings.update({f"fe_{k}": v for k, v in fe.timings_s.items()})
    if outdir is not None:
        t = time.perf_counter()
        save_result(fe, outdir)
        timings["write"] = time.perf_counter() - t
    return VertebraAnalysis(vert.name, cal.kernel, fe, vb, timings, time.perf_counter() - start)
