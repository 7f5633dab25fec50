"""When a paired A/B knows enough: a group-sequential design over its rounds.

The A/B looks at its rounds a few times as they come in (`looks`: after 6, 9, 12, 18, 27 ...
rounds, and at its last round). At each look every request name still open is judged on the rounds
so far, and settles in one of two ways:

- **a call** (efficacy): the paired interval lies wholly above 1 with the ratio at least 1 +
  threshold (a regression), or the mirror (an improvement), as the fixed-length A/B calls it. The
  interval of look i is at confidence 1 - e_i / k, where k counts the request names of the whole
  comparison (every suite x mode) and e_i is look i's share of the family error: half of it at the
  last look, the other half split evenly over the earlier ones. Since the shares add up to the
  family error, an A/B of a server against itself calls anything, at any look, at most that often
  (Bonferroni over looks and names: it holds whatever the looks' correlation, at the price of
  slightly wider intervals than a fixed A/B of as many rounds).
- **no change** (futility): the interval at confidence 1 - 2 * FUTILITY lies wholly inside
  (1 / (1 + rule_out), 1 + rule_out): a change as large as `rule_out` is ruled out. Stopping for
  futility can only withhold calls, so it never raises the false-call rate above; what it costs is
  power near `rule_out`: a true change of that size is settled as no change at a look at most
  FUTILITY of the time.

A name not settled by the last look gets the verdict of the last look. The A/B stops a suite's
rounds in a mode once every name of it has settled. This module knows nothing of where rounds came
from: it takes each name's per-round pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

from analysis.compare import verdict
from analysis.precision import paired_interval
from core.records import Verdict

FAMILY_ERROR = 0.01  # the chance that an A/A comparison calls anything, over all its request names
TREND_P = 0.001  # a trend this unlikely between equal servers (measured: see the methodology page)
NORMAL_P = 0.001
CALLS = (Verdict.REGRESSION, Verdict.IMPROVEMENT)
FIRST_LOOK = 6  # rounds: fewer leave a t-interval too wide to settle anything
LOOK_GROWTH = 1.5  # each look after the first comes after this many times the rounds of the one before
FINAL_SHARE = 0.5  # of the family error, spent at the last look
FUTILITY = 0.05  # the chance, per look, that a change of exactly rule_out is settled as no change
DESCRIPTION = (
    f"sequential: looks after {FIRST_LOOK} rounds and then each {LOOK_GROWTH:g} times as many, and at the last, "
    f"the error split over them (half at the last); a name settles at the first look that calls it or whose "
    f"{1 - 2 * FUTILITY:.0%} interval rules out its mode's change"
)


@dataclass(frozen=True)
class Judgement:
    """B/A from paired rounds: the ratio, its interval, the verdict, each round's ratio, and why no verdict."""

    ratio: float
    low: float
    high: float
    verdict: Verdict
    rounds: tuple[float, ...]
    reason: str = ""


def judge_pairs(a: np.ndarray, b: np.ndarray, threshold: float, confidence: float) -> Judgement:
    """The paired interval and verdict of `compare`, withheld when the rounds say the interval cannot
    be trusted (see `anomaly`)."""
    ratio, low, high = paired_interval(a, b, confidence)
    ratios = np.asarray(b, float) / np.asarray(a, float)
    called = verdict(ratio, low, high, threshold)
    reason = anomaly(ratios, called, threshold, 1 - confidence) if called in CALLS else ""
    return Judgement(ratio, low, high, Verdict.NO_VERDICT if reason else called, tuple(map(float, ratios)), reason)


