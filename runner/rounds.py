"""Run one suite in interleaved rounds on every target of one database, until each p50 is known.

A suite whose profile entry has `rounds` (the default profile's REST suites) is not run once per
target, one target after the other: every target of one database is started first, each on a fresh
database of its own, and then the suite runs in short rounds, each round once on every target, the
targets taking turns in an order drawn afresh each round (`round_order`), each turn once every
server is idle. So a moment when the machine is slower hits each target about alike, and each round
is a fresh draw of the run-to-run spread: the scatter of the rounds' p50s is what the p50's interval
is made of (analysis/precision.py).

Before the measured rounds, one warm-up round per target is discarded: it warms caches and
connection pools, and the retrieval suite seeds its dataset in it once per target (DATASET_PREFIX),
which later rounds find again. After `least` rounds the runner looks after each round and stops at
the first at which every request name of every target is known within ±`precision`, or once
`seconds` have passed, or at `most` rounds.

Every round's k6 CSV is tagged with its round (`--tag round=N`); a target's rounds are joined into
its pair's raw CSV, so that the pair's files, summary and history look as for any other pair, and
its rounds can be told apart again from the CSV alone. A target whose server dies, or whose k6
fails, drops out of the later rounds and keeps what it measured, marked partial.
"""

from __future__ import annotations

import dataclasses
import random
import shutil
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
from rich.markup import escape

from analysis import precision
from analysis.k6csv import read_samples
from analysis.summarise import PairSummary, round_p50s
from core.errors import BenchError, InputError
from core.layout import STAGING_DIR, PairFiles, round_files
from core.paths import WORK_DIR
from core.records import PairMetadata, Status
from runner import serving
from runner.k6 import LoadResult, Rounds, run_suite
from runner.pair import RunPlan, _ceiling, _finish, start_metadata
from runner.progress import console
from runner.resources import wait_until_idle
from services import launcher
from services.postgres import Postgres
from services.registry import Target

WARMUP_ROUND = 0
T = TypeVar("T")


@dataclass
class _Member:
    """One target of the group: its files, its record so far, its server, and its rounds."""

    target: Target
    staging: PairFiles
    meta: PairMetadata
    workdir: Path
    served: launcher.Served | None = None
    meter: object | None = None
    csvs: list[Path] = field(default_factory=list)  # its measured rounds' CSVs, in order
    p50s: list[pd.DataFrame] = field(default_factory=list)  # each measured round's p50 per name
    results: list[LoadResult] = field(default_factory=list)
    problem: str | None = None  # why it dropped out

    @property
    def taking_part(self) -> bool:
        return self.served is not None and self.problem is None


def round_order(members: list[T], number: int, seed: str) -> list[T]:
    """The order of a round: a permutation drawn for it (seeded by the run, the suite and the round,
    so a run can be replayed). A fixed turn (A B C, B C A ...) would always run each target right
    after the same one, and a server's trailing work (a checkpoint, a collector, a job runner) then
    slows the same next target every round: on two identical FastTrackMLs behind two MLflows, one of
    them read 7-8% faster than its twin, outside the intervals. Drawn, that penalty falls on each
    target alike in expectation and widens the rounds' scatter instead of biasing a ratio."""
    order = list(members)
    random.Random(f"{seed}/{number}").shuffle(order)
    return order


