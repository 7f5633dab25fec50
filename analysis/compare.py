"""A versus B: is B slower than A? Ratio of medians with a bootstrap confidence interval.

For each target x suite x request name present in both, the ratio median(B) / median(A) of the
successful requests' latencies is estimated, and its 95% interval comes from a percentile
bootstrap (each side resampled with replacement, 2000 times, fixed seed).

The bootstrap sees only the noise within a run. Two runs of the same code on the same machine
differ by more than that (measured here: the p50 of a request name varies by 5-30% between
identical runs), so the interval is widened by the run-to-run noise: on log scale,
se = sqrt(se_bootstrap^2 + 2 * noise^2), where `noise` is the standard deviation of log p50
between identical runs. It is estimated per series from the history when that holds enough
complete runs (robustly, from successive differences, so that a past step does not inflate it),
else it is the `run_noise` default. The verdict is a regression when the whole widened interval
lies above 1 and the ratio is at least 1 + threshold (default 10%), an improvement in the mirror
case, otherwise no change. The same code serves `./run.sh compare` and the pull-request comment.

Samples come from raw k6 CSVs when A or B is an output folder, or are rebuilt from the history's
21-quantile sketch (evenly spaced draws through its inverse distribution) when it is a run id.
Only complete pairs (status ok) are compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import history
from analysis.k6csv import read_samples
from analysis.precision import RUN_NOISE  # log-scale SD of a p50 between identical runs
from analysis.summarise import find_metadata, successful_durations
from core.errors import BadValue, InputError
from core.layout import HistoryFiles, pair_files
from core.records import Comparison, ComparisonRow, Status, Verdict, now_iso

BOOTSTRAP_ROUNDS = 2000
# What two kinds of machine add to that, on log scale, when a comparison across them is asked for.
# Not measured here (one machine): a prudent guess, twice what we allow one machine's runs, so
# that only a change far larger than the machines' difference is called.
MACHINE_NOISE = 0.30
Z95 = 1.959964
MAX_SAMPLES = 4000  # per side; more changes the interval little and costs time
SEED = 20240521


Key = tuple[str, str, str]  # target, suite, request name
Samples = dict[Key, np.ndarray]
METHOD = "ratio of medians B/A; 95% interval: bootstrap widened by run-to-run noise"


def ratio_interval(
    a: np.ndarray, b: np.ndarray, rounds: int = BOOTSTRAP_ROUNDS, confidence: float = 0.95, seed: int = SEED
) -> tuple[float, float, float]:
    """median(b) / median(a) and its percentile-bootstrap interval."""
    rng = np.random.default_rng(seed)
    a = _thin(np.asarray(a, float), rng)
    b = _thin(np.asarray(b, float), rng)
    medians_a = np.median(rng.choice(a, size=(rounds, a.size)), axis=1)
    medians_b = np.median(rng.choice(b, size=(rounds, b.size)), axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(medians_b / medians_a, [tail, 100 - tail])
    return float(np.median(b) / np.median(a)), float(low), float(high)


def _thin(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(values, MAX_SAMPLES, replace=False) if values.size > MAX_SAMPLES else values


def widen(ratio: float, low: float, high: float, noise: float) -> tuple[float, float]:
    """The interval once the run-to-run noise of both runs is added (normal approximation, log scale)."""
    se_bootstrap = (np.log(high) - np.log(low)) / (2 * Z95)
    se = float(np.sqrt(se_bootstrap**2 + 2 * noise**2))
    return float(ratio * np.exp(-Z95 * se)), float(ratio * np.exp(Z95 * se))


def run_noise(p50_series: pd.Series, min_runs: int = 5) -> float | None:
    """Run-to-run SD of log p50 from a series of identical-setup runs (robust to level shifts)."""
    values = np.log(p50_series.dropna().to_numpy(float))
    if values.size < min_runs:
        return None
    steps = np.diff(values)
    return float(1.4826 * np.median(np.abs(steps - np.median(steps))) / np.sqrt(2))


def verdict(ratio: float, low: float, high: float, threshold: float) -> Verdict:
    if low > 1 and ratio >= 1 + threshold:
        return Verdict.REGRESSION
    if high < 1 and ratio <= 1 / (1 + threshold):
        return Verdict.IMPROVEMENT
    return Verdict.NO_CHANGE


def samples_from_sketch(sketch: list[float], count: int) -> np.ndarray:
    """`count` values spread evenly through the distribution a 21-quantile sketch describes."""
    probabilities = (np.arange(count) + 0.5) / count
    return np.interp(probabilities, history.SKETCH_QUANTILES, sketch)


def compare(
    samples_a: Samples,
    samples_b: Samples,
    threshold: float = 0.10,
    mapping: dict[str, str] | None = None,
    noise: dict[Key, float] | None = None,
    default_noise: float = RUN_NOISE,
    across_machines: set[tuple[str, str]] = frozenset(),
) -> list[ComparisonRow]:
    """Compare every (target, suite, name) of A with the same key of B (or the target `mapping` names).
    The (target, suite) pairs in `across_machines` ran on different kinds of machine: their
    interval is widened by MACHINE_NOISE too, and their rows say so."""
    mapping = mapping or {}
    results = []
    for (target, suite, name), a in sorted(samples_a.items()):
        target_b = mapping.get(target, target)
        b = samples_b.get((target_b, suite, name))
        if b is None or len(a) == 0 or len(b) == 0:
            continue
        sigma = (noise or {}).get((target, suite, name), default_noise)
        across = (target, suite) in across_machines
        if across:
            sigma = float(np.hypot(sigma, MACHINE_NOISE))
        ratio, low, high = ratio_interval(a, b)
        low, high = widen(ratio, low, high, sigma)
        results.append(
            ComparisonRow(
                target,
                target_b,
                suite,
                name,
                float(np.median(a)),
                float(np.median(b)),
                ratio,
                low,
                high,
                verdict(ratio, low, high, threshold),
                sigma,
                reason="A and B ran on different machines: interval widened" if across else "",
            )
        )
    return results


@dataclass(frozen=True)
class Side:
    """One side of a comparison: latencies of successful requests per (target, suite, name) of its
    complete pairs, and the runs, profile and targets they come from."""

    samples: Samples
    profile: str
    run_ids: frozenset[str]
    targets: frozenset[str]
    machines: dict[tuple[str, str], str]  # (target, suite) -> the key of the machine it ran on

    def label(self, source: str) -> str:
        """How the comparison names this side: as given, with the run it resolved to when that was
        `latest[:BRANCH]`, so a reader sees which run was the baseline."""
        if not source.startswith("latest") or Path(source).is_dir():
            return source
        return f"{source} (run {', '.join(sorted(self.run_ids))})"


def load_side(source: str, history_dir: Path, other: Side | None = None) -> Side:
    """One side from an output folder (raw CSVs), a run id of the history, or `latest[:BRANCH]`.

    `latest[:BRANCH]` beside `other` (the candidate) is its baseline: the newest complete run of
    BRANCH with the same profile and a target in common, never one of `other`'s own runs, so a run
    is never compared with itself, recorded yet or not. Without `other`, the newest run."""
    path = Path(source)
    if path.is_dir():
        return _folder_side(path)
    if not HistoryFiles(history_dir).runs_folder.is_dir():
        raise BadValue(f"{source!r} is neither an output folder nor a run id (no history at {history_dir})")
    store = history.load(history_dir)
    kind, _, branch = source.partition(":")
    if kind != "latest":
        record = store.run(source)
    elif other is not None:
        machines = set(other.machines.values())
        record = store.baseline(branch or None, other.profile, set(other.targets), set(other.run_ids), machines)
    else:
        record = store.latest(branch or None)
    samples = {
        (r.target, r.suite, r.name): samples_from_sketch(list(r.sketch_ms), int(r.count - r.errors))
        for r in history.complete(record)
        if r.sketch_ms and r.count > r.errors
    }
    machines = {(p.target, p.suite): record.machine_of(p.target, p.suite) for p in record.pairs}
    return Side(samples, record.profile, frozenset({record.run_id}), frozenset(record.targets), machines)


def same_profile(a: Side, b: Side) -> None:
    """Profiles differ in load (VUs, iterations), so their latencies are not comparable: refuse."""
    if a.profile != b.profile:
        raise InputError(
            f"A is profile {a.profile} and B profile {b.profile}: runs of different profiles are not comparable"
        )


def machine_changes(a: Side, b: Side, mapping: dict[str, str]) -> dict[tuple[str, str], tuple[str, str]]:
    """(A's target, suite) -> (A's machine, B's machine), for each pair both sides hold that ran on
    different kinds of machine."""
    changes = {}
    for (target, suite), machine_a in a.machines.items():
        machine_b = b.machines.get((mapping.get(target, target), suite))
        if machine_b is not None and machine_b != machine_a:
            changes[(target, suite)] = (machine_a, machine_b)
    return changes


def _folder_side(out: Path) -> Side:
    metas, _ = find_metadata(out)
    samples: Samples = {}
    for meta in metas:
        csv_path = pair_files(out, meta).csv
        if meta.status != Status.OK or not csv_path.exists():
            continue
        raw = read_samples(csv_path)
        if raw.truncated:
            continue
        for name, values in successful_durations(raw.frame).groupby("name", observed=True)["value"]:
            samples[(meta.target, meta.suite, str(name))] = values.to_numpy(float)
    run_ids = frozenset(m.run_id for m in metas)
    machines = {(m.target, m.suite): m.machine.key for m in metas}
    return Side(samples, metas[0].profile, run_ids, frozenset(m.target for m in metas), machines)


def noise_from_history(
    history_dir: Path, profile: str, machines: dict[tuple[str, str], str] | None = None, recent: int = 30
) -> dict[Key, float]:
    """Run-to-run noise per series, from the last `recent` complete runs of this profile in the
    history; on the machine each (target, suite) of `machines` ran on, when given."""
    if not HistoryFiles(history_dir).runs_folder.is_dir():
        return {}
    frame = history.load(history_dir).frame(profile)
    if frame.empty:
        return {}
    noise = {}
    ok = frame[frame["status"] == Status.OK]
    for (target, suite, name, machine), series in ok.groupby(["target", "suite", "name", "machine"]):
        if machines and machines.get((target, suite), machine) != machine:
            continue
        sigma = run_noise(series["p50_ms"].tail(recent))
        if sigma is not None:
            noise[(target, suite, name)] = sigma
    return noise


def comparison(rows: list[ComparisonRow], baseline: str, candidate: str, threshold: float) -> Comparison:
    return Comparison(baseline, candidate, threshold, METHOD, tuple(rows), now_iso())


def to_frame(results: list[ComparisonRow]) -> pd.DataFrame:
    return pd.DataFrame([r.__dict__ for r in results])
