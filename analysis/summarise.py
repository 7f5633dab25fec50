"""Summarise raw k6 samples: one tidy row per target x suite x request name.

Latency statistics use successful requests only (status as expected); a failed request is counted
in `errors` and `error_rate`, never as a (usually fast) latency. Errors are the failed checks: each
request has one status check and, only when that passes, one shape check, so a request fails at
most one check. Throughput is successful requests per second of the suite's timed phase.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.k6csv import read_samples

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


def summarise_samples(samples: pd.DataFrame) -> pd.DataFrame:
    """Statistics per request name (index: name, columns: STAT_COLUMNS) from `read_samples` output."""
    requests = samples[samples["metric"] == "http_reqs"].groupby("name", observed=True).size()
    checks = samples[samples["metric"] == "checks"]
    errors = checks[checks["value"] == 0].groupby("name", observed=True).size()
    durations = samples[(samples["metric"] == "http_req_duration") & samples["ok"]]
    latency = durations.groupby("name", observed=True)["value"]
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
