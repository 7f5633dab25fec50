"""A paired A/B on one machine: both servers up at once, the suite in short rounds, measured side by side.

Both sides (A, the baseline, and B, the candidate) are started first, each on a fresh database of
its own, and stay up for the whole comparison. Each suite then runs one warm-up round (discarded: it
seeds the retrieval dataset once per side, warms caches and connection pools, and times an iteration
so that rounds can be sized in seconds), then `rounds` rounds of the same number of iterations per
side. By default (`interleave`) a round is one k6 process that runs both sides, every VU taking
turns A B B A ... iteration by iteration, so that a moment's slowdown of the machine hits both
alike; otherwise each side's round is a k6 process of its own, in the order A B, B A, A B ... Each
suite is measured in each of the plan's modes, one after the other, each with its own warm-up and
rounds: ALONE (`isolate`) does not run the suite's mixed iteration but each request name in a
segment of its own, one name after the other, the VUs meeting at a barrier between segments
(runner/segments.py), so that no request waits behind another kind's work and each server's CPU is
read per request name; CONTENTION runs the mixed iteration at several VUs, so that requests wait on
each other's work as under a real load. A sequential mode (`rule_out`) stops its rounds of a suite
at the first look at which every request name has settled (analysis/sequential.py). Around every
round each server's process tree is metered (CPU seconds, peak memory), and after it PostgreSQL's
statistics are refreshed on both sides' databases.

The raw CSV of every round is kept untouched as `<out>/<suite>/<AB|A|B>-<round>.csv` (the contention
mode's in `<out>/<suite>/contention/`), with its k6 log; `ab.json` (an ABMetadata record) holds both
sides and every round's outcome, and `rounds.csv` each round's statistics per side and request name:
each round's CSV is parsed once, after it ran, for both its statistics and the size of the next
round. analysis/paired.py judges from these two.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import shutil
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from rich.markup import escape

from analysis import paired, sequential
from analysis.k6csv import SUCCESS_METRIC, read_samples
from analysis.paired import ROUND_COLUMNS, round_rows, side_statistics
from core.errors import BenchError, InputError
from core.layout import ABFiles
from core.paths import WORK_DIR, write_atomically
from core.records import ALONE, CONTENTION, ABMetadata, ABMode, ABRound, ABSide, Status, now_iso
from runner import profiling, serving
from runner.k6 import Profile, measured_here, run_suite
from runner.progress import console
from runner.resources import CgroupMeter, TreeMeter, core_split
from runner.segments import SegmentBarrier, serve_barrier
from services import launcher
from services.postgres import Postgres, database_name, postgres
from services.registry import Spec

SIDES = ("A", "B")
WARMUP_ROUND = 0
WARMUP_ITERATIONS = 10  # per VU and side: also how long an iteration takes is measured on it
MIN_ROUND_ITERATIONS = 5
MAX_SEGMENT_GROWTH = 20  # a segment grows at most this many times from one round to the next
NOISE_ROUNDS = 4  # rounds measured before segments are sized by their noise
MIN_SHARE = 0.03  # of a round, for any request name's segment


@dataclass(frozen=True)
class ABPlan:
    baseline: Spec
    candidate: Spec
    suites: tuple[str, ...]
    profile: Profile  # its VUs run each round of the mode being run
    rounds: int  # at most, per suite in the mode being run
    round_iterations: int | None  # per VU and side in each round; None: sized to round_seconds
    warmup: float  # share of each round's samples the analysis discards
    pin: bool  # k6 on some cores, the servers on the others
    out: Path
    ab_id: str
    postgres_url: str | None = None
    interleave: bool = False  # both sides in one k6 process per round, taking turns iteration by iteration
    isolate: bool = False  # the mode being run is ALONE: each request name in a segment of its own (runner/segments.py)
    # run one after the other on each suite; () runs the plan's own (rounds, VUs, isolate)
    modes: tuple[ABMode, ...] = ()
    threshold: float = 0.03  # the smallest change called, as a sequential mode settles names (analysis/sequential.py)
    profile_servers: bool = False  # sample both servers' stacks over the measured rounds (runner/profiling.py)
    round_seconds: float = 4.0  # the length of a round, when round_iterations is None
    provenance: dict[str, str] = field(default_factory=dict)  # e.g. CI's image digests and revision
    cgroups: dict[str, Path] = field(default_factory=dict)  # side -> the cgroup that meters its server (CI)

    @property
    def specs(self) -> dict[str, Spec]:
        return {"A": self.baseline, "B": self.candidate}

    @property
    def measured_modes(self) -> tuple[ABMode, ...]:
        return self.modes or (ABMode(ALONE if self.isolate else CONTENTION, self.profile.vus, self.rounds),)

    @property
    def mode(self) -> ABMode:
        """The mode being run (`in_mode`), or the first one."""
        return self.measured_modes[0]

    def in_mode(self, mode: ABMode) -> ABPlan:
        """The plan as it runs `mode`'s rounds: its VUs, its most rounds, isolated or not."""
        profile = dataclasses.replace(self.profile, vus=mode.vus)
        return dataclasses.replace(self, profile=profile, rounds=mode.rounds, isolate=mode.isolated, modes=(mode,))

    @property
    def needs_postgres(self) -> bool:
        return any(s.target.database.kind == "postgres" and not s.url for s in self.specs.values())


