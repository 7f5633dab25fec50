"""Versus the original suite: its published chart beside this suite's latest standard-profile run.

For each request name and database, both suites give a ratio MLflow / FastTrackML. The original's
comes from its chart (`reference/original_suite.toml`, means). This suite's comes from the latest
standard-profile run in the history, as medians and as means of successful requests. The page
says whether the two agree on which server is faster. Where the two ratios differ by more than
DIFFERENCE times, it gives the reasons, from what each suite does. Only the standard profile is
comparable to the original's load (20 VUs), so no other profile stands in for it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from core.records import HistoryRecord, Status

REFERENCE = Path(__file__).parent / "reference" / "original_suite.toml"
PROFILE = "standard"
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

    @property
    def agree(self) -> bool | None:
        """Whether both suites find the same server faster (None: this suite has no result)."""
        return None if self.ours_p50 is None else (self.original > 1) == (self.ours_p50 > 1)

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
            cell = Cell(
                name,
                label,
                values[mlflow] / values[fml],
                _ratio(a and a.p50_ms, b and b.p50_ms),
                _ratio(a and a.mean_ms, b and b.mean_ms),
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
        "20 VUs); this suite runs 20 VUs x 100 iterations, 2000 samples per request name"
    )
    found.append(
        "the original charted means of all requests, so fast failures pulled them down; this suite "
        "takes successful requests only, and its ratio here is of medians"
    )
    versions = sorted({f"{p.server.label} {p.server.version}" for p in run.pairs})
    machine = run.machine.cpu_model if run.machine else "this machine"
    found.append(f"hardware and versions differ: here {', '.join(versions)} on {machine}")
    return tuple(found)


def _ratio(fasttrackml: float | None, mlflow: float | None) -> float | None:
    if not fasttrackml or not mlflow:
        return None
    return mlflow / fasttrackml
