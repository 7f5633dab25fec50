"""How sure each p50 of a run is: its interval, and the interval of one server's p50 against another's.

A p50 measured once would be known only as well as its own samples say, yet two runs of the same
server on the same machine differ by more than that: the machine drifts (other work, its caches,
its clock), so a p50 is a draw from a run-to-run spread. Every interval here includes that spread.

- **From rounds** (the REST suites of the default profile, see runner/rounds.py): the suite ran in
  R short rounds, spread over the run and taking turns with the other targets of its database.
  Each round gives its own p50; the interval is the pooled p50 times exp(±t·s/√R), where s is the
  standard deviation of the rounds' log p50s and t Student's quantile with R - 1 degrees of
  freedom, widened (in quadrature) by INSTANCE_NOISE: the rounds' scatter is the spread over time,
  but they all share one fresh server instance, whose own offset against another instance of the
  same server only identical twins show.
- **From one pass** (scale, capacity, client, ui, and any profile without rounds): the
  distribution-free interval of a median from its samples' order statistics (binomial; below 6
  samples, which cannot reach 95% that way, the t-interval of their logs), widened on the log scale
  by RUN_NOISE, the run-to-run spread of a p50 between identical runs (the halves added in
  quadrature).
- **One server against another** (head to head): where both ran the same rounds, the paired
  interval of their per-round ratios, as the A/B takes it (drift of the machine during a round hits
  both and cancels), widened by both instances' offsets; otherwise the two intervals' halves added
  in quadrature on the log scale.

This module knows nothing of where its numbers came from: it takes p50s, rounds and samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

CONFIDENCE = 0.95
# The run-to-run spread of a p50 (standard deviation of its log) between identical runs on one
# machine: two runs of the same code here differ by 5-30% in p50. `compare` widens its intervals by
# the same figure where the history is too short to measure it per series; the default profile's
# rounds scattered 0.07-0.18 per round at 1 VU (docs/methodology.md, "How sure a number is").
RUN_NOISE = 0.15
# One server instance's own offset (standard deviation of its log p50 against another instance of
# the same server, both fresh, measured side by side): the rounds of a run share their instance, so
# their scatter cannot show it. Measured on identical twins (perf/run_precision.py identical).
INSTANCE_NOISE = 0.05
MIN_ROUNDS = 2  # a scatter needs two rounds at least


def _scipy_stats():  # noqa: ANN202
    """scipy.stats, loaded when first needed: `./run.sh run` checks its options before it loads (1-2 s)."""
    from scipy import stats

    return stats


def _z(confidence: float) -> float:
    return float(_scipy_stats().norm.ppf(0.5 + confidence / 2))


def t_half(logs: np.ndarray, confidence: float = CONFIDENCE) -> float:
    """Half the t-interval of the mean of `logs` (one value per round): t * s / sqrt(n); nan below two."""
    logs = np.asarray(logs, float)
    if logs.size < MIN_ROUNDS:
        return float("nan")
    return float(_scipy_stats().t.ppf(0.5 + confidence / 2, logs.size - 1) * logs.std(ddof=1) / np.sqrt(logs.size))


def paired_interval(a: np.ndarray, b: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """Ratio B/A from paired positive values (one pair per round) and its t-interval, on log scale."""
    d = np.log(np.asarray(b, float)) - np.log(np.asarray(a, float))
    mean, half = float(d.mean()), t_half(d, confidence)
    return float(np.exp(mean)), float(np.exp(mean - half)), float(np.exp(mean + half))


def from_rounds(p50: float, round_p50s: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The interval of a pooled p50 from its rounds' p50s, widened by its server instance's own
    offset (see the module's docstring)."""
    half = t_half(np.log(np.asarray(round_p50s, float)), confidence)
    if np.isnan(half) or p50 <= 0:
        return float("nan"), float("nan")
    half = float(np.hypot(half, _z(confidence) * INSTANCE_NOISE))
    return float(p50 * np.exp(-half)), float(p50 * np.exp(half))


