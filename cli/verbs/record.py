"""`./run.sh record`: append the runs of an output folder, and the paired A/Bs of an A/B folder, to
the history (append-only, idempotent)."""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis import history
from analysis.summarise import FolderSummary, PairSummary, summarise_folder
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


def summarise(out: Path, fresh: list[PairSummary] | None = None) -> FolderSummary:
    """The folder's summary files, warnings shown: `fresh` pairs as the runner summarised them, the
    others from the summary files, and a raw CSV parsed only where both miss it or are stale."""
    result = summarise_folder(out, fresh)
    for warning in result.warnings:
        console.print(f"warning: {warning}", style="yellow", markup=False)
    return result


def record(out: Path, history_dir: Path, summary: FolderSummary | None = None) -> int:
    for run_id, outcome in history.record(summary or summarise(out), history_dir):
        console.print(f"{run_id}: {outcome}", markup=False)
    return 0


def main(args: argparse.Namespace) -> int:
    if args.ab_outputs is not None:
        for ab_id, outcome in history.record_ab(args.ab_outputs, args.history):
            console.print(f"A/B {ab_id}: {outcome}", markup=False)
        if not args.out.exists():  # a workflow run of A/B jobs only
            return 0
    return record(args.out, args.history)
