"""``vertfem dxa``: DXA-equivalent aBMD, BMC, area and TBS-like index per vertebra and their total (L1–L4)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from ..dxa import DXAOptions, DXAResult, dxa_measure, dxa_total
from ..errors import VertfemError
from ..measures import table_row
from ._args import add_options, options_from_args
from ._common import add_inputs, check_output_dir, prepare_from_args, write_table

__all__ = ["register"]


def _line(r: dict[str, Any]) -> str:
    return (f"aBMD {r['dxa_abmd_g_cm2']:.3f} g/cm², BMC {r['dxa_bmc_g']:.2f} g, area {r['dxa_area_cm2']:.2f} cm², "
            f"TBS-like {r['dxa_tbs_like']:.3f}")


def cmd_dxa(args: argparse.Namespace, console: Console) -> int:
    """Project every level, print and save each, then the total; exit 3 when some levels were refused."""
    opts = options_from_args(DXAOptions, args, where="dxa options")
    out = check_output_dir(args.output)
    rows: list[dict[str, Any]] = []
    done: list[DXAResult] = []
    errors: list[VertfemError] = []
    for name, v in prepare_from_args(args).items():
        try:
            if isinstance(v, VertfemError):
                raise v
            res = dxa_measure(v, opts)
        except VertfemError as exc:
            errors.append(exc)
            rows.append({"vertebra": name, "status": "failed", "error_type": type(exc).__name__,
                         "error_message": str(exc)})
            console.print(f"[red]{name}: {type(exc).__name__}:[/red] {exc}")
            continue
        done.append(res)
        row = table_row(res)
        rows.append({"vertebra": name, "status": "done", **row})
        if out is not None:
            res.save(out / name)
        console.print(f"{name}: {_line(row)}" + (f" [yellow](flags: {row['flags']})[/yellow]" if row["flags"] else ""))
    if not done:
        raise errors[0]
    if len(done) > 1:
        total = dxa_total(done).row()
        rows.append({"status": "total", **total})
        console.print(f"{total['vertebra']}: {_line(total)}; T-score {total['dxa_t_score']:.1f}, %YAM "
                      f"{total['dxa_percent_yam']:.0f} ({total['dxa_reference']}"
                      + ("" if total["dxa_abmd_calibrated"] else "; uncalibrated aBMD, not a DXA diagnosis") + ")")
    if out is not None:
        paths = write_table(rows, Path(out), "dxa")
        console.print(f"table → {paths['csv']}")
    return 3 if errors else 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``dxa``."""
    p = sub.add_parser("dxa", help="DXA-equivalent aBMD, BMC, area and TBS-like index (per level and total)",
                       description="Project the calibrated mineral of each vertebra along its antero-posterior axis "
                                   "(as DXA sees it) and report aBMD, BMC, area, the TBS-like index, T-score and "
                                   "%YAM, per level and for the levels together (L1–L4).")
    add_inputs(p, levels_help="levels: L1-L4 (DXA's lumbar site), L1, T12,L1")
    p.set_defaults(vertebra="L1-L4")
    add_options(p, DXAOptions, title="dxa options")
    p.add_argument("-o", "--output", default=None,
                   help="output folder: <level>/dxa.json, projection NIfTI/PNG, and dxa.csv/.json with the total")
    p.set_defaults(func=cmd_dxa)
