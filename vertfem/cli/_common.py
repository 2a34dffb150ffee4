"""What the commands share: the input arguments, preparing the vertebrae, checking outputs before any work."""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..calibration import KernelRegistry, default_registry, load_calibrations
from ..errors import OutputError, VertfemError
from ..provenance import jsonable
from ..vertebra import Vertebra, VertebraOptions, prepare_vertebrae
from ._args import add_options, options_from_args

__all__ = ["add_inputs", "check_output_dir", "prepare_from_args", "write_table"]


def add_inputs(p: argparse.ArgumentParser, *, levels_help: str = "level(s): L1, L1-L4, T12,L1 or all") -> None:
    """CT, label map, levels, kernel/calibration and the vertebra stage's options."""
    p.add_argument("ct", help="CT file (NIfTI/NRRD/MHA) or DICOM series folder")
    p.add_argument("mask", help="label map (TotalSegmentator, VerSe, or a binary mask with --mask-label)")
    p.add_argument("--vertebra", default="L1", help=f"{levels_help} (default L1)")
    p.add_argument("--kernel", default=None,
                   help="reconstruction kernel whose calibration to use, or 'internal' (from the patient's own "
                        "tissues; default: the DICOM header's kernel); built in: "
                        + ", ".join(default_registry()))
    p.add_argument("--calibration", default=None, metavar="YAML",
                   help="calibration file adding kernels (kernels: {NAME: {slope, intercept} | {inserts}})")
    add_options(p, VertebraOptions, title="vertebra options")


def _registry(args: argparse.Namespace) -> KernelRegistry | None:
    return load_calibrations(args.calibration) if args.calibration else None


def prepare_from_args(args: argparse.Namespace) -> dict[str, Vertebra | VertfemError]:
    """Every requested level, prepared (or the error that refused it)."""
    opts = options_from_args(VertebraOptions, args, where="vertebra options")
    return prepare_vertebrae(args.ct, args.mask, args.vertebra, kernel=args.kernel, registry=_registry(args),
                             options=opts)


def check_output_dir(path: str | Path | None) -> Path | None:
    """Make sure an output folder can be written before any work is done.

    Raises
    ------
    OutputError
        The path is an existing file, or the folder cannot be created or written.
    """
    if path is None:
        return None
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise OutputError(f"output {p} is an existing file; -o/--output names a folder (give a new or existing folder)")
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=p, prefix=".vertfem-write-test-"):
            pass
    except OSError as exc:
        raise OutputError(f"cannot write to the output folder {p}: {exc.strerror or exc}") from exc
    return p


def write_table(rows: Iterable[dict[str, Any]], folder: Path, stem: str) -> dict[str, Path]:
    """Write rows as ``<stem>.csv`` and ``<stem>.json`` (columns: the union of all rows' keys, in first-seen order)."""
    rows = list(rows)
    cols: dict[str, None] = {}
    for r in rows:
        cols.update(dict.fromkeys(r))
    csv_path, json_path = folder / f"{stem}.csv", folder / f"{stem}.json"
    with open(csv_path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(cols), restval="")
        w.writeheader()
        for r in rows:
            w.writerow(jsonable(r))
    json_path.write_text(json.dumps(jsonable(rows), indent=2))
    return {"csv": csv_path, "json": json_path}
