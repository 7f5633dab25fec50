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

from analysis import sequential
from analysis.k6csv import read_samples
from analysis.sequential import FAMILY_ERROR, judge_pairs, paired_interval
from analysis.summarise import successful_durations, summarise_samples
from core.records import (
    ABMetadata,
    ABMode,
    ABRound,
    Comparison,
    ComparisonRow,
    CpuCost,
    ResourceRow,
    Status,
    Verdict,
    now_iso,
)

MIN_PAIRS = 3
METHOD = (
    "paired rounds on one machine: geometric mean of the per-round ratios B/A of typical latency (a trimmed "
    "geometric mean), t-interval"
)
ISOLATED = "each request name in a segment of its own in every round"
DEFAULT_CPU_THRESHOLD = 0.02
SIDES = ("A", "B")
ROUND_COLUMNS = [
    "suite",
    "mode",
    "round",
    "side",
    "status",
    "name",
    "count",
    "errors",
    "median_ms",
    "typical_ms",
    "requests",
]
TRIM = 0.1  # the share of a round's latencies cut from each end before their geometric mean


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
        mode=result.mode,
    )
    return stats[ROUND_COLUMNS]


@dataclass(frozen=True)
class Thresholds:
    """The smallest change called: of latency, and of CPU per request (an isolated A/B)."""

    latency: float
    cpu: float = DEFAULT_CPU_THRESHOLD


def judge(meta: ABMetadata, rounds: pd.DataFrame, threshold: float | Thresholds) -> Comparison:
    """The comparison of every request name of every suite in every mode, and the servers' cost per
    suite, from the A/B's metadata and its rounds table (`round_rows` of every round).

    The intervals hold together for the whole comparison: the family error is split evenly over
    its parts (suite x mode) and, within a part, over its request names (Bonferroni) and, in a
    sequential A/B, over its looks (analysis/sequential.py), so that an A/A comparison calls a change
    on any of them at most FAMILY_ERROR of the time, however many request names it has."""
    threshold = threshold if isinstance(threshold, Thresholds) else Thresholds(threshold)
    rounds = rounds if "mode" in rounds else rounds.assign(mode=meta.measured_modes[0].name)
    rows = []
    for mode in meta.measured_modes:
        for suite in meta.suites:
            rows += _judge_part(meta, rounds, suite, mode, threshold)
    resources = tuple(
        _resources(meta, rounds, suite, mode.name) for mode in meta.measured_modes for suite in meta.suites
    )
    return Comparison(
        meta.baseline.spec,
        meta.candidate.spec,
        threshold.latency,
        _method(meta, rounds),
        tuple(rows),
        now_iso(),
        resources,
        cpu_threshold=threshold.cpu if any(r.cpu is not None for r in rows) else None,
    )


def design(meta: ABMetadata, mode: ABMode, names: int, threshold: float) -> sequential.Design:
    """The looks and error shares of a part (suite x mode) of `names` request names, as the runner
    stops it and the judge replays it."""
    looks = sequential.looks(mode.rounds) if mode.rule_out is not None else (mode.rounds,)
    parts = len(meta.suites) * len(meta.measured_modes)
    return sequential.Design(looks, parts * names, threshold, mode.rule_out or 0.0)


def _judge_part(
    meta: ABMetadata, rounds: pd.DataFrame, suite: str, mode: ABMode, threshold: Thresholds
) -> list[ComparisonRow]:
    part = rounds[(rounds["suite"] == suite) & (rounds["mode"] == mode.name)]
    names = _names(part)
    broken = _broken_rounds(meta, suite, mode.name)
    if not names:  # nothing of it ran: say so, no verdict
        ids = (meta.baseline.target, meta.candidate.target, suite, "(every request)")
        ran = sum(r.suite == suite and meta.mode_of(r) == mode.name for r in meta.results)
        short = f"only {ran} of {2 * mode.rounds} rounds ran" if ran < 2 * mode.rounds else ""
        reason = broken or short or "no request was measured"
        return [ComparisonRow(*ids, *(np.nan,) * 5, Verdict.NO_VERDICT, reason=reason, mode=mode.name)]
    plan = design(meta, mode, len(names), threshold.latency)
    return [_compare_name(part[part["name"] == name], meta, mode, name, broken, threshold, plan) for name in names]


def _method(meta: ABMetadata, rounds: pd.DataFrame) -> str:
    modes = meta.measured_modes
    names = rounds.loc[rounds["name"] != "", ["suite", "mode", "name"]].drop_duplicates()
    looked = any(m.rule_out is not None for m in modes)
    together = f"{1 - FAMILY_ERROR:.0%} for the whole comparison (Bonferroni over {len(names)} request names"
    method = f"{METHOD} holding at {together}{' and their looks' if looked else ''})"
    if looked:
        method += f"; {sequential.DESCRIPTION}"
    if meta.modes:
        method += "; modes: " + ", ".join(m.describe() for m in modes)
    elif meta.isolated:
        method += f"; {ISOLATED}"
    return method


def _names(part: pd.DataFrame) -> list[str]:
    return sorted(n for n in part["name"].unique() if n)


def _broken_rounds(meta: ABMetadata, suite: str, mode: str) -> str:
    """Why the rounds of a suite in a mode cannot be compared ('' when every round that ran completed)."""
    ran = [r for r in meta.results if r.suite == suite and meta.mode_of(r) == mode]
    bad = [r for r in ran if r.status != Status.OK]
    if bad:
        return f"round {bad[0].round} of {bad[0].side}: {bad[0].status}" + (
            f" ({bad[0].error})" if bad[0].error else ""
        )
    return ""


