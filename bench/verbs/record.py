"""`./run.sh record`: append the runs of an output folder to the history (append-only, idempotent)."""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis import history
from analysis.summarise import summarise_folder


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


def record(out: Path, history_dir: Path) -> int:
    result = summarise_folder(out)
    for warning in result.warnings:
        print(f"warning: {warning}")
    for run_id, outcome in history.record(result, history_dir):
        print(f"{run_id}: {outcome}")
    return 0


def main(args: argparse.Namespace) -> int:
    return record(args.out, args.history)
