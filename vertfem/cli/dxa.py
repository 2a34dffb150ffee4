"""``vertfem dxa``: DXA-equivalent aBMD, BMC, area and TBS-like index per vertebra and their total (L1–L4)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from ..dxa import DXAOptions, DXAResult, dxa_measure, dxa_total
from ..measures import table_row
from ._args import add_options, options_from_args
from ._common import add_inputs
from .measure import run_levels

__all__ = ["register"]


def _line(r: dict[str, Any]) -> str:
    return (f"aBMD {r['dxa_abmd_g_cm2']:.3f} g/cm², BMC {r['dxa_bmc_g']:.2f} g, area {r['dxa_area_cm2']:.2f} cm², "
            f"TBS-like {r['dxa_tbs_like']:.3f}")


def cmd_dxa(args: argparse.Namespace, console: Console) -> int:
    """Project every level, print and save each, then the total; exit 3 when some levels were refused."""
    opts = options_from_args(DXAOptions, args, where="dxa options")
    done: list[DXAResult] = []

    def work(v: Any) -> tuple[dict[str, Any], Callable[[Path], Any], str]:
        res = dxa_measure(v, opts)
        done.append(res)
        row = table_row(res)
        return row, res.save, _line(row)

    def total() -> dict[str, Any] | None:
        if len(done) < 2:
            return None
        t = dxa_total(done).row()
        console.print(f"{t['vertebra']}: {_line(t)}; T-score {t['dxa_t_score']:.1f}, %YAM "
                      f"{t['dxa_percent_yam']:.0f} ({t['dxa_reference']}"
                      + ("" if t["dxa_abmd_calibrated"] else "; uncalibrated aBMD, not a DXA diagnosis") + ")")
        return {"status": "total", **t}

    return run_levels(args, console, "dxa", work, total)


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
