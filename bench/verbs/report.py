"""`./run.sh report`: rebuild the summary, charts and site from existing outputs (no benchmark run)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from analysis import publish
from analysis.summarise import summarise_folder, write_summary
from services.registry import load_registry

console = Console(stderr=True, highlight=False)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", default="benchmark_outputs", type=Path, help="output folder to report on (default: benchmark_outputs)"
    )
    parser.add_argument("--site", default="site", type=Path, help="where to build the site (default: site)")


def build(out: Path, site: Path = Path("site")) -> int:
    """Summary CSV beside the raw files, then charts and pages, then the mkdocs site."""
    result = summarise_folder(out)
    for warning in result.warnings:
        console.print(f"[yellow]warning: {warning}")
    summary_path = write_summary(result, out)
    targets = _report_targets(result)
    docs = publish.prepare_docs()
    publish.write_overview(result, targets, docs)
    publish.write_run_pages(result, out, docs)
    publish.build_site(site)
    console.print(f"Summary: {summary_path}")
    console.print(f"Site built: open {(site / 'index.html').resolve()} or run ./run.sh serve")
    return 0


def _report_targets(result) -> list:
    """The default targets, plus any other version that has outputs here, in registry order."""
    registry = load_registry()
    present = {p.target for p in result.pairs}
    return [t for t in registry.targets.values() if t.is_default_version or t.id in present]


def main(args: argparse.Namespace) -> int:
    return build(args.out, args.site)
