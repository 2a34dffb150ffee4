"""``vertfem info``: the CT's grid and kernel, and every label with size, extent and FOV cut."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from ..io import read_labels, read_scan
from ..labels import CONVENTIONS
from ..vertebra import list_vertebrae

__all__ = ["register"]


def cmd_info(args: argparse.Namespace, console: Console) -> int:
    """Print the CT's header facts and the label table."""
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


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``info``."""
    p = sub.add_parser("info", help="list the vertebrae of a label map with sizes, extents and FOV cuts")
    p.add_argument("ct")
    p.add_argument("mask")
    p.add_argument("--convention", default="totalsegmentator", choices=sorted(CONVENTIONS))
    p.set_defaults(func=cmd_info)
