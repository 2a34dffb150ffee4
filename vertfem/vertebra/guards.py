"""Plausibility guards of the vertebra stage: inputs that would give confident wrong numbers are refused.

Each check tests something every clinical CT of a vertebra satisfies, so that
a violation names its likely cause:

* **HU scale** — the soft tissue around the vertebra (a shell 3–10 mm outside
  the mask: muscle, fat, vessels) has a median near 0 HU, and bone is
  brighter than it. A CT stored without its RescaleIntercept (HU + 1024)
  puts that shell near 1000; a label map given as the CT holds a few small
  integers.
* **Mask on bone** — the vertebra's median lies well above the surrounding
  tissue and few of its voxels are air or fat; a label map of another scan
  (same header, other patient) fails this.
* **Calibration units** — the calibrated ash density of the trabecular core
  lies in a physiological range (about 0.02–0.4 g/cm³) and nothing exceeds
  2 g/cm³; a line given in mg/cm³ gives 1000× that.
* **Size** — the vertebra's volume lies in the anatomical range of its level;
  a wrong header spacing (10 mm instead of 1 mm) gives a 1000× volume.

Thresholds are module constants, stated with the numbers they were set from.
"""

from __future__ import annotations

import numpy as np

from ..calibration import KernelCalibration
from ..errors import AbsurdHUError, AnatomyError, CalibrationError, MaskImageMismatchError, SegmentationError
from ..geometry import ImageGeometry, mask_box
from ..labels import spine_region
from ..provenance import Flag
from .depth import distance_inside_mm, erode_mm

__all__ = [
    "BODY_HEIGHT_MAX_MM",
    "COARSE_SPACING_MM",
    "MAX_ASH_G_CM3",
    "MAX_LOW_FRACTION",
    "MIN_BONE_CONTRAST_HU",
    "SHELL_HU_RANGE",
    "TRABECULAR_ASH_RANGE_G_CM3",
    "VOLUME_RANGE_CM3",
    "check_body_height",
    "check_calibrated_density",
    "check_hu_scale",
    "check_volume",
    "resolution_flags",
]

#: Median HU of the tissue shell around a vertebra. Measured on the bundled CT (L1–S1): −3…24 HU; an
#: unrescaled CT (HU + 1024) puts it near 1000, a CT whose intercept was applied twice near −1000.
SHELL_HU_RANGE = (-300.0, 250.0)
#: The vertebra's median must exceed the shell's by this much (bundled CT: 133–168 HU above it; a mask of
#: another scan lies on soft tissue and has ~0 contrast).
MIN_BONE_CONTRAST_HU = 40.0
#: Largest fraction of vertebra voxels below −200 HU (air, fat); bundled CT: 0.000 for every level.
MAX_LOW_FRACTION = 0.10
#: Median calibrated ash density of the trabecular core, g/cm³ (vertebral trabecular bone ~0.02–0.4;
#: the bundled CT gives 0.06–0.09). A calibration in mg/cm³ gives values ~1000× larger.
TRABECULAR_ASH_RANGE_G_CM3 = (-0.15, 0.6)
#: No voxel of the vertebra may exceed this calibrated ash density (cortical bone ≲ 1.3 g/cm³).
MAX_ASH_G_CM3 = 2.0
#: Plausible whole-vertebra volume per region (posterior elements included), cm³. Adult values are about
#: C 5–15, T 15–60, L 45–90 (bundled CT: L1–L5 58–66); the bounds leave a factor ≥ 2.5 either way.
VOLUME_RANGE_CM3 = {"cervical": (1.5, 45.0), "thoracic": (4.0, 150.0), "lumbar": (15.0, 230.0),
                    "sacral": (8.0, 500.0), None: (1.5, 500.0)}
#: Largest plausible vertebral-body height along its axis, extreme to extreme (mm). Adult bodies are ~10–25 mm
#: (cervical), 15–30 (thoracic), 25–35 (lumbar); the bundled CT gives 33–37 mm for L1–L5 (the voxel extremes include
#: the endplate rims). Two vertebrae under one label (touching across a thin disc) give about twice that.
BODY_HEIGHT_MAX_MM = {"cervical": 30.0, "thoracic": 45.0, "lumbar": 52.0}
#: Voxels coarser than this (mm) record a ``coarse_resolution`` flag (the bundled CT has 3 mm).
COARSE_SPACING_MM = 3.0

_SHELL_MM = (3.0, 10.0)


def _shell(hu: np.ndarray, mask: np.ndarray, geometry: ImageGeometry) -> np.ndarray:
    """HU of the shell 3–10 mm outside ``mask`` (on a crop large enough to hold it)."""
    margin = np.ceil(_SHELL_MM[1] / np.asarray(geometry.spacing_mm)[::-1]).astype(int) + 1
    box, sub = mask_box(mask, geometry, margin)
    dist = distance_inside_mm(~mask[box], sub)
    ring = (dist > _SHELL_MM[0]) & (dist <= _SHELL_MM[1])
    return hu[box][ring]


