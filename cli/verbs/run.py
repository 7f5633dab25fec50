"""`./run.sh [run]`: benchmark every chosen target x suite, one after another, each on a fresh database.

The pipeline: plan (options -> targets, suites, profile) -> run each pair (server up, k6 suite,
files published; see `runner/pair.py`) -> publish (summary files, history record, site). A pair
that fails is recorded as failed and the next one still runs; the exit status is non-zero if any
pair did not finish.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.main import option
from cli.tables import print_run_table
from cli.verbs import record, report
from core.errors import BadValue
from core.options import parse_pairs
from core.records import Status, check_run_id, new_run_id
from runner.k6 import profiles, select_profile
from runner.pair import RunPlan, run_all
from runner.progress import PLAIN_INTERVAL_SECONDS, console
from services.postgres import external
from services.registry import load_registry, parse_versions, select_suites, suites


def add_arguments(parser: argparse.ArgumentParser) -> None:
    registry = load_registry()
    parser.add_argument(
        "--profile", default="standard", help=f"load profile, one of {', '.join(profiles())} (default: standard)"
    )
    parser.add_argument(
        "--targets",
        default="all",
        help=f"comma list of targets (default: all = {', '.join(t.id for t in registry.default_targets)})",
    )
    parser.add_argument("--suites", default="all", help=f"comma list of suites (default: all = {', '.join(suites())})")
    parser.add_argument(
        "--out", default="benchmark_outputs", type=Path, help="output folder (default: benchmark_outputs)"
    )
    parser.add_argument(
        "--postgres-url",
        help="use this PostgreSQL (postgresql://user:pw@host:port/db) instead of the embedded one; "
        "a fresh database is created in it per run",
    )
    parser.add_argument(
        "--server-url",
        help="benchmark an already running server at this URL instead of launching one "
        "(needs exactly one target, to label the results)",
    )
    parser.add_argument(
        "--server-version",
        action="append",
        default=[],
        metavar="NAME=VERSION",
        help="run a server at a version the registry does not list (repeatable), e.g. fasttrackml=0.5.1",
    )
    parser.add_argument(
        "--run-id",
        help="this run's id instead of a new one: CI gives every job of a workflow run the same one, so the "
        "workflow run is one history record (YYYYMMDDTHHMMSSZ-SUFFIX)",
    )
    parser.add_argument(
        "--provenance",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="where what is measured came from, kept in the metadata and the history (repeatable); "
        "CI records server_image, server_revision and postgres_image",
    )
    parser.add_argument(
        "--progress-seconds",
        type=float,
        default=PLAIN_INTERVAL_SECONDS,
        help="where output is not a terminal (CI), one plain progress line per pair this often "
        f"(default: {PLAIN_INTERVAL_SECONDS:.0f})",
    )
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="run k6 and the server on separate cores, so k6's own work does not take the server's CPU "
        "(default: off; recorded in the metadata either way)",
    )
    parser.add_argument(
        "--no-report", action="store_true", help="stop after the raw outputs and their summary: no history, no site"
    )
    parser.add_argument("--site", default="site", type=Path, help="where to build the site (default: site)")
    report.add_history_arguments(parser)


def main(args: argparse.Namespace) -> int:
    plan = plan_from(args)
    console.print(
        f"Run [bold]{plan.run_id}[/]: {len(plan.targets)} target(s) x {len(plan.suites)} suite(s), "
        f"profile {plan.profile.name} ({plan.profile.vus} VUs x {plan.profile.iterations} iterations)"
    )
    pairs = run_all(plan)
    print_run_table(pairs, console)
    if any(not p.missing for p in pairs):
        publish(plan, args)
    failed = [p for p in pairs if p.status != Status.OK]
    if failed:
        listing = ", ".join(f"{p.target}/{p.suite} ({p.status})" for p in failed)
        console.print(f"[red]{len(failed)} of {len(pairs)} run(s) did not finish: {listing}")
        return 1
    return 0


def plan_from(args: argparse.Namespace) -> RunPlan:
    """The options, checked: each bad one is a one-line error naming it."""
    registry = load_registry()
    with option("--profile"):
        profile = select_profile(args.profile)
    with option("--server-version"):
        versions = parse_versions(args.server_version)
        registry.check_versions(versions)
    with option("--targets"):
        targets = registry.select(args.targets, versions)
    with option("--suites"):
        chosen_suites = select_suites(args.suites)
    with option("--server-url"):
        if args.server_url and len(targets) != 1:
            raise BadValue("name exactly one target with --targets, to label the results")
        if args.server_url and not args.server_url.startswith(("http://", "https://")):
            raise BadValue(f"expected http://host:port, got {args.server_url!r}")
    if args.postgres_url:
        with option("--postgres-url"):
            external(args.postgres_url)
    with option("--out"):
        if args.out.exists() and not args.out.is_dir():
            raise BadValue(f"{args.out} exists and is not a folder")
    with option("--progress-seconds"):
        if not args.progress_seconds > 0:
            raise BadValue(f"must be more than 0, got {args.progress_seconds}")
    with option("--run-id"):
        run_id = check_run_id(args.run_id) if args.run_id else new_run_id()
    with option("--provenance"):
        provenance = parse_pairs(args.provenance, "KEY=VALUE")
    report.detect_options(args)
    args.out.mkdir(parents=True, exist_ok=True)
    return RunPlan(
        tuple(targets),
        tuple(chosen_suites),
        profile,
        args.out,
        run_id,
        args.postgres_url,
        args.server_url,
        provenance,
        args.pin,
        args.progress_seconds,
    )


def publish(plan: RunPlan, args: argparse.Namespace) -> None:
    """The summary files always; the history record and the site unless --no-report."""
    summary = record.summarise(plan.out)
    if args.no_report:
        return
    record.record(plan.out, args.history, summary)
    options = report.detect_options(args)
    report.build(plan.out, args.site, args.history, options, args.trend_runs, summary, args.ab_outputs)
