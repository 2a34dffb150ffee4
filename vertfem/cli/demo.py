"""``vertfem demo``: the main job on the bundled example CT."""

from __future__ import annotations

import argparse

from rich.console import Console

from ..data import example_paths

__all__ = ["register"]


def cmd_demo(args: argparse.Namespace, console: Console) -> int:
    """``vertfem analyze`` of the bundled CT (L1 by default, treated as B40f)."""
    from . import build_parser

    paths = example_paths()
    console.print("[bold]vertfem demo[/bold]: bundled example CT (TotalSegmentator test data, 3 mm, treated as B40f)")
    ns = build_parser().parse_args(["analyze", str(paths["ct"]), str(paths["labels"]), "--vertebra", args.vertebra,
                                    "--kernel", "B40f", "-o", args.output])
    return int(ns.func(ns, console))


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``demo``."""
    p = sub.add_parser("demo", help="run the main job (vertfem analyze) on the bundled example CT")
    p.add_argument("--vertebra", default="L1", help="level(s) of the example: L1 … L5 (default L1)")
    p.add_argument("-o", "--output", default="vertfem-demo", help="output folder (default ./vertfem-demo)")
    p.set_defaults(func=cmd_demo)
