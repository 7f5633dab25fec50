"""Read k6's CSV output (`k6 run --out csv=...`) into the samples the statistics need.

Four metrics matter: `http_reqs` (one row per request), `checks` (1 passed, 0 failed; our scripts
tag each check with the request's name), `successful_request_duration` (the latency in ms of each
request whose checks all passed: our scripts' own metric) and k6's `http_req_duration` (the latency
of every request, used only for CSVs from scripts without the metric above). Setup
requests have no scenario tag and are left out: they prepare data and are not timed.
The file is read in chunks so that a multi-GB CSV needs memory for the kept rows only.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.errors import InputError

REQUIRED_COLUMNS = ["metric_name", "timestamp", "metric_value", "check", "expected_response", "name", "scenario"]
SUCCESS_METRIC = "successful_request_duration"
KEPT_METRICS = ["http_reqs", "http_req_duration", "checks", SUCCESS_METRIC]
CHUNK_ROWS = 2_000_000


def read_samples(path: Path) -> pd.DataFrame:
    """The timed samples of one k6 CSV: columns metric, timestamp (ms), value, ok, name.

    Raises InputError naming the file when it is empty, not k6's CSV, or lacks a column we need.
    """
    _check_header(path)
    chunks = []
    try:
        reader = pd.read_csv(
            path,
            usecols=REQUIRED_COLUMNS,
            # expected_response as text: pandas would otherwise turn "true" into a boolean in some chunks only
            dtype={
                "metric_name": "category",
                "check": "category",
                "expected_response": "string",
                "name": "category",
                "scenario": "category",
            },
            chunksize=CHUNK_ROWS,
            on_bad_lines="skip",
            engine="c",
        )
        for chunk in reader:
            chunk = chunk[chunk["metric_name"].isin(KEPT_METRICS) & chunk["scenario"].notna()]
            chunks.append(chunk)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a readable k6 CSV: {str(exc).splitlines()[0]}") from exc
    if not chunks:
        raise InputError(f"{path}: no rows")
    frame = pd.concat(chunks, ignore_index=True)
    frame["timestamp"] = pd.to_numeric(frame["timestamp"], errors="coerce")
    frame["metric_value"] = pd.to_numeric(frame["metric_value"], errors="coerce")
    frame = frame.dropna(subset=["timestamp", "metric_value", "name"])  # a truncated last line
    frame = frame.assign(ok=frame["expected_response"].str.lower().eq("true").fillna(False).astype(bool))
    return frame.rename(columns={"metric_name": "metric", "metric_value": "value"})[
        ["metric", "timestamp", "value", "ok", "name", "scenario"]
    ]


def _check_header(path: Path) -> None:
    try:
        with path.open("r", errors="replace") as f:
            header = f.readline().strip()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    if not header:
        raise InputError(f"{path}: empty file (k6 wrote nothing: did the run start?)")
    columns = header.split(",")
    if columns[:3] != ["metric_name", "timestamp", "metric_value"]:
        raise InputError(f"{path}: not a k6 CSV (its header starts {header[:60]!r})")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InputError(
            f"{path}: k6 CSV lacks column(s) {', '.join(missing)} (written by an older k6? use the pinned k6)"
        )
