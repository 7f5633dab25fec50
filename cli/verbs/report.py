"""`./run.sh report`: rebuild the summary, charts and site from existing outputs (no benchmark run)."""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis import capacity, detect, importer, publish
from analysis.summarise import SUMMARY_FILE, FolderSummary
from cli.main import option
from cli.verbs import record
from core.errors import BadValue
from runner.progress import console
from services.registry import Target, load_registry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", default="benchmark_outputs", type=Path, help="output folder to report on (default: benchmark_outputs)"
    )
    parser.add_argument("--site", default="site", type=Path, help="where to build the site (default: site)")
    parser.add_argument(
        "--import",
        dest="import_from",
        type=Path,
        metavar="PATH",
        help="first copy k6 CSVs this suite did not make (a file, or a folder of them) into --out, marked "
        "imported (versions and machine unknown): reported like any run, never recorded in the history",
    )
    parser.add_argument(
        "--target", help="with --import: the target of the one CSV (default: from <target>_<suite>.csv)"
    )
    parser.add_argument("--suite", help="with --import: its suite (default: from <target>_<suite>.csv)")
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
    parser.add_argument(
        "--slo-ms",
        default=capacity.DEFAULT_SLO_MS,
        type=float,
        help=f"the capacity suite's latency objective: a step is sustained while its p95 is within it "
        f"(default: {capacity.DEFAULT_SLO_MS:g}; from 1 to 60000)",
    )
    parser.add_argument(
        "--ab-outputs",
        default="ab_outputs",
        type=Path,
        help="folder of paired A/B comparisons (./run.sh ab), one page each (default: ab_outputs)",
    )


def detect_options(args: argparse.Namespace) -> detect.Options:
    checks = [
        ("--window", args.window >= 4, "at least 4"),
        ("--max-pvalue", 0 < args.max_pvalue < 1, "within (0, 1)"),
        ("--min-magnitude", args.min_magnitude >= 0, "not negative"),
        ("--min-runs", args.min_runs >= 1, "at least 1"),
        ("--trend-runs", args.trend_runs >= 1, "at least 1"),
        ("--slo-ms", 1 <= args.slo_ms <= 60000, "from 1 to 60000"),
    ]
    for name, fine, rule in checks:
        if not fine:
            raise BadValue(f"{name}: must be {rule}, got {getattr(args, name[2:].replace('-', '_'))}")
    return detect.Options(args.window, args.max_pvalue, args.min_magnitude, args.min_runs)


def build(
    out: Path,
    site: Path,
    history_dir: Path,
    options: detect.Options,
    trend_runs: int = 200,
    summary: FolderSummary | None = None,
    ab_outputs: Path = Path("ab_outputs"),
    slo_ms: float = capacity.DEFAULT_SLO_MS,
) -> int:
    """Charts and pages from the folder's summary files, trends from the history, then the site."""
    result = summary or record.summarise(out)
    targets = _report_targets(result)
    docs = publish.prepare_docs()
    publish.write_overview(result, targets, docs)
    publish.write_run_pages(result, out, docs)
    publish.write_scale_page(result, targets, out, docs)
    publish.write_capacity_page(result, targets, out, docs, slo_ms)
    publish.write_ab_pages(ab_outputs, docs)
    for warning in publish.write_history_pages(history_dir, options, targets, docs, trend_runs):
        console.print(f"warning: {warning}", style="yellow", markup=False)
    publish.write_versus_original(history_dir, docs)
    publish.build_site(site)
    console.print(f"Summary: {out / SUMMARY_FILE}", markup=False)
    console.print(f"Site built: open {(site / 'index.html').resolve()} or run ./run.sh serve", markup=False)
    return 0


def _report_targets(result: FolderSummary) -> list[Target]:
    """The default targets, plus any other version that has outputs here, in registry order."""
    present = {p.target for p in result.pairs}
    return [t for t in load_registry().targets.values() if t.is_default_version or t.id in present]


def main(args: argparse.Namespace) -> int:
    options = detect_options(args)
    if args.import_from is not None:
        with option("--import"):
            if not args.import_from.exists():
                raise BadValue(f"{args.import_from}: no such file or folder")
            for written in importer.import_csvs(args.import_from, args.out, args.target, args.suite):
                console.print(f"imported: {written.with_suffix('.csv')} (metadata {written.name})", markup=False)
    elif args.target or args.suite:
        raise BadValue("--target and --suite go with --import")
    return build(args.out, args.site, args.history, options, args.trend_runs, None, args.ab_outputs, args.slo_ms)
