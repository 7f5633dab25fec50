"""Summarise raw k6 samples: one tidy row per target x suite x request name.

Latency statistics use successful requests only (all checks passed); a failed request is counted
in `errors` and `error_rate`, never as a (usually fast) latency. A request is an error when a
check of it failed, when its response status was not the expected one (even where the script
checked nothing), or when it has no successful sample: so no request name can show "0 errors"
beside requests that never succeeded. Throughput is successful requests per second of the suite's
timed phase (of its rounds' timed phases, for a suite run in rounds). Each p50 carries its interval
(`p50_low_ms`, `p50_high_ms`; analysis/precision.py): from the rounds' p50s for a suite run in
rounds, from the samples and the run-to-run noise otherwise.

The stage reads an output folder and writes `summary.csv` (the statistics), `quantiles.csv` (the
latency distributions) and `summary.pairs.json` (which pair of which run was summarised, its
status, the warnings about its files, and the figures of the suites that have their own page: the
capacity suite's steps, the scale suite's seeding, and the REST calls each operation of
the client and ui suites made). `./run.sh` summarises each CSV once, right after k6
wrote it; `record` and `report` read those files and parse a raw CSV again only when it is newer
than the summary or was never summarised.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from analysis import calls, capacity, precision, scale
from analysis.k6csv import OPERATION_METRICS, SUCCESS_METRIC, K6Samples, read_samples
from core.errors import InputError
from core.layout import (
    PAIRS_FILE,
    QUANTILES_FILE,
    SUMMARY_FILE,
    PairFiles,
    metadata_beside,
    pair_csv_paths,
    pair_files,
    pair_metadata_paths,
)
from core.paths import write_atomically
from core.records import PairMetadata, Status

STAT_COLUMNS = [
    "count",
    "errors",
    "error_rate",
    "mean_ms",
    "p50_ms",
    "p50_low_ms",
    "p50_high_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "throughput_rps",
]
QUANTILES = {"p50_ms": 0.50, "p90_ms": 0.90, "p95_ms": 0.95, "p99_ms": 0.99}
ID_COLUMNS = ["run_id", "target", "suite", "profile", "status", "name"]
SUMMARY_COLUMNS = [*ID_COLUMNS, *STAT_COLUMNS]
ROUND_COLUMNS = ["name", "round", "p50_ms"]
QUANTILE_COLUMNS = ["run_id", "target", "suite", "name", "quantile", "latency_ms"]
# Every odd percentile for the distribution charts, every fifth for the history's sketch, and the tail.
DISTRIBUTION_QUANTILES = sorted({q / 100 for q in [*range(1, 100, 2), *range(5, 100, 5), 99]} | {0.995, 0.999})


def successful_durations(samples: pd.DataFrame) -> pd.DataFrame:
    """Possible latency samples of successful requests: our own metric, else k6's with an expected status."""
    ours = samples[samples["metric"] == SUCCESS_METRIC]
    if ours.empty:
        ours = samples[(samples["metric"] == "http_req_duration") & samples["ok"]]
    return ours[ours["valid"]] if "valid" in ours else ours


def summarise_samples(samples: pd.DataFrame) -> pd.DataFrame:
    """Statistics per request name (index: name, columns: STAT_COLUMNS) from `read_samples(...).frame`."""
    requests = samples[samples["metric"].isin(OPERATION_METRICS)]
    count = requests.groupby("name", observed=True).size()
    checks = samples[samples["metric"] == "checks"]
    failed_checks = checks[checks["value"] == 0].groupby("name", observed=True).size()
    # an operation's outcome is its checks'; a request's, its status as well
    unexpected = requests[(requests["metric"] == "http_reqs") & ~requests["ok"]].groupby("name", observed=True).size()
    successes = _successes(samples).groupby("name", observed=True).size()
    latency = successful_durations(samples).groupby("name", observed=True)["value"]
    stats = pd.DataFrame({"count": count})
    without_success = stats["count"] - successes.reindex(stats.index, fill_value=0)
    errors = pd.concat([failed_checks, unexpected, without_success], axis=1).reindex(stats.index).max(axis=1)
    stats["errors"] = errors.fillna(0).astype(int).clip(lower=0, upper=stats["count"])
    stats["error_rate"] = stats["errors"] / stats["count"]
    stats["mean_ms"] = latency.mean()
    for column, q in QUANTILES.items():
        stats[column] = latency.quantile(q)
    stats["p50_low_ms"], stats["p50_high_ms"] = _p50_intervals(stats["p50_ms"], samples)
    stats["max_ms"] = latency.max()
    elapsed_s = _timed_seconds(samples)
    stats["throughput_rps"] = (stats["count"] - stats["errors"]) / elapsed_s if elapsed_s > 0 else float("nan")
    stats.index.name = "name"
    return stats[STAT_COLUMNS]


