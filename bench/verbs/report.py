"""`./run.sh report`: rebuild the summary, charts and site from existing outputs (no benchmark run)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from analysis import detect, history, publish
from analysis.summarise import summarise_folder, write_summary
from bench.errors import UsageError
from services.registry import load_registry

console = Console(stderr=True, highlight=False)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", default="benchmark_outputs", type=Path, help="output folder to report on (default: benchmark_outputs)"
    )
    parser.add_argument("--site", default="site", type=Path, help="where to build the site (default: site)")
    add_history_arguments(parser)


def add_history_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the trends and regressions pages (shared with `run`)."""
    defaults = detect.Options()
    parser.add_argument(
        "--history", default="history", type=Path, help="history folder for the trends (default: history)"
    )
    parser.add_argument(
        "--window", default=defaults.window, type=int, help=f"change-point window in runs (default: {defaults.window})"
    )
    parser.add_argument(
        "--max-pvalue",
        default=defaults.max_pvalue,
        type=float,
        help=f"change-point significance (default: {defaults.max_pvalue})",
    )
    parser.add_argument(
        "--min-magnitude",
        default=defaults.min_magnitude,
        type=float,
        help=f"smallest change worth a change point (default: {defaults.min_magnitude} = 10%%)",
    )
    parser.add_argument(
        "--min-runs",
        default=defaults.min_runs,
        type=int,
        help=f"runs a change must last on each side (default: {defaults.min_runs})",
    )
    parser.add_argument("--trend-runs", default=200, type=int, help="runs shown in each trend chart (default: 200)")


def detect_options(args: argparse.Namespace) -> detect.Options:
    if args.window < 4 or not 0 < args.max_pvalue < 1 or args.min_magnitude < 0 or args.min_runs < 1:
        raise UsageError(
            "--window must be at least 4, --max-pvalue within (0, 1), "
            "--min-magnitude not negative, --min-runs at least 1"
        )
    return detect.Options(args.window, args.max_pvalue, args.min_magnitude, args.min_runs)


def build(out: Path, site: Path, history_dir: Path, options: detect.Options, trend_runs: int = 200) -> int:
    """Summary CSV beside the raw files, then charts and pages (trends from the history), then the site."""
    result = summarise_folder(out)
    for warning in result.warnings:
        console.print(f"[yellow]warning: {warning}")
    summary_path = write_summary(result, out)
    targets = _report_targets(result)
    docs = publish.prepare_docs()
    publish.write_overview(result, targets, docs)
    publish.write_run_pages(result, out, docs)
    write_history_pages(history_dir, options, targets, docs, trend_runs)
    publish.build_site(site)
    console.print(f"Summary: {summary_path}")
    console.print(f"Site built: open {(site / 'index.html').resolve()} or run ./run.sh serve")
    return 0


def _report_targets(result) -> list:
    """The default targets, plus any other version that has outputs here, in registry order."""
    registry = load_registry()
    present = {p.target for p in result.pairs}
    return [t for t in registry.targets.values() if t.is_default_version or t.id in present]


def write_history_pages(history_dir: Path, options: detect.Options, targets: list, docs: Path, trend_runs: int) -> None:
    """Trends and regressions of the latest profile in the history (profiles are not comparable)."""
    store = history.load(history_dir)
    for warning in store.warnings:
        console.print(f"[yellow]warning: {warning}")
    frame = store.frame()
    profile = frame["profile"].iloc[-1] if not frame.empty else ""
    frame = frame[frame["profile"] == profile] if not frame.empty else frame
    points = detect.detect(frame, options)
    publish.write_trends(frame, points, targets, docs, trend_runs)
    publish.write_regressions(points, options, store.warnings, docs, profile)


def main(args: argparse.Namespace) -> int:
    return build(args.out, args.site, args.history, detect_options(args), args.trend_runs)
