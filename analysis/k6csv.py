"""Read k6's CSV output (`k6 run --out csv=...`) into the samples the statistics need.

Four metrics matter: `http_reqs` (one row per request), `checks` (1 passed, 0 failed; our scripts
tag each check with the request's name), `successful_request_duration` (the latency in ms of each
request whose checks all passed: our scripts' own metric) and k6's `http_req_duration` (the latency
of every request, used only for CSVs from scripts without the metric above). Setup
requests have no scenario tag and are left out: they prepare data and are not timed; so are requests
named `Seed@...`, with which the scale suite grows its store between the sizes it times,
`Segment@...`, with which the VUs of an isolated A/B round meet between request names, and
`Warmup@...`, with which the capacity suite warms the server up before its first step.
The file is read in chunks so that a multi-GB CSV needs memory for the kept rows only.

Impossible values never become statistics. A latency that is negative, not finite, or longer
than the whole file's time span plus k6's request timeout cannot have been measured; such a
sample is marked invalid (`valid` False), counted, and named in a warning. A file whose last row
is cut off (no final newline: k6 was killed mid-write, or the copy was truncated) is marked
truncated; its complete rows are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import InputError

REQUIRED_COLUMNS = ["metric_name", "timestamp", "metric_value", "check", "expected_response", "name", "scenario"]
SUCCESS_METRIC = "successful_request_duration"
LATENCY_METRICS = ["http_req_duration", SUCCESS_METRIC]
# A timed operation that is more than one HTTP request (a training loop of the client suite, a view of
# the ui suite) is counted by an `operations` row, as a request is by k6's `http_reqs` row.
OPERATION_METRICS = ["http_reqs", "operations"]
KEPT_METRICS = [*OPERATION_METRICS, "checks", *LATENCY_METRICS]
# The REST calls an operation made (the client's, or a page's), one row each per metric, named by the
# operation, the endpoint in extra_tags: where an operation's time went.
CALL_METRICS = ["rest_call_duration", "rest_call_bytes"]
# Per view of the ui suite: the ms until it was shown during which a request to the server was in flight.
WAIT_METRIC = "server_wait"
DROPPED_METRIC = "dropped_iterations"  # arrivals k6 could not start (the capacity suite), per scenario
SEED_PREFIX = "Seed@"  # untimed requests inside iterations: the scale suite growing its store
SEGMENT_PREFIX = "Segment@"  # untimed: an isolated A/B round's VUs meeting at the runner's barrier
WARMUP_PREFIX = "Warmup@"  # untimed: the capacity suite warming the server up before its first step
SEED_FAILURE_METRIC = "seed_failures"  # one row per seeding request that failed, named Seed@<size>/<request>
K6_REQUEST_TIMEOUT_MS = 60_000  # k6's default: no request it times can last longer than this
CHUNK_ROWS = 2_000_000


@dataclass
class K6Samples:
    """The timed samples of one k6 CSV and what was wrong with the file."""

    path: Path
    frame: pd.DataFrame  # metric, timestamp (ms), value, ok, name, scenario, side, round, valid
    truncated: bool = False  # the last row is cut off
    impossible: int = 0  # latency samples excluded as impossible
    sent: int = 0  # every HTTP request in the file, untimed ones (setup, seeding) included
    seeding: pd.DataFrame = field(default_factory=lambda: _empty(EXTRA_COLUMNS))  # Seed@ requests and failures
    dropped: pd.DataFrame = field(default_factory=lambda: _empty(EXTRA_COLUMNS))  # dropped_iterations rows
    calls: pd.DataFrame = field(default_factory=lambda: _empty(CALL_COLUMNS))  # REST calls of operations

    @property
    def empty(self) -> bool:
        return self.frame.empty

    @property
    def seeding_failed(self) -> tuple[str, ...]:
        """The names of failed seeding requests, Seed@<size>/<request>, each once, in order."""
        failed = self.seeding.loc[self.seeding["metric"] == SEED_FAILURE_METRIC, "name"]
        return tuple(dict.fromkeys(failed.astype(str)))

    def warnings(self) -> list[str]:
        notes = []
        if self.impossible:
            notes.append(
                f"{self.path}: {self.impossible} impossible latency sample(s) (negative, not finite, or longer "
                "than the run) excluded"
            )
        if self.truncated:
            notes.append(f"{self.path}: truncated (the last row is cut off); the pair is treated as partial")
        return notes


def read_samples(path: Path) -> K6Samples:
    """The timed samples of one k6 CSV.

    Raises InputError naming the file when it is empty, not k6's CSV, or lacks a column we need.
    """
    header = _check_header(path)
    columns = [*REQUIRED_COLUMNS, *(c for c in ("status", "extra_tags") if c in header)]
    chunks, seeding, dropped, calls, first, last, sent = [], [], [], [], np.inf, -np.inf, 0
    try:
        reader = pd.read_csv(
            path,
            usecols=columns,
            # expected_response as text: pandas would otherwise turn "true" into a boolean in some chunks only
            dtype={
                "metric_name": "category",
                "check": "category",
                "expected_response": "string",
                "name": "category",
                "scenario": "category",
                "extra_tags": "string",
                "status": "category",
            },
            chunksize=CHUNK_ROWS,
            on_bad_lines="skip",
            engine="c",
        )
        for chunk in reader:
            times = milliseconds(chunk["timestamp"])
            first, last = min(first, times.min()), max(last, times.max())
            # names are categories: test the few distinct names, not the millions of rows
            names = chunk["name"].cat.categories.astype(str)
            seeds = chunk["name"].isin(names[names.str.startswith(SEED_PREFIX)])
            untimed = seeds | chunk["name"].isin(names[names.str.startswith((SEGMENT_PREFIX, WARMUP_PREFIX))])
            timed = chunk["scenario"].notna() & ~untimed
            sent += int(chunk["metric_name"].isin(["http_reqs", CALL_METRICS[0]]).sum())
            chunks.append(chunk[chunk["metric_name"].isin(KEPT_METRICS) & timed])
            seeding.append(chunk[seeds & chunk["metric_name"].isin(["http_reqs", SEED_FAILURE_METRIC])])
            dropped.append(chunk[chunk["metric_name"] == DROPPED_METRIC])
            calls.append(chunk[chunk["metric_name"].isin([*CALL_METRICS, WAIT_METRIC])])
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a readable k6 CSV: {str(exc).splitlines()[0]}") from exc
    frame = _tidy(pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=columns))
    span_ms = last - first if np.isfinite(last - first) else 0.0
    frame["valid"] = ~frame["metric"].isin(LATENCY_METRICS) | _possible(frame["value"], span_ms)
    impossible = int((~frame["valid"]).sum())
    return K6Samples(
        path,
        frame,
        truncated=_ends_mid_row(path),
        impossible=impossible,
        sent=sent,
        seeding=_extra(seeding),
        dropped=_extra(dropped),
        calls=_calls(calls),
    )


EXTRA_COLUMNS = ["metric", "timestamp", "value", "name", "scenario"]


def _extra(chunks: list[pd.DataFrame]) -> pd.DataFrame:
    """Untimed rows kept for one suite's own figures (seeding, dropped arrivals): timestamps in ms."""
    rows = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=REQUIRED_COLUMNS)
    rows = rows.rename(columns={"metric_name": "metric", "metric_value": "value"})[EXTRA_COLUMNS]
    return rows.assign(
        metric=rows["metric"].astype(str),
        timestamp=milliseconds(rows["timestamp"]),
        value=pd.to_numeric(rows["value"], errors="coerce"),
        name=rows["name"].astype("string"),
        scenario=rows["scenario"].astype("string"),
    )


