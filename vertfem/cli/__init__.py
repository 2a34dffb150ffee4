"""Command-line interface: ``vertfem <command> ...``.

A thin layer over the library, one module per command (the meshio ``_cli``
layout). The measure commands are generated from the measure registry and
their options from the options models, so every option has the same name and
bounds as in Python and in the study YAML. ``main(argv)`` returns an exit code
so tests can call it directly: 0 ok, 1 a vertfem error (its class and message
printed), 2 a usage error, 3 a run that finished with failed items (recorded
in its table).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Sequence

from rich.console import Console

from .._version import __version__
from ..errors import VertfemError
from ..measures import MEASURES
from . import analyze, calibrate, demo, dl, dxa, info, measure, mesh, study, view

__all__ = ["build_parser", "main", "run"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(prog="vertfem", description="CT-based finite-element analysis of vertebrae")
    parser.add_argument("--version", action="version", version=f"vertfem {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    info.register(sub)
    for name in MEASURES:
        if name not in ("dxa", "dl"):  # their commands have their own modules (several levels, train/predict)
            measure.register(sub, name)
    dxa.register(sub)
    dl.register(sub)
    analyze.register(sub)
    mesh.register(sub)
    calibrate.register(sub)
    study.register(sub)
    view.register(sub)
    demo.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 vertfem error, 2 usage, 3 finished with failed items, 130 Ctrl-C)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    console = Console(soft_wrap=True)  # whole lines in logs and pipes: no wrapping at 80 columns
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            return int(args.func(args, console) or 0)
    except VertfemError as exc:
        console.print(f"[red]error ({type(exc).__name__}):[/red] {exc}")
        return 1
    except KeyboardInterrupt:  # a study says itself what was recorded (StudyInterrupted); other commands stop here
        console.print("[yellow]interrupted[/yellow]")
        return 130


def run() -> None:
    """Console entry point: :func:`main`, then exit without the interpreter's teardown.

    With SciPy, VTK, numba, gmsh and MKL loaded, Python's module and object
    teardown takes 0.5–0.8 s after the work is done (measured on the bundled
    L1); every command has closed its files by then, so output and logs are
    flushed and the process ends at once.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)
