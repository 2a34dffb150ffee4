"""The measure commands (``vbmd``, ``fe``, ``focal``, ``texture``): one generic command per registry entry."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from ..errors import VertfemError
from ..measures import MEASURES, Measure, MeasureResult, table_row
from ._args import add_options, options_from_args
from ._common import add_inputs, check_output_dir, prepare_from_args, write_table

__all__ = ["register", "run_levels"]


def _vbmd(r: dict[str, Any]) -> str:
    return (f"trabecular vBMD {r['vbmd_mg_cm3']:.1f} mg/cm³ ({r['acr_class']}, ACR) in {r['vbmd_roi_voxels']} voxels "
            f"eroded {r['vbmd_erosion_mm']:g} mm, kernel {r['kernel']}")


def _fe(r: dict[str, Any]) -> str:
    k, s = r["stiffness_N_per_mm"], r["strength_N"]
    head = f"{r['load_case']}, kernel {r['kernel']}: "
    if k is None:
        return head + f"{r['n_elements']} TET10 (no axial stiffness for this load case)"
    return head + f"stiffness {k:.0f} N/mm, strength {s:.0f} N ({r['strength_definition']}); {r['n_elements']} TET10"


def _fe_nonlinear(r: dict[str, Any]) -> str:
    return (f"{r['load_case']}, kernel {r['kernel']}: nonlinear strength {r['strength_nonlinear_N']:.0f} N at "
            f"{100 * r['apparent_strain_at_strength']:.2f} % apparent strain (linear rule at that strain "
            f"{r['strength_linear_same_strain_N']:.0f} N)"
            + (f", yield at {100 * r['yield_apparent_strain']:.2f} %" if r.get("yield_apparent_strain") else ""))


def _focal(r: dict[str, Any]) -> str:
    return (f"IncptWidth {r['focal_incpt_width_mm_mean']:.2f} mm, "
            f"focal BMD loss {r['focal_bmd_loss_fraction_mean']:.3f}, "
            f"focal BMC loss {r['focal_bmc_loss_fraction_mm_mean']:.3f} (100 % × mm), void fraction "
            f"{r['focal_void_fraction']:.2f} of {r['focal_roi_voxels']} ROI voxels")


def _texture(r: dict[str, Any]) -> str:
    n = len(r) - 3
    return f"{n} texture features ({r['texture_preset']}), kernel {r['kernel'] or 'not recorded'}"


SUMMARY: dict[str, Callable[[dict[str, Any]], str]] = {"vbmd": _vbmd, "fe": _fe, "fe_nonlinear": _fe_nonlinear,
                                                       "focal": _focal, "texture": _texture}


def run_levels(args: argparse.Namespace, console: Console, stem: str,
               work: Callable[[Any], tuple[dict[str, Any], Callable[[Path], Any], str]],
               total: Callable[[], dict[str, Any] | None] | None = None) -> int:
    """Prepare every level, run ``work`` on each, print, save and tabulate; the exit code says what happened.

    ``work(vertebra)`` returns the level's table row, a function saving its files into a folder, and a summary line.
    ``total()``, called after the levels, may return one more row for the table (e.g. DXA's L1–L4 total).
    Returns 0 when every level succeeded, 3 when some were refused (recorded in the table); raises the first
    error when none succeeded.
    """
    out = check_output_dir(args.output)
    rows: list[dict[str, Any]] = []
    errors: list[VertfemError] = []
    for name, v in prepare_from_args(args).items():
        try:
            if isinstance(v, VertfemError):
                raise v
            row, save, line = work(v)
        except VertfemError as exc:
            errors.append(exc)
            rows.append({"vertebra": name, "status": "failed", "error_type": type(exc).__name__,
                         "error_message": str(exc)})
            console.print(f"[red]{name}: {type(exc).__name__}:[/red] {exc}")
            continue
        rows.append({"vertebra": name, "status": "done", **row})
        flags = f" [yellow](flags: {row['flags']})[/yellow]" if row.get("flags") else ""
        if out is not None:
            save(out / name)
        console.print(f"{name}: {line}{flags}" + (f" → {out / name}" if out is not None else ""))
    if errors and len(errors) == len(rows):
        raise errors[0]
    extra = total() if total is not None else None
    if extra is not None:
        rows.append(extra)
    if out is not None:
        paths = write_table(rows, out, stem)
        console.print(f"table → {paths['csv']}")
    return 3 if errors else 0


def _command(measure: Measure) -> Callable[[argparse.Namespace, Console], int]:
    def cmd(args: argparse.Namespace, console: Console) -> int:
        opts = options_from_args(measure.options_model, args, where=f"{measure.name} options")

        def work(v: Any) -> tuple[dict[str, Any], Callable[[Path], Any], str]:
            res: MeasureResult = measure.run(v, opts)
            row = table_row(res)
            return row, res.save, SUMMARY[measure.name](row)

        return run_levels(args, console, measure.name, work)

    return cmd


def register(sub: argparse._SubParsersAction, name: str) -> None:
    """Add the command of measure ``name`` with its options generated from the options model."""
    m = MEASURES[name]
    p = sub.add_parser(name, help=m.title, description=m.title)
    add_inputs(p)
    add_options(p, m.options_model, title=f"{name} options")
    p.add_argument("-o", "--output", default=None,
                   help=f"output folder: <level>/ files and {name}.csv/.json, one row per level")
    p.set_defaults(func=_command(m))