def run_group(plan: RunPlan, targets: list[Target], suite: str, pg: Postgres | None) -> list[PairSummary]:
    """The suite in rounds on `targets` (one database's, all runnable); returns each one's summary."""
    rounds = plan.profile_for(suite).rounds
    assert rounds is not None, f"{suite} has no rounds in profile {plan.profile.name}"
    members = [_member(plan, target, suite) for target in targets]
    try:
        with ExitStack() as stack:
            for member in members:
                _start(stack, plan, member, suite, pg)
            for member in members:
                if member.taking_part:
                    _round(plan, member, suite, WARMUP_ROUND)
            for member in members:
                if member.taking_part and member.meter:
                    member.meter.begin()
            ran = _measure(plan, members, suite, rounds)
            for member in members:
                _end_meter(member)
        console.print(f"{suite}: {ran} round(s) measured on {len(members)} target(s)", markup=False)
        return [_done(plan, member, suite) for member in members]
    except KeyboardInterrupt:
        for member in members:
            _done(plan, member, suite, "interrupted (Ctrl-C or SIGTERM)")
        raise
    except Exception as exc:  # a fault of one group must not stop the other suites
        console.print(f"[red]{suite}: {type(exc).__name__}: {escape(str(exc))}")
        return [_done(plan, member, suite, f"{type(exc).__name__}: {exc}".splitlines()[0]) for member in members]
    finally:
        for member in members:
            shutil.rmtree(member.workdir, ignore_errors=True)


def _member(plan: RunPlan, target: Target, suite: str) -> _Member:
    staging = PairFiles(plan.out / STAGING_DIR / plan.run_id, target.id, suite)
    staging.folder.mkdir(parents=True, exist_ok=True)
    return _Member(target, staging, start_metadata(plan, target, suite), WORK_DIR / plan.run_id / staging.stem)


def _start(stack: ExitStack, plan: RunPlan, member: _Member, suite: str, pg: Postgres | None) -> None:
    """The member's server, up for the whole group; a server that does not start is its failure."""
    label = f"{plan.run_id[:15]}_{member.staging.stem}"
    cpus = plan.cores[1] if plan.cores else None
    serve = serving.serve(
        plan.spec(member.target),
        label=label,
        workdir=member.workdir,
        log=member.staging.server_log,
        pg=pg,
        cpus=cpus,
        who=f"{member.target.id}: ",
    )
    try:
        served = stack.enter_context(serve)
    except BenchError as exc:
        console.print(f"[red]{escape(str(exc))}")
        member.problem = str(exc).splitlines()[0]
        return
    member.served = served
    ceiling = _ceiling(plan, suite, served.url, plan.profile_for(suite).vus, member.staging)
    member.meta = dataclasses.replace(
        member.meta,
        server=serving.started(member.meta.server, served),
        database=served.database,
        server_start_seconds=served.start_seconds,
        k6_ceiling_rps=ceiling,
    )
    member.meter = serving.meter(served, plan.server_cgroup)


def _measure(plan: RunPlan, members: list[_Member], suite: str, rounds: Rounds) -> int:
    """The measured rounds; returns how many ran."""
    started = time.monotonic()
    for number in range(1, rounds.most + 1):
        taking_part = [m for m in members if m.taking_part]
        if not taking_part:
            return number - 1
        for member in round_order(taking_part, number, f"{plan.run_id}/{suite}"):
            wait_until_idle([m.meter for m in taking_part if m.meter])
            _round(plan, member, suite, number)
        widest = _widest(members)
        console.print(f"{suite} round {number}: {_describe(widest)}", markup=False)
        if enough(number, rounds, widest[0] if widest else None, time.monotonic() - started):
            return number
    return rounds.most


def enough(number: int, rounds: Rounds, widest: float | None, seconds: float) -> bool:
    """Whether the rounds stop after round `number`: never before `least`; then once the least sure
    p50 is known within ±precision (`widest`, None when no name has an interval), `seconds` have
    passed, or `most` rounds have run."""
    if number < rounds.least:
        return False
    return number >= rounds.most or seconds > rounds.seconds or (widest is not None and widest <= rounds.precision)


