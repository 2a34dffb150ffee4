"""Pre-flight checks of a study's inputs: CT headers, label maps, the vertebrae they hold, cached by content.

Each CT's header is read (not its voxels) and each label map is selected on the CT's grid exactly as the tasks
will (:func:`~vertfem.vertebra.select_mask`: label present, not cut by the field of view of the CT or of the
label map, one piece), and its volume checked. Results per input pair are cached in
``<output>/.preflight.json`` by the inputs' content hashes, so a rerun checks only new or changed inputs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import SimpleITK as sitk

from ..errors import VertfemError
from ..geometry import ImageGeometry
from ..options import options_sha256
from .config import Study
from .tasks import Task

__all__ = ["Cache", "Header", "Problem", "Severity", "check_inputs", "read_header"]

Severity = Literal["error", "problem", "note"]


@dataclass(frozen=True)
class Problem:
    """One finding of the pre-flight check.

    Attributes
    ----------
    severity : {"error", "problem", "note"}
        ``error``: the study definition is wrong (nothing runs); ``problem``:
        these tasks will fail; ``note``: worth knowing.
    where : str
        What it concerns (``analyses[0] (paired)``, ``cohort row 12 (S012, B40f, L1)``).
    message : str
        What is wrong and what to do.
    tasks : int
        Tasks affected.
    """

    severity: Severity
    where: str
    message: str
    tasks: int = 0

    def line(self) -> str:
        """One line of text."""
        n = f" [{self.tasks} task{'s' if self.tasks != 1 else ''}]" if self.tasks else ""
        return f"{self.severity}: {self.where}: {self.message}{n}"


@dataclass(frozen=True)
class Header:
    """What a CT's header says, without its voxels."""

    geometry: ImageGeometry
    pixel_type: str
    kernel: str | None


def read_header(path: str | Path) -> Header:
    """Grid, pixel type and reconstruction kernel of an image file or DICOM series folder, without its voxels.

    For a DICOM folder the largest series is taken (as :func:`~vertfem.io.read_scan` does); its grid comes from
    the first and last slice's headers.

    Raises
    ------
    ScanReadError
        Missing or unreadable file, not 3-D, not scalar.

    Examples
    --------
    >>> import vertfem as vf
    >>> read_header(vf.example_paths()["ct"]).geometry.spacing_mm
    (3.0, 3.0, 3.0)
    """
    from ..errors import ScanReadError

    p = Path(path)
    if not p.exists():
        raise ScanReadError(f"{p} does not exist; check the path")
    r = sitk.ImageFileReader()
    try:
        if p.is_dir():
            series = sitk.ImageSeriesReader()
            ids = series.GetGDCMSeriesIDs(str(p))
            if not ids:
                raise ScanReadError(f"{p}: no DICOM series found in this folder")
            files = max((series.GetGDCMSeriesFileNames(str(p), s) for s in ids), key=len)
            if len(files) < 2:
                raise ScanReadError(f"{p}: the DICOM series has {len(files)} slice; a volume needs several")
            r.SetFileName(files[-1])
            r.ReadImageInformation()
            last = np.asarray(r.GetOrigin())
            r.SetFileName(files[0])
            r.ReadImageInformation()
            first = np.asarray(r.GetOrigin())
            step = (last - first) / (len(files) - 1)
            dz = float(np.linalg.norm(step))
            d = np.asarray(r.GetDirection()).reshape(3, 3).copy()
            if dz > 0:
                d[:, 2] = step / dz
            size = (*r.GetSize()[:2], len(files))
            geom = ImageGeometry(size, tuple(first), (*r.GetSpacing()[:2], dz or r.GetSpacing()[2]), tuple(d.ravel()))
        else:
            r.SetFileName(str(p))
            r.ReadImageInformation()
            if r.GetDimension() != 3:
                raise ScanReadError(f"{p} is {r.GetDimension()}D; vertfem needs a 3D volume")
            if r.GetNumberOfComponents() != 1:
                raise ScanReadError(f"{p} has {r.GetNumberOfComponents()} components per voxel; expected a scalar")
            geom = ImageGeometry(r.GetSize(), r.GetOrigin(), r.GetSpacing(), r.GetDirection())
    except RuntimeError as exc:
        raise ScanReadError(f"could not read the header of {p}: {exc}".strip()) from exc
    kernel = r.GetMetaData("0018|1210").strip() if r.HasMetaDataKey("0018|1210") else None
    return Header(geom, sitk.GetPixelIDValueAsString(r.GetPixelID()), kernel)


