"""data/: the site's numbers as JSON, for tools that would otherwise scrape its pages.

    data/index.json            what is here: the files, the profiles, the schema version
    data/series-<profile>.json every series of the history of one profile: its runs, and per target x
                               suite x request name x machine x statistic the values by run
    data/change-points.json    every change point, with its acknowledgement if it has one
    data/ab.json               the nightly paired A/B's ratios, and the comparisons of the A/B folders
    data/runs/<run id>.json    what the history keeps of each run the trends show (history-run.html
                               draws it): its source, each pair's status and machine, each request
                               name's statistics
    data/schema.json           the JSON Schema (2020-12) of all of them; docs/data.md explains them

A series' points are [run index, value] pairs into the file's `runs`, which keeps a history of
thousands of runs small. Values are rounded to 5 significant digits, as the history stores them.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd

from analysis.trends import AnalysedHistory, ProfileHistory
from core.layout import SiteFiles
from core.records import HistoryRecord, now_iso
from report.inputs import ABResult

SCHEMA_VERSION = 1
SCHEMA_FILE = Path(__file__).with_name("data-schema.json")
STATISTICS = ("p50_ms", "p95_ms")


def write_data(history: AnalysedHistory, ab: list[ABResult], docs: Path, runs: set[str] = frozenset()) -> Path:
    site = SiteFiles(docs)
    folder = site.data
    (folder / site.RUNS).mkdir(parents=True, exist_ok=True)
    for record in history.store.records:
        if record.run_id in runs:
            _write(site.data_run(record.run_id), _finite(run_data(record)))
    series_files = {t.profile: _write(site.data_series(t.profile), series(t)) for t in history.profiles}
    points = _finite({"schema_version": SCHEMA_VERSION, "change_points": change_points(history)})
    _write(folder / site.CHANGE_POINTS, points)
    _write(folder / site.AB, _finite({"schema_version": SCHEMA_VERSION, **ab_data(history, ab)}))
    shutil.copyfile(SCHEMA_FILE, folder / site.SCHEMA)
    index = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": now_iso(),
        "profiles": list(series_files),
        "files": {
            "series": {profile: path.name for profile, path in series_files.items()},
            "change_points": site.CHANGE_POINTS,
            "ab": site.AB,
            "runs": f"{site.RUNS}/",
            "schema": site.SCHEMA,
        },
    }
    return _write(site.data_index, index)


def series(trend: ProfileHistory) -> dict:
    """One profile's runs and series, the points indexing into the runs."""
    frame = trend.frame
    if frame.empty:
        return {"schema_version": SCHEMA_VERSION, "profile": trend.profile, "runs": [], "series": []}
    ok = frame[frame["status"] == "ok"]
    runs = frame.drop_duplicates("run_id")[["run_id", "commit", "branch", "started_at"]]
    index = pd.Series(range(len(runs)), index=runs["run_id"].to_numpy())
    long = ok.melt(
        id_vars=["run_id", "target", "suite", "name", "machine"],
        value_vars=list(STATISTICS),
        var_name="statistic",
        value_name="value",
    ).dropna(subset=["value"])
    long["run"] = index.reindex(long["run_id"]).to_numpy()
    keys = ["target", "suite", "name", "machine", "statistic"]
    found = [
        dict(zip(keys, key, strict=True)) | {"points": _points(rows)} for key, rows in long.groupby(keys, sort=True)
    ]
    runs = runs.assign(started_at=runs["started_at"].map(lambda t: t.isoformat().replace("+00:00", "Z")))
    return {
        "schema_version": SCHEMA_VERSION,
        "profile": trend.profile,
        "runs": runs.to_dict("records"),
        "series": found,
    }


def run_data(record: HistoryRecord) -> dict:
    """A run as the history keeps it, for history-run.html."""
    pairs = [
        {
            "target": p.target,
            "suite": p.suite,
            "status": str(p.status),
            "server": f"{p.server.label} {p.server.version}",
            "database": f"{p.database.label} {p.database.version or ''}".strip(),
            "machine": p.machine.key,
        }
        for p in record.pairs
    ]
    columns = ("suite", "name", "target", "count", "errors", "p50_ms", "p50_low_ms", "p50_high_ms", "p95_ms", "p99_ms")
    rows = [{c: getattr(r, c) for c in columns} for r in sorted(record.rows, key=lambda r: (r.suite, r.name, r.target))]
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": record.run_id,
        "commit": record.commit,
        "branch": record.branch,
        "dirty": record.dirty,
        "profile": record.profile,
        "started_at": record.started_at,
        "pairs": pairs,
        "rows": rows,
    }


def _points(rows: pd.DataFrame) -> list[tuple[int, float]]:
    """[run index, value] pairs (tuples: JSON writes them as lists, and zip makes them in C)."""
    return list(zip(rows["run"].tolist(), rows["value"].tolist(), strict=True))


def change_points(history: AnalysedHistory) -> list[dict]:
    rows = []
    for point in history.all_points():
        entry = history.acknowledged.get(point.change_id)
        acknowledged = {"reason": entry.reason, "link": entry.link, "by": entry.by, "at": entry.at} if entry else None
        rows.append(point.as_dict() | {"started_at": str(point.started_at), "acknowledged": acknowledged})
    return rows


def ab_data(history: AnalysedHistory, ab: list[ABResult]) -> dict:
    """The nightly A/B's ratios (from the history), and each A/B folder's comparison."""
    nightly = history.ab.assign(started_at=history.ab["started_at"].astype(str)) if not history.ab.empty else history.ab
    return {"nightly": nightly.to_dict("records"), "comparisons": [_comparison(result) for result in ab]}


def _comparison(ab: ABResult) -> dict:
    result = ab.comparison
    rows = [
        {
            "suite": r.suite,
            "mode": r.mode,
            "name": r.name,
            "target_a": r.target_a,
            "target_b": r.target_b,
            "ratio": r.ratio,
            "low": r.low,
            "high": r.high,
            "verdict": str(r.verdict),
        }
        for r in result.rows
    ]
    return {"folder": ab.name, "baseline": result.baseline, "candidate": result.candidate, "rows": rows}


def _write(path: Path, data: dict) -> Path:
    """The file, compact; a NaN that reached it is an error (JSON has none), never invalid JSON."""
    path.write_text(json.dumps(data, separators=(",", ":"), allow_nan=False, default=str))
    return path


def _finite(value: object) -> object:
    """JSON has no NaN or infinity: a missing or unbounded number is null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
