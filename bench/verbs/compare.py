"""`./run.sh compare A B`: per target x request name, B's median latency against A's, with a verdict.

A and B are output folders (raw k6 CSVs) or run ids of the history. `--map OLD=NEW` compares
different targets, e.g. two versions of a server measured in one run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from analysis import compare, history
from analysis.k6csv import read_samples
from analysis.summarise import find_pairs, successful_durations
from bench.errors import InputError, UsageError

Samples = dict[tuple[str, str, str], np.ndarray]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "a", help="baseline: an output folder, a run id from the history, or latest[:BRANCH] (its newest run)"
    )
    parser.add_argument("b", help="candidate: an output folder or a run id from the history")
    parser.add_argument("--history", default="history", type=Path, help="history folder for run ids (default: history)")
    parser.add_argument(
        "--threshold",
        default=0.10,
        type=float,
        help="minimum change to call a regression or improvement (default: 0.10 = 10%%)",
    )
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="A_TARGET=B_TARGET",
        help="compare target A_TARGET of A with B_TARGET of B (repeatable), e.g. two server versions",
    )
    parser.add_argument(
        "--markdown",
        default="comparison.md",
        type=Path,
        help="write the GitHub-flavoured markdown here (default: comparison.md)",
    )
    parser.add_argument(
        "--run-noise",
        default=compare.RUN_NOISE,
        type=float,
        help="SD of log p50 between identical runs, where the history cannot estimate it "
        f"(default: {compare.RUN_NOISE})",
    )
    parser.add_argument(
        "--fail-on-regression", action="store_true", help="exit with status 1 when any regression is called"
    )


def load_samples(source: str, history_dir: Path) -> tuple[Samples, str]:
    """Latencies of successful requests per (target, suite, name) of complete runs, and their profile."""
    path = Path(source)
    if path.is_dir():
        pairs, _ = find_pairs(path)
        samples: Samples = {}
        for pair in pairs:
            if pair.status != "ok" or pair.csv is None:
                continue
            durations = successful_durations(read_samples(pair.csv))
            for name, values in durations.groupby("name", observed=True)["value"]:
                samples[(pair.target, pair.suite, str(name))] = values.to_numpy(float)
        return samples, str(pairs[0].metadata["profile"])
    if not (history_dir / "runs").is_dir():
        raise UsageError(f"{source!r} is neither an output folder nor a run id (no history at {history_dir})")
    store = history.load(history_dir)
    record = store.latest(source.partition(":")[2] or None) if source.split(":")[0] == "latest" else store.run(source)
    statuses = {(p["target"], p["suite"]): p["status"] for p in record["pairs"]}
    samples = {
        (r["target"], r["suite"], r["name"]): compare.samples_from_sketch(r["sketch_ms"], int(r["count"] - r["errors"]))
        for r in record["rows"]
        if statuses.get((r["target"], r["suite"])) == "ok" and r["sketch_ms"] and r["count"] > r["errors"]
    }
    return samples, str(record["profile"])


def noise_from_history(history_dir: Path, profile: str, recent: int = 30) -> dict[tuple[str, str, str], float]:
    """Run-to-run noise per series, from the last `recent` complete runs of this profile in the history."""
    if not (history_dir / "runs").is_dir():
        return {}
    frame = history.load(history_dir).frame()
    if frame.empty:
        return {}
    frame = frame[(frame["status"] == "ok") & (frame["profile"] == profile)]
    noise = {}
    for key, series in frame.groupby(["target", "suite", "name"]):
        sigma = compare.run_noise(series["p50_ms"].tail(recent))
        if sigma is not None:
            noise[key] = sigma
    return noise


def parse_map(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"--map: expected A_TARGET=B_TARGET, got {item!r}")
        a, b = item.split("=", 1)
        mapping[a.strip()] = b.strip()
    return mapping


def main(args: argparse.Namespace) -> int:
    if not 0 < args.threshold < 10:
        raise UsageError(f"--threshold: expected a fraction such as 0.1, got {args.threshold}")
    mapping = parse_map(args.map)
    if args.run_noise < 0:
        raise UsageError(f"--run-noise: expected a non-negative number, got {args.run_noise}")
    (a, profile), (b, _) = load_samples(args.a, args.history), load_samples(args.b, args.history)
    if mapping:
        a = {k: v for k, v in a.items() if k[0] in mapping}
    noise = noise_from_history(args.history, profile)
    results = compare.compare(a, b, args.threshold, mapping, noise, args.run_noise)
    if not results:
        raise InputError(_why_nothing(a, b, args))
    print_table(results, args.a, args.b)
    args.markdown.write_text(compare.markdown(results, args.a, args.b, args.threshold))
    print(f"Markdown written to {args.markdown}")
    regressions = sum(r.verdict == "regression" for r in results)
    return 1 if regressions and args.fail_on_regression else 0


def _why_nothing(a: Samples, b: Samples, args: argparse.Namespace) -> str:
    targets_a = sorted({k[0] for k in a}) or ["none with complete results"]
    targets_b = sorted({k[0] for k in b}) or ["none with complete results"]
    return (
        f"nothing to compare: no target x request name is in both {args.a} (targets: {', '.join(targets_a)}) "
        f"and {args.b} (targets: {', '.join(targets_b)}); use --map A_TARGET=B_TARGET to pair different targets"
    )


def print_table(results: list[compare.Comparison], label_a: str, label_b: str) -> None:
    table = Table(title=f"B = {label_b} against A = {label_a} (median latency, ms)")
    for column in ("target", "suite", "request", "A", "B", "B/A", "95% interval", "verdict"):
        table.add_column(column, justify="right" if column in ("A", "B", "B/A") else "left")
    colour = {"regression": "red", "improvement": "green", "no change": "white"}
    for r in results:
        target = r.target_a if r.target_a == r.target_b else f"{r.target_a} → {r.target_b}"
        table.add_row(
            target,
            r.suite,
            r.name,
            f"{r.median_a:.2f}",
            f"{r.median_b:.2f}",
            f"{r.ratio:.3f}",
            f"{r.low:.3f} – {r.high:.3f}",
            f"[{colour[r.verdict]}]{r.verdict}",
        )
    Console(width=140).print(table)