def round_order(rounds: int) -> list[tuple[int, str]]:
    """(round, side) in the order they run: A B, B A, A B ... (round 1 is A first)."""
    return [(r, side) for r in range(1, rounds + 1) for side in (SIDES if r % 2 else SIDES[::-1])]


def run_ab(plan: ABPlan) -> ABMetadata:
    """Run the whole comparison; its metadata is written to `ab.json` whatever happens."""
    meta = start_metadata(plan)
    results: list[ABRound] = []
    table: list[pd.DataFrame] = []  # each measured round's statistics, per side and request name
    split = core_split() if plan.pin else None
    try:
        with ExitStack() as stack:
            pg = stack.enter_context(postgres(plan.postgres_url)) if plan.needs_postgres else None
            servers, sides = {}, {}
            for side, spec in plan.specs.items():
                sides[side], servers[side] = _start(stack, plan, side, spec, pg, split)
            meta = dataclasses.replace(meta, baseline=sides["A"], candidate=sides["B"])
            after_round = _analyzer(plan, pg)
            for suite in plan.suites:
                for mode in plan.measured_modes:
                    settled = _settles(meta, suite, mode, plan.threshold) if mode.rule_out is not None else None
                    part = plan.in_mode(mode)
                    if mode != plan.mode:  # the servers' stacks are sampled in the first mode's rounds
                        part = dataclasses.replace(part, profile_servers=False)
                    iterations, rounds = _run_suite(part, suite, servers, split, after_round, table, settled)
                    results += rounds
                    if mode == plan.mode:
                        meta = dataclasses.replace(meta, round_iterations={**meta.round_iterations, suite: iterations})
    except KeyboardInterrupt:
        _finish(plan, meta, results, table, "interrupted (Ctrl-C or SIGTERM)")
        raise
    finally:
        _clean_workdir(plan)
    return _finish(plan, meta, results, table)


@dataclass
class _Server:
    """A side's server during the comparison, or why there is none."""

    served: launcher.Served | None
    error: str | None = None
    meter: TreeMeter | CgroupMeter | None = None

    def problem(self) -> str | None:
        if self.served is None:
            return self.error or "the server did not start"
        if not self.served.is_alive():
            self.error = self.error or "the server exited during the comparison"
            return self.error
        return None


