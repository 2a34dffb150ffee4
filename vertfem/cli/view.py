"""``vertfem view``: a result (.vtu) coloured by a field, on screen or to a PNG ready for a figure.

The view options (colour range, colour map, camera, window size, dpi, title,
…) are generated from :class:`~vertfem.viz.ViewOptions`, so they have the
same names and bounds as in Python.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from ..errors import OutputError, UnknownFieldError
from ..viz.options import ViewOptions
from ._args import add_options, options_from_args

__all__ = ["register"]

_DEFORMED_DEST = "opt__ViewOptions__deformed_scale"


def _screenshot_target(value: str | None) -> Path | None:
    """The PNG to write, checked before any rendering."""
    if value is None:
        return None
    out = Path(value)
    if out.suffix.lower() != ".png":
        raise OutputError(f"--screenshot {out}: vertfem view writes PNG images; give a file name ending in .png")
    if out.is_dir():
        raise OutputError(f"--screenshot {out} is a folder; give a file name ending in .png")
    return out


def cmd_view(args: argparse.Namespace, console: Console) -> int:
    """Show or render one field of a result file."""
    path = Path(args.result)
    if not path.is_file():
        raise OutputError(f"no result file {path}; give a .vtu written by vertfem analyze/fe/mesh")
    if path.suffix.lower() != ".vtu":
        raise UnknownFieldError(f"{path} is not a VTU result (suffix {path.suffix or 'none'}); vertfem view shows the "
                                "result.vtu written by vertfem analyze or fe, or a mesh written by vertfem mesh")
    out = _screenshot_target(args.screenshot)
    options = options_from_args(ViewOptions, args, where="view options")
    from .. import viz

    grid = viz.result_grid(path)
    fields = viz.available_fields(grid)
    # "von_mises" → "von_mises_MPa": a unique prefix is enough
    matches = [args.field] if args.field in fields else [f for f in fields if f.startswith(args.field)]
    if len(matches) != 1:
        raise UnknownFieldError(f"field {args.field!r} is not in {path}" + (" (ambiguous)" if matches else "")
                                + f"; available: {', '.join(fields)}")
    field = matches[0]
    shown = viz.plot_field(grid, field, options=options, screenshot=out)
    if isinstance(shown, Path):
        console.print(f"{field} → {shown} ({options.dpi} dpi)")
    else:
        shown.show()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``view``."""
    p = sub.add_parser("view", help="show a result (.vtu) coloured by a field; --screenshot renders to PNG",
                       description="Show a result coloured by a field, or render it off screen to a PNG "
                                   "(--screenshot) with a title, orientation triad, scalar bar and legend.")
    p.add_argument("result", help="result.vtu written by analyze/fe (or a mesh .vtu)")
    p.add_argument("--field", default="von_mises_MPa", help="field name or unique prefix (default von_mises_MPa)")
    p.add_argument("--screenshot", default=None, help="render off screen to this PNG instead of a window")
    p.add_argument("--deformed", dest=_DEFORMED_DEST, type=float, default=None, metavar="SCALE",
                   help="short for --deformed-scale: draw the deformed shape, displacement × this")
    add_options(p, ViewOptions, title="view options")
    p.set_defaults(func=cmd_view)
