"""Quality-control images: one per row of the results table (subject, scan, kernel, vertebra).

Each image shows the CT through the body's centroid in its three index planes
(axial, coronal, sagittal, at the physical aspect ratio, each edge labelled
with its anatomical direction R/L, A/P, S/I), with the outlines a reviewer
checks first: the vertebra's mask, the isolated vertebral body that vBMD, FE
and the focal analysis use, the vBMD ROI (the body eroded by the study's
``erosion_mm``), and — when the study saved them (``save_files``) — the FE
mesh cut by each plane and the focal BMC-loss section. Images are JPEG
(small enough to embed in the report) and cached: an image is redrawn only
when its inputs, options or saved files change.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.lines import Line2D

from ..errors import VertfemError
from ..vbmd import VBMDOptions
from ..vertebra import Vertebra, erode_mm, prepare_vertebra
from .config import Study
from .tasks import task_id

__all__ = ["QCImage", "draw_qc", "mesh_section", "qc_images"]

log = logging.getLogger("vertfem.study")

#: Display window of the CT, HU (soft tissue to dense bone).
HU_WINDOW = (-200.0, 900.0)
#: CT shown around the vertebra, mm.
MARGIN_MM = 12.0
_COLOURS = {"mask": "#ffd400", "body": "#00c8ff", "roi": "#ff3dd2", "mesh": "#7CFC00"}
# anatomical letter of the + direction of each physical (LPS) axis, and of the − direction
_PLUS, _MINUS = "LPS", "RAI"


@dataclass(frozen=True)
class QCImage:
    """A row's QC image and what it shows."""

    key: tuple[str, str, str, str]
    path: Path
    caption: str


def mesh_section(points_ijk: np.ndarray, tets: np.ndarray, axis: int, at: float) -> list[np.ndarray]:
    """Polygons where the plane ``index[axis] = at`` cuts each tetrahedron, in the other two index coordinates.

    Parameters
    ----------
    points_ijk : (n, 3) array
        Node positions as continuous (i, j, k) indices of the image grid.
    tets : (m, 4+) int array
        Elements; their first four nodes are the corners.
    axis : int
        0, 1, 2 for the i, j, k index planes.
    at : float
        The plane's index.

    Returns
    -------
    list of (3, 2) or (4, 2) arrays
        Each polygon's corners as (column, row) display coordinates of the slice: for axis 2 (axial) (i, j),
        for axis 1 (coronal) (i, k), for axis 0 (sagittal) (j, k).

    Examples
    --------
    >>> pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1.0]])
    >>> [p.round(2).tolist() for p in mesh_section(pts, np.array([[0, 1, 2, 3]]), 2, 0.5)]
    [[[0.0, 0.0], [0.5, 0.0], [0.0, 0.5]]]
    """
    other = [a for a in range(3) if a != axis]
    corners = points_ijk[tets[:, :4]]
    d = corners[:, :, axis] - at
    cut = (d.min(axis=1) < 0) & (d.max(axis=1) > 0)
    polys = []
    edges = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
    for c, dd in zip(corners[cut], d[cut]):
        pts = [c[a] + (c[b] - c[a]) * dd[a] / (dd[a] - dd[b]) for a, b in edges if (dd[a] < 0) != (dd[b] < 0)]
        p = np.asarray(pts)[:, other]
        if len(p) == 4:  # order the quadrilateral's corners around its centre
            ctr = p.mean(axis=0)
            p = p[np.argsort(np.arctan2(p[:, 1] - ctr[1], p[:, 0] - ctr[0]))]
        polys.append(p)
    return polys


def _letters(direction: np.ndarray, axis: int) -> tuple[str, str]:
    """Anatomical letters of the − and + ends of an index axis (LPS scanner space)."""
    col = direction[:, axis]
    p = int(np.argmax(np.abs(col)))
    return (_MINUS[p], _PLUS[p]) if col[p] > 0 else (_PLUS[p], _MINUS[p])


