"""Change-point detection on each (target, request name, statistic) series across runs.

Method. Latency is skewed and changes multiply it, so each series is the log of a statistic
(p50 or p95) in run order. Apache Otava's E-divisive means (Fleming et al., "Hunter", ICPE 2023)
splits it: a sliding window (default 50 runs) proposes candidate change points by the energy
distance between the two sides, and a two-sided t-test between neighbouring segments keeps a
candidate only while its p-value stays under `max_pvalue` (default 0.001). Of those, we keep the
ones whose size, the ratio of the segments' geometric means, is at least `min_magnitude`
(default 10%): statistically clear but tiny shifts are not worth anyone's time. A change must
also hold for `min_runs` runs (default 5) on each side: one noisy run makes two short-lived
"changes" (up, then down) that are a blip, not a regression; a real one is called once it has
lasted `min_runs` runs.

This module knows nothing of files: it takes a tidy frame and returns ChangePoint values.
"""

from __future__ import annotations

import hashlib
import math
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

STATISTICS = ("p50_ms", "p95_ms")


@dataclass(frozen=True)
class Options:
    window: int = 50
    max_pvalue: float = 0.001
    min_magnitude: float = 0.10
    min_runs: int = 5


@dataclass(frozen=True)
class ChangePoint:
    target: str
    suite: str
    name: str
    statistic: str
    run_id: str  # the first run after the change
    commit_before: str
    commit_after: str
    started_at: str
    before_ms: float
    after_ms: float
    pvalue: float
    profile: str = ""
    machine: str = ""  # series are cut by machine: a change of runner is no change of code

    @property
    def magnitude(self) -> float:
        """Relative change: +0.25 is 25% slower, -0.2 is 20% faster."""
        return self.after_ms / self.before_ms - 1

    @property
    def kind(self) -> str:
        return "regression" if self.magnitude > 0 else "improvement"

    @property
    def series(self) -> tuple[str, ...]:
        return (self.profile, self.machine, self.target, self.suite, self.name, self.statistic)

    @property
    def change_id(self) -> str:
        """A short stable name for this change: its series and the first run after it, hashed."""
        return hashlib.sha1("|".join((*self.series, self.run_id)).encode()).hexdigest()[:8]

    def as_dict(self) -> dict:
        return asdict(self) | {"magnitude": self.magnitude, "kind": self.kind, "change_id": self.change_id}


def change_points_in(values: np.ndarray, options: Options) -> list[tuple[int, float, float, float]]:
    """(index, geometric mean before, after, p-value) for each change in a positive series."""
    # imported here: otava brings scipy (0.7 s), which the options of `./run.sh run` need not wait for
    from otava.analysis import compute_change_points

    if len(values) < 4 or np.any(values <= 0):
        return []
    logs = np.log(values)
    found, _ = compute_change_points(
        logs.tolist(), window_len=options.window, max_pvalue=options.max_pvalue, min_magnitude=0.0
    )
    bounds = [0, *(cp.index for cp in found), len(values)]
    result = []
    for i, cp in enumerate(found):
        lasting = bounds[i + 1] - bounds[i] >= options.min_runs and bounds[i + 2] - bounds[i + 1] >= options.min_runs
        before, after = math.exp(cp.stats.mean_1), math.exp(cp.stats.mean_2)
        if lasting and abs(after / before - 1) >= options.min_magnitude:
            result.append((int(cp.index), before, after, float(cp.stats.pvalue)))
    return result


def detect(history: pd.DataFrame, options: Options = Options(), statistics=STATISTICS) -> list[ChangePoint]:
    """Change points of every (target, suite, name, machine, statistic) series in a history frame.

    Only complete runs (status ok) count; the frame must be in run order (History.frame is). Each
    machine is a series of its own, so the switch from one runner to another is never a change.
    """
    if history.empty:
        return []
    ok = history[history["status"] == "ok"]
    if "machine" not in ok:
        ok = ok.assign(machine="")
    tasks = []
    for (target, suite, name, machine), series in ok.groupby(["target", "suite", "name", "machine"], sort=True):
        for statistic in statistics:
            rows = series.dropna(subset=[statistic]).rename(columns={"run_id": "id", "commit": "revision"})
            tasks.append(((target, suite, name, statistic, machine), rows))
    series_found = _on_every_core([rows[key[3]].to_numpy(float) for key, rows in tasks], options)
    return [
        _change_point(rows, target, suite, name, statistic, *f, machine=machine)
        for ((target, suite, name, statistic, machine), rows), found in zip(tasks, series_found, strict=True)
        for f in found
    ]


PARALLEL_FROM = 100_000  # values in all series: below, starting processes costs more than it saves


def _on_every_core(series: list[np.ndarray], options: Options) -> list[list]:
    """change_points_in for each series, spread over the machine's cores when there is enough work
    (a history of 5,000 runs: 8.2 s on one core of this 2-core machine)."""
    if sum(map(len, series)) < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        return [change_points_in(values, options) for values in series]
    with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        return list(pool.map(change_points_in, series, [options] * len(series), chunksize=4))


def detect_ab(ab_history: pd.DataFrame, options: Options = Options()) -> list[ChangePoint]:
    """Change points in the nightly paired A/B: each (pair of targets, suite, name) series of ratios
    B/A, night after night. A step in it is a change in the candidate (FastTrackML main) that the
    release, measured beside it on the same machine each night, did not share. `before_ms` and
    `after_ms` hold the ratios on each side of the change."""
    if ab_history.empty:
        return []
    points = []
    for (series_name, suite, name), rows in ab_history.groupby(["series", "suite", "name"], sort=True):
        rows = rows.rename(columns={"ab_id": "id"}).assign(profile="nightly A/B")
        found = change_points_in(rows["ratio"].to_numpy(float), options)
        points += [_change_point(rows, series_name, suite, name, "A/B ratio", *f) for f in found]
    return points


def _change_point(
    rows: pd.DataFrame,
    target: str,
    suite: str,
    name: str,
    statistic: str,
    index: int,
    before: float,
    after: float,
    pvalue: float,
    machine: str = "",
) -> ChangePoint:
    """The change found at `index` of a series whose rows carry id, revision, started_at and profile."""
    return ChangePoint(
        target=target,
        suite=suite,
        name=name,
        statistic=statistic,
        run_id=str(rows["id"].iloc[index]),
        commit_before=str(rows["revision"].iloc[index - 1]),
        commit_after=str(rows["revision"].iloc[index]),
        started_at=str(rows["started_at"].iloc[index]),
        before_ms=before,
        after_ms=after,
        pvalue=pvalue,
        profile=str(rows["profile"].iloc[index]),
        machine=machine,
    )
