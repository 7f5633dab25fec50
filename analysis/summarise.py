"""Summarise raw k6 samples: one tidy row per target x suite x request name.

Latency statistics use successful requests only (all checks passed); a failed request is counted
in `errors` and `error_rate`, never as a (usually fast) latency. Errors are the failed checks: each
request has one status check and, only when that passes, one shape check, so a request fails at
most one check. Throughput is successful requests per second of the suite's timed phase.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.k6csv import SUCCESS_METRIC, read_samples
from bench.errors import InputError
from bench.outputs import read_metadata

STAT_COLUMNS = [
    "count",
    "errors",
    "error_rate",
    "mean_ms",
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "throughput_rps",
]
QUANTILES = {"p50_ms": 0.50, "p90_ms": 0.90, "p95_ms": 0.95, "p99_ms": 0.99}


def successful_durations(samples: pd.DataFrame) -> pd.DataFrame:
    """Latency samples of successful requests: our own metric, else k6's with an expected status."""
    ours = samples[samples["metric"] == SUCCESS_METRIC]
    if not ours.empty:
        return ours
    return samples[(samples["metric"] == "http_req_duration") & samples["ok"]]


def summarise_samples(samples: pd.DataFrame) -> pd.DataFrame:
    """Statistics per request name (index: name, columns: STAT_COLUMNS) from `read_samples` output."""
    requests = samples[samples["metric"] == "http_reqs"].groupby("name", observed=True).size()
    checks = samples[samples["metric"] == "checks"]
    errors = checks[checks["value"] == 0].groupby("name", observed=True).size()
    latency = successful_durations(samples).groupby("name", observed=True)["value"]
    stats = pd.DataFrame({"count": requests}).join(pd.DataFrame({"errors": errors}), how="left")
    stats["errors"] = stats["errors"].fillna(0).astype(int).clip(upper=stats["count"])
    stats["error_rate"] = stats["errors"] / stats["count"]
    stats["mean_ms"] = latency.mean()
    for column, q in QUANTILES.items():
        stats[column] = latency.quantile(q)
    stats["max_ms"] = latency.max()
    elapsed_s = (samples["timestamp"].max() - samples["timestamp"].min()) / 1000
    stats["throughput_rps"] = (stats["count"] - stats["errors"]) / elapsed_s if elapsed_s > 0 else float("nan")
    stats.index.name = "name"
    return stats[STAT_COLUMNS]


def summarise_file(csv_path: Path) -> pd.DataFrame:
    return summarise_samples(read_samples(csv_path))


@dataclass(frozen=True)
class Pair:
    """One target x suite found in an output folder: its metadata and, if usable, its raw CSV."""

    target: str
    suite: str
    metadata: dict
    csv: Path | None

    @property
    def status(self) -> str:
        return str(self.metadata.get("status", "unknown"))


@dataclass
class FolderSummary:
    """Everything the report needs from an output folder."""

    pairs: list[Pair]
    summary: pd.DataFrame  # one row per target x suite x request name (SUMMARY_COLUMNS)
    quantiles: pd.DataFrame  # run_id, target, suite, name, quantile, latency_ms: the latency distributions
    warnings: list[str] = field(default_factory=list)

    @property
    def profile(self) -> str:
        return str(self.pairs[0].metadata["profile"]) if self.pairs else ""


ID_COLUMNS = ["run_id", "target", "suite", "profile", "status", "name"]
SUMMARY_COLUMNS = [*ID_COLUMNS, *STAT_COLUMNS]
# Every odd percentile for the distribution charts, every fifth for the history's sketch, and the tail.
DISTRIBUTION_QUANTILES = sorted({q / 100 for q in [*range(1, 100, 2), *range(5, 100, 5), 99]} | {0.995, 0.999})


def find_pairs(out: Path) -> tuple[list[Pair], list[str]]:
    """The pairs of an output folder, newest profile only; other files are skipped with a warning."""
    if not out.is_dir():
        raise InputError(f"{out}: no such output folder")
    pairs, warnings = [], []
    for meta_path in sorted(out.glob("*_*.json")):
        try:
            meta = read_metadata(meta_path)
        except InputError as exc:
            warnings.append(f"{exc}; skipped")
            continue
        csv_path = meta_path.with_suffix(".csv")
        pairs.append(Pair(meta["target"], meta["suite"], meta, csv_path if csv_path.exists() else None))
    for csv_path in sorted(out.glob("*_*.csv")):
        if not csv_path.with_suffix(".json").exists():
            warnings.append(f"{csv_path}: no metadata beside it (every CSV needs its JSON); skipped")
    if not pairs:
        raise InputError(f"{out}: no benchmark outputs (<target>_<suite>.csv with its .json) to report")
    newest = max(pairs, key=lambda p: str(p.metadata.get("ended_at", "")))
    profile = newest.metadata["profile"]
    for pair in [p for p in pairs if p.metadata["profile"] != profile]:
        warnings.append(
            f"{out / (pair.target + '_' + pair.suite + '.json')}: profile {pair.metadata['profile']!r} differs from "
            f"the newest outputs' {profile!r}; excluded (profiles are not comparable)"
        )
    return [p for p in pairs if p.metadata["profile"] == profile], warnings


def summarise_folder(out: Path) -> FolderSummary:
    """Summarise every usable pair of `out`; unusable ones become warnings, never zeros."""
    pairs, warnings = find_pairs(out)
    rows, distributions = [], []
    for pair in pairs:
        if pair.csv is None:
            continue
        try:
            samples = read_samples(pair.csv)
        except InputError as exc:
            warnings.append(f"{exc}; excluded")
            continue
        ids = {
            "run_id": pair.metadata["run_id"],
            "target": pair.target,
            "suite": pair.suite,
            "profile": pair.metadata["profile"],
            "status": pair.status,
        }
        stats = summarise_samples(samples).reset_index().assign(**ids)
        rows.append(stats)
        distributions.append(
            latency_quantiles(samples).assign(run_id=ids["run_id"], target=pair.target, suite=pair.suite)
        )
    if not rows:
        raise InputError(f"{out}: none of the {len(pairs)} outputs holds usable k6 samples")
    summary = pd.concat(rows, ignore_index=True)[SUMMARY_COLUMNS]
    quantiles = pd.concat(distributions, ignore_index=True)
    return FolderSummary(pairs, summary, quantiles, warnings)


def latency_quantiles(samples: pd.DataFrame) -> pd.DataFrame:
    """The latency distribution of successful requests per name, as quantiles 1%..99.9%."""
    q = successful_durations(samples).groupby("name", observed=True)["value"].quantile(DISTRIBUTION_QUANTILES)
    return q.rename("latency_ms").rename_axis(["name", "quantile"]).reset_index()


def write_summary(result: FolderSummary, out: Path) -> Path:
    """Write `summary.csv` (and the distributions, `quantiles.csv`) beside the raw files."""
    path = out / "summary.csv"
    result.summary.to_csv(path, index=False, float_format="%.4f")
    result.quantiles.to_csv(out / "quantiles.csv", index=False, float_format="%.4f")
    return path
