"""`./run.sh [run]`: benchmark every chosen target x suite, one after another, each on a fresh database.

The pipeline: plan (options -> targets, suites, profile) -> run each pair (server up, k6 suite,
files published; see `runner/pair.py`) -> publish (summary files, history record, site). A pair
that fails is recorded as failed and the next one still runs; the exit status is non-zero if any
pair did not finish.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING

from cli.options import add_report_arguments, check_report_arguments, option, report_settings
from core.errors import BadValue
from core.options import parse_pairs
from core.records import DEFAULT_PROFILE, Machine, Status, check_run_id, new_run_id
from runner.k6 import profiles, select_profile
from runner.pair import RunPlan
from runner.progress import PLAIN_INTERVAL_SECONDS, console
from runner.resources import CgroupMeter
from runner.run import run_all
from services.postgres import external
from services.registry import load_registry, parse_versions, select_suites, suites

if TYPE_CHECKING:  # statistics, charts and the site: loaded once the options are checked (see main)
    from analysis import duration
    from analysis.summarise import PairSummary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    registry = load_registry()
    parser.add_argument(
        "--profile",
        default=DEFAULT_PROFILE,
        help=f"load profile, one of {', '.join(profiles())} (default: {DEFAULT_PROFILE}; standard: the original's)",
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
        "--server-cgroup",
        metavar="DIR",
        help="with --server-url: meter the server as this cgroup folder (its container's, which "
        "`./run.sh cgroup PID` prints), so its CPU and memory are recorded (default: none for a URL)",
    )
    parser.add_argument(
        "--server-executable",
        type=Path,
        metavar="PATH",
        help="launch this build of the targets' server instead of the registry's (all --targets of one "
        "server), e.g. the fml binary a FastTrackML developer has just compiled; its version reads 'local build'",
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
        "--sizes",
        type=int_list,
        help="the scale suite's store sizes, in runs, ascending (default: the profile's, e.g. 100,1000,10000 "
        "at standard; each from 1 to 1000000)",
    )
    parser.add_argument(
        "--reads", type=int, help="the scale suite's timed iterations at each size (default: the profile's)"
    )
    parser.add_argument(
        "--rates",
        type=int_list,
        help="the capacity suite's offered rates, requests per second, ascending (default: the profile's, "
        "e.g. 25,50,...,3200 at standard; each from 1 to 100000)",
    )
    parser.add_argument(
        "--hold-seconds", type=int, help="how long the capacity suite holds each rate (default: the profile's)"
    )
    parser.add_argument(
        "--no-report", action="store_true", help="stop after the raw outputs and their summary: no history, no site"
    )
    parser.add_argument("--site", default="site", type=Path, help="where to build the site (default: site)")
    add_report_arguments(parser)


def main(args: argparse.Namespace) -> int:
    plan = plan_from(args)
    from cli.tables import print_run_table  # pandas: a bad option is told without waiting for it

    plan = dataclasses.replace(plan, estimate=expected_duration(plan, args.history))
    console.print(
        f"Run [bold]{plan.run_id}[/]: {len(plan.targets)} target(s) x {len(plan.suites)} suite(s), "
        f"profile {plan.profile.name} ({_shapes(plan)}); "
        f"expected to take {plan.estimate.describe()}"
    )
    pairs = run_all(plan)
    print_run_table(pairs, console)
    if any(not p.missing for p in pairs):
        publish(plan, args, pairs)
    failed = [p for p in pairs if p.status not in (Status.OK, Status.UNSUPPORTED)]
    if failed:
        listing = ", ".join(f"{p.target}/{p.suite} ({p.status})" for p in failed)
        console.print(f"[red]{len(failed)} of {len(pairs)} run(s) did not finish: {listing}")
        return 1
    return 0


def _shapes(plan: RunPlan) -> str:
    """'logging, retrieval: 1 VU x 20 iterations a round, 5-12 rounds; ui: 1 VU x 3 iterations'."""
    by_shape: dict[str, list[str]] = {}
    for suite in plan.suites:
        profile = plan.profile_for(suite)
        vus = f"{profile.vus} VU{'s' if profile.vus != 1 else ''}"
        rounds = f" a round, {profile.rounds.least}-{profile.rounds.most} rounds" if profile.rounds else ""
        by_shape.setdefault(f"{vus} x {profile.iterations} iterations{rounds}", []).append(suite)
    return "; ".join(f"{', '.join(suites)}: {shape}" for shape, suites in by_shape.items())


ESTIMATE_RUNS = 50  # the history's newest runs an estimate reads: a long history costs the start nothing


def expected_duration(plan: RunPlan, history_folder: Path) -> duration.RunEstimate:
    """Each pair's expected wall time, from the history's earlier runs at this profile (this machine's
    first), else the profile's measured figure; a pair the registry says cannot run takes none."""
    from analysis import duration, history

    runnable = [(t.id, s) for t, s in plan.pairs if plan.executable or not t.unsupported(s)]
    past = history.load(history_folder, latest=ESTIMATE_RUNS).records if history_folder.is_dir() else []
    fallback = {suite: plan.profile_for(suite).pair_seconds for suite in plan.suites}
    return duration.estimate(runnable, plan.profile.name, fallback, past, Machine.here().cpu_model)


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
    server_cgroup = None
    if args.server_cgroup is not None:
        with option("--server-cgroup"):
            server_cgroup = check_cgroup(args.server_cgroup, args.server_url)
    if args.server_executable:
        with option("--server-executable"):
            check_executable(args.server_executable, targets, args.server_url)
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
    check_report_arguments(args)  # now, not after the benchmark
    suite_settings = check_suite_settings(args)
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
        suite_settings,
        args.server_executable.resolve() if args.server_executable else None,
        server_cgroup,
    )


