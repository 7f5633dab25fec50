"""The history store: one small gzipped JSON file per benchmark run, append-only.

Layout: `<history>/runs/<YYYY>/<MM>/<run id>.json.gz`. A file holds the run's identity (commit,
branch, time, profile, machine), each target x suite's status and versions, and one row per
target x suite x request name with its statistics and a sketch of its latency distribution (21
quantiles), enough to redraw trends and to bootstrap a comparison without the raw CSVs, which stay
with the run's artifacts. Monthly folders keep directories small; a run is never rewritten, so
recording it twice changes nothing, and CI can keep the folder on a data branch.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.summarise import STAT_COLUMNS, FolderSummary
from bench.errors import InputError

SCHEMA_VERSION = 1
SKETCH_QUANTILES = [0.01, *[round(q / 100, 4) for q in range(5, 100, 5)], 0.99]


@dataclass
class History:
    """All readable runs of a history folder, and a warning for each file that was not."""

    records: list[dict]
    warnings: list[str] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """One row per run x target x suite x request name, oldest run first."""
        rows = []
        for record in self.records:
            run = {k: record[k] for k in ("run_id", "commit", "branch", "started_at", "profile")}
            statuses = {(p["target"], p["suite"]): p["status"] for p in record["pairs"]}
            for row in record["rows"]:
                rows.append({**run, "status": statuses.get((row["target"], row["suite"]), "unknown"), **row})
        frame = pd.DataFrame(rows)
        if frame.empty:
            return frame
        frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
        return frame.sort_values(["started_at", "run_id"], kind="stable").reset_index(drop=True)

    def latest(self, branch: str | None = None) -> dict:
        """The newest run (on `branch`, if given)."""
        runs = [r for r in self.records if branch is None or r.get("branch") == branch]
        if not runs:
            raise InputError(f"the history has no run{' on branch ' + branch if branch else ''} yet")
        return max(runs, key=lambda r: (r["started_at"], r["run_id"]))

    def run(self, run_id: str) -> dict:
        for record in self.records:
            if record["run_id"] == run_id:
                return record
        raise InputError(f"run id {run_id!r} is not in the history")


def run_path(history: Path, run_id: str) -> Path:
    return history / "runs" / run_id[:4] / run_id[4:6] / f"{run_id}.json.gz"


def build_records(result: FolderSummary) -> list[dict]:
    """One history record per run id found in a summarised output folder."""
    records = []
    for run_id in sorted({p.metadata["run_id"] for p in result.pairs}):
        pairs = [p for p in result.pairs if p.metadata["run_id"] == run_id]
        first = min((p.metadata for p in pairs), key=lambda m: m["started_at"])
        rows = result.summary[result.summary["run_id"] == run_id]
        sketches = result.quantiles[
            (result.quantiles["run_id"] == run_id) & result.quantiles["quantile"].round(4).isin(SKETCH_QUANTILES)
        ]
        records.append(
            {
                "schema_version": SCHEMA_VERSION,
                "run_id": run_id,
                "commit": first["source"]["commit"],
                "branch": first["source"]["branch"],
                "dirty": first["source"].get("dirty", False),
                "started_at": first["started_at"],
                "profile": first["profile"],
                "machine": first["machine"],
                "k6_version": first["k6_version"],
                "pairs": [_pair(p.metadata) for p in pairs],
                "rows": [_row(r, sketches) for r in rows.to_dict("records")],
            }
        )
    return records


def _pair(meta: dict) -> dict:
    keep = ("target", "suite", "status", "error", "server", "database", "server_start_seconds", "ended_at")
    return {k: meta.get(k) for k in keep}


def _row(row: dict, sketches: pd.DataFrame) -> dict:
    out = {"target": row["target"], "suite": row["suite"], "name": row["name"]}
    for column in STAT_COLUMNS:
        value = row[column]
        out[column] = None if pd.isna(value) else float(f"{value:.5g}")
    key = (
        (sketches["target"] == row["target"]) & (sketches["suite"] == row["suite"]) & (sketches["name"] == row["name"])
    )
    match = sketches[key]
    out["sketch_ms"] = [float(f"{v:.5g}") for v in match.sort_values("quantile")["latency_ms"]]
    return out


def record(result: FolderSummary, history: Path) -> list[tuple[str, str]]:
    """Append the runs of `result` to `history`; returns (run id, what happened) for each."""
    outcomes = []
    for rec in build_records(result):
        path = run_path(history, rec["run_id"])
        data = gzip.compress(json.dumps(rec, sort_keys=True, separators=(",", ":")).encode(), mtime=0)
        if path.exists():
            same = path.read_bytes() == data
            outcomes.append((rec["run_id"], "already recorded" if same else "already recorded (kept the first record)"))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.rename(path)
        outcomes.append((rec["run_id"], f"recorded in {path}"))
    return outcomes


def load(history: Path) -> History:
    """Every run of the history; a corrupt or unknown-schema file is a warning naming it, and skipped."""
    records, warnings = [], []
    for path in sorted((history / "runs").glob("*/*/*.json.gz")):
        try:
            rec = json.loads(gzip.decompress(path.read_bytes()))
        except (OSError, EOFError, ValueError) as exc:
            warnings.append(f"{path}: corrupt history file ({type(exc).__name__}); skipped")
            continue
        if not isinstance(rec, dict) or rec.get("schema_version") != SCHEMA_VERSION:
            version = rec.get("schema_version") if isinstance(rec, dict) else None
            warnings.append(f"{path}: unknown history schema version {version!r} (expected {SCHEMA_VERSION}); skipped")
            continue
        if not {"run_id", "rows", "pairs", "started_at"} <= rec.keys():
            warnings.append(f"{path}: history record lacks required fields; skipped")
            continue
        records.append(rec)
    return History(records, warnings)
