"""The client suite's figures: how much of a training loop's time is logging, and which calls it is.

A loop "trains" for EPOCHS x TRAIN_MS (sleeps, the same on every target); everything beyond that is
the client and the server at work: logging. The share of logging is (loop p50 - training) / loop p50.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.summarise import PairSummary

SUITE = "client"
ASYNC = "TrainLogAsync"


@dataclass(frozen=True)
class Loop:
    """One way of logging on one target: its loop's time, and what of it was logging."""

    target: str
    way: str  # TrainLogMetric, TrainLogMetrics, TrainLogAsync
    loops: int
    p50_ms: float
    p95_ms: float
    training_ms: float  # the loop's simulated training: epochs x train_ms
    calls_per_loop: float
    call_ms_per_loop: float  # the REST calls' time, summed (overlapping calls of the async way included)

    @property
    def logging_ms(self) -> float:
        return max(0.0, self.p50_ms - self.training_ms)

    @property
    def client_ms(self) -> float | None:
        """The client's own time (the loop less training and REST calls); None where calls overlap
        the training (asynchronous logging)."""
        return None if self.way == ASYNC else max(0.0, self.logging_ms - self.call_ms_per_loop)

    @property
    def logging_share(self) -> float:
        return self.logging_ms / self.p50_ms if self.p50_ms > 0 else float("nan")


def loops(pairs: list[PairSummary]) -> list[Loop]:
    """Every target x way of the client pairs that were measured, in the pairs' order."""
    found = []
    for pair in pairs:
        if pair.suite != SUITE or pair.missing:
            continue
        settings = pair.meta.settings
        training = float(settings.get("epochs", 0)) * float(settings.get("train_ms", 0))
        calls = pd.DataFrame(list(pair.calls), columns=["name", "calls_per_operation", "ms_per_operation"])
        per_way = calls.groupby("name")[["calls_per_operation", "ms_per_operation"]].sum()
        for row in pair.stats.itertuples(index=False):
            made = per_way.loc[row.name] if row.name in per_way.index else pd.Series({"calls_per_operation": 0.0})
            found.append(
                Loop(
                    pair.target,
                    str(row.name),
                    int(row.count - row.errors),
                    float(row.p50_ms),
                    float(row.p95_ms),
                    training,
                    float(made.get("calls_per_operation", 0.0)),
                    float(made.get("ms_per_operation", 0.0)),
                )
            )
    return found
