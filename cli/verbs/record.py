"""`./run.sh record`: append the runs of an output folder, and the paired A/Bs of an A/B folder, to
the history (append-only, idempotent)."""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis import history
from cli import stages
from runner.progress import console


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", default="benchmark_outputs", type=Path, help="output folder to record (default: benchmark_outputs)"
    )
    parser.add_argument(
        "--history",
        default="history",
        type=Path,
        help="history folder (default: history; CI keeps it on a data branch)",
    )
    parser.add_argument(
        "--ab-outputs",
        type=Path,
        help="also record every paired A/B in this folder (CI: the nightly's A/B of FastTrackML main "
        "against its release); the ratios become a series on the trends page",
    )


def main(args: argparse.Namespace) -> int:
    if args.ab_outputs is not None:
        for ab_id, outcome in history.record_ab(args.ab_outputs, args.history):
            console.print(f"A/B {ab_id}: {outcome}", markup=False)
        if not args.out.exists():  # a workflow run of A/B jobs only
            return 0
    stages.record(stages.summarise(args.out), args.history)
    return 0