def check_hu_scale(hu: np.ndarray, mask: np.ndarray, geometry: ImageGeometry, *, name: str, ct: str) -> None:
    """Refuse a CT that is not in HU, or a mask that does not lie on its bone.

    Parameters
    ----------
    hu : ndarray
        The CT (whole grid, HU).
    mask : ndarray of bool
        The vertebra on the same grid.
    geometry : ImageGeometry
    name, ct : str
        Vertebra name and CT path, for the messages.

    Raises
    ------
    AbsurdHUError
        The values are not HU (unrescaled, a label map, another modality).
    MaskImageMismatchError
        The mask does not lie on bone in this CT.

    Examples
    --------
    >>> g = ImageGeometry((40, 40, 40), (0, 0, 0), (1.0, 1.0, 1.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    >>> m = np.zeros(g.shape, bool); m[12:28, 12:28, 12:28] = True
    >>> hu = np.where(m, 250.0, 20.0) + np.random.default_rng(0).normal(0.0, 10.0, g.shape)  # bone in soft tissue
    >>> check_hu_scale(hu, m, g, name="L1", ct="ct.nii")   # in HU: passes
    >>> check_hu_scale(hu + 1024, m, g, name="L1", ct="ct.nii")
    Traceback (most recent call last):
    ...
    vertfem.errors.AbsurdHUError: CT ct.nii is not in Hounsfield units: the soft tissue around L1 has a median of
    1044 HU (expected -300 to 250); the values look like raw stored values without the RescaleIntercept ...
    """
    bone = hu[mask]
    shell = _shell(hu, mask, geometry)
    med_bone = float(np.median(bone))
    med_shell = float(np.median(shell)) if shell.size else float("nan")
    values = np.concatenate([bone, shell])
    if np.all(values == np.round(values)) and values.min() >= 0 and np.unique(values).size <= 64:
        raise AbsurdHUError(
            f"CT {ct} holds only {np.unique(values).size} distinct non-negative integer values around {name} "
            f"(median {med_bone:.0f}): it looks like a label map given as the CT; pass the CT image first and the "
            "label map second"
        )
    lo, hi = SHELL_HU_RANGE
    if shell.size and not lo <= med_shell <= hi:
        cause = ("the values look like raw stored values without the RescaleIntercept (HU + 1024): rescale the "
                 "image (SimpleITK and dcm2niix apply RescaleSlope/Intercept when they read DICOM)"
                 if 700 < med_shell < 1300
                 else "check the modality (CT in HU is needed) and the rescaling of the values")
        raise AbsurdHUError(
            f"CT {ct} is not in Hounsfield units: the soft tissue around {name} has a median of {med_shell:.0f} HU "
            f"(expected {lo:g} to {hi:g}); {cause}"
        )
    low = float((bone < -200.0).mean())
    if low > MAX_LOW_FRACTION or (shell.size and med_bone - med_shell < MIN_BONE_CONTRAST_HU):
        raise MaskImageMismatchError(
            f"the mask of {name} does not lie on bone in CT {ct}: its median is {med_bone:.0f} HU against "
            f"{med_shell:.0f} HU in the tissue around it (bone is ≥ {MIN_BONE_CONTRAST_HU:g} HU brighter) and "
            f"{100 * low:.0f} % of its voxels are below −200 HU (air/fat; at most {100 * MAX_LOW_FRACTION:g} %). "
            "The label map probably belongs to another scan, or the headers' origin/direction disagree"
        )


