"""The vertebra stage: from a CT and a label map to the prepared vertebra that every measure takes.

Selection in physical space, plausibility guards, body isolation, the
vertebral frame, depth maps and volumes of interest live here; the measures
(vBMD, FE, focal BMC loss, texture, ...) depend on this stage and on the
foundation modules only.
"""

from .body import cortical_split, isolate_body
from .depth import distance_inside_mm, erode_mm, surface_depth_mm
from .frame import VertebralFrame, frame_from_points, vertebral_frame
from .model import CROP_MARGIN_VOX, Crop, Region, Vertebra, VertebraOptions, region_field
from .prepare import (
    INTERNAL,
    AlignedLabels,
    ScanCalibration,
    align_labels,
    internal_scan_calibration,
    prepare_vertebra,
    prepare_vertebrae,
)
from .selection import Selection, VertebraInfo, labels_on_scan_grid, list_vertebrae, select_mask

__all__ = [
    "CROP_MARGIN_VOX",
    "INTERNAL",
    "AlignedLabels",
    "Crop",
    "Region",
    "ScanCalibration",
    "Selection",
    "Vertebra",
    "VertebraInfo",
    "VertebraOptions",
    "VertebralFrame",
    "align_labels",
    "cortical_split",
    "distance_inside_mm",
    "erode_mm",
    "frame_from_points",
    "internal_scan_calibration",
    "isolate_body",
    "labels_on_scan_grid",
    "list_vertebrae",
    "prepare_vertebra",
    "prepare_vertebrae",
    "region_field",
    "select_mask",
    "surface_depth_mm",
    "vertebral_frame",
]
