"""``vertfem analyze``: vBMD and FE of one or several levels, with a per-level table."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from ..fe.options import FEOptions
from ..vbmd import VBMDOptions
from ._args import add_options, options_from_args
from ._common import add_inputs
from .measure import SUMMARY, run_levels

__all__ = ["register", "cmd_analyze"]


def cmd_analyze(args: argparse.Namespace, console: Console) -> int:
    """Run vBMD and FE on every requested level; write ``<output>/<level>/`` and ``levels.csv``/``.json``."""
    from ..analysis import analyze  # the FE stack (gmsh, solvers) loads only when a model is built

    fe_opts = options_from_args(FEOptions, args, where="fe options")
    vb_opts = options_from_args(VBMDOptions, args, where="vbmd options")

    def work(v: Any) -> tuple[dict[str, Any], Callable[[Path], Any], str]:
        a = analyze(v, fe_options=fe_opts, vbmd_options=vb_opts)
        row = a.row()
        return row, a.save, f"{SUMMARY['fe'](row)}; vBMD {row['vbmd_mg_cm3']:.1f} mg/cm³ ({row['acr_class']}), " \
                            f"{row['total_time_s']:.1f} s"

    return run_levels(args, console, "levels", work)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``analyze``."""
    p = sub.add_parser("analyze", help="FE stiffness (N/mm), strength (N) and vBMD of one or several levels",
                       description="vBMD and linear FE of each level; files per level and one table")
    add_inputs(p)
    add_options(p, FEOptions, title="fe options")
    add_options(p, VBMDOptions, exclude=("region",), title="vbmd options")
    p.add_argument("-o", "--output", required=True,
                   help="output folder: <level>/ (result.json, result.vtu, vbmd.json) and levels.csv/.json")
    p.set_defaults(func=cmd_analyze)
