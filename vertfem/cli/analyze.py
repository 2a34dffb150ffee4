"""``vertfem analyze``: vBMD and FE of one or several levels, with one per-level table and its plausibility checks."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from ..errors import VertfemError
from ..fe.options import FEOptions
from ..vbmd import VBMDOptions
from ._args import add_options, options_from_args
from ._common import add_inputs, check_output_dir, prepare_from_args, write_table

__all__ = ["cmd_analyze", "register"]


def _summary(row: dict[str, Any]) -> str:
    parts = [f"{row['load_case']}, kernel {row['kernel']}:"]
    if row.get("stiffness_N_per_mm") is not None:
        parts.append(f"stiffness {row['stiffness_N_per_mm']:.0f} N/mm,")
    if row.get("rotational_stiffness_Nm_per_deg") is not None:
        parts.append(f"rotational stiffness {row['rotational_stiffness_Nm_per_deg']:.1f} N·m/deg,")
    if row.get("strength_N") is not None:
        parts.append(f"strength {row['strength_N']:.0f} N ({row['strength_rule']}),")
    sweep = [f"{k[:-len(suffix)]} {v:.1f} {unit}" for k, v in row.items()
             for suffix, unit in (("_rotational_stiffness_Nm_per_deg", "N·m/deg"), ("_stiffness_N_per_mm", "N/mm"))
             if k.endswith(suffix) and k not in ("rotational_stiffness_Nm_per_deg", "stiffness_N_per_mm")
             and not k.endswith("_rotational_stiffness_Nm_per_deg" if suffix == "_stiffness_N_per_mm" else "~")]
    if sweep:
        parts.append(f"sweep {', '.join(sweep)},")
    parts.append(f"{row['n_elements']} TET10; vBMD {row['vbmd_mg_cm3']:.1f} mg/cm³ ({row['acr_class']}), "
                 f"{row['total_time_s']:.1f} s")
    return " ".join(parts)


def cmd_analyze(args: argparse.Namespace, console: Console) -> int:
    """Run vBMD and FE on every requested level; write ``<output>/<level>/`` and ``levels.csv``/``.json``.

    Returns 0 when every level succeeded, 3 when some were refused (recorded in the table); raises the first
    error when none succeeded.
    """
    from ..analysis import (  # the FE stack (gmsh, solvers) loads only when a model is built
        analyze_prepared,
        levels_table,
    )

    out = check_output_dir(args.output)
    fe_opts = options_from_args(FEOptions, args, where="fe options")
    vb_opts = options_from_args(VBMDOptions, args, where="vbmd options")
    results = analyze_prepared(prepare_from_args(args), fe_options=fe_opts, vbmd_options=vb_opts, outdir=out)
    rows = levels_table(results, fe_options=fe_opts)
    errors = [r for r in results.values() if isinstance(r, VertfemError)]
    for row in rows:
        name = row["vertebra"]
        if row["status"] != "done":
            console.print(f"[red]{name}: {row['error_type']}:[/red] {row['error_message']}")
            continue
        flags = f" [yellow](flags: {row['flags']})[/yellow]" if row.get("flags") else ""
        console.print(f"{name}: {_summary(row)}{flags}" + (f" → {out / name}" if out is not None else ""))
        if row.get("plausibility_reasons"):
            console.print(f"  [yellow]{row['plausibility_reasons']}[/yellow]")
    if errors and len(errors) == len(results):
        raise errors[0]
    if out is not None:
        paths = write_table(rows, out, "levels")
        console.print(f"table → {paths['csv']}")
    return 3 if errors else 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``analyze``."""
    p = sub.add_parser("analyze", help="FE stiffness (N/mm), strength (N) and vBMD of one or several levels",
                       description="vBMD and linear FE of each level; files per level and one table with "
                                   "per-level plausibility checks")
    add_inputs(p)
    add_options(p, FEOptions, title="fe options")
    add_options(p, VBMDOptions, exclude=("region",), title="vbmd options")
    p.add_argument("-o", "--output", required=True,
                   help="output folder: <level>/ (result.json, result.vtu, vbmd.json) and levels.csv/.json")
    p.set_defaults(func=cmd_analyze)