def _start(
    stack: ExitStack,
    plan: ABPlan,
    side: str,
    spec: Spec,
    pg: Postgres | None,
    split: tuple[frozenset[int], frozenset[int]] | None,
) -> tuple[ABSide, _Server]:
    info = dataclasses.replace(
        _side(side, spec),
        executable=str(spec.executable) if spec.executable else None,
        sha256=_sha256(spec.executable) if spec.executable else None,
    )
    console.rule(f"{side}: {spec.text}")
    serve = serving.serve(
        spec,
        label=_database_label(plan, side),
        workdir=WORK_DIR / plan.ab_id / side,
        log=ABFiles(plan.out).server_log(side),
        pg=pg,
        cpus=split[1] if split else None,
        who=f"{side}: ",
    )
    try:
        served = stack.enter_context(serve)
    except BenchError as exc:
        console.print(f"[red]{side}: {escape(str(exc))}")
        return info, _Server(None, str(exc).splitlines()[0])
    info = dataclasses.replace(
        info,
        server=serving.started(info.server, served),
        database=served.database,
        url=served.url,
        start_seconds=served.start_seconds,
    )
    return info, _Server(served, meter=serving.meter(served, plan.cgroups.get(side)))


def _run_suite(
    plan: ABPlan,
    suite: str,
    servers: dict[str, _Server],
    split: tuple[frozenset[int], frozenset[int]] | None,
    after_round: Callable[[], None],
    table: list[pd.DataFrame],
    settled: Callable[[list[pd.DataFrame]], bool] | None = None,
) -> tuple[int, list[ABRound]]:
    """A warm-up round (discarded: it seeds the retrieval data, fills caches and times an iteration),
    then the rounds of the plan's one mode; returns the iterations per VU and side of the first
    round, and the rounds. A sequential A/B (`settled` given) stops after a look at which every
    request name settled.

    Unless --round-iterations fixes it, each round is sized to `round_seconds` at the pace of the
    round before it, since a server slows as its store fills (FastTrackML/SQLite's logging about 2x).
    Both sides of a round always run the same number of iterations, which is what pairing needs."""
    results: list[ABRound] = []
    rows: list[pd.DataFrame] = []  # this suite's, in this mode: what `settled` judges

    def measured(rounds: list[ABRound], samples: pd.DataFrame | None) -> pd.DataFrame | None:
        rounds = [dataclasses.replace(r, mode=plan.mode.name) for r in rounds]
        results.extend(rounds)
        rows.extend(round_rows(samples, r, plan.warmup, plan.interleave) for r in rounds)
        table.extend(rows[-len(rounds) :])
        after_round()
        return samples

    def knows(round_no: int) -> bool:
        return settled is not None and round_no in sequential.looks(plan.rounds)[:-1] and settled(rows)

    warmup = RoundSize(WARMUP_ITERATIONS)
    if plan.interleave:
        planner = SegmentPlanner(plan, len(SIDES)) if plan.isolate else None
        samples = _round(plan, suite, SIDES, WARMUP_ROUND, -1, servers, split, warmup)[1]
        after_round()
        fresh = SegmentPlanner(plan, len(SIDES)) if planner else None  # the warm-up teaches it nothing
        first = size = _round_size(plan, samples, warmup, fresh)
        with _profiled(plan, suite, servers):
            for k in range(1, plan.rounds + 1):
                samples = measured(*_round(plan, suite, SIDES, k, k - 1, servers, split, size))
                if knows(k):
                    break
                size = _round_size(plan, samples, size, planner)
        return first.most, results
    planner = SegmentPlanner(plan, 1) if plan.isolate else None
    warm = {side: _round(plan, suite, (side,), WARMUP_ROUND, -1, servers, split, warmup)[1] for side in SIDES}
    after_round()
    first = size = _round_size(plan, warm["A"], warmup, planner)
    with _profiled(plan, suite, servers):
        for position, (round_no, side) in enumerate(round_order(plan.rounds)):
            samples = measured(*_round(plan, suite, (side,), round_no, position, servers, split, size))
            if position % 2 == 1:  # both sides of the round done (A B or B A): the next round is re-sized
                if knows(round_no):
                    break
                size = _round_size(plan, samples, size, planner)
    return first.most, results


def _settles(meta: ABMetadata, suite: str, mode: ABMode, threshold: float) -> Callable[[list[pd.DataFrame]], bool]:
    """Whether the rounds of `suite` in `mode` so far settle every request name (analysis/sequential.py)."""
    return lambda rows: bool(rows) and paired.part_settled(meta, pd.concat(rows), suite, mode, threshold)