def _panel(ax, img: np.ndarray, rows_axis: int, cols_axis: int, spacing: tuple[float, float, float],
           direction: np.ndarray, outlines: list[tuple[np.ndarray, str]], polys: list[np.ndarray], title: str) -> None:
    """One plane: CT, outlines, mesh cut; displayed with superior/anterior up and the patient's left on the right."""
    ax.imshow(img, cmap="gray", vmin=HU_WINDOW[0], vmax=HU_WINDOW[1], interpolation="nearest",
              extent=(-0.5, img.shape[1] - 0.5, img.shape[0] - 0.5, -0.5))
    for mask, colour in outlines:
        if mask.any():
            ax.contour(mask.astype(float), levels=[0.5], colors=colour, linewidths=0.9)
    if polys:
        ax.add_collection(PolyCollection(polys, facecolors="none", edgecolors=_COLOURS["mesh"], linewidths=0.25))
    ax.set_aspect(spacing[rows_axis] / spacing[cols_axis])
    lo_r, hi_r = _letters(direction, rows_axis)
    lo_c, hi_c = _letters(direction, cols_axis)
    # up: S (coronal, sagittal) or A (axial); right: L (axial, coronal) or P (sagittal)
    if hi_r in "SA":
        ax.invert_yaxis()
        lo_r, hi_r = hi_r, lo_r
    if hi_c in "RA":
        ax.invert_xaxis()
        lo_c, hi_c = hi_c, lo_c
    kw = {"transform": ax.transAxes, "color": "w", "fontsize": 8, "fontweight": "bold"}
    ax.text(0.5, 0.99, lo_r, ha="center", va="top", **kw)
    ax.text(0.5, 0.01, hi_r, ha="center", va="bottom", **kw)
    ax.text(0.01, 0.5, lo_c, ha="left", va="center", **kw)
    ax.text(0.99, 0.5, hi_c, ha="right", va="center", **kw)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def draw_qc(vertebra: Vertebra, path: str | Path, *, title: str, erosion_mm: float | None = None,
            mesh_vtu: str | Path | None = None, focal_png: str | Path | None = None, dpi: int = 150) -> Path:
    """Draw one vertebra's QC image (JPEG or PNG by the file suffix).

    Parameters
    ----------
    vertebra : Vertebra
        The prepared vertebra.
    path : path
        Output file.
    title : str
        First line of the figure title (subject, kernel, values).
    erosion_mm : float, optional
        Outline the vBMD ROI: the body eroded by this distance.
    mesh_vtu : path, optional
        An FE result (``result.vtu``) of this vertebra: its mesh is cut by each plane.
    focal_png : path, optional
        The focal analysis's section figure, shown as a fourth panel.
    dpi : int

    Returns
    -------
    Path

    Examples
    --------
    >>> import vertfem as vf, tempfile, os
    >>> p = vf.example_paths()
    >>> v = vf.prepare_vertebra(p["ct"], p["labels"], "L1", kernel="B40f")
    >>> out = draw_qc(v, os.path.join(tempfile.mkdtemp(), "qc.png"), title="example L1", erosion_mm=6.0)
    >>> out.stat().st_size > 10_000
    True
    """
    crop = vertebra.crop(MARGIN_MM)
    g = crop.geometry
    spacing = g.spacing_mm
    direction = g.direction_matrix
    ck, cj, ci = np.round(np.argwhere(crop.body).mean(axis=0)).astype(int)
    roi = erode_mm(crop.body, g, erosion_mm) if erosion_mm is not None else np.zeros_like(crop.body)
    ijk = tets = None
    if mesh_vtu is not None and Path(mesh_vtu).exists():
        import meshio

        m = meshio.read(mesh_vtu)
        ijk = g.physical_to_index(np.asarray(m.points, float))
        tets = np.concatenate([c.data for c in m.cells if c.type.startswith("tetra")])
    # (index axis cut, rows axis, cols axis, slicer, name): axes as ITK (i, j, k) = (0, 1, 2)
    planes = ((2, 1, 0, (ck, slice(None), slice(None)), "axial"),
              (1, 2, 0, (slice(None), cj, slice(None)), "coronal"),
              (0, 2, 1, (slice(None), slice(None), ci), "sagittal"))
    focal = Path(focal_png) if focal_png is not None and Path(focal_png).exists() else None
    n_panels = 3 + (focal is not None)
    fig, axes = plt.subplots(1, n_panels, figsize=(3.4 * n_panels, 3.9))
    for ax, (cut_axis, r_ax, c_ax, sl, name) in zip(axes, planes):
        outlines = [(crop.mask[sl], _COLOURS["mask"]), (crop.body[sl], _COLOURS["body"]), (roi[sl], _COLOURS["roi"])]
        polys = []
        if ijk is not None and tets is not None:
            at = float({0: ci, 1: cj, 2: ck}[cut_axis])
            polys = mesh_section(ijk, tets, cut_axis, at)  # (cols, rows): the other axes ascending, as displayed
        _panel(ax, crop.hu[sl], r_ax, c_ax, spacing, direction, outlines, polys, name)
    if focal is not None:
        axes[3].imshow(plt.imread(focal))
        axes[3].set_axis_off()
        axes[3].set_title("focal BMC loss (section)", fontsize=9)
    handles = [Line2D([], [], color=_COLOURS["mask"], label="vertebra mask"),
               Line2D([], [], color=_COLOURS["body"], label="isolated body")]
    if erosion_mm is not None:
        handles.append(Line2D([], [], color=_COLOURS["roi"], label=f"vBMD ROI (body − {erosion_mm:g} mm)"))
    if ijk is not None:
        handles.append(Line2D([], [], color=_COLOURS["mesh"], label="FE mesh section"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    flags = ", ".join(f.code for f in vertebra.flags) or "none"
    fig.suptitle(f"{title}\nvoxels {' × '.join(f'{s:.2g}' for s in spacing)} mm · flags: {flags}", fontsize=9)
    fig.tight_layout(rect=(0, 0.06, 1, 0.98))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"pil_kwargs": {"quality": 85}} if out.suffix.lower() in (".jpg", ".jpeg") else {}
    fig.savefig(out, dpi=dpi, **kwargs)
    plt.close(fig)
    return out


def _title(row: dict[str, Any]) -> str:
    parts = [f"{row['subject']} · scan {row['scan']} · {row['kernel']} · {row['vertebra']}"]
    for col, fmt in (("vbmd_mg_cm3", "vBMD {:.1f} mg/cm³"), ("stiffness_N_per_mm", "stiffness {:,.0f} N/mm"),
                     ("strength_N", "strength {:,.0f} N")):
        v = row.get(col)
        if isinstance(v, (int, float)) and np.isfinite(v):
            parts.append(fmt.format(v))
    return " · ".join(parts)


def qc_images(study: Study, table: Any, outdir: Path, *, dpi: int = 150) -> list[QCImage]:
    """QC images of every row of the results table, redrawn only when something they show changed.

    Returns
    -------
    list of QCImage
        In the table's order; a row whose vertebra cannot be prepared again is logged and skipped.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    index_path = outdir / "index.json"
    try:
        index: dict[str, str] = json.loads(index_path.read_text())
    except (OSError, ValueError):
        index = {}
    enabled = study.enabled()
    vbmd = enabled.get("vbmd")
    erosion = vbmd.erosion_mm if isinstance(vbmd, VBMDOptions) else None
    files = study.output_dir / "files"
    out = []
    for row in table.to_dict("records"):
        key = (str(row["subject"]), str(row["scan"]), str(row["kernel"]), str(row["vertebra"]))
        stem = "__".join(key)
        vtu = files / task_id(*key, "fe") / "result.vtu"
        focal = files / task_id(*key, "focal") / "focal_section.png"
        title = _title(row)
        saved = [str(p.stat().st_mtime_ns) for p in (vtu, focal) if p.exists()]
        stamp = hashlib.sha256(json.dumps([row.get("ct_sha256"), row.get("mask_sha256"), erosion, saved, title,
                                           study.vertebra.model_dump(mode="json"), dpi]).encode()).hexdigest()
        path = outdir / f"{stem}.jpg"
        caption = f"{' · '.join(key)}: outlines of the vertebra (yellow), its body (blue)" + (
            ", vBMD ROI (magenta)" if erosion is not None else "") + (", FE mesh (green)" if vtu.exists() else "")
        if index.get(stem) != stamp or not path.exists():
            src = _inputs(study, row)
            if src is None:
                continue
            registry = study.registry()
            try:
                v = prepare_vertebra(src[0], src[1], key[3], kernel=key[2] if key[2] in registry else None,
                                     registry=registry, options=study.vertebra)
            except VertfemError as exc:
                log.warning("no QC image for %s: %s", stem, exc)
                continue
            draw_qc(v, path, title=title, erosion_mm=erosion, mesh_vtu=vtu if vtu.exists() else None,
                    focal_png=focal if focal.exists() else None, dpi=dpi)
            index[stem] = stamp
        out.append(QCImage(key, path, caption))
    index_path.write_text(json.dumps(index, indent=1))
    return out


def _inputs(study: Study, row: dict[str, Any]) -> tuple[Path, Path] | None:
    """CT and mask of a results row, from the records of its tasks (the table keeps only their hashes)."""
    from .store import ResultStore

    store = ResultStore(study.output_dir)
    for m in study.enabled():
        rec = store.read(task_id(row["subject"], row["scan"], row["kernel"], row["vertebra"], m))
        if rec is not None and rec.get("status") == "done":
            return Path(rec["ct"]), Path(rec["mask"])
    return None