def _check_pair(ct: str, mask: str, levels: list[str], study: Study) -> dict[str, Any]:
    """Header of the CT, label map, and each level's selection: {"ct_error"} or {"levels": {level: {...}}}."""
    from ..io import read_labels
    from ..vertebra.guards import check_volume
    from ..vertebra.selection import labels_on_scan_grid, select_mask

    try:
        h = read_header(ct)
    except VertfemError as exc:
        return {"error": f"CT: {type(exc).__name__}: {exc}"}
    if h.pixel_type in ("8-bit unsigned integer", "8-bit signed integer"):
        return {"error": f"CT {ct} is stored as {h.pixel_type} values, which cannot hold Hounsfield units"}
    out: dict[str, Any] = {"ct_voxels": int(np.prod(h.geometry.size)), "levels": {}}
    try:
        labels = read_labels(mask)
        on_grid = labels_on_scan_grid(labels, h.geometry)
    except VertfemError as exc:
        return {**out, "error": f"label map: {type(exc).__name__}: {exc}"}
    opts = study.vertebra
    for level in levels:
        try:
            sel = select_mask(labels, on_grid, h.geometry, level, convention=opts.convention,
                              mask_label=opts.mask_label, allow_cut=opts.allow_cut)
            vol = float(sel.mask.sum()) * h.geometry.voxel_volume_mm3
            if opts.anatomy_check:
                check_volume(vol, name=sel.name, spacing_mm=h.geometry.spacing_mm)
        except VertfemError as exc:
            out["levels"][level] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        out["levels"][level] = {"volume_mm3": vol, "flags": [f.code for f in sel.flags]}
    return out


class Cache:
    """Pre-flight results (``<output>/.preflight.json``): per input pair, keyed by their content hashes and the
    vertebra options, and the texture column names per texture options."""

    def __init__(self, outdir: Path) -> None:
        self.path = outdir / ".preflight.json"
        try:
            self.data: dict[str, Any] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.data = {}

    def save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.data))
        except OSError:
            return  # a read-only output folder only costs checking again next time


def check_inputs(study: Study, tasks: list[Task], cohort: pd.DataFrame,
                 out: list[Problem]) -> dict[tuple[int, str], dict]:
    """Check each input pair, appending to ``out``; returns (row, level) → {"volume_mm3", "ct_voxels"}."""
    cache = Cache(study.output_dir)
    vhash = options_sha256(study.vertebra)
    by_row: dict[int, list[Task]] = defaultdict(list)
    for t in tasks:
        by_row[t.row].append(t)
    keys: dict[int, str] = {}
    todo: dict[str, tuple[str, str, list[str]]] = {}
    for row, ts in by_row.items():
        t0 = ts[0]
        levels = sorted({t.vertebra for t in ts})
        keys[row] = key = "|".join([str(t0.settings["ct_sha256"]), str(t0.settings["mask_sha256"]), vhash,
                                    ",".join(levels)])
        missing = [f"{w} {path} does not exist" for w, path, sha in (("CT", t0.ct, t0.settings["ct_sha256"]),
                   ("label map", t0.mask, t0.settings["mask_sha256"])) if sha is None]
        if missing:
            cache.data[key] = {"error": " and ".join(missing)}
        elif key not in cache.data:
            todo[key] = (t0.ct, t0.mask, levels)
    for key, (ct, mask, levels) in todo.items():
        cache.data[key] = _check_pair(ct, mask, levels, study)
    sizes: dict[tuple[int, str], dict] = {}
    for row, ts in by_row.items():
        _findings(row, ts, cache.data[keys[row]], out, sizes)
    cache.save()
    return sizes


def _findings(row: int, ts: list[Task], res: dict[str, Any], out: list[Problem],
              sizes: dict[tuple[int, str], dict]) -> None:
    t0 = ts[0]
    where = f"cohort row {row} ({t0.subject}, scan {t0.scan}, {t0.kernel})"
    if "error" in res:
        out.append(Problem("problem", where, res["error"], len(ts)))
        return
    for level in sorted({t.vertebra for t in ts}):
        lv = res["levels"].get(level, {})
        n = sum(t.vertebra == level for t in ts)
        if "error" in lv:
            out.append(Problem("problem", f"{where}, {level}", lv["error"], n))
            continue
        if "cut_by_fov" in lv.get("flags", []):
            out.append(Problem("note", f"{where}, {level}", "cut by the field of view; computed and flagged "
                               "(vertebra: allow_cut: true)", n))
        sizes[(row, level)] = {"volume_mm3": lv["volume_mm3"], "ct_voxels": res["ct_voxels"]}
