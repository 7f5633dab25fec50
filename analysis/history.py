"""The history store: one small gzipped JSON file per benchmark run, append-only; and one per
paired A/B (`<history>/ab/...`), whose ratios the nightly adds night after night.

Layout: `<history>/runs/<YYYY>/<MM>/<run id>.json.gz`, each a `HistoryRecord` (see
`core/records.py`): the run's identity (commit, branch, time, profile), each target x suite's
status, versions and machine, and one row per target x suite x request name with its statistics
and a sketch of its latency distribution (21 quantiles), enough to redraw trends and to
bootstrap a comparison without the raw CSVs, which stay with the run's artifacts. Monthly folders
keep directories small. A run's file only ever gains pairs (CI's jobs of one workflow run share
its run id): recording it twice changes nothing, and CI can keep the folder on a data branch.
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
from core.layout import HistoryFiles, ab_folders
from core.paths import write_atomically
from core.records import (
    IMPORTED,
    ABHistoryRecord,
    ABMetadata,
    Comparison,
    HistoryRecord,
    Record,
    StatRow,
    Status,
    Verdict,
)

SKETCH_QUANTILES = [0.01, *[round(q / 100, 4) for q in range(5, 100, 5)], 0.99]


@dataclass
class History:
    """All readable runs of a history folder, and a warning for each file that was not."""

    records: list[HistoryRecord]
    warnings: list[str] = field(default_factory=list)

    def frame(self, profile: str | None = None) -> pd.DataFrame:
        """One row per run x target x suite x request name, oldest run first (of one profile, if
        given), with the status and the machine of its pair."""
        rows = []
        for record in self.records:
            if profile is not None and record.profile != profile:
                continue
            run = {"run_id": record.run_id, "commit": record.commit, "branch": record.branch}
            run |= {"started_at": record.started_at, "profile": record.profile}
            pairs = {
                (p.target, p.suite): {"status": str(p.status), "machine": record.machine_of(p.target, p.suite)}
                for p in record.pairs
            }
            unknown = {"status": "unknown", "machine": "unknown machine"}
            for row in record.rows:
                rows.append(run | pairs.get((row.target, row.suite), unknown) | vars(row))
        frame = pd.DataFrame(rows)
        if frame.empty:
            return frame
        frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
        return frame.sort_values(["started_at", "run_id"], kind="stable").reset_index(drop=True)

    def latest(self, branch: str | None = None, profile: str | None = None) -> HistoryRecord:
        """The newest run (on `branch`, of `profile`, if given)."""
        runs = [r for r in self.records if branch in (None, r.branch) and profile in (None, r.profile)]
        if not runs:
            where = (f" on branch {branch}" if branch else "") + (f" of profile {profile}" if profile else "")
            raise InputError(f"the history has no run{where} yet")
        return max(runs, key=lambda r: (r.started_at, r.run_id))

    def baseline(
        self, branch: str | None, profile: str, targets: set[str], exclude: set[str], machines: set[str] = frozenset()
    ) -> HistoryRecord:
        """What a run of `profile` and `targets` is compared with: the newest complete run of `branch`
        of the same profile sharing a target with it, other than the runs in `exclude` (the run
        itself, so that it is never compared with itself, whether or not it is recorded yet). Of
        those, one that ran on the same `machines` is preferred: machines differ by more than code."""
        runs = [
            r
            for r in self.records
            if branch in (None, r.branch) and r.profile == profile and r.complete and r.targets & targets
        ]
        runs = [r for r in runs if r.run_id not in exclude]
        runs = [r for r in runs if r.machines <= machines] or runs
        if not runs:
            raise InputError(
                f"the history has no complete run of {branch or 'any branch'} with profile {profile} and any of the "
                f"targets {', '.join(sorted(targets))} yet"
            )
        return max(runs, key=lambda r: (r.started_at, r.run_id))

    def profiles(self) -> list[str]:
        """The profiles the history holds, the newest run's first: each has its own trends."""
        newest = {}
        for r in self.records:
            newest[r.profile] = max(newest.get(r.profile, ""), r.started_at)
        return sorted(newest, key=newest.get, reverse=True)

    def run(self, run_id: str) -> HistoryRecord:
        for record in self.records:
            if record.run_id == run_id:
                return record
        raise InputError(f"run id {run_id!r} is not in the history")


def run_path(history: Path, run_id: str) -> Path:
    return HistoryFiles(history).run(run_id)


