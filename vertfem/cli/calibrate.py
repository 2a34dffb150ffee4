"""``vertfem calibrate``: a phantomless calibration of one scan from its own tissues, written as a reusable YAML."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml
from rich.console import Console

from .._version import __version__
from ..errors import OutputError, VertfemError
from ..provenance import jsonable
from ..vertebra import INTERNAL
from ._common import prepare_from_args

__all__ = ["register"]


def cmd_calibrate(args: argparse.Namespace, console: Console) -> int:
    """Calibrate from the reference tissues near the vertebra and write ``kernels: {NAME: line}`` + the report."""
    out = Path(args.output)
    if out.suffix.lower() not in (".yaml", ".yml") or out.is_dir():
        raise OutputError(f"calibration file {out}: give a .yaml file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    args.kernel = INTERNAL
    prepared = prepare_from_args(args)
    v = next((x for x in prepared.values() if not isinstance(x, VertfemError)), None)
    if v is None:
        raise next(iter(prepared.values()))  # type: ignore[misc]
    cal, report = v.require_calibration(), v.calibration_report or {}
    name = args.name or f"{Path(args.ct).name.split('.')[0]}-internal"
    doc = {"kernels": {name: {"slope": cal.slope_g_cm3_per_HU, "intercept": cal.intercept_g_cm3,
                              "source": f"{cal.source}; vertfem {__version__} calibrate of {args.ct} "
                                        f"(sha256 {v.inputs['ct'].sha256[:16]}…) near {v.name}"}},
           "report": jsonable(report)}
    out.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    rows = ", ".join(f"{t['tissue']} {t['hu_measured']:.0f} HU" for t in report.get("tissues", []))
    console.print(f"{name}: ρ = {cal.intercept_g_cm3:.4g} + {cal.slope_g_cm3_per_HU:.4g}·HU g/cm³, "
                  f"E_eff {report.get('energy_keV', float('nan')):.1f} keV from {rows}"
                  + (" [yellow](tissues disagree: see the report)[/yellow]" if report.get("flagged") else "")
                  + f" → {out}; use it with --calibration {out} --kernel {name}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``calibrate``."""
    from ._common import add_inputs

    p = sub.add_parser("calibrate", help="phantomless calibration from the patient's own tissues → reusable YAML",
                       description="Internal calibration (Michalski et al. 2020): air, fat, muscle (and blood when "
                                   "labelled) give the scan's effective energy and its HU → density line")
    add_inputs(p, levels_help="vertebra near which the tissues are sampled")
    p.add_argument("--name", default=None, help="kernel name for the line (default: <ct>-internal)")
    p.add_argument("-o", "--output", required=True, help="calibration YAML to write")
    p.set_defaults(func=cmd_calibrate)
