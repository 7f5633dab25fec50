"""`./run.sh [run]`: benchmark every chosen target x suite, one after another, each on a fresh database.

For each pair: start the database and the server, wait until it answers API calls, run the k6
suite, stop everything, and publish the raw CSV with its metadata. A pair that fails is recorded
as failed and the next one still runs; the exit status is non-zero if any pair did not finish.
"""

from __future__ import annotations

import argparse
import re
import shutil
from collections.abc import Callable
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from analysis.k6csv import read_samples
from analysis.summarise import summarise_samples
from bench import outputs
from bench.errors import InputError, UsageError
from bench.loadtest import Profile, k6_version, profiles, run_suite, select_profile
from bench.report_table import print_run_table
from bench.verbs import record, report
from services import environments, launcher
from services.postgres import Postgres, postgres
from services.registry import ROOT, Target, load_registry, parse_versions, select_suites, suites

WORK_DIR = ROOT / ".cache" / "work"
console = Console(stderr=True, highlight=False, width=None if Console(stderr=True).is_terminal else 120)


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
        "--no-report", action="store_true", help="stop after the raw outputs: no history record, no site"
    )
    parser.add_argument("--site", default="site", type=Path, help="where to build the site (default: site)")
    report.add_history_arguments(parser)


@dataclass
class Plan:
    targets: list[Target]
    suites: list[str]
    profile: Profile
    out: Path
    run_id: str
    postgres_url: str | None = None
    server_url: str | None = None
    results: list[dict] = field(default_factory=list)
    tables: dict[tuple[str, str], pd.DataFrame | None] = field(default_factory=dict)


def plan_from(args: argparse.Namespace) -> Plan:
    profile = select_profile(args.profile)
    targets = load_registry().select(args.targets, parse_versions(args.server_version))
    chosen_suites = select_suites(args.suites)
    if args.server_url:
        if len(targets) != 1:
            raise UsageError("--server-url: name exactly one target with --targets, to label the results")
        if not args.server_url.startswith(("http://", "https://")):
            raise UsageError(f"--server-url: expected http://host:port, got {args.server_url!r}")
    if args.postgres_url and not args.postgres_url.startswith(("postgresql://", "postgres://")):
        raise UsageError(
            f"--postgres-url: expected postgresql://user:password@host:port/database, got {args.postgres_url!r}"
        )
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out: {args.out} exists and is not a folder")
    return Plan(targets, chosen_suites, profile, args.out, outputs.new_run_id(), args.postgres_url, args.server_url)


def main(args: argparse.Namespace) -> int:
    plan = plan_from(args)
    plan.out.mkdir(parents=True, exist_ok=True)
    console.print(
        f"Run [bold]{plan.run_id}[/]: {len(plan.targets)} target(s) x {len(plan.suites)} suite(s), "
        f"profile {plan.profile.name} ({plan.profile.vus} VUs x {plan.profile.iterations} iterations)"
    )
    if not plan.server_url:
        for target in plan.targets:
            environments.ensure_environment(target, log=console.print)
    needs_postgres = not plan.server_url and any(t.database.kind == "postgres" for t in plan.targets)
    try:
        with postgres(plan.postgres_url) if needs_postgres else nullcontext() as pg:
            for target in plan.targets:
                for suite in plan.suites:
                    plan.results.append(run_pair(plan, target, suite, pg))
    finally:
        shutil.rmtree(WORK_DIR / plan.run_id, ignore_errors=True)
    print_run_table(plan.results, plan.tables, console)
    failed = [r for r in plan.results if r["status"] != "ok"]
    if not args.no_report and len(failed) < len(plan.results):
        record.record(plan.out, args.history)
        report.build(plan.out, args.site, args.history, report.detect_options(args), args.trend_runs)
    if failed:
        console.print(
            f"[red]{len(failed)} of {len(plan.results)} run(s) did not finish: "
            + ", ".join(f"{r['target']}/{r['suite']} ({r['status']})" for r in failed)
        )
        return 1
    return 0


def run_pair(plan: Plan, target: Target, suite: str, pg: Postgres | None) -> dict:
    """Benchmark one target x suite and publish its files; returns its metadata."""
    staging = outputs.PairFiles(plan.out / outputs.STAGING_DIR / plan.run_id, target.id, suite)
    staging.folder.mkdir(parents=True, exist_ok=True)
    workdir = WORK_DIR / plan.run_id / staging.stem
    meta = base_metadata(plan, target, suite)
    console.rule(f"{target.id} · {suite}")
    try:
        with ExitStack() as stack:
            url, server_alive = _start_server(plan, target, pg, stack, workdir, staging, meta)
            _load(plan, suite, url, staging, meta, server_alive)
    except launcher.ServerFailed as exc:
        console.print(f"[red]{exc}")
        meta.update(status="failed", error=str(exc).splitlines()[0])
    except KeyboardInterrupt:
        meta.update(status="partial" if staging.csv.exists() else "failed", error="interrupted (Ctrl-C or SIGTERM)")
        _finish(plan, staging, meta)
        raise
    except Exception as exc:  # a fault of one pair must not stop the others
        console.print(f"[red]{target.id}/{suite}: {type(exc).__name__}: {exc}")
        meta.update(status="failed", error=f"{type(exc).__name__}: {exc}".splitlines()[0])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return _finish(plan, staging, meta)


