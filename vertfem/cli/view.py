"""``vertfem view``: a result (.vtu) coloured by a field, on screen or to a PNG."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from ..errors import OutputError, UnknownFieldError

__all__ = ["register"]


def cmd_view(args: argparse.Namespace, console: Console) -> int:
    """Show or render one field of a result file."""
    path = Path(args.result)
    if not path.is_file():
        raise OutputError(f"no result file {path}; give a .vtu written by vertfem analyze/fe/mesh")
    if path.suffix.lower() != ".vtu":
        raise UnknownFieldError(f"{path} is not a VTU result (suffix {path.suffix or 'none'}); vertfem view shows the "
                                "result.vtu written by vertfem analyze or fe, or a mesh written by vertfem mesh")
    from .. import viz

    grid = viz.result_grid(path)
    fields = viz.available_fields(grid)
    # "von_mises" → "von_mises_MPa": a unique prefix is enough
    matches = [args.field] if args.field in fields else [f for f in fields if f.startswith(args.field)]
    if len(matches) != 1:
        raise UnknownFieldError(f"field {args.field!r} is not in {path}" + (" (ambiguous)" if matches else "")
                                + f"; available: {', '.join(fields)}")
    field = matches[0]
    out = viz.plot_field(grid, field, clip=args.clip, deformed_scale=args.deformed, screenshot=args.screenshot)
    if args.screenshot:
        console.print(f"{field} → {out}")
    else:
        out.show()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``view``."""
    p = sub.add_parser("view", help="show a result (.vtu) coloured by a field; --screenshot renders to PNG")
    p.add_argument("result", help="result.vtu written by analyze/fe (or a mesh .vtu)")
    p.add_argument("--field", default="von_mises_MPa", help="field name or unique prefix (default von_mises_MPa)")
    p.add_argument("--clip", default=None, choices=["sagittal", "frontal", "axial"], help="cut through the frame")
    p.add_argument("--deformed", type=float, default=0.0, help="draw the deformed shape, displacement × this")
    p.add_argument("--screenshot", default=None, help="render off screen to this PNG instead of a window")
    p.set_defaults(func=cmd_view)