def _profiled(plan: ABPlan, suite: str, servers: dict[str, _Server]) -> contextlib.AbstractContextManager:
    """Sample both servers' stacks over the measured rounds of `suite`, with --profile-servers."""
    launched = {side: s.served for side, s in servers.items() if s.served and s.served.pid}
    if not plan.profile_servers or not launched:
        return contextlib.nullcontext()
    names = {side: plan.specs[side].target.server.name for side in launched}
    files = ABFiles(plan.out)
    return profiling.sampling({s: (names[s], served.pid, files.profile(suite, s)) for s, served in launched.items()})


def _analyzer(plan: ABPlan, pg: Postgres | None) -> Callable[[], None]:
    """Between rounds, ANALYZE the PostgreSQL database of every side launched here.

    Without it, autovacuum refreshes one database's statistics before the other's while the logging
    suite grows both, the two sides plan their queries differently, and A/A comparisons called a
    change (measured: the methodology's paired A/B section)."""
    names = [
        database_name(_database_label(plan, side))
        for side, spec in plan.specs.items()
        if spec.target.database.kind == "postgres" and not spec.url
    ]

    def analyze() -> None:
        for name in names:
            with contextlib.suppress(Exception):  # a side whose server or database is gone: its rounds say so
                pg.analyze(name)

    return analyze if pg is not None and names else lambda: None


def _database_label(plan: ABPlan, side: str) -> str:
    return f"ab_{plan.ab_id[:15]}_{side}"


@dataclass(frozen=True)
class RoundSize:
    """Iterations per VU and side of a round; isolated, of each request name's segment (others: `iterations`)."""

    iterations: int
    segments: dict[str, int] = field(default_factory=dict)

    @property
    def most(self) -> int:
        return max([self.iterations, *self.segments.values()]) if self.segments else self.iterations

    def profile(self, profile: Profile, sides: int) -> Profile:
        """The A/B's profile with this round's iterations per VU, both sides' together."""
        return dataclasses.replace(profile, iterations=self.iterations * sides)

    def script_env(self, sides: int) -> dict[str, str]:
        """SEGMENT_ITERATIONS per VU, both sides' together, as k6/lib/mlflow.js reads it (isolated rounds)."""
        if not self.segments:
            return {}
        return {"SEGMENT_ITERATIONS": ",".join(f"{name}:{n * sides}" for name, n in self.segments.items())}


def _round_size(
    plan: ABPlan, samples: pd.DataFrame | None, size: RoundSize, planner: SegmentPlanner | None = None
) -> RoundSize:
    """The size of the next round: as given, or as fills `round_seconds` at the pace of the round
    whose `samples` are given (None: its CSV could not be read, and the size stays).

    Mixed, its iterations: the round's timed samples' span over the iterations it ran. Isolated,
    each request name's segment gets a share of the time (`SegmentPlanner`), at the pace of its own
    segment, not equal iterations, which left a fast name few samples beside a slow one."""
    if plan.round_iterations:
        return RoundSize(plan.round_iterations)
    if samples is None:
        return size
    times = samples["timestamp"]
    per_iteration = (times.max() - times.min()) / 1000 / size.iterations if len(times) else float("nan")
    iterations = max(MIN_ROUND_ITERATIONS, round(plan.round_seconds / per_iteration)) if per_iteration > 0 else None
    if planner:  # both: a suite whose steps hand data on runs `iterations` of each (k6/lib/mlflow.js)
        return planner.next_size(samples, RoundSize(iterations or size.iterations, size.segments))
    return RoundSize(iterations) if iterations else size


