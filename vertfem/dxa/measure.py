"""The DXA-equivalent measure of a prepared vertebra, and the L1–L4 total as DXA reports it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import SimpleITK as sitk

from ..errors import EmptyROIError, OutputError
from ..options import parse_options
from ..provenance import Flag, Provenance, write_record
from ..vertebra import Vertebra
from .options import DXAOptions, LinearCalibration
from .projection import Projection, project_vertebra
from .reference import load_reference, percent_yam, t_score, tbs_class, who_class, yam_class
from .tbs import fit_tbs_calibration, tbs_like_index

__all__ = ["DXAResult", "DXATotal", "dxa_measure", "dxa_total", "fit_abmd_calibration", "save_projection_png"]

#: Fewest pixels of the TBS region that give an index (a 3 × 3 pixel region has 12 horizontal lag-1 pairs).
MIN_TBS_PIXELS = 25


@dataclass(frozen=True, eq=False)
class DXAResult:
    """DXA-equivalent values of one vertebra (see :mod:`vertfem.dxa.projection` and :mod:`vertfem.dxa.tbs`).

    Attributes
    ----------
    vertebra, kernel : str
    abmd_g_cm2, bmc_g, area_cm2 : float
        Projected areal BMD, mineral content and area (uncalibrated, in the chosen mineral).
    abmd_dxa_g_cm2 : float
        ``abmd_calibration`` applied (NaN without one).
    tbs_like : float
        Log–log variogram slope of the projected body at 3–8 mm lags (uncalibrated, not TBS; on phantoms it falls
        when trabeculae degrade at equal BMD but also when they thin, see :mod:`vertfem.dxa.tbs`).
    tbs : float
        ``tbs_calibration`` applied (NaN without one).
    t_score, percent_yam : float
        Against the reference row of this level, if the reference has one (NaN otherwise).
    projection : Projection
    tbs_projection : Projection
        The image the TBS-like index reads (``tbs_region``, no soft-tissue baseline).
    options : DXAOptions
    provenance : Provenance
    """

    measure: ClassVar[str] = "dxa"
    vertebra: str
    kernel: str
    abmd_g_cm2: float
    bmc_g: float
    area_cm2: float
    abmd_dxa_g_cm2: float
    tbs_like: float
    tbs: float
    t_score: float
    percent_yam: float
    projection: Projection
    tbs_projection: Projection
    options: DXAOptions
    source: Vertebra
    provenance: Provenance

    def row(self) -> dict[str, Any]:
        """Scalars as a flat row (units in the column names)."""
        return {
            "vertebra": self.vertebra, "kernel": self.kernel, "dxa_abmd_g_cm2": self.abmd_g_cm2,
            "dxa_bmc_g": self.bmc_g, "dxa_area_cm2": self.area_cm2, "dxa_abmd_dxa_g_cm2": self.abmd_dxa_g_cm2,
            "dxa_tbs_like": self.tbs_like, "dxa_tbs": self.tbs, "dxa_t_score": self.t_score,
            "dxa_percent_yam": self.percent_yam, "dxa_who_class": who_class(self.t_score),
            "dxa_yam_class": yam_class(self.percent_yam), "dxa_tbs_class": tbs_class(self.tbs),
            "dxa_mineral": self.options.mineral, "dxa_baseline_g_cm3": self.projection.baseline_g_cm3,
            "dxa_pixel_mm": self.projection.pixel_mm,
        }

    def save(self, folder: str | Path) -> dict[str, Path]:
        """Write ``dxa.json`` (values + provenance), ``dxa_projection.nii.gz`` (g/cm²), ``dxa_projection.png`` and
        ``dxa_tbs_projection.nii.gz`` (g/cm², the image the TBS-like index reads)."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        nii, tbs_nii = (_write_projection(p, out / name) for p, name in (
            (self.projection, "dxa_projection.nii.gz"), (self.tbs_projection, "dxa_tbs_projection.nii.gz")))
        png = save_projection_png(self.projection, out / "dxa_projection.png",
                                  title=f"{self.vertebra}: aBMD {self.abmd_g_cm2:.3f} g/cm², TBS-like "
                                        f"{self.tbs_like:.3f}")
        rec = write_record(out / "dxa.json", self.row(), self.provenance,
                           box_mm=list(self.projection.box_mm), reference=load_reference(self.options.reference).name)
        return {"json": rec, "projection": nii, "png": png, "tbs_projection": tbs_nii}


def _write_projection(projection: Projection, path: Path) -> Path:
    img = sitk.GetImageFromArray(projection.image_g_cm2.astype(np.float32))
    img.SetSpacing((projection.pixel_mm, projection.pixel_mm))
    try:
        sitk.WriteImage(img, str(path))
    except RuntimeError as exc:
        raise OutputError(f"cannot write {path}: {exc}") from exc
    return path


