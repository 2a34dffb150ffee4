"""Command-line interface: ``vertfem <command> ...``.

A thin layer over the library: each sub-command parses its arguments, calls
the public API and prints a short report. ``main(argv)`` returns an exit code
so tests can call it directly.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import get_args

from rich.console import Console
from rich.table import Table

from . import __version__
from .calibration import load_calibrations, resolve_calibration
from .data import example_paths
from .density import trabecular_vbmd
from .errors import VertfemError
from .io import read_labels, read_scan
from .labels import CONVENTIONS
from .selection import list_vertebrae, select_vertebra
from .solvers.linear import SolverName

__all__ = ["main"]

log = logging.getLogger("vertfem")


def _add_input_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("ct", help="CT file (NIfTI/NRRD/MHA) or DICOM series folder")
    p.add_argument("mask", help="label map (TotalSegmentator, VerSe, ...)")
    p.add_argument("--vertebra", default="L1", help="vertebra name (L1) or raw label id (default L1)")
    p.add_argument("--convention", default="totalsegmentator", choices=sorted(CONVENTIONS), help="label convention")
    p.add_argument("--kernel", default=None, help="reconstruction kernel (default: from the DICOM header)")
    p.add_argument("--calibration", default=None, help="YAML file with extra kernel calibrations")
    p.add_argument("--allow-cut", action="store_true", help="proceed when the vertebra touches the image boundary")


def _cmd_info(args: argparse.Namespace, console: Console) -> int:
    scan = read_scan(args.ct)
    labels = read_labels(args.mask)
    g = scan.geometry
    console.print(f"[bold]{args.ct}[/bold]: {g.size} voxels, spacing {g.spacing_mm} mm, origin "
                  f"{tuple(round(v, 2) for v in g.origin_mm)} mm, direction {tuple(round(v, 3) for v in g.direction)}")
    console.print(f"kernel (0018,1210): {scan.kernel or 'not recorded'}")
    table = Table(title=f"labels of {args.mask} ({args.convention})")
    for col in ("label", "name", "voxels", "volume mm³", "min (x, y, z) mm", "max (x, y, z) mm", "cut by FOV"):
        table.add_column(col)
    for v in list_vertebrae(labels, g, convention=args.convention):
        table.add_row(str(v.label), v.name or "?", str(v.voxels), f"{v.volume_mm3:.0f}", str(v.min_mm), str(v.max_mm),
                      "[red]yes[/red]" if v.cut_by_fov else "no")
    console.print(table)
    return 0


def _inputs(args: argparse.Namespace):
    """Scan, calibration and selected vertebra from the common input arguments."""
    scan = read_scan(args.ct)
    labels = read_labels(args.mask)
    registry = load_calibrations(args.calibration) if args.calibration else None
    cal = resolve_calibration(args.kernel, scan_kernel=scan.kernel, registry=registry)
    vert = select_vertebra(scan, labels, args.vertebra, convention=args.convention, allow_cut=args.allow_cut)
    return scan, cal, vert


def _vbmd_report(args: argparse.Namespace, console: Console) -> dict:
    from .meshing.body import isolate_body

    scan, cal, vert = _inputs(args)
    body = vert.mask if args.whole_vertebra else isolate_body(vert.mask, scan.geometry)
    res = trabecular_vbmd(scan, body, cal, erosion_mm=args.erosion_mm)
    row = {"vertebra": vert.name, "label": vert.label, **res.as_row()}
    console.print(
        f"{vert.name}: trabecular vBMD {res.vbmd_mg_cm3:.1f} mg/cm³ ({res.acr_class}, ACR) "
        f"in {res.roi_voxels} voxels eroded {res.erosion_mm:g} mm, kernel {cal.kernel}"
    )
    return row


def _cmd_vbmd(args: argparse.Namespace, console: Console) -> int:
    row = _vbmd_report(args, console)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(row, indent=2))
    return 0


def _add_mesh_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mesh-size", type=float, default=2.0, help="target element edge, mm (default 2)")
    p.add_argument("--flat-cut-mm", type=float, default=None, help="cut flat loading faces this far inside, mm")
    p.add_argument("--cap-thickness-mm", type=float, default=None,
                   help="embed the endplates in virtual PMMA caps this thick beyond the endplate, mm")
    p.add_argument("--cap-modulus-mpa", type=float, default=2500.0, help="PMMA cap modulus, MPa (default 2500)")


def _mesh_options(args: argparse.Namespace, **extra):
    from .meshing import MeshOptions

    return MeshOptions(mesh_size_mm=args.mesh_size, flat_cut_mm=args.flat_cut_mm, cap_thickness_mm=args.cap_thickness_mm,
                       cap_modulus_MPa=args.cap_modulus_mpa, **extra)


def _cmd_mesh(args: argparse.Namespace, console: Console) -> int:
    from .meshing import mesh_vertebra, write_abaqus, write_mesh

    scan, cal, vert = _inputs(args)
    mesh = mesh_vertebra(scan, vert, cal, _mesh_options(args, law=args.law, isolate_body=not args.whole_vertebra))
    out = write_mesh(mesh, args.output)
    q = mesh.quality
    n_cap = mesh.n_elements - q.n_elements
    console.print(
        f"{vert.name}: {mesh.n_elements} TET10" + (f" ({n_cap} in PMMA caps)" if n_cap else "")
        + f", {mesh.n_nodes} nodes, bone volume {q.volume_mm3:.0f} mm³, "
        f"min/mean scaled Jacobian {q.min_scaled_jacobian:.3f}/{q.mean_scaled_jacobian:.3f}, "
        f"height {mesh.height_mm:.1f} mm, {mesh.info['n_clamped']} clamped → {out}"
    )
    if args.abaqus:
        write_abaqus(mesh, args.abaqus)
        console.print(f"Abaqus/CalculiX deck → {args.abaqus}")
    return 0


def _cmd_analyze(args: argparse.Namespace, console: Console) -> int:
    from .analysis import analyze_vertebra
    from .solvers import SolveOptions

    registry = load_calibrations(args.calibration) if args.calibration else None
    res = analyze_vertebra(
        args.ct, args.mask, args.vertebra, kernel=args.kernel, registry=registry, convention=args.convention,
        load_case=args.load_case, mesh_options=_mesh_options(args),
        solve_options=SolveOptions(solver=args.solver), allow_cut=args.allow_cut, outdir=args.output,
    )
    row = res.row()
    Path(args.output, "summary.json").write_text(json.dumps(row, indent=2, default=float))
    k = row["stiffness_N_per_mm"]
    s = row["strength_N"]
    console.print(
        f"{row['vertebra']} ({row['kernel']}, {row['load_case']}): "
        + (f"stiffness {k:.0f} N/mm, strength {s:.0f} N ({row['strength_definition']}), " if k else "")
        + f"vBMD {row['vbmd_mg_cm3']:.1f} mg/cm³ ({row['acr_class']}); {row['n_elements']} TET10, "
        f"{row['total_time_s']:.1f} s → {args.output}"
    )
    return 0


def _cmd_focal(args: argparse.Namespace, console: Console) -> int:
    from .focal import FocalOptions, focal_bmc_loss

    scan, cal, vert = _inputs(args)
    opts = FocalOptions(erosion_mm=args.erosion_mm, voxel_mm=args.voxel_mm, sigma_mm=args.sigma_mm,
                        angle_step_deg=args.angle_step, directions=args.directions,
                        isolate_body=not args.whole_vertebra)
    res = focal_bmc_loss(scan, vert.mask, cal, opts)
    res.save(args.output)
    s = res.summary()
    console.print(
        f"{vert.name} ({cal.kernel}): IncptWidth {s['focal_incpt_width_mm_mean']:.2f} mm, focal BMD loss "
        f"{s['focal_bmd_loss_fraction_mean']:.3f}, focal BMC loss {s['focal_bmc_loss_fraction_mm_mean']:.3f} "
        f"(100 % × mm), void fraction {s['focal_void_fraction']:.2f} of {s['focal_roi_voxels']} ROI voxels "
        f"→ {args.output}"
    )
    return 0


def _cmd_texture(args: argparse.Namespace, console: Console) -> int:
    import pandas as pd

    from .texture import texture_features

    scan = read_scan(args.ct)
    vert = select_vertebra(scan, read_labels(args.mask), args.vertebra, convention=args.convention,
                           allow_cut=args.allow_cut)
    vois = tuple(args.voi) if args.voi else None
    feats = texture_features(scan, vert.mask, preset_name=args.preset, vois=vois, shell_mm=args.shell_mm,
                             isolate=not args.whole_vertebra)
    row = {"vertebra": vert.name, "label": vert.label, "preset": args.preset, "ct": str(args.ct), **feats}
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([row]).to_csv(out, index=False)
    console.print(f"{vert.name}: {len(feats)} texture features ({args.preset}) → {out}")
    return 0


def _cmd_study(args: argparse.Namespace, console: Console) -> int:
    from .study import load_study, run_study, study_status, write_report

    study = load_study(args.study)
    if args.action == "run":
        r = run_study(study, workers=args.workers, scheduler=args.scheduler, cluster=args.cluster, force=args.force)
        console.print(f"{study.name}: {r.done} done, {r.failed} failed, {r.skipped} already done "
                      f"({r.backend}, {r.wall_s:.1f} s, {r.tasks_per_minute:.1f} tasks/min) → {study.output_dir}")
        return 0 if r.failed == 0 else 3
    if args.action == "status":
        table = Table(title=f"{study.name}: tasks")
        for col in ("measure", "done", "failed", "pending"):
            table.add_column(col)
        for m, c in study_status(study).items():
            table.add_row(m, str(c["done"]), f"[red]{c['failed']}[/red]" if c["failed"] else "0", str(c["pending"]))
        console.print(table)
        return 0
    path = write_report(study)
    console.print(f"report → {path} (and report.html)")
    return 0


def _cmd_view(args: argparse.Namespace, console: Console) -> int:
    from . import viz

    grid = viz.result_grid(args.result)
    fields = viz.available_fields(grid)
    # "von_mises" → "von_mises_MPa": a unique prefix is enough
    matches = [args.field] if args.field in fields else [f for f in fields if f.startswith(args.field)]
    if len(matches) != 1:
        raise viz.UnknownFieldError(f"field {args.field!r} is not in {args.result}"
                                    + (" (ambiguous)" if matches else "") + f"; available: {', '.join(fields)}")
    field = matches[0]
    out = viz.plot_field(grid, field, clip=args.clip, deformed_scale=args.deformed, screenshot=args.screenshot)
    if args.screenshot:
        console.print(f"{field} → {out}")
    else:
        out.show()
    return 0


def _cmd_demo(args: argparse.Namespace, console: Console) -> int:
    paths = example_paths()
    console.print("[bold]vertfem demo[/bold]: bundled example CT (TotalSegmentator test data, 3 mm, treated as B40f)")
    ns = build_parser().parse_args(["analyze", str(paths["ct"]), str(paths["labels"]), "--vertebra", args.vertebra,
                                    "--kernel", "B40f", "-o", args.output])
    return _cmd_analyze(ns, console)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vertfem", description="CT-based finite-element analysis of vertebrae")
    parser.add_argument("--version", action="version", version=f"vertfem {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("info", help="list the vertebrae of a label map with sizes, extents and FOV cuts")
    p.add_argument("ct")
    p.add_argument("mask")
    p.add_argument("--convention", default="totalsegmentator", choices=sorted(CONVENTIONS))
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("vbmd", help="trabecular vBMD (mg/cm³) and ACR class of one vertebra")
    _add_input_args(p)
    p.add_argument("--erosion-mm", type=float, default=6.0, help="ROI erosion from the surface, mm (default 6)")
    p.add_argument("--whole-vertebra", action="store_true", help="use the whole vertebra, not the isolated body")
    p.add_argument("-o", "--output", default=None, help="write the result as JSON")
    p.set_defaults(func=_cmd_vbmd)

    p = sub.add_parser("mesh", help="mesh a vertebra into mapped TET10 elements (VTU/XDMF, optional .inp)")
    _add_input_args(p)
    _add_mesh_args(p)
    p.add_argument("--law", default="morgan2003-vertebra", help="density-modulus law")
    p.add_argument("--whole-vertebra", action="store_true", help="keep the posterior elements")
    p.add_argument("--abaqus", default=None, help="also write an Abaqus/CalculiX deck here")
    p.add_argument("-o", "--output", required=True, help="mesh file (.vtu or .xdmf)")
    p.set_defaults(func=_cmd_mesh)

    p = sub.add_parser("analyze", help="FE stiffness (N/mm), strength (N) and vBMD of one vertebra")
    _add_input_args(p)
    p.add_argument("--load-case", default="axial_compression",
                   choices=["axial_compression", "anterior_wedge", "lateral_wedge", "combined"])
    _add_mesh_args(p)
    p.add_argument("--solver", default="auto", choices=list(get_args(SolverName)))
    p.add_argument("-o", "--output", required=True, help="output folder (result.json, result.vtu, summary.json)")
    p.set_defaults(func=_cmd_analyze)

    p = sub.add_parser("focal", help="focal BMC loss maps and summary (Li et al. 2022)")
    _add_input_args(p)
    p.add_argument("--erosion-mm", type=float, default=6.0, help="ROI erosion from the body surface, mm (default 6)")
    p.add_argument("--voxel-mm", type=float, default=0.3, help="analysis voxel size, mm (default 0.3)")
    p.add_argument("--sigma-mm", type=float, default=0.3, help="Gaussian smoothing σ, mm (default 0.3)")
    p.add_argument("--angle-step", type=float, default=12.0, help="star-line orientation step, degrees (default 12)")
    p.add_argument("--directions", default="planar", choices=["planar", "sphere"],
                   help="in-plane star (paper) or lines over the hemisphere (extension)")
    p.add_argument("--whole-vertebra", action="store_true", help="use the whole vertebra, not the isolated body")
    p.add_argument("-o", "--output", required=True, help="output folder (maps .nii.gz, summary JSON, figure PNG)")
    p.set_defaults(func=_cmd_focal)

    p = sub.add_parser("texture", help="texture/radiomics features (IBSI) of a vertebra's VOIs, one CSV row")
    p.add_argument("ct")
    p.add_argument("mask")
    p.add_argument("--vertebra", default="L1")
    p.add_argument("--convention", default="totalsegmentator", choices=sorted(CONVENTIONS))
    p.add_argument("--kernel", default=None, help="recorded in the output only (features are computed on HU)")
    p.add_argument("--allow-cut", action="store_true")
    p.add_argument("--preset", default="goller2023", choices=["goller2023", "che2025", "ibsi"])
    p.add_argument("--voi", action="append", choices=["body", "cortical", "cancellous"],
                   help="VOI (repeatable); default the preset's")
    p.add_argument("--shell-mm", type=float, default=2.0, help="cortical shell thickness, mm (default 2)")
    p.add_argument("--whole-vertebra", action="store_true", help="use the whole vertebra, not the isolated body")
    p.add_argument("-o", "--output", required=True, help="CSV file (one row)")
    p.set_defaults(func=_cmd_texture)

    p = sub.add_parser("study", help="run, check or report a study defined in a YAML file")
    p.add_argument("action", choices=["run", "status", "report"])
    p.add_argument("study", help="study YAML file")
    p.add_argument("--workers", type=int, default=None, help="parallel tasks (default: the study file's, 2)")
    p.add_argument("--scheduler", default=None, help="dask scheduler address, e.g. tcp://host:8786")
    p.add_argument("--cluster", default=None, choices=["local"], help="start a dask LocalCluster")
    p.add_argument("--force", action="store_true", help="rerun tasks that are already done")
    p.set_defaults(func=_cmd_study)

    p = sub.add_parser("view", help="show a result (.vtu) coloured by a field; --screenshot renders to PNG")
    p.add_argument("result", help="result.vtu written by analyze/save_result (or a mesh .vtu)")
    p.add_argument("--field", default="von_mises_MPa", help="field name or unique prefix (default von_mises_MPa)")
    p.add_argument("--clip", default=None, choices=["sagittal", "frontal", "axial"], help="cut through the frame")
    p.add_argument("--deformed", type=float, default=0.0, help="draw the deformed shape, displacement × this")
    p.add_argument("--screenshot", default=None, help="render off screen to this PNG instead of a window")
    p.set_defaults(func=_cmd_view)

    p = sub.add_parser("demo", help="run the main job on the bundled example CT")
    p.add_argument("--vertebra", default="L1")
    p.add_argument("-o", "--output", default="vertfem-demo", help="output folder (default ./vertfem-demo)")
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 usage, 1 vertfem error, 3 a study finished with failed tasks)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    console = Console()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            return int(args.func(args, console) or 0)
    except VertfemError as exc:
        console.print(f"[red]error ({type(exc).__name__}):[/red] {exc}")
        return 1


def run() -> None:
    """Console entry point: :func:`main`, then exit without the interpreter's teardown.

    With SciPy, VTK, numba, gmsh and MKL loaded, Python's module and object
    teardown takes 0.5–0.8 s after the work is done (measured on the bundled
    L1); every command has closed its files by then, so output and logs are
    flushed and the process ends at once.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