CALL_COLUMNS = ["metric", "timestamp", "value", "name", "endpoint", "ok"]


def _calls(chunks: list[pd.DataFrame]) -> pd.DataFrame:
    rows = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=REQUIRED_COLUMNS)
    tags = rows["extra_tags"] if "extra_tags" in rows else pd.Series("", index=rows.index)
    # a call went wrong when its status was not 2xx or 3xx; status 0 or none: not known (from a
    # browser's cache), then k6's expected_response if there is one
    status = pd.to_numeric(rows["status"], errors="coerce") if "status" in rows else pd.Series(float("nan"), rows.index)
    expected = rows["expected_response"].astype("string").str.lower()
    ok = status.between(200, 399) | ((status.isna() | status.eq(0)) & expected.ne("false").fillna(True))
    return pd.DataFrame(
        {
            "metric": rows["metric_name"].astype(str),
            "timestamp": milliseconds(rows["timestamp"]),
            "value": pd.to_numeric(rows["metric_value"], errors="coerce"),
            "name": rows["name"].astype(str),
            "endpoint": tags.astype("string").str.extract(r"(?:^|&)endpoint=([^&]*)", expand=False).fillna(""),
            "ok": ok.fillna(False).astype(bool),
        }
    )[CALL_COLUMNS]


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=columns)


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.assign(
        timestamp=milliseconds(frame["timestamp"]),
        metric_value=pd.to_numeric(frame["metric_value"], errors="coerce"),
    )
    # a row cut short has no name; a counter without a value says nothing (a latency without one is impossible)
    frame = frame.dropna(subset=["timestamp", "name"])
    frame = frame[frame["metric_value"].notna() | frame["metric_name"].isin(LATENCY_METRICS)]
    ok = frame["expected_response"].astype("string").str.lower().eq("true").fillna(False).astype(bool)
    frame = frame.assign(ok=ok, side=_side(frame), round=_round(frame))
    frame = frame.rename(columns={"metric_name": "metric", "metric_value": "value"})
    return frame[["metric", "timestamp", "value", "ok", "name", "scenario", "side", "round"]].reset_index(drop=True)