def _start_server(
    plan: Plan,
    target: Target,
    pg: Postgres | None,
    stack: ExitStack,
    workdir: Path,
    staging: outputs.PairFiles,
    meta: dict,
) -> tuple[str, Callable[[], bool]]:
    """Start the target's server on a fresh database (or wait for --server-url); its URL and liveness."""
    if plan.server_url:
        launcher.wait_for_external(plan.server_url, target.server.health_path)
        return plan.server_url.rstrip("/"), lambda: True
    if target.database.kind == "postgres":
        name = re.sub(r"[^a-z0-9_]", "_", f"bench_{plan.run_id[:15]}_{staging.stem}".lower())[:63]
        database = stack.enter_context(pg.fresh_database(name))
        database_uri = pg.uri(database, target.server.postgres_scheme)
        meta["database"]["version"] = pg.version()
        meta["database"]["embedded"] = pg.embedded
    else:
        database_uri = target.server.sqlite_uri.format(path=(workdir / "tracking.db").resolve())
    server = stack.enter_context(launcher.launch(target, database_uri, workdir, staging.server_log))
    meta["server_start_seconds"] = round(server.start_seconds, 2)
    meta["server"]["version"] = environments.installed_version(target)
    console.print(f"server up in {server.start_seconds:.1f} s at {server.url}")
    return server.url, server.is_alive


def _load(
    plan: Plan, suite: str, url: str, staging: outputs.PairFiles, meta: dict, server_alive: Callable[[], bool]
) -> None:
    total = plan.profile.total_iterations
    columns = [
        TextColumn(f"{meta['target']} · {suite}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("iterations"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    ]
    stop_reason: list[str] = []

    def should_stop() -> str | None:
        if not server_alive():
            stop_reason.append("the server exited during the run")
        return stop_reason[0] if stop_reason else None

    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("k6", total=total)
        result = run_suite(
            suite,
            url,
            plan.profile,
            staging.csv,
            staging.k6_log,
            staging.dashboard,
            on_progress=lambda done: progress.update(task, completed=min(done, total)),
            should_stop=should_stop,
        )
    meta.update(
        k6_exit_code=result.exit_code, iterations_done=result.iterations_done, k6_seconds=round(result.seconds, 2)
    )
    if stop_reason:
        meta.update(status="partial", error=stop_reason[0])
    elif result.exit_code != 0:
        meta.update(status="partial", error=f"k6 exited with code {result.exit_code}; see {staging.k6_log.name}")
    elif result.iterations_done < total:
        meta.update(
            status="partial", error=f"only {result.iterations_done} of {total} iterations ran (maxDuration reached?)"
        )
    else:
        meta.update(status="ok")


def base_metadata(plan: Plan, target: Target, suite: str) -> dict:
    return {
        "schema_version": outputs.METADATA_SCHEMA,
        "run_id": plan.run_id,
        "target": target.id,
        "suite": suite,
        "profile": plan.profile.name,
        "vus": plan.profile.vus,
        "iterations_per_vu": plan.profile.iterations,
        "iterations_expected": plan.profile.total_iterations,
        "server": {"name": target.server.name, "label": target.server.label, "version": target.version},
        "database": {
            "kind": target.database.kind,
            "label": target.database.label,
            "version": "bundled with the server" if target.database.kind == "sqlite" else None,
        },
        "mode": "external" if plan.server_url else "native",
        "k6_version": k6_version(),
        "source": outputs.source(),
        "machine": outputs.machine(),
        "started_at": outputs.now_iso(),
        "status": "running",
        "error": None,
    }


def _finish(plan: Plan, staging: outputs.PairFiles, meta: dict) -> dict:
    """Count what the CSV holds, write the metadata, and publish the pair's files."""
    meta["ended_at"] = outputs.now_iso()
    stats = _stats(staging.csv)
    meta["counts"] = _counts(stats)
    if meta["status"] == "ok" and meta["counts"]["requests"] == 0:
        meta.update(status="failed", error="k6 finished but recorded no timed request")
    outputs.write_metadata(staging.metadata, meta)
    outputs.publish(staging, plan.out)
    colour = "green" if meta["status"] == "ok" else "red"
    console.print(f"[{colour}]{meta['target']} · {meta['suite']}: {meta['status']}[/] {meta.get('error') or ''}")
    try:
        staging.folder.rmdir()
        staging.folder.parent.rmdir()
    except OSError:
        pass
    plan.tables[(meta["target"], meta["suite"])] = stats
    return meta


def _stats(csv_path: Path) -> pd.DataFrame | None:
    try:
        return summarise_samples(read_samples(csv_path)) if csv_path.exists() else None
    except InputError:
        return None


def _counts(stats: pd.DataFrame | None) -> dict:
    if stats is None:
        return {"requests": 0, "errors": 0, "request_names": []}
    return {
        "requests": int(stats["count"].sum()),
        "errors": int(stats["errors"].sum()),
        "request_names": sorted(stats.index.astype(str)),
    }