def check_calibrated_density(
    hu: np.ndarray, mask: np.ndarray, body: np.ndarray, geometry: ImageGeometry,
    calibration: KernelCalibration, *, name: str,
) -> None:
    """Refuse a calibration whose densities are not g/cm³ of bone (wrong unit, wrong line).

    The trabecular core is the body eroded by 6 mm (or the deepest third of it
    when the body is thinner).

    Raises
    ------
    CalibrationError
        With the median core density and the maximum, and a hint on the unit.

    Examples
    --------
    >>> g = ImageGeometry((40, 40, 40), (0, 0, 0), (1.0, 1.0, 1.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    >>> m = np.zeros(g.shape, bool); m[8:32, 8:32, 8:32] = True
    >>> hu = np.where(m, 150.0, 20.0)
    >>> check_calibrated_density(hu, m, m, g, KernelCalibration("B40f", 7e-4, -4.2e-3), name="L1")
    >>> check_calibrated_density(hu, m, m, g, KernelCalibration("B40f", 0.7, -4.2), name="L1")
    Traceback (most recent call last):
    ...
    vertfem.errors.CalibrationError: calibration of kernel 'B40f' (user) gives implausible bone densities in L1:
    median trabecular ash density 100.8 g/cm³ (expected -0.15 to 0.6) ... did you give the line in mg/cm³? ...
    """
    core = erode_mm(body, geometry, 6.0)
    if core.sum() < 8:
        depth = distance_inside_mm(body, geometry)
        core = body & (depth >= 2.0 / 3.0 * depth.max())
    rho_core = calibration.density_g_cm3(np.median(hu[core]))
    rho_max = calibration.density_g_cm3(np.percentile(hu[mask], 99.9))
    lo, hi = TRABECULAR_ASH_RANGE_G_CM3
    if lo <= rho_core <= hi and rho_max <= MAX_ASH_G_CM3:
        return
    unit = ("did you give the line in mg/cm³? vertfem needs slope and intercept in g/cm³ "
            "(e.g. B40f: 7.0e-4 g/cm³ per HU, -4.2e-3 g/cm³)" if rho_core > 20 else
            "check the calibration's slope and intercept (g/cm³ per HU, g/cm³) and that it belongs to this kernel")
    raise CalibrationError(
        f"calibration of kernel {calibration.kernel!r} ({calibration.source}) gives implausible bone densities in "
        f"{name}: median trabecular ash density {float(rho_core):.4g} g/cm³ (expected {lo:g} to {hi:g}) and up to "
        f"{float(rho_max):.4g} g/cm³ (at most {MAX_ASH_G_CM3:g}): {unit}"
    )


def check_volume(volume_mm3: float, *, name: str, spacing_mm: tuple[float, float, float]) -> None:
    """Refuse a vertebra whose volume lies outside the anatomical range of its level.

    Raises
    ------
    AnatomyError

    Examples
    --------
    >>> check_volume(58_000.0, name="L1", spacing_mm=(3.0, 3.0, 3.0))
    >>> check_volume(2.1e6, name="L1", spacing_mm=(10.0, 10.0, 10.0))
    Traceback (most recent call last):
    ...
    vertfem.errors.AnatomyError: vertebra L1 measures 2100.0 cm³, outside the plausible 15–230 cm³ of a lumbar
    vertebra: check the voxel spacing in the header ((10.0, 10.0, 10.0) mm) ...
    """
    region = spine_region(name)
    lo, hi = VOLUME_RANGE_CM3[region]
    v = volume_mm3 / 1000.0
    if lo <= v <= hi:
        return
    what = f"a {region} vertebra" if region else "any vertebra"
    raise AnatomyError(
        f"vertebra {name} measures {v:.1f} cm³, outside the plausible {lo:g}–{hi:g} cm³ of {what}: check the voxel "
        f"spacing in the header ({tuple(round(s, 3) for s in spacing_mm)} mm) and that the label is a vertebra; "
        "pass anatomy_check=False (--no-anatomy-check) for a non-human or phantom specimen"
    )


def check_body_height(height_mm: float, *, name: str) -> None:
    """Refuse a body taller than any vertebral body of its level (two vertebrae under one label).

    Raises
    ------
    SegmentationError

    Examples
    --------
    >>> check_body_height(35.0, name="L1")
    >>> check_body_height(68.0, name="L1")
    Traceback (most recent call last):
    ...
    vertfem.errors.SegmentationError: the vertebral body of L1 is 68.0 mm tall along its axis, more than the 52 mm
    of any lumbar vertebral body: probably a neighbouring vertebra carries the same label ...
    """
    limit = BODY_HEIGHT_MAX_MM.get(spine_region(name))  # type: ignore[arg-type]
    if limit is None or height_mm <= limit:
        return
    raise SegmentationError(
        f"the vertebral body of {name} is {height_mm:.1f} mm tall along its axis, more than the {limit:g} mm of any "
        f"{spine_region(name)} vertebral body: probably a neighbouring vertebra carries the same label (the two "
        "touch, so they form one piece); correct the label map"
    )


def resolution_flags(geometry: ImageGeometry) -> list[Flag]:
    """A ``coarse_resolution`` flag when the CT's voxels exceed :data:`COARSE_SPACING_MM`.

    Examples
    --------
    >>> g = ImageGeometry((4, 4, 4), (0, 0, 0), (0.8, 0.8, 5.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    >>> [f.code for f in resolution_flags(g)]
    ['coarse_resolution']
    """
    s = max(geometry.spacing_mm)
    if s <= COARSE_SPACING_MM + 1e-9:
        return []
    return [Flag("coarse_resolution", f"CT voxels up to {s:g} mm (coarser than {COARSE_SPACING_MM:g} mm): the "
                 "cortex and endplates are blurred over several voxels; densities near the surface and FE results "
                 "are resolution-limited")]