def from_samples(samples: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The interval of a median measured in one pass: its sampling part widened by RUN_NOISE.

    The sampling part is the distribution-free one, between two order statistics, where the samples
    are enough for it: n samples hold their median between the smallest and the largest with
    probability 1 - 2 / 2^n, under 95% below 6 samples. Fewer than that take the t-interval of their
    logs' mean instead, widened by sqrt(pi / 2) for a median's larger scatter (it assumes a
    log-normal spread, which a few samples cannot refute)."""
    values = np.sort(np.asarray(samples, float))
    if values.size == 0 or values[0] <= 0:
        return float("nan"), float("nan")
    centre = np.log(np.median(values))
    sampling = _order_half(values, centre, confidence)
    half = float(np.hypot(sampling, _z(confidence) * RUN_NOISE))
    return float(np.exp(centre - half)), float(np.exp(centre + half))


def _order_half(values: np.ndarray, centre: float, confidence: float) -> float:
    """The sampling half-width (log scale) of the median of sorted `values`; 0 for one sample."""
    n = values.size
    if n == 1:
        return 0.0
    if 1 - 2 * 0.5**n < confidence:  # a median scatters sqrt(pi / 2) times as much as a mean
        return float(np.sqrt(np.pi / 2) * t_half(np.log(values), confidence))
    # the ranks k, n-1-k that hold the median between them with at least `confidence`
    k = max(int(_scipy_stats().binom.ppf((1 - confidence) / 2, n, 0.5)) - 1, 0)
    return float(max(centre - np.log(values[k]), np.log(values[n - 1 - k]) - centre))


def relative_half_width(p50: float, low: float, high: float) -> float:
    """How far the interval reaches from its p50, as a share of it (0.1: within ±10%)."""
    if not p50 > 0 or not low > 0:
        return float("inf")
    return float(max(high / p50, p50 / low) - 1)


@dataclass(frozen=True)
class HeadToHead:
    """One request name on one database: `other`'s p50 over `reference`'s, and its interval."""

    suite: str
    name: str
    reference: str  # target ids
    other: str
    ratio: float
    low: float
    high: float
    paired_rounds: int  # rounds both ran, taken in pairs; 0 when the two intervals were combined

    @property
    def sure(self) -> str:
        """'faster', 'slower' or 'not told apart': where the interval lies against 1."""
        if self.low > 1:
            return "slower"
        if self.high < 1:
            return "faster"
        return "not told apart"


def head_to_head(summary: pd.DataFrame, rounds: pd.DataFrame, reference: str, other: str) -> list[HeadToHead]:
    """`other` against `reference` on every request name both measured (ok rows of `summary`, which
    has p50_ms and its interval); paired over `rounds` (target, suite, name, round, p50_ms) where
    both have at least MIN_ROUNDS of the same rounds."""
    ok = summary[(summary["status"] == "ok") & (summary["p50_ms"] > 0)].set_index(["target", "suite", "name"])
    by_round = rounds.set_index(["target", "suite", "name"]) if not rounds.empty else None
    result = []
    for suite, name in sorted({(s, n) for t, s, n in ok.index if t == reference}):
        if (other, suite, name) not in ok.index:
            continue
        a, b = ok.loc[(reference, suite, name)], ok.loc[(other, suite, name)]
        paired = _paired(by_round, reference, other, suite, name)
        if paired is not None:
            ratio, low, high = paired_interval(*paired, confidence=CONFIDENCE)
            # both instances' own offsets, which pairing the rounds cannot cancel
            half = np.hypot(np.log(high / ratio), np.sqrt(2) * _z(CONFIDENCE) * INSTANCE_NOISE)
            low, high = ratio * np.exp(-half), ratio * np.exp(half)
            result.append(HeadToHead(suite, name, reference, other, ratio, low, high, len(paired[0])))
            continue
        ratio = b["p50_ms"] / a["p50_ms"]
        result.append(HeadToHead(suite, name, reference, other, ratio, *combined(ratio, _log_half(a), _log_half(b)), 0))
    return result


def _log_half(row: pd.Series) -> float:
    return log_half(row["p50_ms"], row["p50_low_ms"], row["p50_high_ms"])


def log_half(p50: float | None, low: float | None, high: float | None) -> float:
    """How far an interval reaches from its p50 on the log scale, the farther side (nan: no interval)."""
    if not p50 or not low or not high or not low > 0:
        return float("nan")
    return float(max(np.log(high / p50), np.log(p50 / low)))


def combined(ratio: float, half_a: float, half_b: float) -> tuple[float, float]:
    """The interval of a ratio of two p50s measured apart: their log halves added in quadrature."""
    half = np.hypot(half_a, half_b)
    return float(ratio * np.exp(-half)), float(ratio * np.exp(half))


def _paired(
    by_round: pd.DataFrame | None, reference: str, other: str, suite: str, name: str
) -> tuple[np.ndarray, np.ndarray] | None:
    if by_round is None or (reference, suite, name) not in by_round.index or (other, suite, name) not in by_round.index:
        return None
    a = by_round.loc[[(reference, suite, name)]].set_index("round")["p50_ms"]
    b = by_round.loc[[(other, suite, name)]].set_index("round")["p50_ms"]
    common = a.index.intersection(b.index)
    if len(common) < MIN_ROUNDS:
        return None
    return a[common].to_numpy(float), b[common].to_numpy(float)
