"""vertfem — CT-based finite-element analysis of vertebrae.

Typical use::

    import vertfem as vf
    p = vf.example_paths()
    scan = vf.read_scan(p["ct"])
    vert = vf.select_vertebra(scan, vf.read_labels(p["labels"]), "L1")
    cal = vf.resolve_calibration("B40f")
    print(vf.trabecular_vbmd(scan, vert.mask, cal).vbmd_mg_cm3)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .calibration import (
    KernelCalibration,
    KernelRegistry,
    default_registry,
    fit_calibration,
    hu_to_density,
    load_calibrations,
    resolve_calibration,
)
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
from .solvers import (
    FEResult,
    LoadCase,
    SolveOptions,
    anterior_wedge,
    axial_compression,
    combined,
    lateral_wedge,
    save_result,
    solve_load_case,
)
from .analysis import VertebraAnalysis, analyze_vertebra
from .focal import FocalOptions, FocalResult, focal_bmc_loss, focal_maps
from .texture import TextureSettings, extract_features, texture_features
from . import errors, stats, texture

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
