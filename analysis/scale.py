"""How reads slow down as the store grows: the scale suite's latency against store size.

The scale suite names each timed read `<read>@<size>` (size: runs in the store) and each untimed
request that grows the store `Seed@<size>/<request>`. A read that pages (SearchRuns through every
result, MetricHistory where the server pages) is several requests of the same name, and servers page
differently: the time of one read is its p50 per request times the requests one read made (its count
over the count of the read at that size that made fewest, GetRun's one each). From a summary this
module takes, per target and read, that time at each size, and fits the growth exponent b of
time ~ size^b by least squares on log-log scale: b near 0 is flat (the read does not look at more
data as the store grows), near 1 is linear (it reads all of it), above 1 worse than linear. From the
pair's samples it counts the seeding: requests and seconds per size, and the request that failed, if one did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.k6csv import SEED_FAILURE_METRIC, SEED_PREFIX, K6Samples

SUITE = "scale"
_SIZED = re.compile(r"^(?P<read>[^@/]+)@(?P<size>\d+)$")


@dataclass(frozen=True)
class Growth:
    """One read on one target: its time at each size (all its pages) and the fitted exponent."""

    target: str
    read: str
    sizes: tuple[int, ...]
    read_ms: tuple[float, ...]  # p50 per request x requests per read
    requests_per_read: tuple[int, ...]
    exponent: float

    @property
    def shape(self) -> str:
        """The exponent in words, as the findings say it."""
        b = self.exponent
        if b < 0.2:
            return "~flat"
        if b < 0.8:
            return "sublinearly"
        if b < 1.2:
            return "~linearly"
        return "faster than linearly"


def sized(summary: pd.DataFrame, suite: str = SUITE) -> pd.DataFrame:
    """The scale suite's (or another sized suite's: ui) complete rows with their read and size split
    out of the request name, and the requests one read made and the time of one read
    (`requests_per_read`, `read_ms`)."""
    rows = summary[(summary["suite"] == suite) & (summary["status"] == "ok") & summary["p50_ms"].notna()]
    parts = rows["name"].astype(str).str.extract(_SIZED)
    rows = rows.assign(read=parts["read"], size=pd.to_numeric(parts["size"], errors="coerce"))
    rows = rows.dropna(subset=["read", "size"]).astype({"size": int})
    reads = rows.groupby(["target", "size"])["count"].transform("min")
    per_read = (rows["count"] / reads).round().clip(lower=1).astype(int)
    return rows.assign(requests_per_read=per_read, read_ms=rows["p50_ms"] * per_read)


def growth(summary: pd.DataFrame, suite: str = SUITE) -> list[Growth]:
    """Per target and read with two sizes or more: its time against size and the fitted exponent."""
    found = []
    for (target, read), group in sized(summary, suite).groupby(["target", "read"], sort=True):
        group = group.sort_values("size")
        if group["size"].nunique() < 2 or (group["read_ms"] <= 0).any():
            continue
        slope = np.polyfit(np.log(group["size"]), np.log(group["read_ms"]), 1)[0]
        found.append(
            Growth(
                target,
                read,
                sizes=tuple(group["size"]),
                read_ms=tuple(group["read_ms"].round(3)),
                requests_per_read=tuple(int(n) for n in group["requests_per_read"]),
                exponent=round(float(slope), 2),
            )
        )
    return found


def seeding(samples: K6Samples) -> list[dict]:
    """How the store was grown: per size, the requests sent, the seconds from the first to the last
    of them, and the request that failed (empty when none did)."""
    frame = samples.seeding
    if frame.empty:
        return []
    frame = frame.assign(
        size=frame["name"].str.extract(r"^Seed@(\d+)", expand=False).astype(int),
        request=frame["name"].str.split("/", n=1).str[1],
    )
    rows = []
    for size, group in frame.groupby("size", sort=True):
        requests = group[group["metric"] == "http_reqs"]
        failures = group[group["metric"] == SEED_FAILURE_METRIC]
        rows.append(
            {
                "size": int(size),
                "requests": len(requests),
                "seconds": round(float(requests["timestamp"].max() - requests["timestamp"].min()) / 1000, 1),
                "failed": "" if failures.empty else str(failures["request"].iloc[0]),
            }
        )
    return rows


def seeding_failure(failed: tuple[str, ...]) -> str:
    """What a run says when the store could not be grown to some sizes, from the names of the failed
    seeding requests (`Seed@50/LogBatch`): "growing the store failed at 50 runs (LogBatch): ..."."""
    sizes = ", ".join(f"{name.removeprefix(SEED_PREFIX).replace('/', ' runs (', 1)})" for name in failed)
    return f"growing the store failed at {sizes}: the reads at that size were skipped"
