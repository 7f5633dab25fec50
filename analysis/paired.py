"""Paired A/B: is B slower than A, judged from rounds measured side by side on one machine.

Method. The two servers ran the same suite in rounds, alternating A B, B A, A B ... (see
`runner/ab.py`). For each request name, round r of each side gives one typical latency: the
geometric mean of that round's successful requests' latencies, less the fastest and slowest 10%
(`side_statistics`), after the first `warmup` share of the round's time is discarded. Rounds are
paired by number, and each pair gives a log-ratio d_r = log(typical B_r / typical A_r). Whatever
slowed the machine during a pair of rounds (a neighbour, a warming cache, the database growing)
slowed both sides of it alike and cancels in d_r; what is left varies from round to round, and that
spread is the noise: measured here, not assumed. The estimate is the geometric mean of the per-round
ratios, exp(mean d), and its interval is exp(mean d +- t(1 - a/2, n - 1) * sd(d) / sqrt(n)),
Student's t over the n rounds. The intervals of one comparison hold together: a = 0.01 / k for its k
request names (Bonferroni), so that a comparison of a server with itself calls a change on any
request name at most 1% of the time (why 1%, measured: docs/methodology.md, "The figures behind the A/B's settings").

With `interleave`, both sides share each round's one k6 process, every VU taking turns A B B A ...
iteration by iteration: what slows the machine for a moment then slows both sides of a round
alike, and cancels in its ratio too, not only what drifts from one round to the next.

With `isolated` rounds (the default of `ab`), each request name ran in a segment of its own in
every round, so its median is not that of requests waiting behind other kinds' work.

The verdict is the one `compare` gives: a regression when the whole interval lies above 1 and the
ratio is at least 1 + threshold, an improvement in the mirror case, otherwise no change. There is
no verdict, never a ratio from partial data, for a request name whose suite has a round that did
not complete, that failed a request of that name, or that has fewer than 3 complete pairs. Nor is
there one when the per-round ratios say the interval misleads (`anomaly`): a trend that crosses
from one side of 1 to the other, or a spread far from normal whose rounds' signs do not carry the
call by themselves.

The servers' cost is judged the same way: CPU seconds per 1000 requests of each round (the
server's process tree, metered around the round), paired by round; and the peak memory. Isolated
rounds give it per request name too (the CPU between the barriers around its segment), with a
verdict of its own at its own threshold: steadier than latency, it still scatters between equal
servers. The figures behind these choices are in the methodology, not here, where they are kept
current: docs/methodology.md, "The figures behind the A/B's settings".

This module knows nothing of how rounds were run: the runner hands it each round's samples as it
ends (`round_rows`), and `judge` takes the table of every round and the A/B's metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from analysis.compare import verdict
from analysis.k6csv import read_samples
from analysis.summarise import successful_durations, summarise_samples
from core.records import ABMetadata, ABRound, Comparison, ComparisonRow, CpuCost, ResourceRow, Status, Verdict, now_iso

MIN_PAIRS = 3
FAMILY_ERROR = 0.01  # the chance that an A/A comparison calls anything, over all its request names
METHOD = (
    "paired rounds on one machine: geometric mean of the per-round ratios B/A of typical latency (a trimmed "
    "geometric mean), t-interval"
)
ISOLATED = "each request name in a segment of its own in every round"
DEFAULT_CPU_THRESHOLD = 0.02
TREND_P = 0.001  # a trend this unlikely between equal servers (measured: see the methodology page)
NORMAL_P = 0.001
CALLS = (Verdict.REGRESSION, Verdict.IMPROVEMENT)
SIDES = ("A", "B")
ROUND_COLUMNS = ["suite", "round", "side", "status", "name", "count", "errors", "median_ms", "typical_ms", "requests"]
TRIM = 0.1  # the share of a round's latencies cut from each end before their geometric mean


def paired_interval(a: np.ndarray, b: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """Ratio B/A from paired positive values (one pair per round) and its t-interval, on log scale."""
    d = np.log(np.asarray(b, float)) - np.log(np.asarray(a, float))
    mean = float(d.mean())
    if d.size < 2:
        return float(np.exp(mean)), float("nan"), float("nan")
    half = scipy_stats.t.ppf(0.5 + confidence / 2, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    return float(np.exp(mean)), float(np.exp(mean - half)), float(np.exp(mean + half))


def round_statistics(csv_path: Path, warmup: float, side: str | None = None) -> pd.DataFrame:
    """Per request name of one round (of one side, where the round interleaved both): requests, errors,
    and the median and typical latency after the warm-up share (`side_statistics`)."""
    samples = read_samples(csv_path).frame
    if side is not None:
        samples = samples[samples["side"] == side]
    return side_statistics(samples, warmup)


def side_statistics(samples: pd.DataFrame, warmup: float = 0.0) -> pd.DataFrame:
    """Per request name of one side's samples of a round: requests, errors, median latency, and the
    typical latency that is judged: the geometric mean of the latencies, less the fastest and slowest
    TRIM of them. A mean uses every sample, a median only the middle ones; trimmed, a few stalls do
    not move it (it scatters less than the median: the methodology's figures)."""
    if samples.empty:
        return pd.DataFrame(columns=["name", "count", "errors", "median_ms", "typical_ms"])
    counts = summarise_samples(samples)[["count", "errors"]]
    latency = successful_durations(samples)
    if warmup > 0 and not latency.empty:
        first, last = samples["timestamp"].min(), samples["timestamp"].max()
        latency = latency[latency["timestamp"] >= first + warmup * (last - first)]
    by_name = latency.groupby("name", observed=True)["value"]
    typical = by_name.agg(typical_latency).rename("typical_ms")
    frame = counts.join(by_name.median().rename("median_ms"), how="left").join(typical, how="left").reset_index()
    frame["name"] = frame["name"].astype(str)
    return frame


def typical_latency(values: pd.Series) -> float:
    """exp of the TRIM-trimmed mean of log latency; NaN without a positive value."""
    logs = np.log(values[values > 0].to_numpy(float))
    return float(np.exp(scipy_stats.trim_mean(logs, TRIM))) if logs.size else float("nan")


def round_rows(samples: pd.DataFrame | None, result: ABRound, warmup: float, interleaved: bool) -> pd.DataFrame:
    """One side of one round as rows of the rounds table (ROUND_COLUMNS), one per request name; a
    round without samples is one row with no name, so that its status is kept."""
    if samples is not None and interleaved:
        samples = samples[samples["side"] == result.side]
    stats = side_statistics(samples, warmup) if samples is not None else pd.DataFrame()
    if stats.empty:
        stats = pd.DataFrame({"name": [""], "count": [0], "errors": [0], "median_ms": np.nan, "typical_ms": np.nan})
    stats = stats.assign(
        suite=result.suite,
        round=result.round,
        side=result.side,
        status=str(result.status),
        requests=int(stats["count"].sum()),
    )
    return stats[ROUND_COLUMNS]


@dataclass(frozen=True)
class Thresholds:
    """The smallest change called: of latency, and of CPU per request (an isolated A/B)."""

    latency: float
    cpu: float = DEFAULT_CPU_THRESHOLD


def judge(meta: ABMetadata, rounds: pd.DataFrame, threshold: float | Thresholds) -> Comparison:
    """The comparison of every request name of every suite, and the servers' cost per suite, from
    the A/B's metadata and its rounds table (`round_rows` of every round).

    The intervals hold together for the whole comparison: each is at confidence 1 - FAMILY_ERROR / k
    for its k request names (Bonferroni), so an A/A comparison calls a change on any of them at most
    FAMILY_ERROR of the time, however many request names it has."""
    threshold = threshold if isinstance(threshold, Thresholds) else Thresholds(threshold)
    names = [(suite, name) for suite in meta.suites for name in _names(rounds, suite)]
    confidence = 1 - FAMILY_ERROR / max(len(names), 1)
    rows = []
    for suite, name in names:
        of_name = rounds[(rounds["suite"] == suite) & (rounds["name"] == name)]
        rows.append(_compare_name(of_name, meta, suite, name, _broken_rounds(meta, suite), threshold, confidence))
    for suite in [s for s in meta.suites if not _names(rounds, s)]:  # nothing of it ran: say so, no verdict
        reason = _broken_rounds(meta, suite) or "no request was measured"
        ids = (meta.baseline.target, meta.candidate.target, suite, "(every request)")
        rows.append(ComparisonRow(*ids, *(np.nan,) * 5, Verdict.NO_VERDICT, reason=reason))
    resources = tuple(_resources(meta, rounds, suite) for suite in meta.suites)
    together = f"{1 - FAMILY_ERROR:.0%} for the whole comparison (Bonferroni over {len(names)} request names)"
    method = f"{METHOD} holding at {together}"
    return Comparison(
        meta.baseline.spec,
        meta.candidate.spec,
        threshold.latency,
        method + (f"; {ISOLATED}" if meta.isolated else ""),
        tuple(rows),
        now_iso(),
        resources,
        cpu_threshold=threshold.cpu if any(r.cpu is not None for r in rows) else None,
    )


def _names(rounds: pd.DataFrame, suite: str) -> list[str]:
    return sorted(n for n in rounds.loc[rounds["suite"] == suite, "name"].unique() if n)


def _broken_rounds(meta: ABMetadata, suite: str) -> str:
    """Why the rounds of a suite cannot be compared ('' when they all completed)."""
    ran = [r for r in meta.results if r.suite == suite]
    bad = [r for r in ran if r.status != Status.OK]
    if bad:
        return f"round {bad[0].round} of {bad[0].side}: {bad[0].status}" + (
            f" ({bad[0].error})" if bad[0].error else ""
        )
    if len(ran) < 2 * meta.rounds:
        return f"only {len(ran)} of {2 * meta.rounds} rounds ran"
    return ""


def _compare_name(
    frame: pd.DataFrame, meta: ABMetadata, suite: str, name: str, broken: str, threshold: Thresholds, confidence: float
) -> ComparisonRow:
    judged = "typical_ms" if "typical_ms" in frame else "median_ms"  # rounds written before typical_ms: medians
    columns = list({"median_ms", judged, "errors"})
    wide = frame.pivot_table(index="round", columns="side", values=columns, aggfunc="first")
    a, b = wide["median_ms"].get("A"), wide["median_ms"].get("B")
    typical_a, typical_b = wide[judged].get("A"), wide[judged].get("B")
    errors = int(frame["errors"].sum())
    pairs = pd.DataFrame()
    if typical_a is not None and typical_b is not None:
        pairs = pd.concat([typical_a, typical_b], axis=1).dropna()
    reason = broken or (f"{errors} failed request(s)" if errors else "")
    if not reason and len(pairs) < MIN_PAIRS:
        reason = f"{len(pairs)} complete pair(s) of rounds, fewer than {MIN_PAIRS}"
    ids = (meta.baseline.target, meta.candidate.target, suite, name)
    metered = meta.isolated and any(r.cpu_by_name for r in meta.results)  # none for servers at a URL
    cpu = _cpu_cost(meta, frame, name, reason, threshold.cpu, confidence) if metered else None
    if reason:
        return ComparisonRow(*ids, *_medians(a, b), np.nan, np.nan, np.nan, Verdict.NO_VERDICT, reason=reason, cpu=cpu)
    j = judge_pairs(pairs.iloc[:, 0].to_numpy(), pairs.iloc[:, 1].to_numpy(), threshold.latency, confidence)
    median_a, median_b = _medians(a, b)
    return ComparisonRow(
        *ids, median_a, median_b, j.ratio, j.low, j.high, j.verdict, rounds=j.rounds, reason=j.reason, cpu=cpu
    )


def _cpu_cost(
    meta: ABMetadata, frame: pd.DataFrame, name: str, broken: str, threshold: float, confidence: float
) -> CpuCost:
    """CPU milliseconds per request of `name` on each side, round by round, judged as latency is."""
    counts = frame.set_index(["round", "side"])["count"]
    per_request = {}
    for r in meta.results:
        seconds, count = r.cpu_by_name.get(name), counts.get((r.round, r.side), 0)
        if r.suite == frame["suite"].iloc[0] and seconds is not None and count:
            per_request[(r.round, r.side)] = seconds / count * 1000
    wide = pd.Series(per_request, dtype=float).unstack() if per_request else pd.DataFrame()
    a, b = (wide.get(side) for side in SIDES)
    pairs = pd.concat([a, b], axis=1).dropna() if a is not None and b is not None else pd.DataFrame()
    pairs = pairs[(pairs > 0).all(axis=1)]
    if not broken and len(pairs) < MIN_PAIRS:
        broken = f"CPU of {len(pairs)} pair(s) of rounds, fewer than {MIN_PAIRS}"
    medians = _medians(a, b)
    if broken:
        return CpuCost(*medians, np.nan, np.nan, np.nan, Verdict.NO_VERDICT, reason=broken)
    j = judge_pairs(pairs.iloc[:, 0].to_numpy(), pairs.iloc[:, 1].to_numpy(), threshold, confidence)
    return CpuCost(*medians, j.ratio, j.low, j.high, j.verdict, j.rounds, j.reason)


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


def _medians(a: pd.Series | None, b: pd.Series | None) -> tuple[float, float]:
    """Each side's typical latency over the rounds: the median of its round medians."""
    return tuple(float(s.median()) if s is not None and s.notna().any() else np.nan for s in (a, b))


def _resources(meta: ABMetadata, rounds: pd.DataFrame, suite: str) -> ResourceRow:
    requests = rounds[rounds["suite"] == suite].groupby(["round", "side"])["requests"].first()
    cpu, rss = {}, {}
    for r in meta.results:
        if r.suite == suite and r.status == Status.OK and r.cpu_seconds is not None:
            count = requests.get((r.round, r.side), 0)
            if count:
                cpu[(r.round, r.side)] = r.cpu_seconds / count * 1000
            rss.setdefault(r.side, []).append(r.rss_peak_mib or np.nan)
    per_round = pd.Series(cpu, dtype=float).unstack() if cpu else pd.DataFrame()
    if per_round.empty or not {"A", "B"} <= set(per_round.columns):
        return ResourceRow(suite, None, None, None, None, None, None, None)
    pairs = per_round[["A", "B"]].dropna()
    pairs = pairs[(pairs > 0).all(axis=1)]
    ratio, low, high = paired_interval(pairs["A"].to_numpy(), pairs["B"].to_numpy()) if len(pairs) else (None,) * 3
    peak = {side: float(np.nanmax(values)) if values else None for side, values in rss.items()}
    return ResourceRow(
        suite,
        float(per_round["A"].median()),
        float(per_round["B"].median()),
        ratio,
        low,
        high,
        peak.get("A"),
        peak.get("B"),
        tuple(float(x) for x in pairs["B"] / pairs["A"]),
    )