def milliseconds(timestamps: pd.Series) -> pd.Series:
    """k6's CSV timestamps in milliseconds, whatever K6_CSV_TIME_FORMAT wrote them in: this suite
    asks for unix_milli, k6's default is unix (seconds), and a CSV made elsewhere may hold
    microseconds, nanoseconds or RFC 3339 text. The unit of a unix time follows from its size."""
    numbers = pd.to_numeric(timestamps, errors="coerce")
    if numbers.notna().any():
        typical = numbers.abs().median()
        scale = next((s for limit, s in ((1e11, 1e3), (1e14, 1.0), (1e17, 1e-3)) if typical < limit), 1e-6)
        return numbers * scale
    parsed = pd.to_datetime(timestamps, errors="coerce", utc=True, format="ISO8601")
    return (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds() * 1e3


def _side(frame: pd.DataFrame) -> pd.Series:
    """The `side` tag of a paired A/B that interleaves two servers (in k6's extra_tags), else ''."""
    if "extra_tags" not in frame:
        return pd.Series("", index=frame.index, dtype="string")
    side = frame["extra_tags"].astype("string").str.extract(r"(?:^|&)side=([^&]*)", expand=False)
    return side.fillna("").astype("category")


def _round(frame: pd.DataFrame) -> pd.Series:
    """The `round` tag of a suite run in rounds (runner/rounds.py: k6's --tag round=N), else 0."""
    if "extra_tags" not in frame:
        return pd.Series(0, index=frame.index, dtype="int64")
    found = frame["extra_tags"].astype("string").str.extract(r"(?:^|&)round=(\d+)", expand=False)
    return pd.to_numeric(found, errors="coerce").fillna(0).astype("int64")


def _possible(latency: pd.Series, span_ms: float) -> pd.Series:
    values = latency.to_numpy(float)
    return pd.Series(
        np.isfinite(values) & (values >= 0) & (values <= span_ms + K6_REQUEST_TIMEOUT_MS), index=latency.index
    ).fillna(False)


def _ends_mid_row(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(0, 2)
        if f.tell() == 0:
            return False
        f.seek(-1, 2)
        return f.read(1) != b"\n"


def _check_header(path: Path) -> list[str]:
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
    return columns