def check_executable(path: Path, targets: list, server_url: str | None) -> None:
    if server_url:
        raise BadValue("goes with a launched server, not with --server-url")
    if not path.is_file() or not os.access(path, os.X_OK):
        raise BadValue(f"{path} is not an executable file")
    if len({t.server.name for t in targets}) != 1:
        raise BadValue("name --targets of one server: the build replaces that server's program")


def check_cgroup(text: str, server_url: str | None) -> Path:
    """The folder of --server-cgroup, checked now: a folder that is no cgroup fails before anything runs."""
    if not server_url:
        raise BadValue("goes with --server-url: a server launched here is metered as its process tree")
    if not text:
        raise BadValue("is empty: give the folder that `./run.sh cgroup PID` prints for the server's process")
    CgroupMeter(Path(text))
    return Path(text)


def int_list(text: str) -> list[int]:
    """`100,1000,10000` as numbers; argparse turns the ValueError into a one-line usage error."""
    return [int(part) for part in text.split(",") if part.strip()]


def check_suite_settings(args: argparse.Namespace) -> dict[str, object]:
    """The scale and capacity options that were given, each checked: a one-line error names a bad one."""
    ranges = {"--sizes": (args.sizes, 1, 1_000_000), "--rates": (args.rates, 1, 100_000)}
    for name, (values, low, high) in ranges.items():
        if values is None:
            continue
        with option(name):
            if not values or any(not low <= v <= high for v in values):
                raise BadValue(f"each must be from {low} to {high}, got {','.join(map(str, values)) or 'nothing'}")
            if values != sorted(set(values)):
                raise BadValue(f"must ascend without repeats, got {','.join(map(str, values))}")
    for name, value, high in (("--reads", args.reads, 10_000), ("--hold-seconds", args.hold_seconds, 3600)):
        with option(name):
            if value is not None and not 1 <= value <= high:
                raise BadValue(f"must be from 1 to {high}, got {value}")
    given = {"sizes": args.sizes, "reads": args.reads, "rates": args.rates, "hold": args.hold_seconds}
    return {key: value for key, value in given.items() if value is not None}


def publish(plan: RunPlan, args: argparse.Namespace, pairs: list[PairSummary]) -> None:
    """The summary files always (from the pairs as the runner summarised them: no CSV is parsed
    again); the history record and the site unless --no-report."""
    from cli import stages

    summary = stages.summarise(plan.out, fresh=pairs)
    if args.no_report:
        return
    stages.record(summary, args.history)
    stages.build_report(
        summary,
        out=plan.out,
        site_dir=args.site,
        history_dir=args.history,
        ab_outputs=args.ab_outputs,
        settings=report_settings(args),
    )