def save_projection_png(projection: Projection, path: str | Path, *, title: str = "") -> Path:
    """The projection image (g/cm²) with the region's outline, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = Path(path)
    h, w = projection.image_g_cm2.shape
    fig, ax = plt.subplots(figsize=(4.0, 4.0 * h / max(w, 1) + 0.6))
    extent = (0.0, w * projection.pixel_mm, h * projection.pixel_mm, 0.0)
    im = ax.imshow(projection.image_g_cm2, cmap="gray", extent=extent)
    ax.contour(projection.silhouette.astype(float), levels=[0.5], colors="tab:orange", linewidths=0.8,
               extent=(0.0, w * projection.pixel_mm, 0.0, h * projection.pixel_mm), origin="upper")
    ax.set(xlabel="patient's right → left (mm)", ylabel="cranial → caudal (mm)", title=title)
    fig.colorbar(im, ax=ax, label="g/cm²", shrink=0.8)
    fig.savefig(p, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return p


def _tbs_roi(projection: Projection, erosion_mm: float) -> np.ndarray:
    from scipy import ndimage

    h = projection.pixel_mm / 2.0
    body = ndimage.binary_erosion(projection.body_silhouette, iterations=round(erosion_mm / h)) \
        if erosion_mm > 0 else projection.body_silhouette
    r, c = body.shape
    return np.asarray(body.reshape(r // 2, 2, c // 2, 2).all(axis=(1, 3)), dtype=bool)


def _tbs(opts: DXAOptions, vertebra: Vertebra) -> tuple[float, Projection, list[Flag]]:
    # its own projection: the chosen region, no soft-tissue baseline (scale-free, see vertfem.dxa.tbs)
    projection = project_vertebra(vertebra, opts.model_copy(update={"region": opts.tbs_region,
                                                                    "soft_tissue_baseline": False}))
    roi = _tbs_roi(projection, opts.tbs_erosion_mm)
    flags: list[Flag] = []
    if int(roi.sum()) < MIN_TBS_PIXELS:
        return float("nan"), projection, [Flag("tbs_roi_small", f"the TBS region holds {int(roi.sum())} pixels of "
                                   f"{opts.pixel_mm:g} mm (fewer than {MIN_TBS_PIXELS}): no TBS-like index")]
    coarse = max(vertebra.scan.geometry.spacing_mm)
    if coarse > opts.pixel_mm:
        flags.append(Flag("tbs_unresolved", f"CT voxels up to {coarse:g} mm are coarser than the {opts.pixel_mm:g} mm "
                          "pixels of the variogram: the TBS-like index describes the interpolation, not the bone"))
    index = tbs_like_index(projection.image_g_cm2, roi, pixel_mm=opts.pixel_mm, lags_px=opts.tbs_lags_px)
    return index, projection, flags


def _scale_flag(opts: DXAOptions) -> list[Flag]:
    if opts.abmd_calibration is not None:
        return []
    return [Flag("uncalibrated_abmd", "no aBMD calibration to a DXA device: the projected aBMD is CT mineral per "
                 "projected area, typically well below a DXA device's value, so its T-score and %YAM are not a DXA "
                 "diagnosis (fit abmd_calibration on paired CT–DXA data)", "info")]


def dxa_measure(vertebra: Vertebra, options: DXAOptions | dict[str, Any] | None = None,
                **overrides: Any) -> DXAResult:
    """DXA-equivalent areal BMD, BMC, area and TBS-like index of a prepared vertebra.

    Parameters
    ----------
    vertebra : Vertebra
        From :func:`~vertfem.vertebra.prepare_vertebra` (with a calibration).
    options : DXAOptions or mapping, optional
    **overrides
        Fields of :class:`DXAOptions`.

    Raises
    ------
    UnknownKernelError
        The vertebra has no calibration.
    EmptyROIError
        The projected region is empty.

    Examples
    --------
    >>> import vertfem as vf
    >>> p = vf.example_paths()
    >>> v = vf.prepare_vertebra(p["ct"], p["labels"], "L1", kernel="B40f")
    >>> r = dxa_measure(v)
    >>> round(r.abmd_g_cm2, 3), round(r.bmc_g, 2), round(r.area_cm2, 2)
    (0.373, 6.85, 18.36)
    """
    opts = parse_options(DXAOptions, options, where="dxa options", **overrides)
    cal = vertebra.require_calibration()
    proj = project_vertebra(vertebra, opts)
    if proj.area_cm2 <= 0:
        raise EmptyROIError(f"the projected region of {vertebra.name} is empty; check the mask and the frame")
    tbs_like, tbs_proj, tbs_flags = _tbs(opts, vertebra)
    dxa = opts.abmd_calibration.apply(proj.abmd_g_cm2) if opts.abmd_calibration else float("nan")
    row = load_reference(opts.reference).row(vertebra.name, opts.sex)
    ab = dxa if opts.abmd_calibration else proj.abmd_g_cm2
    return DXAResult(
        vertebra=vertebra.name, kernel=cal.kernel, abmd_g_cm2=proj.abmd_g_cm2, bmc_g=proj.bmc_g,
        area_cm2=proj.area_cm2, abmd_dxa_g_cm2=dxa, tbs_like=tbs_like,
        tbs=opts.tbs_calibration.apply(tbs_like) if opts.tbs_calibration else float("nan"),
        t_score=t_score(ab, row), percent_yam=percent_yam(ab, row), projection=proj, tbs_projection=tbs_proj,
        options=opts,
        source=vertebra, provenance=vertebra.provenance("dxa", opts, *proj.flags, *tbs_flags, *_scale_flag(opts)),
    )


@dataclass(frozen=True)
class DXATotal:
    """The total of several vertebrae as DXA reports it: ΣBMC / Σarea, TBS the mean of the vertebrae.

    Attributes
    ----------
    site : str
        ``"L1-L4"`` (the levels joined by their first and last) or the levels joined by "+".
    """

    site: str
    levels: tuple[str, ...]
    abmd_g_cm2: float
    bmc_g: float
    area_cm2: float
    abmd_dxa_g_cm2: float
    tbs_like: float
    tbs: float
    t_score: float
    percent_yam: float
    reference: str
    calibrated: bool

    def row(self) -> dict[str, Any]:
        """Scalars as a flat row (the per-vertebra column names, ``vertebra`` = the site)."""
        return {"vertebra": self.site, "dxa_abmd_g_cm2": self.abmd_g_cm2, "dxa_bmc_g": self.bmc_g,
                "dxa_area_cm2": self.area_cm2, "dxa_abmd_dxa_g_cm2": self.abmd_dxa_g_cm2,
                "dxa_tbs_like": self.tbs_like, "dxa_tbs": self.tbs, "dxa_t_score": self.t_score,
                "dxa_percent_yam": self.percent_yam, "dxa_who_class": who_class(self.t_score),
                "dxa_yam_class": yam_class(self.percent_yam), "dxa_tbs_class": tbs_class(self.tbs),
                "dxa_levels": "+".join(self.levels), "dxa_reference": self.reference,
                "dxa_abmd_calibrated": self.calibrated}


def _site(levels: Sequence[str]) -> str:
    order = ["L1", "L2", "L3", "L4", "L5"]
    if all(lv in order for lv in levels):
        idx = sorted(order.index(lv) for lv in levels)
        if idx == list(range(idx[0], idx[-1] + 1)) and len(idx) > 1:
            return f"{order[idx[0]]}-{order[idx[-1]]}"
    return "+".join(levels)


def dxa_total(results: Sequence[DXAResult]) -> DXATotal:
    """The total over vertebrae (L1–L4 in a lumbar DXA): aBMD = ΣBMC / Σarea, TBS-like = mean of the vertebrae.

    The T-score and %YAM use the reference row of the site (``L1-L4``) with the first result's options
    (reference file, sex, aBMD calibration).

    Raises
    ------
    EmptyROIError
        No results.

    Examples
    --------
    >>> import vertfem as vf
    >>> p = vf.example_paths()
    >>> vs = vf.prepare_vertebrae(p["ct"], p["labels"], "L1-L4", kernel="B40f")
    >>> t = dxa_total([dxa_measure(v) for v in vs.values()])
    >>> t.site, round(t.abmd_g_cm2, 3), round(t.t_score, 1)
    ('L1-L4', 0.416, -6.1)
    """
    if not results:
        raise EmptyROIError("an aBMD total needs at least one vertebra's result")
    opts = results[0].options
    bmc = float(sum(r.bmc_g for r in results))
    area = float(sum(r.area_cm2 for r in results))
    ab = bmc / area
    dxa = opts.abmd_calibration.apply(ab) if opts.abmd_calibration else float("nan")
    site = _site([r.vertebra for r in results])
    ref = load_reference(opts.reference)
    row = ref.row(site, opts.sex)
    scored = dxa if opts.abmd_calibration else ab
    tl = np.array([r.tbs_like for r in results])
    tbs_like = float(tl[np.isfinite(tl)].mean()) if np.isfinite(tl).any() else float("nan")
    return DXATotal(site, tuple(r.vertebra for r in results), ab, bmc, area, dxa, tbs_like,
                    opts.tbs_calibration.apply(tbs_like) if opts.tbs_calibration else float("nan"),
                    t_score(scored, row), percent_yam(scored, row), ref.name, opts.abmd_calibration is not None)


def fit_abmd_calibration(abmd_ct: Sequence[float], abmd_dxa: Sequence[float]) -> LinearCalibration:
    """Least-squares line from the projected aBMD to a DXA device's aBMD on paired data.

    Examples
    --------
    >>> round(fit_abmd_calibration([0.4, 0.5, 0.6], [0.8, 1.0, 1.2]).slope, 6)
    2.0
    """
    c = fit_tbs_calibration(abmd_ct, abmd_dxa)
    return LinearCalibration(slope=c.slope, intercept=c.intercept, source=c.source.replace("TBS", "aBMD"))
