"""The history store: one small gzipped JSON file per benchmark run, append-only.

Layout: `<history>/runs/<YYYY>/<MM>/<run id>.json.gz`, each a `HistoryRecord` (see
`core/records.py`): the run's identity (commit, branch, time, profile), each target x suite's
status, versions and machine, and one row per target x suite x request name with its statistics
and a sketch of its latency distribution (21 quantiles), enough to redraw trends and to
bootstrap a comparison without the raw CSVs, which stay with the run's artifacts. Monthly folders
keep directories small; a run is never rewritten, so recording it twice changes nothing, and CI
can keep the folder on a data branch.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.summarise import STAT_COLUMNS, FolderSummary, PairSummary
from core.errors import InputError
from core.records import HistoryRecord, StatRow, Status

SKETCH_QUANTILES = [0.01, *[round(q / 100, 4) for q in range(5, 100, 5)], 0.99]


@dataclass
class History:
    """All readable runs of a history folder, and a warning for each file that was not."""

    records: list[HistoryRecord]
    warnings: list[str] = field(default_factory=list)

    def frame(self, profile: str | None = None) -> pd.DataFrame:
        """One row per run x target x suite x request name, oldest run first (of one profile, if given)."""
        rows = []
        for record in self.records:
            if profile is not None and record.profile != profile:
                continue
            run = {"run_id": record.run_id, "commit": record.commit, "branch": record.branch}
            run |= {"started_at": record.started_at, "profile": record.profile}
            for row in record.rows:
                status = record.status_of(row.target, row.suite) or "unknown"
                rows.append(run | {"status": str(status)} | vars(row))
        frame = pd.DataFrame(rows)
        if frame.empty:
            return frame
        frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
        return frame.sort_values(["started_at", "run_id"], kind="stable").reset_index(drop=True)

    def latest_profile(self) -> str:
        """The profile of the newest run: trends show one profile, since profiles are not comparable."""
        return self.latest().profile if self.records else ""

    def latest(self, branch: str | None = None) -> HistoryRecord:
        """The newest run (on `branch`, if given)."""
        runs = [r for r in self.records if branch is None or r.branch == branch]
        if not runs:
            raise InputError(f"the history has no run{' on branch ' + branch if branch else ''} yet")
        return max(runs, key=lambda r: (r.started_at, r.run_id))

    def run(self, run_id: str) -> HistoryRecord:
        for record in self.records:
            if record.run_id == run_id:
                return record
        raise InputError(f"run id {run_id!r} is not in the history")


def run_path(history: Path, run_id: str) -> Path:
    return history / "runs" / run_id[:4] / run_id[4:6] / f"{run_id}.json.gz"


def build_records(result: FolderSummary) -> list[HistoryRecord]:
    """One history record per run id found in a summarised output folder."""
    records = []
    for run_id in result.run_ids:
        pairs = [p for p in result.pairs if p.meta.run_id == run_id]
        first = min((p.meta for p in pairs), key=lambda m: m.started_at)
        records.append(
            HistoryRecord(
                run_id=run_id,
                commit=first.source.commit,
                branch=first.source.branch,
                dirty=first.source.dirty,
                started_at=first.started_at,
                profile=first.profile,
                pairs=tuple(dataclasses.replace(p.meta, status=p.status) for p in pairs),
                rows=tuple(row for p in pairs for row in _rows(p)),
            )
        )
    return records


def _rows(pair: PairSummary) -> list[StatRow]:
    sketches = pair.quantiles[pair.quantiles["quantile"].round(4).isin(SKETCH_QUANTILES)]
    rows = []
    for row in pair.stats.to_dict("records"):
        values = {c: None if pd.isna(row[c]) else float(f"{row[c]:.5g}") for c in STAT_COLUMNS}
        sketch = sketches[sketches["name"] == row["name"]].sort_values("quantile")["latency_ms"]
        rows.append(
            StatRow(
                pair.target, pair.suite, str(row["name"]), **values, sketch_ms=tuple(float(f"{v:.5g}") for v in sketch)
            )
        )
    return rows


def record(result: FolderSummary, history: Path) -> list[tuple[str, str]]:
    """Append the runs of `result` to `history`; returns (run id, what happened) for each."""
    outcomes = []
    for rec in build_records(result):
        path = run_path(history, rec.run_id)
        data = gzip.compress(json.dumps(rec.to_json(), sort_keys=True, separators=(",", ":")).encode(), mtime=0)
        if path.exists():
            same = path.read_bytes() == data
            outcomes.append((rec.run_id, "already recorded" if same else "already recorded (kept the first record)"))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.rename(path)
        outcomes.append((rec.run_id, f"recorded in {path}"))
    return outcomes


def load(history: Path) -> History:
    """Every run of the history; a corrupt file or one of an unknown schema is a warning naming it, and skipped."""
    records, warnings = [], []
    for path in sorted((history / "runs").glob("*/*/*.json.gz")):
        try:
            data = json.loads(gzip.decompress(path.read_bytes()))
        except (OSError, EOFError, ValueError) as exc:
            warnings.append(f"{path}: corrupt history file ({type(exc).__name__}); skipped")
            continue
        try:
            records.append(HistoryRecord.from_json(data, str(path)))
        except InputError as exc:
            warnings.append(f"{exc}; skipped")
    return History(records, warnings)


def complete(record: HistoryRecord) -> list[StatRow]:
    """The rows of a run's complete pairs (status ok): the only ones statistics may use."""
    return [r for r in record.rows if record.status_of(r.target, r.suite) == Status.OK]
