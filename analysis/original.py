"""Versus the original suite: its published chart beside this suite's latest default and standard runs.

For each request name and database, both suites give a ratio MLflow / FastTrackML. The original's
comes from its chart (`reference/original_suite.toml`, means). This suite's comes from its latest
run of each profile in PROFILES, as medians (with the interval of their ratio, from the two p50s'
intervals) and as means of successful requests. The page says whether the two agree on which server
is faster, and whether this suite's interval tells the two apart. Where the two ratios differ by
more than DIFFERENCE times, it gives the reasons, from what each suite does. The standard profile
runs the original's load (20 VUs); the default profile is what a newcomer's `./run.sh` measures, so
both are set beside the original.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from analysis import precision
from core.records import DEFAULT_PROFILE, HistoryRecord, StatRow, Status

REFERENCE = Path(__file__).parent / "reference" / "original_suite.toml"
PROFILES = (DEFAULT_PROFILE, "standard")  # each with its own table, the default run's first
DIFFERENCE = 2.0
SERVERS = ("fasttrackml", "mlflow")
DATABASES = {"postgres": "PostgreSQL", "sqlite": "SQLite"}
# the retrieval requests the original timed together with the writes that made their data
READS = {"SearchRuns", "SearchExperiments", "MetricHistory"}


@dataclass(frozen=True)
class Cell:
    """One request name on one database: both suites' ratio MLflow / FastTrackML."""

    name: str
    database: str
    original: float
    ours_p50: float | None
    ours_mean: float | None
    reasons: tuple[str, ...] = ()
    ours_low: float | None = None  # the 95% interval of ours_p50, where both p50s have one
    ours_high: float | None = None

    @property
    def agree(self) -> bool | None:
        """Whether both suites find the same server faster (None: this suite has no result)."""
        return None if self.ours_p50 is None else (self.original > 1) == (self.ours_p50 > 1)

    @property
    def told_apart(self) -> bool | None:
        """Whether this suite's interval lies wholly on one side of 1 (None: no interval)."""
        if self.ours_low is None or self.ours_high is None:
            return None
        return self.ours_low > 1 or self.ours_high < 1

    @property
    def difference(self) -> float | None:
        """How many times the two ratios differ (1 = the same ratio)."""
        if self.ours_p50 is None:
            return None
        return max(self.original, self.ours_p50) / min(self.original, self.ours_p50)


def reference() -> dict[str, dict[str, float]]:
    """The original's chart: request name -> target -> mean latency (ms)."""
    return tomllib.loads(REFERENCE.read_text())["values"]


def cells(run: HistoryRecord) -> list[Cell]:
    """Every request name x database of the original's chart, against `run` (a standard-profile run)."""
    ok = [r for r in run.rows if run.status_of(r.target, r.suite) == Status.OK]
    ours = {(r.target, r.name): r for r in ok}
    result = []
    for name, values in reference().items():
        for database, label in DATABASES.items():
            fml, mlflow = (f"{server}-{database}" for server in SERVERS)
            a, b = ours.get((fml, name)), ours.get((mlflow, name))
            low, high = _interval(a, b)
            cell = Cell(
                name,
                label,
                values[mlflow] / values[fml],
                _ratio(a and a.p50_ms, b and b.p50_ms),
                _ratio(a and a.mean_ms, b and b.mean_ms),
                ours_low=low,
                ours_high=high,
            )
            if cell.difference is not None and cell.difference > DIFFERENCE:
                cell = Cell(**{**vars(cell), "reasons": reasons(name, run)})
            result.append(cell)
    return result


def reasons(name: str, run: HistoryRecord) -> tuple[str, ...]:
    """Why the two suites' ratios for `name` differ, from what each of them does."""
    found = []
    if name in READS:
        found.append(
            "the original timed the writes that made its data inside every retrieval iteration, so its "
            "database grew while it was measured and each read's time held writes; this suite writes "
            "the dataset once, untimed, and times the reads alone"
        )
    found.append(
        "the original ran 100 iterations in total (k6's shared-iterations executor split `-i 100` over "
        f"20 VUs); this run {_load(run)}"
    )
    found.append(
        "the original charted means of all requests, so fast failures pulled them down; this suite "
        "takes successful requests only, and its ratio here is of medians"
    )
    versions = sorted({f"{p.server.label} {p.server.version}" for p in run.pairs})
    machine = run.machine.cpu_model if run.machine else "this machine"
    found.append(f"hardware and versions differ: here {', '.join(versions)} on {machine}")
    return tuple(found)


def _load(run: HistoryRecord) -> str:
    """How the run loaded the servers of the REST suites, from its pairs' records."""
    pair = next((p for p in run.pairs if p.suite in ("logging", "retrieval") and p.vus), None)
    if pair is None:
        return f"ran the {run.profile} profile"
    per_name = pair.counts.requests // max(len(pair.counts.request_names), 1)
    shape = f"{pair.vus} VU{'s' if pair.vus != 1 else ''} x {pair.iterations_per_vu} iterations"
    if rounds := pair.settings.get("rounds"):
        shape = f"{shape} in each of {rounds} rounds"
    queued = ", so fewer requests waited behind each other than under the original's 20" if pair.vus < 20 else ""
    return f"ran {shape} (the {run.profile} profile), {per_name} samples per request name{queued}"


def _interval(fasttrackml: StatRow | None, mlflow: StatRow | None) -> tuple[float | None, float | None]:
    """The ratio's interval from both p50s' (analysis/precision.py, `combined`), or none."""
    if fasttrackml is None or mlflow is None or not fasttrackml.p50_ms or not mlflow.p50_ms:
        return None, None
    halves = [precision.log_half(r.p50_ms, r.p50_low_ms, r.p50_high_ms) for r in (fasttrackml, mlflow)]
    if any(math.isnan(h) for h in halves):
        return None, None
    return precision.combined(mlflow.p50_ms / fasttrackml.p50_ms, *halves)


def _ratio(fasttrackml: float | None, mlflow: float | None) -> float | None:
    if not fasttrackml or not mlflow:
        return None
    return mlflow / fasttrackml
