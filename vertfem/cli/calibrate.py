"""``vertfem calibrate``: a phantomless calibration of one scan from its own tissues, written as a reusable YAML."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml
from rich.console import Console

from .._version import __version__
from ..errors import ConfigError, OutputError, VertfemError
from ..io import read_labels, read_scan
from ..provenance import jsonable
from ..vertebra import VertebraOptions, align_labels, internal_scan_calibration, prepare_vertebra
from ..vertebra.selection import labels_on_scan_grid
from ._args import add_options, options_from_args

__all__ = ["register"]


def cmd_calibrate(args: argparse.Namespace, console: Console) -> int:
    """Calibrate from the scan's reference tissues and write ``kernels: {NAME: line}`` with the report."""
    out = Path(args.output)
    if out.suffix.lower() not in (".yaml", ".yml") or out.is_dir():
        raise OutputError(f"calibration file {out}: give a .yaml file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    opts = options_from_args(VertebraOptions, args, where="vertebra options")
    scan = read_scan(args.ct)
    aligned = align_labels(args.mask, scan.geometry)
    tissue_types = labels_on_scan_grid(read_labels(args.tissue_labels), scan.geometry) if args.tissue_labels else None
    try:
        v = prepare_vertebra(scan, aligned, args.vertebra, options=opts)
    except VertfemError as exc:
        raise ConfigError(f"the tissues are sampled near a vertebra of the scan: {exc}") from exc
    scal = internal_scan_calibration(scan, aligned, v.to_scan_grid(v.mask), convention=opts.convention,
                                     tissue_types=tissue_types)
    cal, report = scal.calibration, scal.report or {}
    name = args.name or f"{Path(args.ct).name.split('.')[0]}-internal"
    doc = {"kernels": {name: {"slope": cal.slope_g_cm3_per_HU, "intercept": cal.intercept_g_cm3,
                              "source": f"{cal.source}; vertfem {__version__} calibrate of {args.ct} "
                                        f"(sha256 {v.inputs['ct'].sha256[:16]}…)"}},
           "report": jsonable(report)}
    out.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    rows = ", ".join(f"{t['tissue']} {t['hu_measured']:.0f} HU" for t in report.get("tissues", []))
    notes = "".join(f" [yellow]({f.code}: {f.message})[/yellow]" for f in scal.flags)
    console.print(f"{name}: ρ = {cal.intercept_g_cm3:.4g} + {cal.slope_g_cm3_per_HU:.4g}·HU g/cm³, "
                  f"E_eff {report.get('energy_keV', float('nan')):.1f} keV from {rows}{notes} → {out}; "
                  f"use it with --calibration {out} --kernel {name}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``calibrate``."""
    p = sub.add_parser("calibrate", help="phantomless calibration from the patient's own tissues → reusable YAML",
                       description="Internal calibration (Michalski et al. 2020): air, fat, muscle (and blood when "
                                   "labelled) give the scan's effective energy and its HU → density line")
    p.add_argument("ct", help="CT file (NIfTI/NRRD/MHA) or DICOM series folder")
    p.add_argument("mask",
                   help="label map of the spine (TotalSegmentator 'total': its aorta and back muscles are used)")
    p.add_argument("--vertebra", default="L1", help="a vertebra of the scan, to check the inputs (default L1)")
    p.add_argument("--tissue-labels", default=None, metavar="TISSUES",
                   help="TotalSegmentator 'tissue_types' label map (subcutaneous fat, skeletal muscle)")
    add_options(p, VertebraOptions, title="vertebra options")
    p.add_argument("--name", default=None, help="kernel name for the line (default: <ct>-internal)")
    p.add_argument("-o", "--output", required=True, help="calibration YAML to write")
    p.set_defaults(func=cmd_calibrate)
