"""``vertfem dxa``: per-level and total table, per-level files (parser built as vertfem.cli builds it)."""

from __future__ import annotations

import argparse
import json

from rich.console import Console

from vertfem.cli import dxa


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    dxa.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args, Console(quiet=True))


def test_dxa_command_writes_levels_and_total(example, tmp_path):
    code = _run(["dxa", str(example.paths["ct"]), str(example.paths["labels"]), "--kernel", "B40f",
                 "--pixel-mm", "1.0", "-o", str(tmp_path)])
    assert code == 0
    rows = json.loads((tmp_path / "dxa.json").read_text())
    assert [r["vertebra"] for r in rows] == ["L1", "L2", "L3", "L4", "L1-L4"]
    total = rows[-1]
    assert total["status"] == "total" and abs(total["dxa_abmd_g_cm2"] - 0.4164) < 5e-4
    for lv in ("L1", "L4"):
        assert {p.name for p in (tmp_path / lv).iterdir()} == {"dxa.json", "dxa_projection.nii.gz",
                                                               "dxa_projection.png", "dxa_tbs_projection.nii.gz"}


def test_dxa_command_records_refused_levels(example, tmp_path):
    code = _run(["dxa", str(example.paths["ct"]), str(example.paths["labels"]), "--kernel", "B40f",
                 "--vertebra", "T12,L1", "-o", str(tmp_path)])
    assert code == 3
    rows = json.loads((tmp_path / "dxa.json").read_text())
    assert rows[0]["status"] == "failed" and rows[0]["error_type"] == "VertebraCutByFOVError"
