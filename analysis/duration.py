"""How long a run will take: said before it starts, refined as its pairs end.

Each pair (target x suite) is expected to take what the same pair took at the same profile in the
history: the median wall time, start to end, of its finished runs, preferring those on this
machine's CPU model. A pair the history has not seen is expected to take the profile's
`pairSeconds` (k6/profiles.json: a whole run of every default target and suite on a 2-core
machine, divided by the 20 pairs that run), or its suite's own `pairSeconds` where the profile's
entry for the suite gives one (the ui and client suites, whose pairs are far from the mean; the ui
suite's standard figure is the mean of its five pairs on one machine, 931 s). While the run goes,
what is left is the estimate of the pairs still to come. It is not scaled by how the finished
pairs went: with the profile's one figure for every pair, FastTrackML's pairs end in a quarter of
it and MLflow's take twice, so the first pairs of a run would say little of the rest (measured on
a smoke run: scaled, "2 min left" stood from the fifth pair to the sixteenth while 5 minutes went
by).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from core.records import HistoryRecord, PairMetadata, Status

Pair = tuple[str, str]  # (target, suite)


@dataclass(frozen=True)
class RunEstimate:
    """Expected seconds of each pair of a run, in run order, and how many came from the history."""

    seconds: dict[Pair, float]
    from_history: int

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    def remaining(self, done: Iterable[Pair]) -> float:
        """Expected seconds of the pairs not yet `done`."""
        finished = set(done)
        return sum(seconds for pair, seconds in self.seconds.items() if pair not in finished)

    def describe(self) -> str:
        """'about 76 min' with where the figure comes from."""
        source = (
            "from the history"
            if self.from_history == len(self.seconds)
            else f"{self.from_history} of {len(self.seconds)} pairs from the history, the rest from the profile"
            if self.from_history
            else "from the profile; the history will refine it"
        )
        return f"about {minutes(self.total)} ({source})"


def estimate(
    pairs: Iterable[Pair],
    profile: str,
    fallback_seconds: float | Mapping[str, float],
    history: list[HistoryRecord],
    cpu_model: str = "",
) -> RunEstimate:
    """The expected seconds of each pair, from the history's pairs of the same profile (this CPU
    model's when it has any), else `fallback_seconds` (one figure, or one per suite)."""
    past = _pair_seconds(history, profile, cpu_model) or _pair_seconds(history, profile, "")

    def fallback(suite: str) -> float:
        return fallback_seconds if isinstance(fallback_seconds, int | float) else fallback_seconds[suite]

    seconds = {pair: past[pair] if pair in past else fallback(pair[1]) for pair in pairs}
    return RunEstimate(seconds, sum(pair in past for pair in seconds))


def wall_seconds(meta: PairMetadata) -> float | None:
    """A pair's wall time, start to end (None while it runs)."""
    if not meta.ended_at:
        return None
    return (datetime.fromisoformat(meta.ended_at) - datetime.fromisoformat(meta.started_at)).total_seconds()


def minutes(seconds: float) -> str:
    """'45 s', '12 min', '1 h 16 min'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    whole = round(seconds / 60)
    return f"{whole} min" if whole < 60 else f"{whole // 60} h {whole % 60} min"


def _pair_seconds(history: list[HistoryRecord], profile: str, cpu_model: str) -> dict[Pair, float]:
    taken: dict[Pair, list[float]] = {}
    for record in history:
        if record.profile != profile:
            continue
        for meta in record.pairs:
            seconds = wall_seconds(meta)
            if meta.status == Status.OK and seconds and (not cpu_model or meta.machine.cpu_model == cpu_model):
                taken.setdefault((meta.target, meta.suite), []).append(seconds)
    return {pair: float(np.median(values)) for pair, values in taken.items()}
