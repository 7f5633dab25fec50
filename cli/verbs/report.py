"""`./run.sh report`: rebuild the summary, charts and site from existing outputs (no benchmark run)."""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis import importer
from cli import stages
from cli.options import add_report_arguments, option, report_settings
from core.errors import BadValue
from core.layout import csv_beside
from runner.progress import console


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
    add_report_arguments(parser)


def main(args: argparse.Namespace) -> int:
    settings = report_settings(args)
    if args.import_from is not None:
        with option("--import"):
            if not args.import_from.exists():
                raise BadValue(f"{args.import_from}: no such file or folder")
            for written in importer.import_csvs(args.import_from, args.out, args.target, args.suite):
                console.print(f"imported: {csv_beside(written)} (metadata {written.name})", markup=False)
    elif args.target or args.suite:
        raise BadValue("--target and --suite go with --import")
    stages.build_report(
        stages.summarise(args.out),
        out=args.out,
        site_dir=args.site,
        history_dir=args.history,
        ab_outputs=args.ab_outputs,
        settings=settings,
    )
    return 0
