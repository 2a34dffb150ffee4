"""Result store of a study: one JSON record per task, written atomically, plus consolidated tables."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["ResultStore"]


class ResultStore:
    """Records under ``<output>/records/<task_id>.json``.

    A record is written to a temporary file in the same folder and renamed
    over the final name, so a killed process leaves either the old record or
    the new one, never half of one.
    """

    def __init__(self, outdir: str | Path) -> None:
        self.outdir = Path(outdir)
        self.records_dir = self.outdir / "records"
        self.records_dir.mkdir(parents=True, exist_ok=True)

    def path(self, task_id: str) -> Path:
        return self.records_dir / f"{task_id}.json"

    def write(self, record: dict[str, Any]) -> Path:
        """Write a task's record atomically; a finished record of other settings moves to ``superseded/``."""
        final = self.path(record["task_id"])
        old = self.read(record["task_id"])
        if old and old.get("status") == "done" and old.get("settings_sha256") != record.get("settings_sha256"):
            keep = self.records_dir / "superseded" / f"{record['task_id']}.{str(old.get('settings_sha256'))[:12]}.json"
            keep.parent.mkdir(exist_ok=True)
            os.replace(final, keep)
        fd, tmp = tempfile.mkstemp(dir=self.records_dir, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(record, f, indent=1, default=str)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
        return final

    def read(self, task_id: str) -> dict[str, Any] | None:
        p = self.path(task_id)
        return json.loads(p.read_text()) if p.exists() else None

    def records(self) -> list[dict[str, Any]]:
        # temporary files of a write that was killed start with a dot and are never read
        return [json.loads(p.read_text()) for p in sorted(self.records_dir.glob("[!.]*.json"))]

    def status(self) -> dict[str, str]:
        """task_id → done/failed for every stored record."""
        return {r["task_id"]: r["status"] for r in self.records()}

    def done_settings(self) -> dict[str, str | None]:
        """task_id → settings hash of every finished record."""
        return {r["task_id"]: r.get("settings_sha256") for r in self.records() if r["status"] == "done"}

    def failures(self, records: list[dict[str, Any]] | None = None) -> pd.DataFrame:
        """One row per failed task: what, where, which error."""
        cols = ("task_id", "subject", "scan", "kernel", "vertebra", "measure", "error_type", "error_message", "ct",
                "mask")
        recs = self.records() if records is None else records
        return pd.DataFrame([{k: r.get(k) for k in cols} for r in recs if r["status"] == "failed"], columns=cols)

    def consolidate(self, cohort: pd.DataFrame, columns: Any, tasks: list[Any] | None = None) -> pd.DataFrame:
        """Wide results table: one row per (subject, scan, kernel, vertebra), cohort covariates joined.

        Only records of ``tasks`` (the current plan) with their current settings enter it; flags of the row's
        measures are united. Written to ``results.parquet`` and ``results.csv``; failures to ``failures.csv``.
        """
        recs = self.records()
        if tasks is not None:
            current = {t.task_id: t.settings_sha256 for t in tasks}
            recs = [r for r in recs if r["task_id"] in current
                    and (r["status"] != "done" or r.get("settings_sha256") == current[r["task_id"]])]
        keys = ["subject", "scan", "kernel", "vertebra"]
        done = [r for r in recs if r["status"] == "done"]
        rows: dict[tuple, dict[str, Any]] = {}
        for r in done:
            k = tuple(r[c] for c in keys)
            row = rows.setdefault(k, dict(zip(keys, k)) | {"row": r["row"], "flags": "", "cut_by_fov": False})
            values = dict(r["values"])
            flags = {f for f in (row["flags"] + ";" + str(values.pop("flags", "") or "")).split(";") if f}
            row["cut_by_fov"] = bool(row["cut_by_fov"] or values.pop("cut_by_fov", False))
            row.update(values)
            row["flags"] = ";".join(sorted(flags))
        table = pd.DataFrame(list(rows.values()))
        if len(table):
            # the cohort's own identity columns are already in the table under their canonical names
            ident = [columns.ct, columns.mask, columns.subject, columns.scan, columns.kernel, columns.vertebra]
            cov = cohort.drop(columns=ident, errors="ignore").copy()
            cov["row"] = cov.index.astype(int)
            extra = [c for c in cov.columns if c not in table.columns or c == "row"]
            table = table.merge(cov[extra], on="row", how="left").drop(columns="row")
            table = table.sort_values(keys).reset_index(drop=True)
            table = _with_level_checks(table, tasks)
        fails = self.failures(recs)
        table.to_csv(self.outdir / "results.csv", index=False)
        if len(table):
            table.to_parquet(self.outdir / "results.parquet", index=False)
        fails.to_csv(self.outdir / "failures.csv", index=False)
        return table


def _with_level_checks(table: pd.DataFrame, tasks: list[Any] | None) -> pd.DataFrame:
    """The per-level plausibility checks of ``vertfem analyze``, per scan (subject, scan, kernel), on FE rows.

    Levels of one scan are compared with each other (:func:`~vertfem.fe.plausibility.check_levels`), so the
    study's table carries the same ``plausibility_*`` columns and flags as the CLI's levels table.
    """
    from ..fe.plausibility import check_levels
    from ..materials import get_law

    if "stiffness_N_per_mm" not in table.columns:
        return table
    law = next((t.settings["options"].get("law") for t in tasks or () if t.measure == "fe"), None)
    spec = get_law(law or "morgan2003-vertebra")
    exponent = spec.b if spec.form == "power" else 1.0
    out = []
    for _, scan in table.groupby(["subject", "scan", "kernel"], sort=False):
        rows = {str(r["vertebra"]): r.to_dict() for _, r in scan.iterrows() if pd.notna(r["stiffness_N_per_mm"])}
        checks = check_levels(rows, law_exponent=exponent)
        scan = scan.copy()
        for i, r in scan.iterrows():
            check = checks.get(str(r["vertebra"]))
            if check is None:
                continue
            for col, value in check.row().items():
                scan.loc[i, col] = value
            if check.flags:
                codes = {*str(r.get("flags") or "").split(";"), *(f.code for f in check.flags)} - {"", "nan"}
                scan.loc[i, "flags"] = ";".join(sorted(codes))
        out.append(scan)
    return pd.concat(out).loc[table.index]