def _compare_name(
    frame: pd.DataFrame,
    meta: ABMetadata,
    mode: ABMode,
    name: str,
    broken: str,
    threshold: Thresholds,
    plan: sequential.Design,
) -> ComparisonRow:
    a, b, pairs = _paired_rounds(frame)
    errors = int(frame["errors"].sum())
    reason = broken or (f"{errors} failed request(s)" if errors else "")
    if not reason and len(pairs) < MIN_PAIRS:
        reason = f"{len(pairs)} complete pair(s) of rounds, fewer than {MIN_PAIRS}"
    suite = str(frame["suite"].iloc[0])
    ids = (meta.baseline.target, meta.candidate.target, suite, name)
    metered = mode.isolated and any(r.cpu_by_name for r in meta.results)  # none for servers at a URL
    cpu = _cpu_cost(meta, frame, name, reason, threshold.cpu, plan.confidence(plan.looks[-1])) if metered else None
    median_a, median_b = _medians(a, b)
    settled = None if reason else sequential.settle(pairs.iloc[:, 0].to_numpy(), pairs.iloc[:, 1].to_numpy(), plan)
    if not reason and settled.look is None and len(pairs) < mode.rounds:
        reason = f"only {len(pairs)} of {mode.rounds} rounds ran before the A/B stopped, and they settle nothing"
    if reason:
        return ComparisonRow(
            *ids, median_a, median_b, np.nan, np.nan, np.nan, Verdict.NO_VERDICT, reason=reason, cpu=cpu, mode=mode.name
        )
    j = settled.judgement
    return ComparisonRow(
        *ids,
        median_a,
        median_b,
        j.ratio,
        j.low,
        j.high,
        j.verdict,
        rounds=j.rounds,
        reason=j.reason,
        cpu=cpu,
        mode=mode.name,
    )


def _paired_rounds(frame: pd.DataFrame) -> tuple[pd.Series | None, pd.Series | None, pd.DataFrame]:
    """A name's medians per round of each side, and its typical latencies as complete pairs (A, B) by round."""
    judged = "typical_ms" if "typical_ms" in frame else "median_ms"  # rounds written before typical_ms: medians
    columns = list({"median_ms", judged, "errors"})
    wide = frame.pivot_table(index="round", columns="side", values=columns, aggfunc="first")
    a, b = wide["median_ms"].get("A"), wide["median_ms"].get("B")
    typical_a, typical_b = wide[judged].get("A"), wide[judged].get("B")
    pairs = pd.DataFrame()
    if typical_a is not None and typical_b is not None:
        pairs = pd.concat([typical_a, typical_b], axis=1).dropna()
    return a, b, pairs


def part_settled(meta: ABMetadata, rounds: pd.DataFrame, suite: str, mode: ABMode, threshold: float) -> bool:
    """Whether every request name of a suite in a mode has settled on the rounds so far (a sequential
    A/B stops the part then); a name with a failed request counts as settled, no round can mend it."""
    part = rounds[(rounds["suite"] == suite) & (rounds["mode"] == mode.name)]
    names = _names(part)
    plan = design(meta, mode, len(names), threshold)
    for name in names:
        frame = part[part["name"] == name]
        pairs = _paired_rounds(frame)[2]
        if frame["errors"].sum() or len(pairs) < MIN_PAIRS:
            continue
        if sequential.settle(pairs.iloc[:, 0].to_numpy(), pairs.iloc[:, 1].to_numpy(), plan).look is None:
            return False
    return bool(names)


def _cpu_cost(
    meta: ABMetadata, frame: pd.DataFrame, name: str, broken: str, threshold: float, confidence: float
) -> CpuCost:
    """CPU milliseconds per request of `name` on each side, round by round, judged as latency is."""
    counts = frame.set_index(["round", "side"])["count"]
    per_request = {}
    suite, mode = frame["suite"].iloc[0], frame["mode"].iloc[0]
    for r in meta.results:
        seconds, count = r.cpu_by_name.get(name), counts.get((r.round, r.side), 0)
        if r.suite == suite and meta.mode_of(r) == mode and seconds is not None and count:
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


def _medians(a: pd.Series | None, b: pd.Series | None) -> tuple[float, float]:
    """Each side's typical latency over the rounds: the median of its round medians."""
    return tuple(float(s.median()) if s is not None and s.notna().any() else np.nan for s in (a, b))


def _resources(meta: ABMetadata, rounds: pd.DataFrame, suite: str, mode: str) -> ResourceRow:
    part = rounds[(rounds["suite"] == suite) & (rounds["mode"] == mode)]
    requests = part.groupby(["round", "side"])["requests"].first()
    cpu, rss = {}, {}
    for r in meta.results:
        if r.suite == suite and meta.mode_of(r) == mode and r.status == Status.OK and r.cpu_seconds is not None:
            count = requests.get((r.round, r.side), 0)
            if count:
                cpu[(r.round, r.side)] = r.cpu_seconds / count * 1000
            rss.setdefault(r.side, []).append(r.rss_peak_mib or np.nan)
    per_round = pd.Series(cpu, dtype=float).unstack() if cpu else pd.DataFrame()
    if per_round.empty or not {"A", "B"} <= set(per_round.columns):
        return ResourceRow(suite, None, None, None, None, None, None, None, mode=mode)
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
        mode=mode,
    )
