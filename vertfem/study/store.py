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
        final = self.path(record["task_id"])
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

    def failures(self, records: list[dict[str, Any]] | None = None) -> pd.DataFrame:
        """One row per failed task: what, where, which error."""
        cols = ("task_id", "subject", "scan", "kernel", "vertebra", "measure", "error_type", "error_message", "ct",
                "mask")
        recs = self.records() if records is None else records
        return pd.DataFrame([{k: r.get(k) for k in cols} for r in recs if r["status"] == "failed"], columns=cols)

    def consolidate(self, cohort: pd.DataFrame, columns) -> pd.DataFrame:
        """Wide results table: one row per (subject, scan, kernel, vertebra), cohort covariates joined.

        Written to ``results.parquet`` and ``results.csv``; failures to ``failures.csv``.
        """
        recs = self.records()
        keys = ["subject", "scan", "kernel", "vertebra"]
        done = [r for r in recs if r["status"] == "done"]
        rows: dict[tuple, dict[str, Any]] = {}
        for r in done:
            k = tuple(r[c] for c in keys)
            rows.setdefault(k, dict(zip(keys, k)) | {"row": r["row"]}).update(r["values"])
        table = pd.DataFrame(list(rows.values()))
        if len(table):
            cov = cohort.drop(columns=[columns.ct, columns.mask], errors="ignore").copy()
            cov["row"] = cov.index.astype(int)
            extra = [c for c in cov.columns if c not in table.columns or c == "row"]
            table = table.merge(cov[extra], on="row", how="left").drop(columns="row")
            table = table.sort_values(keys).reset_index(drop=True)
        fails = self.failures(recs)
        table.to_csv(self.outdir / "results.csv", index=False)
        if len(table):
            table.to_parquet(self.outdir / "results.parquet", index=False)
        fails.to_csv(self.outdir / "failures.csv", index=False)
        return table
