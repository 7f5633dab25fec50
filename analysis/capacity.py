"""The capacity suite's answer: the highest arrival rate each server sustains within a latency SLO.

The suite offers requests at fixed rates, step after step (k6 scenarios named `rate-<rate>`, each
held the profile's `hold` seconds), after an untimed warm-up at the first rate (scenario `warmup`,
its requests named `Warmup@...`, which the summary leaves out). Per step, the first SETTLE share of
its time is left out (queues fill, pools grow), and the rest gives: the rate achieved (successful
requests per second), the p50 and p95 of successful requests, the share that failed, and the share
of arrivals k6 could not even start (`dropped_iterations`: every VU was busy waiting). A step is
sustained when its p95 is within the SLO, under 1% failed, under 1% dropped, and at least 95% of the
offered rate was achieved. The server's capacity is the highest sustained step below the first that
was not (the knee), with the cause of that first failure.

k6 itself has a ceiling on this machine (its rate on `GET /health`, measured before the pair). A
step that offers more than LOAD_GENERATOR_SHARE of it is beyond what k6 can be trusted to offer
here: the result is then "at least" the last step below that, never a rate k6 may not have offered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from analysis.k6csv import SUCCESS_METRIC, K6Samples
from core.records import LOAD_GENERATOR_SHARE, PairMetadata

SUITE = "capacity"
SETTLE = 1 / 3  # of each step's time, left out
DEFAULT_SLO_MS = 100.0
MAX_FAILED = 0.01
MAX_DROPPED = 0.01
MIN_ACHIEVED = 0.95


@dataclass(frozen=True)
class Step:
    rate: int  # offered, requests per second
    achieved_rps: float
    p50_ms: float
    p95_ms: float
    failed: float  # share of requests
    dropped: float  # share of arrivals k6 could not start
    beyond_k6: bool  # the rate is over LOAD_GENERATOR_SHARE of k6's ceiling here

    def problem(self, slo_ms: float) -> str | None:
        """Why this step was not sustained, or None."""
        if self.failed >= MAX_FAILED:
            return f"{self.failed:.1%} of requests failed at {self.rate} req/s"
        if self.dropped >= MAX_DROPPED:
            return f"{self.dropped:.1%} of arrivals at {self.rate} req/s found every VU still waiting on the server"
        if not self.p95_ms <= slo_ms:
            return f"p95 {self.p95_ms:.0f} ms over the {slo_ms:g} ms SLO at {self.rate} req/s"
        if self.achieved_rps < MIN_ACHIEVED * self.rate:
            return f"only {self.achieved_rps:.0f} of {self.rate} req/s achieved"
        return None


@dataclass(frozen=True)
class Capacity:
    target: str
    steps: tuple[Step, ...]
    sustained_rps: int | None  # the highest sustained step below the knee; None: not even the first
    cause: str  # what ended it
    at_least: bool  # k6's ceiling, not the server, ended it: the server sustains this much or more
    slo_ms: float
    ceiling_rps: float | None = None  # k6's own, on GET /health, measured before the pair

    @property
    def ceiling_text(self) -> str:
        return f"{self.ceiling_rps:.0f}" if self.ceiling_rps else "not measured"


def steps(samples: K6Samples, hold_seconds: float, ceiling_rps: float | None) -> list[Step]:
    """Each step's settled figures, from the pair's samples (read once, when the pair is summarised)."""
    timed = samples.frame[samples.frame["scenario"].astype("string").str.startswith("rate-").fillna(False)]
    dropped = samples.dropped[samples.dropped["scenario"].str.startswith("rate-").fillna(False)]
    found = []
    for scenario, group in timed.groupby(timed["scenario"].astype(str), sort=True):
        rate = int(scenario.removeprefix("rate-"))
        settled_from = group["timestamp"].min() + SETTLE * hold_seconds * 1000
        settled = group[group["timestamp"] >= settled_from]
        window_s = (1 - SETTLE) * hold_seconds
        ok = settled.loc[settled["metric"] == "http_reqs", "ok"]
        latency = settled.loc[(settled["metric"] == SUCCESS_METRIC) & settled["valid"], "value"]
        mine = dropped[(dropped["scenario"] == scenario) & (dropped["timestamp"] >= settled_from)]
        found.append(
            Step(
                rate=rate,
                achieved_rps=round(ok.sum() / window_s, 1),
                p50_ms=round(float(latency.median()), 2) if len(latency) else math.nan,
                p95_ms=round(float(latency.quantile(0.95)), 2) if len(latency) else math.nan,
                failed=float((~ok).mean()) if len(ok) else 1.0,
                dropped=float(mine["value"].sum() / (rate * window_s)),
                beyond_k6=bool(ceiling_rps) and rate > LOAD_GENERATOR_SHARE * ceiling_rps,
            )
        )
    return found


def capacity(meta: PairMetadata, found: list[Step], rates: list[int], slo_ms: float) -> Capacity:
    """The highest sustained rate below the knee, and what ended the ramp."""
    sustained, cause, at_least = None, "", False
    by_rate = {s.rate: s for s in found}
    for rate in rates:
        step = by_rate.get(rate)
        if step is None:
            cause = f"the ramp ended before {rate} req/s: " + (meta.error or "the server fell over (k6 aborted)")
            break
        if step.beyond_k6:
            at_least = sustained is not None
            cause = f"{rate} req/s is over {LOAD_GENERATOR_SHARE:.0%} of k6's ceiling here ({meta.k6_ceiling_rps:.0f})"
            break
        if problem := step.problem(slo_ms):
            cause = problem
            break
        sustained = rate
    else:
        at_least, cause = True, "every step was sustained: the ramp's highest rate"
    return Capacity(meta.target, tuple(found), sustained, cause, at_least, slo_ms, meta.k6_ceiling_rps)
