"""vertfem — CT-based finite-element analysis of vertebrae.

Typical use::

    import vertfem as vf
    p = vf.example_paths()
    scan = vf.read_scan(p["ct"])
    vert = vf.select_vertebra(scan, vf.read_labels(p["labels"]), "L1")
    cal = vf.resolve_calibration("B40f")
    print(vf.trabecular_vbmd(scan, vert.mask, cal).vbmd_mg_cm3)

The public names are imported on first use (PEP 562), so ``import vertfem``
and the command line start quickly: an FE run does not load the statistics
and texture stacks (statsmodels, scikit-learn, scipy.signal), and vice versa.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_SUBMODULES = ("errors", "stats", "texture")
_ORIGIN = {
    "KernelCalibration": "calibration",
    "KernelRegistry": "calibration",
    "default_registry": "calibration",
    "fit_calibration": "calibration",
    "hu_to_density": "calibration",
    "load_calibrations": "calibration",
    "resolve_calibration": "calibration",
    "SIMULATED_KERNELS": "ctsim",
    "SimulatedCT": "ctsim",
    "SimulatedKernel": "ctsim",
    "scan_phantom": "ctsim",
    "simulate_ct": "ctsim",
    "synthetic_cohort": "ctsim",
    "example_paths": "data",
    "VBMDResult": "density",
    "acr_class": "density",
    "density_image": "density",
    "erode_mm": "density",
    "trabecular_vbmd": "density",
    "ImageGeometry": "geometry",
    "array_to_image": "geometry",
    "resample_to_geometry": "geometry",
    "LabelMap": "io",
    "Scan": "io",
    "read_labels": "io",
    "read_scan": "io",
    "scan_from_array": "io",
    "write_image": "io",
    "CONVENTIONS": "labels",
    "label_id": "labels",
    "vertebra_name": "labels",
    "LAWS": "materials",
    "MaterialLaw": "materials",
    "MaterialValues": "materials",
    "apparent_density": "materials",
    "get_law": "materials",
    "map_materials": "materials",
    "modulus_from_ash_density": "materials",
    "PhantomImage": "phantom",
    "PhantomSpec": "phantom",
    "Pose": "phantom",
    "render_phantom": "phantom",
    "Vertebra": "selection",
    "VertebraInfo": "selection",
    "list_vertebrae": "selection",
    "select_vertebra": "selection",
    "MeshOptions": "meshing",
    "VertebraMesh": "meshing",
    "VertebralFrame": "meshing",
    "mesh_vertebra": "meshing",
    "read_mesh": "meshing",
    "write_abaqus": "meshing",
    "write_mesh": "meshing",
    "FEResult": "solvers",
    "LoadCase": "solvers",
    "SolveOptions": "solvers",
    "anterior_wedge": "solvers",
    "axial_compression": "solvers",
    "combined": "solvers",
    "lateral_wedge": "solvers",
    "save_result": "solvers",
    "solve_load_case": "solvers",
    "VertebraAnalysis": "analysis",
    "analyze_vertebra": "analysis",
    "FocalOptions": "focal",
    "FocalResult": "focal",
    "focal_bmc_loss": "focal",
    "focal_maps": "focal",
    "TextureSettings": "texture",
    "extract_features": "texture",
    "texture_features": "texture",
}

if TYPE_CHECKING:
    from . import errors, stats, texture
    from .calibration import KernelCalibration, KernelRegistry, default_registry, fit_calibration, hu_to_density, load_calibrations, resolve_calibration
    from .ctsim import SIMULATED_KERNELS, SimulatedCT, SimulatedKernel, scan_phantom, simulate_ct, synthetic_cohort
    from .data import example_paths
    from .density import VBMDResult, acr_class, density_image, erode_mm, trabecular_vbmd
    from .geometry import ImageGeometry, array_to_image, resample_to_geometry
    from .io import LabelMap, Scan, read_labels, read_scan, scan_from_array, write_image
    from .labels import CONVENTIONS, label_id, vertebra_name
    from .materials import LAWS, MaterialLaw, MaterialValues, apparent_density, get_law, map_materials, modulus_from_ash_density
    from .phantom import PhantomImage, PhantomSpec, Pose, render_phantom
    from .selection import Vertebra, VertebraInfo, list_vertebrae, select_vertebra
    from .meshing import MeshOptions, VertebraMesh, VertebralFrame, mesh_vertebra, read_mesh, write_abaqus, write_mesh
    from .solvers import FEResult, LoadCase, SolveOptions, anterior_wedge, axial_compression, combined, lateral_wedge, save_result, solve_load_case
    from .analysis import VertebraAnalysis, analyze_vertebra
    from .focal import FocalOptions, FocalResult, focal_bmc_loss, focal_maps
    from .texture import TextureSettings, extract_features, texture_features


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _ORIGIN:
        value = getattr(importlib.import_module(f".{_ORIGIN[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'vertfem' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "__version__",
    "errors",
    "stats",
    "texture",
    "TextureSettings",
    "extract_features",
    "texture_features",
    "FocalOptions",
    "FocalResult",
    "focal_bmc_loss",
    "focal_maps",
    "FEResult",
    "LoadCase",
    "MeshOptions",
    "SolveOptions",
    "VertebraAnalysis",
    "VertebraMesh",
    "VertebralFrame",
    "analyze_vertebra",
    "anterior_wedge",
    "axial_compression",
    "combined",
    "lateral_wedge",
    "mesh_vertebra",
    "read_mesh",
    "save_result",
    "solve_load_case",
    "write_abaqus",
    "write_mesh",
    "CONVENTIONS",
    "ImageGeometry",
    "KernelCalibration",
    "KernelRegistry",
    "LAWS",
    "LabelMap",
    "MaterialLaw",
    "MaterialValues",
    "PhantomImage",
    "PhantomSpec",
    "Pose",
    "SIMULATED_KERNELS",
    "Scan",
    "SimulatedCT",
    "SimulatedKernel",
    "VBMDResult",
    "Vertebra",
    "VertebraInfo",
    "acr_class",
    "apparent_density",
    "array_to_image",
    "default_registry",
    "density_image",
    "erode_mm",
    "example_paths",
    "fit_calibration",
    "get_law",
    "hu_to_density",
    "label_id",
    "list_vertebrae",
    "load_calibrations",
    "map_materials",
    "modulus_from_ash_density",
    "read_labels",
    "read_scan",
    "render_phantom",
    "resample_to_geometry",
    "resolve_calibration",
    "scan_from_array",
    "scan_phantom",
    "select_vertebra",
    "simulate_ct",
    "synthetic_cohort",
    "trabecular_vbmd",
    "vertebra_name",
    "write_image",
]
