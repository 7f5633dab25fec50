"""`./run.sh compare A B`: per target x request name, B's median latency against A's, with a verdict.

A and B are output folders (raw k6 CSVs) or run ids of the history. `--map OLD=NEW` compares
different targets, e.g. two versions of a server measured in one run. Writes the markdown CI
posts and, beside it, the comparison as JSON (`<markdown stem>.json`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis import compare
from cli import stages
from cli.options import option
from cli.tables import print_comparison_table
from core.errors import BadValue, InputError
from core.layout import json_beside
from core.options import parse_pairs
from core.records import Verdict


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "a",
        help="baseline: an output folder, a run id from the history, or latest[:BRANCH]: the newest complete "
        "run (of BRANCH) with B's profile and a target in common, never B's own run",
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
        help="write the GitHub-flavoured markdown here, and the comparison as JSON beside it (default: comparison.md)",
    )
    parser.add_argument(
        "--run-noise",
        default=compare.RUN_NOISE,
        type=float,
        help="SD of log p50 between identical runs, where the history cannot estimate it "
        f"(default: {compare.RUN_NOISE})",
    )
    parser.add_argument(
        "--across-machines",
        action="store_true",
        help="compare runs made on different kinds of machine (CPU model, cores, runner image), with an "
        f"interval widened by {compare.MACHINE_NOISE} on log scale; without it such a comparison is refused",
    )
    parser.add_argument(
        "--fail-on-regression", action="store_true", help="exit with status 1 when any regression is called"
    )


def main(args: argparse.Namespace) -> int:
    with option("--threshold"):
        if not 0 < args.threshold < 10:
            raise BadValue(f"expected a fraction such as 0.1, got {args.threshold}")
    with option("--run-noise"):
        if args.run_noise < 0:
            raise BadValue(f"expected a non-negative number, got {args.run_noise}")
    with option("--map"):
        mapping = parse_pairs(args.map, "A_TARGET=B_TARGET")
    with option("B"):
        side_b = compare.load_side(args.b, args.history)
    with option("A"):
        side_a = compare.load_side(args.a, args.history, other=side_b)
    compare.same_profile(side_a, side_b)
    a, b = side_a.samples, side_b.samples
    if mapping:
        a = {k: v for k, v in a.items() if k[0] in mapping}
    across = compare.machine_changes(side_a, side_b, mapping)
    if across and not args.across_machines:
        raise InputError(_machines_differ(across))
    if across:
        print(f"warning: {_machines_differ(across)}; the interval of its rows is widened", file=sys.stderr)
    noise = compare.noise_from_history(args.history, side_b.profile, side_b.machines)
    rows = compare.compare(a, b, args.threshold, mapping, noise, args.run_noise, set(across))
    if not rows:
        raise InputError(_why_nothing(a, b, args))
    result = compare.comparison(rows, side_a.label(args.a), side_b.label(args.b), args.threshold)
    print_comparison_table(result)
    written = stages.write_comparison(result, args.markdown, json_beside(args.markdown))
    print(f"Markdown written to {args.markdown}, the comparison to {written}")
    return 1 if result.count(Verdict.REGRESSION) and args.fail_on_regression else 0


def _machines_differ(across: dict[tuple[str, str], tuple[str, str]]) -> str:
    (target, suite), (machine_a, machine_b) = next(iter(sorted(across.items())))
    others = f" (and {len(across) - 1} other target x suite)" if len(across) > 1 else ""
    return (
        f"A's {target} {suite} ran on {machine_a} and B's on {machine_b}{others}: machines differ by more than "
        "code does; pass --across-machines to compare them anyway, with a wider interval"
    )


def _why_nothing(a: compare.Samples, b: compare.Samples, args: argparse.Namespace) -> str:
    targets_a = sorted({k[0] for k in a}) or ["none with complete results"]
    targets_b = sorted({k[0] for k in b}) or ["none with complete results"]
    return (
        f"nothing to compare: no target x request name is in both {args.a} (targets: {', '.join(targets_a)}) "
        f"and {args.b} (targets: {', '.join(targets_b)}); use --map A_TARGET=B_TARGET to pair different targets"
    )