def _timed_seconds(samples: pd.DataFrame) -> float:
    """How long the samples took: first to last, or each round's first to last added up for a suite
    run in rounds (the time between a target's rounds went to the other targets)."""
    if "round" in samples and (samples["round"] > 0).any():
        spans = samples.groupby("round")["timestamp"].agg(lambda t: t.max() - t.min())
        return float(spans.sum()) / 1000
    return float(samples["timestamp"].max() - samples["timestamp"].min()) / 1000


def round_p50s(samples: pd.DataFrame) -> pd.DataFrame:
    """Each round's p50 per request name (name, round, p50_ms) of a suite run in rounds (runner/rounds.py);
    empty for one pass."""
    if "round" not in samples or not (samples["round"] > 0).any():
        return pd.DataFrame(columns=ROUND_COLUMNS)
    latency = successful_durations(samples)
    latency = latency[latency["round"] > 0]
    p50 = latency.groupby(["name", "round"], observed=True)["value"].median()
    frame = p50.rename("p50_ms").reset_index()
    return frame.assign(name=frame["name"].astype(str))[ROUND_COLUMNS]


def _p50_intervals(p50: pd.Series, samples: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each name's p50 interval (analysis/precision.py): from its rounds when it ran in two or more,
    else from its samples."""
    rounds = round_p50s(samples).groupby("name")["p50_ms"]
    by_round = {name: values.to_numpy() for name, values in rounds if len(values) >= precision.MIN_ROUNDS}
    low, high = {}, {}
    for name, values in successful_durations(samples).groupby("name", observed=True)["value"]:
        if str(name) in by_round:
            low[name], high[name] = precision.from_rounds(p50[name], by_round[str(name)])
        else:
            low[name], high[name] = precision.from_samples(values.to_numpy())
    return pd.Series(low, dtype=float).reindex(p50.index), pd.Series(high, dtype=float).reindex(p50.index)


def _successes(samples: pd.DataFrame) -> pd.DataFrame:
    """One row per successful request, impossible latencies included (they succeeded; only their time is wrong)."""
    ours = samples[samples["metric"] == SUCCESS_METRIC]
    return ours if not ours.empty else samples[(samples["metric"] == "http_req_duration") & samples["ok"]]


def latency_quantiles(samples: pd.DataFrame) -> pd.DataFrame:
    """The latency distribution of successful requests per name, as quantiles 1%..99.9%."""
    q = successful_durations(samples).groupby("name", observed=True)["value"].quantile(DISTRIBUTION_QUANTILES)
    return q.rename("latency_ms").rename_axis(["name", "quantile"]).reset_index()


def summarise_file(csv_path: Path) -> pd.DataFrame:
    return summarise_samples(read_samples(csv_path).frame)


@dataclass
class PairSummary:
    """One target x suite of an output folder: its metadata, its status after the checks, its statistics."""

    meta: PairMetadata
    status: Status  # the metadata's, or partial when the CSV turned out truncated
    stats: pd.DataFrame  # SUMMARY_COLUMNS, one row per request name; empty when nothing usable was timed
    quantiles: pd.DataFrame  # QUANTILE_COLUMNS
    warnings: list[str] = field(default_factory=list)
    requests_sent: int = 0  # every HTTP request of the CSV, untimed ones included
    seeding_failed: tuple[str, ...] = ()  # failed seeding requests (the scale suite), Seed@<size>/<request>
    steps: tuple[capacity.Step, ...] = ()  # the capacity suite's steps, settled
    seeding: tuple[dict, ...] = ()  # the scale suite's growing of the store, per size (scale.seeding)
    calls: tuple[dict, ...] = ()  # the REST calls of each operation, per endpoint (calls.per_endpoint)
    waits: tuple[dict, ...] = ()  # per view of the ui suite, the time a request was in flight (calls.waiting)
    rounds: tuple[dict, ...] = ()  # a suite run in rounds: each round's p50 per request name (ROUND_COLUMNS)

    @property
    def target(self) -> str:
        return self.meta.target

    @property
    def suite(self) -> str:
        return self.meta.suite

    def ended(self, meta: PairMetadata) -> PairSummary:
        """This summary under the pair's final metadata (its status on every row)."""
        stats = self.stats.assign(status=meta.status.value)
        return replace(self, meta=meta, status=meta.status, stats=stats)

    @property
    def missing(self) -> bool:
        """No timed sample at all: shown as missing, never as zeros."""
        return self.stats.empty


def summarise_pair(csv_path: Path, meta: PairMetadata) -> PairSummary:
    """Read one pair's raw CSV once and check it against its metadata."""
    ids = {"run_id": meta.run_id, "target": meta.target, "suite": meta.suite, "profile": meta.profile}
    if not csv_path.exists():
        return _pair_summary(meta, meta.status, None, ids, [])
    try:
        samples = read_samples(csv_path)
    except InputError as exc:
        return _pair_summary(meta, meta.status, None, ids, [f"{exc}; listed as missing"])
    warnings = samples.warnings()
    status = Status.PARTIAL if samples.truncated and meta.status == Status.OK else meta.status
    if samples.empty:
        warnings.append(f"{csv_path}: no timed samples (a header only, or setup requests only); listed as missing")
        return _pair_summary(meta, status, None, ids, warnings)
    stats = summarise_samples(samples.frame)
    if meta.counts.requests > stats["count"].sum():
        warnings.append(
            f"{csv_path}: truncated: {int(stats['count'].sum())} requests, its metadata says "
            f"{meta.counts.requests} ran; the pair is treated as partial"
        )
        status = Status.PARTIAL if status == Status.OK else status
    return _pair_summary(meta, status, samples, ids, warnings, stats)


def _pair_summary(
    meta: PairMetadata,
    status: Status,
    samples: K6Samples | None,
    ids: dict,
    warnings: list[str],
    stats: pd.DataFrame | None = None,
) -> PairSummary:
    if samples is None or stats is None:
        return PairSummary(meta, status, pd.DataFrame(columns=SUMMARY_COLUMNS), _no_quantiles(), warnings)
    rows = stats.reset_index().assign(**ids, status=status.value)[SUMMARY_COLUMNS]
    rows["name"] = rows["name"].astype(str)  # not k6's categories: rows of many files are concatenated
    quantiles = latency_quantiles(samples.frame).assign(**{k: ids[k] for k in ("run_id", "target", "suite")})
    quantiles["name"] = quantiles["name"].astype(str)
    return PairSummary(
        meta,
        status,
        rows,
        quantiles[QUANTILE_COLUMNS],
        warnings,
        samples.sent,
        samples.seeding_failed,
        steps=_steps(samples, meta),
        seeding=tuple(scale.seeding(samples)) if meta.suite == scale.SUITE else (),
        calls=tuple(calls.per_endpoint(samples.calls, samples.frame)),
        waits=tuple(calls.waiting(samples.calls)),
        rounds=tuple(round_p50s(samples.frame).to_dict("records")),
    )


def _steps(samples: K6Samples, meta: PairMetadata) -> tuple[capacity.Step, ...]:
    if meta.suite != capacity.SUITE:
        return ()
    return tuple(capacity.steps(samples, float(meta.settings.get("hold", 0)), meta.k6_ceiling_rps))


def _no_quantiles() -> pd.DataFrame:
    return pd.DataFrame(columns=QUANTILE_COLUMNS)


@dataclass
class FolderSummary:
    """Everything the report needs from an output folder."""

    pairs: list[PairSummary]
    warnings: list[str] = field(default_factory=list)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per target x suite x request name (SUMMARY_COLUMNS)."""
        return _concat([p.stats for p in self.pairs], SUMMARY_COLUMNS)

    @property
    def quantiles(self) -> pd.DataFrame:
        """run_id, target, suite, name, quantile, latency_ms: the latency distributions."""
        return _concat([p.quantiles for p in self.pairs], QUANTILE_COLUMNS)

    @property
    def rounds(self) -> pd.DataFrame:
        """run_id, target, suite, name, round, p50_ms: each round's p50 of the suites run in rounds."""
        frames = [
            pd.DataFrame(list(p.rounds), columns=ROUND_COLUMNS).assign(
                run_id=p.meta.run_id, target=p.target, suite=p.suite
            )
            for p in self.pairs
            if p.rounds
        ]
        return _concat(frames, ["run_id", "target", "suite", *ROUND_COLUMNS])

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        return self.summary, self.quantiles

    @property
    def profile(self) -> str:
        return self.pairs[0].meta.profile if self.pairs else ""

    @property
    def run_ids(self) -> list[str]:
        return sorted({p.meta.run_id for p in self.pairs})


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def find_metadata(out: Path) -> tuple[list[PairMetadata], list[str]]:
    """The pairs' metadata of an output folder, newest profile only; other files become warnings."""
    if not out.is_dir():
        raise InputError(f"{out}: no such output folder")
    metas, warnings = [], []
    for meta_path in pair_metadata_paths(out):
        try:
            metas.append(PairMetadata.read(meta_path))
        except InputError as exc:
            warnings.append(f"{exc}; skipped")
    for csv_path in pair_csv_paths(out):
        if not metadata_beside(csv_path).exists():
            warnings.append(f"{csv_path}: no metadata beside it (every CSV needs its JSON); skipped")
    if not metas:
        skipped = f" ({len(warnings)} file(s) skipped; the first: {warnings[0]})" if warnings else ""
        raise InputError(
            f"{out}: no benchmark outputs (a <target>_<suite> raw CSV with its metadata) to report{skipped}"
        )
    profile = max(metas, key=lambda m: m.ended_at or "").profile
    for meta in [m for m in metas if m.profile != profile]:
        warnings.append(
            f"{pair_files(out, meta).metadata}: profile {meta.profile!r} differs from the newest outputs' "
            f"{profile!r}; excluded (profiles are not comparable)"
        )
    return [m for m in metas if m.profile == profile], warnings


def summarise_folder(out: Path, fresh: list[PairSummary] | None = None) -> FolderSummary:
    """Summarise every pair of `out` and write the summary files.

    `fresh` are pairs just summarised by the runner; pairs the summary files already hold (same
    run id, files not newer) are taken from them; only the rest is read from the raw CSVs.
    """
    metas, warnings = find_metadata(out)
    known = {(p.meta.run_id, p.meta.stem): p for p in (fresh or [])}
    cached = _read_summary_files(out)
    pairs = []
    for meta in metas:
        pair = known.get((meta.run_id, meta.stem)) or cached.get((meta.run_id, meta.stem), meta, out)
        pairs.append(pair or summarise_pair(pair_files(out, meta).csv, meta))
    result = FolderSummary(pairs, warnings + [w for p in pairs for w in p.warnings])
    if not any(not p.missing for p in pairs):
        raise InputError(f"{out}: none of the {len(pairs)} outputs holds usable k6 samples")
    _write_summary_files(result, out)
    return result


@dataclass
class _SummaryFiles:
    """What `summary.csv`, `quantiles.csv` and `summary.pairs.json` of a folder already hold."""

    written_at: float
    pairs: dict
    summary: pd.DataFrame
    quantiles: pd.DataFrame

    def get(self, key: tuple[str, str], meta: PairMetadata, out: Path) -> PairSummary | None:
        entry = self.pairs.get(key[1])
        if entry is None or entry.get("run_id") != key[0] or self._older_than(pair_files(out, meta)):
            return None
        mine = (self.summary["run_id"] == meta.run_id) & (self.summary["target"] == meta.target)
        mine &= self.summary["suite"] == meta.suite
        q = self.quantiles
        theirs = (q["run_id"] == meta.run_id) & (q["target"] == meta.target) & (q["suite"] == meta.suite)
        if not {"steps", "seeding", "calls", "waits", "rounds"} <= entry.keys():  # written before these were kept
            return None
        stats = self.summary[mine].reset_index(drop=True)
        return PairSummary(
            meta,
            Status(entry["status"]),
            stats,
            q[theirs].reset_index(drop=True),
            entry["warnings"],
            steps=tuple(capacity.Step(**step) for step in entry["steps"]),
            seeding=tuple(entry["seeding"]),
            calls=tuple(entry["calls"]),
            waits=tuple(entry["waits"]),
            rounds=tuple(entry["rounds"]),
        )

    def _older_than(self, files: PairFiles) -> bool:
        return any(p.exists() and p.stat().st_mtime > self.written_at for p in (files.csv, files.metadata))


class _NoSummaryFiles:
    def get(self, key: tuple[str, str], meta: PairMetadata, out: Path) -> None:
        return None


def _read_summary_files(out: Path) -> _SummaryFiles | _NoSummaryFiles:
    paths = [out / SUMMARY_FILE, out / QUANTILES_FILE, out / PAIRS_FILE]
    try:
        written_at = min(p.stat().st_mtime for p in paths)
        pairs = json.loads(paths[2].read_text())
        summary = pd.read_csv(paths[0], dtype={"run_id": str, "target": str, "suite": str, "name": str})
        quantiles = pd.read_csv(paths[1], dtype={"run_id": str, "target": str, "suite": str, "name": str})
    except (OSError, ValueError, pd.errors.ParserError):
        return _NoSummaryFiles()
    if list(summary.columns) != SUMMARY_COLUMNS or list(quantiles.columns) != QUANTILE_COLUMNS:
        return _NoSummaryFiles()
    return _SummaryFiles(written_at, pairs, summary, quantiles)


def _write_summary_files(result: FolderSummary, out: Path) -> None:
    pairs = {
        p.meta.stem: {
            "run_id": p.meta.run_id,
            "status": p.status.value,
            "warnings": p.warnings,
            "steps": [dataclasses.asdict(step) for step in p.steps],
            "seeding": list(p.seeding),
            "calls": list(p.calls),
            "waits": list(p.waits),
            "rounds": list(p.rounds),
        }
        for p in result.pairs
    }
    for name, write in (
        (SUMMARY_FILE, lambda path: result.summary.to_csv(path, index=False)),
        (QUANTILES_FILE, lambda path: result.quantiles.to_csv(path, index=False)),
        (PAIRS_FILE, lambda path: path.write_text(json.dumps(pairs, indent=1, sort_keys=True) + "\n")),
    ):
        write_atomically(out / name, write)