def build_records(result: FolderSummary) -> list[HistoryRecord]:
    """One history record per run id found in a summarised output folder."""
    records = []
    for run_id in result.run_ids:
        pairs = [p for p in result.pairs if p.meta.run_id == run_id and p.meta.mode != IMPORTED]
        if not pairs:  # imported k6 CSVs: reported, never recorded as if this suite had made them
            continue
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
    """Add the runs of `result` to `history`; returns (run id, what happened) for each.

    A run already recorded gains the pairs it lacks (CI's jobs of one workflow run share a run
    id, and each may be recorded on its own); a pair already recorded is never rewritten, so
    recording the same folder again changes nothing, except that a pair which did not finish is
    replaced by a finished one of the same run id (a re-run job repairing its run)."""
    outcomes = []
    for rec in build_records(result):
        path = run_path(history, rec.run_id)
        if not path.exists():
            _write(path, rec)
            outcomes.append((rec.run_id, f"recorded in {path}"))
            continue
        kept = _read(path)
        merged = kept.merged(rec)
        if merged is kept:
            outcomes.append((rec.run_id, "already recorded"))
            continue
        _write(path, merged)
        added = len(merged.pairs) - len(kept.pairs)
        outcomes.append((rec.run_id, f"added {added} pair(s), repaired {_repaired(kept, merged)} in {path}"))
    return outcomes


def _repaired(before: HistoryRecord, after: HistoryRecord) -> int:
    """How many pairs that had not finished now have."""
    status = {(p.target, p.suite): p.status for p in before.pairs}
    return sum(p.status == Status.OK and status.get((p.target, p.suite), Status.OK) != Status.OK for p in after.pairs)


def ab_path(history: Path, ab_id: str) -> Path:
    return HistoryFiles(history).ab(ab_id)


def record_ab(ab_outputs: Path, history: Path) -> list[tuple[str, str]]:
    """Add each paired A/B under `ab_outputs` (a folder holding ab.json and comparison.json) to the
    history, so that the nightly's ratios form a series; returns (A/B id, what happened) for each."""
    outcomes = []
    for files in ab_folders(ab_outputs):
        if not files.comparison.exists():
            outcomes.append((files.folder.name, f"no {files.comparison.name} (the A/B was not judged): not recorded"))
            continue
        meta = ABMetadata.read(files.metadata)
        path = ab_path(history, meta.ab_id)
        if path.exists():
            outcomes.append((meta.ab_id, "already recorded"))
            continue
        comparison = Comparison.read(files.comparison)
        rec = ABHistoryRecord(
            meta.ab_id, meta.started_at, meta.status, meta.baseline, meta.candidate, meta.provenance, comparison
        )
        _write(path, rec)
        outcomes.append((meta.ab_id, f"recorded in {path}"))
    return outcomes


def load_ab(history: Path) -> tuple[list[ABHistoryRecord], list[str]]:
    """Every paired A/B of the history, and a warning naming each file that could not be read."""
    records, warnings = [], []
    for path in HistoryFiles(history).abs():
        try:
            records.append(ABHistoryRecord.from_json(_json(path), str(path)))
        except InputError as exc:
            warnings.append(f"{exc}; skipped")
    return records, warnings


def ab_frame(records: list[ABHistoryRecord]) -> pd.DataFrame:
    """One row per A/B x request name with a verdict: its ratio B/A and interval, oldest first."""
    rows = [
        {
            "ab_id": rec.ab_id,
            "started_at": rec.started_at,
            "revision": rec.revision,
            "server": rec.candidate.server.name,
            "series": f"{rec.candidate.target} (B) against {rec.baseline.target} (A)",
            "suite": row.suite,
            "name": row.name,
            "ratio": row.ratio,
            "low": row.low,
            "high": row.high,
            "verdict": str(row.verdict),
        }
        for rec in records
        for row in rec.comparison.rows
        if row.verdict != Verdict.NO_VERDICT
    ]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
    return frame.sort_values(["started_at", "ab_id"], kind="stable").reset_index(drop=True)


def _write(path: Path, rec: Record) -> None:
    data = gzip.compress(json.dumps(rec.to_json(), sort_keys=True, separators=(",", ":")).encode(), mtime=0)
    write_atomically(path, lambda tmp: tmp.write_bytes(data))


def load(history: Path, latest: int | None = None) -> History:
    """Every run of the history (or its `latest` runs: files are named by run id, which starts with
    the time); a corrupt file or one of an unknown schema is a warning naming it, and skipped."""
    records, warnings = [], []
    paths = HistoryFiles(history).runs()
    for path in paths[-latest:] if latest else paths:
        try:
            records.append(_read(path))
        except InputError as exc:
            warnings.append(f"{exc}; skipped")
    return History(records, warnings)


def _read(path: Path) -> HistoryRecord:
    return HistoryRecord.from_json(_json(path), str(path))


def _json(path: Path) -> object:
    try:
        return json.loads(gzip.decompress(path.read_bytes()))
    except (OSError, EOFError, ValueError) as exc:
        raise InputError(f"{path}: corrupt history file ({type(exc).__name__})") from exc


def complete(record: HistoryRecord) -> list[StatRow]:
    """The rows of a run's complete pairs (status ok): the only ones statistics may use."""
    return [r for r in record.rows if record.status_of(r.target, r.suite) == Status.OK]
