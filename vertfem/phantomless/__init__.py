"""Phantomless (internal) density calibration from the patient's own tissues.

Reference tissues of known composition inside the scan (air, subcutaneous
fat, skeletal muscle, and blood or cortical bone when available) give the
scan's effective X-ray energy and a per-scan HU → K2HPO4-equivalent density
line (Michalski et al., Med Eng Phys 2020), for CTs without a calibration
phantom and from kernels nobody calibrated::

    import vertfem as vf
    from vertfem.io import read_scan, read_labels
    from vertfem.phantomless import internal_calibration

    p = vf.example_paths()
    scan = read_scan(p["ct"])
    samples, report = internal_calibration(scan, read_labels(p["labels"]).labels == 31)
    cal = report.calibration            # a KernelCalibration, kernel "internal"

* :mod:`.attenuation` — tabulated mass attenuation and tissue compositions;
* :mod:`.tissues` — sampling the reference tissues (automatic or from masks);
  the samples and their options are :mod:`.samples`, TotalSegmentator label
  maps :mod:`.labelmaps`;
* :mod:`.fit` — effective energy, the density line and its report;
* :mod:`.simulate` — CT of a vertebra in a body whose CT numbers follow from
  composition at a chosen energy (for verification).
"""

from ..errors import ReferenceTissueError, TissueDisagreementWarning
from .attenuation import (
    Material,
    expected_hu,
    get_material,
    linear_attenuation_per_cm,
    mass_attenuation_cm2_g,
    material_names,
    mineral_g_cm3_per_hu,
)
from .fit import (
    DEFAULT_TISSUE_SD_HU,
    InternalCalibrationOptions,
    InternalCalibrationReport,
    TissueFit,
    fit_internal_calibration,
    internal_calibration,
)
from .simulate import BodyPhantom, BodySpec, SimulatedBodyCT, render_body_phantom, scan_body_phantom, simulate_body_ct
from .tissues import (
    REFERENCE_TISSUES,
    TOTALSEGMENTATOR_TISSUES,
    TissueSample,
    TissueSamples,
    TissueSamplingOptions,
    sample_reference_tissues,
    totalsegmentator_tissue_masks,
)

__all__ = [
    "DEFAULT_TISSUE_SD_HU",
    "REFERENCE_TISSUES",
    "TOTALSEGMENTATOR_TISSUES",
    "BodyPhantom",
    "BodySpec",
    "InternalCalibrationOptions",
    "InternalCalibrationReport",
    "Material",
    "ReferenceTissueError",
    "SimulatedBodyCT",
    "TissueDisagreementWarning",
    "TissueFit",
    "TissueSample",
    "TissueSamples",
    "TissueSamplingOptions",
    "expected_hu",
    "fit_internal_calibration",
    "get_material",
    "internal_calibration",
    "linear_attenuation_per_cm",
    "mass_attenuation_cm2_g",
    "material_names",
    "mineral_g_cm3_per_hu",
    "render_body_phantom",
    "sample_reference_tissues",
    "scan_body_phantom",
    "simulate_body_ct",
    "totalsegmentator_tissue_masks",
]