class SegmentPlanner:
    """Sizes each request name's segment of the next isolated round, so that every name's ratio comes
    out about equally precise in the time a round has.

    A name's per-round ratio varies as k / t, t the time its segment ran and k its own noise (the
    spread of its latencies and how many fit in a second). Until NOISE_ROUNDS rounds have been
    measured, every name gets an equal share of `round_seconds`; from then on a share in proportion
    to its k, measured as the variance of its per-round log ratios so far times its segment's mean
    time (Neyman's allocation for the worst name), with at least MIN_SHARE of the round each (what
    it gains, measured: the methodology's figures behind the A/B's settings)."""

    def __init__(self, plan: ABPlan, sides: int) -> None:
        self.plan, self.sides = plan, sides
        self.ratios: dict[str, list[float]] = {}
        self.seconds: dict[str, list[float]] = {}
        self.chained = False  # the suite runs `iterations` of every name (k6/lib/mlflow.js): nothing to size

    def next_size(self, samples: pd.DataFrame, size: RoundSize) -> RoundSize:
        timed = samples[samples["metric"] == SUCCESS_METRIC]
        names = timed["name"].astype(str)
        paces, spans, counts = {}, {}, set()
        for name, rows in timed.groupby(names):
            spans[name] = (rows["timestamp"].max() - (rows["timestamp"] - rows["value"]).min()) / 1000
            ran = len(rows) / (self.plan.profile.vus * self.sides)  # iterations per VU and side
            counts.add(round(ran))
            if spans[name] > 0:
                paces[name] = spans[name] / ran
        self._learn(samples, spans)
        shares = self._shares(sorted(paces))
        sizes = {}
        for name, pace in paces.items():
            wanted = max(MIN_ROUND_ITERATIONS, round(shares[name] * self.plan.round_seconds / pace))
            sizes[name] = min(wanted, MAX_SEGMENT_GROWTH * size.segments.get(name, WARMUP_ITERATIONS))
        if len(set(size.segments.values())) > 1 and len(counts) == 1:
            self.chained = True  # asked for different sizes, every name ran as often: the suite's steps hand data on
        return RoundSize(size.iterations, {} if self.chained else sizes)

    def _learn(self, samples: pd.DataFrame, spans: dict[str, float]) -> None:
        """Keep this round's log ratio and segment time per name (interleaved rounds hold both sides)."""
        if self.sides != 2:
            return
        a, b = (side_statistics(samples[samples["side"] == side]).set_index("name")["typical_ms"] for side in SIDES)
        for name, ratio in np.log(b / a).dropna().items():
            self.ratios.setdefault(name, []).append(float(ratio))
            self.seconds.setdefault(name, []).append(spans.get(name, 0.0))

    def _shares(self, names: list[str]) -> dict[str, float]:
        noise = {n: np.var(self.ratios[n], ddof=1) * np.mean(self.seconds[n]) for n in names if n in self.ratios}
        if len(noise) < len(names) or min((len(self.ratios[n]) for n in names), default=0) < NOISE_ROUNDS:
            return {n: 1 / len(names) for n in names}
        total = sum(noise.values())
        raw = {n: max(k / total, MIN_SHARE) if total > 0 else 1 / len(names) for n, k in noise.items()}
        return {n: v / sum(raw.values()) for n, v in raw.items()}


