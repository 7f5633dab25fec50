"""Which build first made a request slower: a binary search over ordered builds, judged by paired A/Bs.

Method. The builds are in order (oldest first) and a request name is known to be slower in a
later ("bad") build than in an earlier ("good") one. The first comparison checks that: good
against bad, and if the A/B does not call a regression of that name there is nothing to look for.
Then, while builds lie between the last good and the first bad, the one in the middle is compared
with the last good: a regression makes it the first bad, anything else the last good. Each
comparison is local (a build against the last one known good), so a change that adds up over
several builds is found where it crosses the A/B's threshold. n builds take at most
1 + ceil(log2(n - 1)) A/Bs: 3 for 5 builds, 5 for 17.

This module knows nothing of servers: `judge(good, candidate)` runs the comparison.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.records import Verdict


@dataclass(frozen=True)
class Step:
    """One paired A/B of the search: build `good` (A) against build `candidate` (B), by position."""

    good: int
    candidate: int
    verdict: Verdict
    ratio: float
    low: float
    high: float
    folder: str = ""  # where the A/B's files are

    @property
    def regressed(self) -> bool:
        return self.verdict == Verdict.REGRESSION


@dataclass(frozen=True)
class Outcome:
    steps: list[Step]
    first_bad: int | None  # None: the good and bad builds did not differ
    last_good: int


def search(good: int, bad: int, judge: Callable[[int, int], Step]) -> Outcome:
    """The first bad build between positions `good` and `bad`."""
    if not good < bad:
        raise ValueError(f"the good build ({good}) must come before the bad one ({bad})")
    steps = [judge(good, bad)]
    if not steps[-1].regressed:
        return Outcome(steps, None, good)
    while bad - good > 1:
        middle = (good + bad) // 2
        steps.append(judge(good, middle))
        if steps[-1].regressed:
            bad = middle
        else:
            good = middle
    return Outcome(steps, bad, good)