def _round(plan: RunPlan, member: _Member, suite: str, number: int) -> None:
    """One round of the suite on the member's server; a measured round's CSV and p50s are kept."""
    assert member.served is not None
    profile = plan.profile_for(suite)
    csv, log = round_files(member.workdir, number)
    served = member.served

    def should_stop() -> str | None:
        if member.meter and number != WARMUP_ROUND:
            member.meter.sample()
        return None if served.is_alive() else "the server exited during the run"

    result = run_suite(
        suite,
        served.url,
        profile,
        csv,
        log,
        should_stop=should_stop,
        script_env={"DATASET_PREFIX": f"bench-{plan.run_id}-{member.target.id}"},
        cpus=plan.cores[0] if plan.cores else None,
        tags={"round": str(number)},
    )
    _append_log(member.staging.k6_log, log, number)
    if not served.is_alive():
        member.problem = "the server exited during the run"
    elif result.exit_code != 0:
        member.problem = f"k6 exited with code {result.exit_code} in round {number}; see {member.staging.k6_log.name}"
    if number == WARMUP_ROUND or not csv.exists():
        return
    member.csvs.append(csv)
    member.results.append(result)
    try:
        member.p50s.append(round_p50s(read_samples(csv).frame))
    except InputError as exc:
        member.problem = str(exc)


def _append_log(log: Path, round_log: Path, number: int) -> None:
    with log.open("a") as out:
        out.write(f"===== round {number}{' (warm-up, discarded)' if number == WARMUP_ROUND else ''} =====\n")
        if round_log.exists():
            out.write(round_log.read_text(errors="replace"))


def _widest(members: list[_Member]) -> tuple[float, str, str] | None:
    """The least sure p50 so far, by its rounds' scatter: (the reach of its t-interval as a share,
    target, request name); None before two rounds."""
    widest = None
    for member in members:
        if len(member.p50s) < precision.MIN_ROUNDS:
            continue
        for name, values in pd.concat(member.p50s).groupby("name")["p50_ms"]:
            # the part of the interval more rounds can narrow: not the instance's offset, which stays
            width = float(np.expm1(precision.t_half(np.log(values.to_numpy(float)))))
            if widest is None or width > widest[0]:
                widest = (width, member.target.id, str(name))
    return widest


def _describe(widest: tuple[float, str, str] | None) -> str:
    if widest is None:
        return "too few rounds for an interval yet"
    width, target, name = widest
    return f"the least sure p50 is known within ±{width:.0%} ({target} {name})"


def _end_meter(member: _Member) -> None:
    if not member.meter or not member.taking_part:
        return
    cpu, rss = member.meter.end()
    member.meta = dataclasses.replace(
        member.meta,
        server_cpu_seconds=None if cpu is None else round(cpu, 3),
        server_rss_peak_mib=None if rss is None else round(rss, 1),
    )


def _done(plan: RunPlan, member: _Member, suite: str, stopped: str | None = None) -> PairSummary:
    """The member's rounds joined into its pair's CSV, its metadata finished, its files published."""
    _join(member.csvs, member.staging.csv)
    profile = plan.profile_for(suite)
    results = member.results
    meta = dataclasses.replace(
        member.meta,
        iterations_expected=max(len(results), 1) * profile.total_iterations,
        iterations_done=sum(r.iterations_done for r in results),
        k6_exit_code=next((r.exit_code for r in results if r.exit_code != 0), 0) if results else None,
        k6_seconds=round(sum(r.seconds for r in results), 2),
        k6_cpu_seconds=None if any(r.cpu_seconds is None for r in results) else sum(r.cpu_seconds for r in results),
        settings={**member.meta.settings, "rounds": len(results)},
        pinned=plan.cores is not None,
    )
    problem = stopped or member.problem
    status = Status.OK if not problem else Status.PARTIAL if results else Status.FAILED
    meta = meta.ended(status, problem)
    return _finish(plan, member.staging, meta)


def _join(csvs: list[Path], joined: Path) -> None:
    """The rounds' k6 CSVs as one (each round's rows carry its round tag); one header, the first's."""
    if not csvs:
        return
    with joined.open("w") as out:
        header = None
        for csv in csvs:
            with csv.open() as rows:
                first = rows.readline()
                if header is None:
                    header = first
                    out.write(first)
                elif first != header:
                    raise InputError(f"{csv}: its columns differ from the first round's; the rounds cannot be joined")
                shutil.copyfileobj(rows, out)