def anomaly(ratios: np.ndarray, called: Verdict, threshold: float, alpha: float) -> str:
    """Why a call from these per-round ratios B/A would mislead, or '' when it would not.

    - A trend across the rounds (least-squares slope of the log ratio on the round number, p < TREND_P)
      whose fitted line reaches past the threshold on the other side of 1 than the call: B faster early
      and slower late (or the reverse), as when a change's cost grows with the store. One ratio for the
      whole comparison would hide that; the reason gives the fitted ratio at the first and last round.
    - Ratios far from normal (Shapiro-Wilk p < NORMAL_P: a few rounds far from the rest), when the
      rounds' signs do not carry the call by themselves (a sign test at the interval's own level): the
      t-interval assumes a normal spread, and a few stalled rounds can pull its mean past 1."""
    d = np.log(ratios)
    rounds = np.arange(d.size)
    fit = scipy_stats.linregress(rounds, d)
    first, last = np.exp(fit.intercept), np.exp(fit.intercept + fit.slope * rounds[-1])
    against = 1 / (1 + threshold) if called == Verdict.REGRESSION else 1 + threshold
    crosses = min(first, last) < against if called == Verdict.REGRESSION else max(first, last) > against
    if fit.pvalue < TREND_P and crosses:
        return f"B/A trends from {first:.2f} to {last:.2f} over the rounds (p={fit.pvalue:.0e}): no one ratio holds"
    normal_p = scipy_stats.shapiro(d).pvalue if d.size >= 3 else 1.0
    above = int((d > 0).sum()) if called == Verdict.REGRESSION else int((d < 0).sum())
    sign_p = scipy_stats.binomtest(above, d.size, alternative="greater").pvalue
    if normal_p < NORMAL_P and sign_p > alpha / 2:
        return (
            f"per-round ratios far from normal (Shapiro-Wilk p={normal_p:.0e}) and only {above} of {d.size} "
            "rounds on the side called"
        )
    return ""


def looks(most: int) -> tuple[int, ...]:
    """The rounds after which an A/B of at most `most` rounds looks: 6, 9, 12 (rounded up), 18, 27, ..., `most`."""
    points, n = [], FIRST_LOOK
    while n < most:
        points.append(n)
        n = int(np.ceil(n * LOOK_GROWTH))
    return (*points, most)


@dataclass(frozen=True)
class Design:
    """A sequential A/B's looks and the error it may spend at each."""

    looks: tuple[int, ...]
    names: int  # request names in the whole comparison, every suite x mode
    threshold: float  # the smallest change called
    rule_out: float  # the change whose exclusion settles a name as no change

    def confidence(self, look: int) -> float:
        """The confidence of the call at the look after `look` rounds (one of `looks`)."""
        if len(self.looks) == 1:
            share = 1.0
        elif look == self.looks[-1]:
            share = FINAL_SHARE
        else:
            share = (1 - FINAL_SHARE) / (len(self.looks) - 1)
        return 1 - FAMILY_ERROR * share / max(self.names, 1)


@dataclass(frozen=True)
class Settled:
    """A name's judgement and the look that settled it (None: still open after the rounds given)."""

    judgement: Judgement
    look: int | None


def settle(a: np.ndarray, b: np.ndarray, design: Design) -> Settled:
    """Walk the looks over a name's paired rounds (A and B, round by round, in order): the first look
    that calls a change or rules one out settles it; past the last look reached, the judgement of
    the last look reached (or of every pair, when fewer than a first look's) stands, open."""
    reached = [n for n in design.looks if n <= len(a)]
    for n in reached:
        judgement = judge_pairs(a[:n], b[:n], design.threshold, design.confidence(n))
        if judgement.verdict in CALLS or n == design.looks[-1]:
            return Settled(judgement, n)
        if not judgement.reason and (ruled := rules_out(a[:n], b[:n], design.rule_out)):
            return Settled(ruled, n)
    n = reached[-1] if reached else len(a)
    return Settled(judge_pairs(a[:n], b[:n], design.threshold, design.confidence(design.looks[-1])), None)


def rules_out(a: np.ndarray, b: np.ndarray, change: float) -> Judgement | None:
    """No change, with the interval at 1 - 2 * FUTILITY that says so, when it lies wholly within a
    change of `change` either way; None when it does not."""
    ratio, low, high = paired_interval(a, b, 1 - 2 * FUTILITY)
    if not (low > 1 / (1 + change) and high < 1 + change):
        return None
    ratios = tuple(map(float, np.asarray(b, float) / np.asarray(a, float)))
    why = f"settled after {len(a)} rounds, its {1 - 2 * FUTILITY:.0%} interval within ±{change:.0%}"
    return Judgement(ratio, low, high, Verdict.NO_CHANGE, ratios, why)
