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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

BOOTSTRAP_ROUNDS = 2000
RUN_NOISE = 0.15  # log-scale SD of a p50 between identical runs when the history cannot tell
Z95 = 1.959964
MAX_SAMPLES = 4000  # per side; more changes the interval little and costs time
SEED = 20240521


@dataclass(frozen=True)
class Comparison:
    target_a: str
    target_b: str
    suite: str
    name: str
    median_a: float
    median_b: float
    ratio: float
    low: float
    high: float
    verdict: str
    noise: float = 0.0


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


def verdict(ratio: float, low: float, high: float, threshold: float) -> str:
    if low > 1 and ratio >= 1 + threshold:
        return "regression"
    if high < 1 and ratio <= 1 / (1 + threshold):
        return "improvement"
    return "no change"


def samples_from_sketch(sketch: list[float], count: int) -> np.ndarray:
    """`count` values spread evenly through the distribution a 21-quantile sketch describes."""
    from analysis.history import SKETCH_QUANTILES

    probabilities = (np.arange(count) + 0.5) / count
    return np.interp(probabilities, SKETCH_QUANTILES, sketch)


def compare(
    samples_a: dict[tuple[str, str, str], np.ndarray],
    samples_b: dict[tuple[str, str, str], np.ndarray],
    threshold: float = 0.10,
    mapping: dict[str, str] | None = None,
    noise: dict[tuple[str, str, str], float] | None = None,
    default_noise: float = RUN_NOISE,
) -> list[Comparison]:
    """Compare every (target, suite, name) of A with the same key of B (or the target `mapping` names)."""
    mapping = mapping or {}
    results = []
    for (target, suite, name), a in sorted(samples_a.items()):
        target_b = mapping.get(target, target)
        b = samples_b.get((target_b, suite, name))
        if b is None or len(a) == 0 or len(b) == 0:
            continue
        sigma = (noise or {}).get((target, suite, name), default_noise)
        ratio, low, high = ratio_interval(a, b)
        low, high = widen(ratio, low, high, sigma)
        results.append(
            Comparison(
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
            )
        )
    return results


def to_frame(results: list[Comparison]) -> pd.DataFrame:
    return pd.DataFrame([r.__dict__ for r in results])


def markdown(results: list[Comparison], label_a: str, label_b: str, threshold: float) -> str:
    """GitHub-flavoured markdown: the text CI posts on a pull request."""
    regressions = [r for r in results if r.verdict == "regression"]
    improvements = [r for r in results if r.verdict == "improvement"]
    icon = {"regression": "🔴 regression", "improvement": "🟢 improvement", "no change": "⚪ no change"}
    lines = [
        "## Benchmark comparison",
        "",
        f"**A** = `{label_a}`, **B** = `{label_b}`: {len(results)} target × request names compared, "
        f"**{len(regressions)} regression(s)**, {len(improvements)} improvement(s) "
        f"(ratio of medians B/A; 95% interval: bootstrap widened by run-to-run noise; threshold {threshold:.0%}).",
        "",
        "| target | suite | request | median A (ms) | median B (ms) | B/A | 95% interval | verdict |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for r in sorted(results, key=lambda r: (r.verdict != "regression", r.verdict != "improvement", -r.ratio)):
        target = r.target_a if r.target_a == r.target_b else f"{r.target_a} → {r.target_b}"
        lines.append(
            f"| {target} | {r.suite} | {r.name} | {r.median_a:.2f} | {r.median_b:.2f} | {r.ratio:.3f} "
            f"| {r.low:.3f} – {r.high:.3f} | {icon[r.verdict]} |"
        )
    return "\n".join(lines) + "\n"
