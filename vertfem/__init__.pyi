# The public API of vertfem, read both by type checkers and (through lazy_loader) at run time:
# each name is imported from its module on first use, so `import vertfem` stays fast.
from . import (
    analysis,
    calibration,
    ctsim,
    errors,
    fe,
    focal,
    geometry,
    io,
    labels,
    materials,
    measures,
    meshing,
    options,
    phantom,
    provenance,
    solvers,
    stats,
    study,
    texture,
    vbmd,
    vertebra,
    viz,
)
from ._version import __version__
from .analysis import VertebraAnalysis, analyze, analyze_levels, analyze_vertebra
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
from .fe import FEOptions, fe_analysis
from .focal import FocalOptions, FocalResult, focal_bmc_loss
from .geometry import ImageGeometry, array_to_image, resample_to_geometry
from .io import LabelMap, Scan, read_labels, read_scan, scan_from_array, write_image
from .labels import CONVENTIONS, label_id, parse_levels, vertebra_name
from .materials import (
    LAWS,
    MaterialLaw,
    MaterialValues,
    apparent_density,
    get_law,
    map_materials,
    modulus_from_ash_density,
)
from .measures import MEASURES, get_measure, run_measure
from .meshing import MeshOptions, VertebraMesh, mesh_vertebra, read_mesh, write_abaqus, write_mesh
from .phantom import PhantomImage, PhantomSpec, Pose, render_phantom
from .provenance import Flag, Provenance
from .solvers import (
    FEResult,
    LoadCase,
    SolveOptions,
    anterior_wedge,
    axial_compression,
    combined,
    lateral_wedge,
    solve_load_case,
)
from .texture import TextureOptions, TextureResult, TextureSettings, extract_features, texture_features
from .vbmd import VBMDOptions, VBMDResult, acr_class, trabecular_vbmd
from .vertebra import (
    Vertebra,
    VertebraInfo,
    VertebralFrame,
    VertebraOptions,
    list_vertebrae,
    prepare_vertebra,
    prepare_vertebrae,
)

__all__ = [
    "CONVENTIONS", "FEOptions", "FEResult", "Flag", "FocalOptions", "FocalResult", "ImageGeometry",
    "KernelCalibration", "KernelRegistry", "LAWS", "LabelMap", "LoadCase", "MEASURES", "MaterialLaw",
    "MaterialValues", "MeshOptions", "PhantomImage", "PhantomSpec", "Pose", "Provenance", "SIMULATED_KERNELS",
    "Scan", "SimulatedCT", "SimulatedKernel", "SolveOptions", "TextureOptions", "TextureResult", "TextureSettings",
    "VBMDOptions", "VBMDResult", "Vertebra", "VertebraAnalysis", "VertebraInfo", "VertebraMesh", "VertebraOptions",
    "VertebralFrame", "__version__", "acr_class", "analysis", "analyze", "analyze_levels", "analyze_vertebra",
    "anterior_wedge", "apparent_density", "array_to_image", "axial_compression", "calibration", "combined", "ctsim",
    "default_registry", "errors", "example_paths", "extract_features", "fe", "fe_analysis", "fit_calibration",
    "focal", "focal_bmc_loss", "geometry", "get_law", "get_measure", "hu_to_density", "io", "label_id", "labels",
    "lateral_wedge", "list_vertebrae", "load_calibrations", "map_materials", "materials", "measures", "mesh_vertebra",
    "meshing", "modulus_from_ash_density", "options", "parse_levels", "phantom", "prepare_vertebra",
    "prepare_vertebrae", "provenance", "read_labels", "read_mesh", "read_scan", "render_phantom",
    "resample_to_geometry", "resolve_calibration", "run_measure", "scan_from_array", "scan_phantom", "simulate_ct",
    "solve_load_case", "solvers", "stats", "study", "synthetic_cohort", "texture", "texture_features",
    "trabecular_vbmd", "vbmd", "vertebra", "vertebra_name", "viz", "write_abaqus", "write_image", "write_mesh",
]