def _round(
    plan: ABPlan,
    suite: str,
    sides: tuple[str, ...],
    round_no: int,
    position: int,
    servers: dict[str, _Server],
    split: tuple[frozenset[int], frozenset[int]] | None,
    size: RoundSize,
) -> tuple[list[ABRound], pd.DataFrame | None]:
    """Run a round of `size` against `sides` (one, or both interleaved), metering each server; its
    outcome per side, and its samples as parsed from its raw CSV (None when there are none)."""

    def problem() -> str | None:
        return next((f"{side}: {p}" for side in sides if (p := servers[side].problem())), None)

    if problem():
        failed = [ABRound(suite, round_no, side, position, Status.FAILED, problem(), iterations=0) for side in sides]
        return failed, None
    csv_path, log_path = ABFiles(plan.out).round_files(suite, "".join(sides), round_no, plan.mode.name)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    meters = {side: servers[side].meter for side in sides if servers[side].meter}
    for meter in meters.values():
        meter.begin()

    def should_stop() -> str | None:
        for meter in meters.values():
            meter.sample()
        return problem()

    env = {"DATASET_PREFIX": plan.ab_id, "ROUND": str(round_no)} | size.script_env(len(sides))
    if len(sides) == 2:
        env["BASE_URL_B"] = servers["B"].served.url
    url = servers[sides[0]].served.url
    cpus = split[0] if split else None
    barrier = SegmentBarrier(plan.profile.vus, meters) if plan.isolate else None
    with serve_barrier(barrier) if barrier else contextlib.nullcontext() as segment_url:
        if segment_url:
            env |= {"ISOLATE": "1", "SEGMENT_URL": segment_url}
        profile = size.profile(plan.profile, len(sides))
        result = run_suite(suite, url, profile, csv_path, log_path, should_stop=should_stop, script_env=env, cpus=cpus)
    expected = plan.profile.vus * size.iterations * len(sides)  # isolated: the barrier's end says all ran
    status, error = Status.OK, None
    if problem():
        status, error = Status.PARTIAL, problem()
    elif result.exit_code != 0 or (not barrier and result.iterations_done < expected):
        status = Status.PARTIAL
        error = f"k6 exit code {result.exit_code}, {result.iterations_done} of {expected} iterations"
    elif barrier and not barrier.complete:
        status, error = Status.PARTIAL, "not every VU reached the end of the round's segments"
    label = "warm-up" if round_no == WARMUP_ROUND else f"round {round_no}/{plan.rounds}"
    label = f"{plan.mode.name} · {label}"
    colour = "green" if status == Status.OK else "red"
    console.print(
        f"{'+'.join(sides)} · {suite} · {label}: [{colour}]{status}[/] in {result.seconds:.1f} s {escape(error or '')}"
    )
    rounds = []
    for side in sides:
        cpu, rss = meters[side].end() if side in meters else (None, None)
        seconds = round(result.seconds, 3)
        by_name = barrier.cpu_by_name(side) if barrier else {}
        rounds.append(ABRound(suite, round_no, side, position, status, error, seconds, cpu, rss, size.most, by_name))
    return rounds, _samples(csv_path)


def _samples(csv_path: Path) -> pd.DataFrame | None:
    """The round's samples, parsed once; None when k6 wrote no readable CSV."""
    try:
        return read_samples(csv_path).frame if csv_path.exists() else None
    except InputError:
        return None


def _side(side: str, spec: Spec) -> ABSide:
    """One side as the record names it before its server starts."""
    server, database = serving.describe(spec.target)
    return ABSide(side, spec.text, spec.target.id, server, database, spec.mode, spec.url)


def start_metadata(plan: ABPlan) -> ABMetadata:
    return ABMetadata(
        ab_id=plan.ab_id,
        baseline=_side("A", plan.baseline),
        candidate=_side("B", plan.candidate),
        suites=plan.suites,
        round_seconds=plan.round_seconds,
        rounds=plan.rounds,
        warmup=plan.warmup,
        interleaved=plan.interleave,
        isolated=any(m.isolated for m in plan.measured_modes),
        modes=plan.measured_modes,
        **measured_here(plan.profile, plan.round_iterations, plan.pin and core_split() is not None, plan.provenance),
    )


def _finish(
    plan: ABPlan, meta: ABMetadata, results: list[ABRound], table: list[pd.DataFrame], interrupted: str | None = None
) -> ABMetadata:
    failed = [r for r in results if r.status != Status.OK]
    if interrupted:
        status, error = Status.PARTIAL, interrupted
    elif failed:
        status, error = Status.PARTIAL, failed[0].error
    else:
        status, error = Status.OK, None
    meta = dataclasses.replace(meta, results=tuple(results), status=status, error=error, ended_at=now_iso())
    plan.out.mkdir(parents=True, exist_ok=True)
    files = ABFiles(plan.out)
    rounds = pd.concat(table, ignore_index=True) if table else pd.DataFrame(columns=ROUND_COLUMNS)
    write_atomically(files.rounds, lambda path: rounds.to_csv(path, index=False))
    meta.write(files.metadata)
    return meta


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _clean_workdir(plan: ABPlan) -> None:
    shutil.rmtree(WORK_DIR / plan.ab_id, ignore_errors=True)
