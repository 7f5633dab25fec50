"""The typed records that stages hand each other as files: pair metadata, history record, comparison.

Each record is a frozen dataclass that owns its file format: `to_json` and `from_json`, a schema
version, and the migrations from older versions, all in this one module. Reading a file goes
`read` -> migrate to the current schema -> build the dataclasses, so the code after it never sees
an old shape, a missing field or a misspelt status. A file written by a newer version of the
suite than this code knows is a one-line error naming the file.

- `PairMetadata` (`<target>_<suite>.json` beside the raw CSV): what ran, where, and how it ended.
- `HistoryRecord` (`history/runs/YYYY/MM/<run id>.json.gz`): one benchmark run, all its pairs,
  per request name the statistics and a 21-quantile sketch of the latency distribution.
- `Comparison` (`comparison.json` beside the markdown of `compare` and `ab`): B against A per
  request name, and for a paired A/B the ratio of each round and the servers' CPU and memory.
- `ABMetadata` (`ab.json` in the folder of a paired A/B): both sides, the rounds in the order they
  ran, and how each ended.
- `ABHistoryRecord` (`history/ab/YYYY/MM/<ab id>.json.gz`): a paired A/B's sides, provenance and
  comparison, so that the nightly's ratios form a series.
- `Gate` (`gate.json` of `./run.sh gate`): the outcome of a change over all its paired A/Bs, which
  a pull request's check and the nightly act on.
- `Acknowledgements` (`history/acknowledged.json`): the change points marked as expected, each with
  its reason and link (`./run.sh acknowledge`).
"""

from __future__ import annotations

import dataclasses
import functools
import getpass
import json
import os
import platform
import re
import subprocess
import types
import typing
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum, StrEnum
from pathlib import Path
from typing import ClassVar, Self

import psutil

from core.errors import BadValue, InputError
from core.paths import ROOT, write_atomically


class Status(StrEnum):
    """How a target x suite run ended."""

    RUNNING = "running"  # written only if the runner itself died mid-way
    OK = "ok"  # every iteration ran, the CSV is complete
    PARTIAL = "partial"  # something ran, but not all of it: excluded from statistics and charts
    FAILED = "failed"  # nothing usable: the server did not start, or k6 recorded no timed request
    UNSUPPORTED = "unsupported"  # not run: the registry says this release cannot serve the suite, and why


class Verdict(StrEnum):
    """The answer of a comparison for one request name."""

    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    NO_CHANGE = "no change"
    NO_VERDICT = "no verdict"  # a paired A/B whose rounds did not all complete: no ratio from partial data


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


LOAD_GENERATOR_SHARE = 0.5  # of k6's ceiling: above it, k6 may have set the pace (see the methodology)
DEFAULT_PROFILE = "rounds"  # the profile `./run.sh` runs when none is named (k6/profiles.json)
IMPORTED = "imported"  # the mode and profile of a k6 CSV this suite did not make (`report --import`)
RUN_ID = re.compile(r"\d{8}T\d{6}Z-[A-Za-z0-9._-]{1,64}")


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: UTC time of the start plus a random suffix."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def check_run_id(run_id: str) -> str:
    """A run id given from outside (CI shares one across its jobs): it names files, so it must be
    `YYYYMMDDTHHMMSSZ-<suffix>`, sortable by time, the suffix of letters, digits, '.', '_' or '-'."""
    if not RUN_ID.fullmatch(run_id):
        raise BadValue(f"expected a run id like 20261126T101500Z-gh123.1 (UTC start, then a suffix), got {run_id!r}")
    return run_id


# --- the parts ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Machine:
    """What the numbers were measured on."""

    cpu_model: str
    cores: int
    memory_gib: float
    os: str
    python: str
    hostname_hash: str
    ci: bool
    runner_image: str = ""  # GitHub's runner image and its version, in CI

    @property
    def key(self) -> str:
        """The kind of machine a history series belongs to: its CPU model, cores and, in CI, the
        runner image's system. The image's version is left out: GitHub updates it every week or so,
        and a series cut as often would never hold enough runs to find a change in."""
        image = self.runner_image.split(" ")[0]
        return f"{self.cpu_model}, {self.cores} cores" + (f", {image}" if image else "")

    @classmethod
    def here(cls) -> Machine:
        return cls(
            cpu_model=_cpu_model(),
            cores=psutil.cpu_count(logical=True) or 1,
            memory_gib=round(psutil.virtual_memory().total / 2**30, 1),
            os=f"{platform.system()} {platform.release()}",
            python=platform.python_version(),
            hostname_hash=uuid.uuid5(uuid.NAMESPACE_DNS, platform.node() + getpass.getuser()).hex[:8],
            ci=bool(os.environ.get("CI")),
            runner_image=" ".join(filter(None, (os.environ.get("ImageOS"), os.environ.get("ImageVersion")))),  # noqa: SIM112 (GitHub spells them so)
        )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@dataclasses.dataclass(frozen=True)
class Source:
    """The commit of this repository that ran the benchmark (GitHub's variables win in CI)."""

    commit: str
    branch: str
    dirty: bool = False

    @classmethod
    def here(cls) -> Source:
        def git(*args: str) -> str:
            try:
                done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
                return done.stdout.strip()
            except (OSError, subprocess.CalledProcessError):
                return ""

        return cls(
            commit=os.environ.get("GITHUB_SHA") or git("rev-parse", "HEAD"),
            branch=os.environ.get("GITHUB_HEAD_REF")
            or os.environ.get("GITHUB_REF_NAME")
            or git("rev-parse", "--abbrev-ref", "HEAD"),
            dirty=bool(git("status", "--porcelain", "--untracked-files=no")),
        )


@dataclasses.dataclass(frozen=True)
class ServerInfo:
    name: str
    label: str
    version: str


@dataclasses.dataclass(frozen=True)
class DatabaseInfo:
    kind: str
    label: str
    version: str | None = None
    embedded: bool | None = None


@dataclasses.dataclass(frozen=True)
class Counts:
    """What the raw CSV holds: timed requests, failed ones, and the request names seen."""

    requests: int = 0
    errors: int = 0
    request_names: tuple[str, ...] = ()
    sent: int = 0  # every HTTP request k6 made, untimed ones (setup, the scale suite's seeding) included


# --- reading and writing -----------------------------------------------------------------------


class Record:
    """A dataclass that is a file: `KIND` names it in errors, `SCHEMA` is the version it writes."""

    KIND: ClassVar[str]
    SCHEMA: ClassVar[int]

    def to_json(self) -> dict:
        return {"schema_version": self.SCHEMA, **_plain(self)}

    @classmethod
    def from_json(cls, data: object, source: str = "record") -> Self:
        """Build the record from parsed JSON of any known schema; InputError naming `source` if unusable."""
        if not isinstance(data, dict):
            raise InputError(f"{source}: not {cls.KIND} (expected a JSON object)")
        data = _migrate(cls, data, source)
        try:
            return _build(cls, data)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{source}: malformed {cls.KIND}: {_reason(exc)}") from exc

    @classmethod
    def read(cls, path: Path) -> Self:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise InputError(f"{path}: {cls.KIND} missing") from exc
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: unreadable {cls.KIND}: {_reason(exc)}") from exc
        return cls.from_json(data, str(path))

    def write(self, path: Path) -> Path:
        """Write atomically (a reader never sees half a file)."""
        text = json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"
        return write_atomically(path, lambda tmp: tmp.write_text(text))


def _plain(value: object) -> object:
    """Dataclasses, enums and tuples as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _build(kind: object, value: object) -> object:
    """The value of type `kind` (a dataclass, enum, tuple, optional...) from plain JSON."""
    return _builder(kind)(value)


@functools.cache
def _builder(kind: object) -> Callable[[object], object]:
    """A function from plain JSON to a value of type `kind`, made once per type (a history has many rows)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        inner = _builder(next(a for a in args if a is not type(None)))
        return lambda value: None if value is None else inner(value)
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        fields = {f.name: _builder(hints[f.name]) for f in dataclasses.fields(kind)}
        # fields whose JSON value is already the value are passed on as they are: a history of
        # 5,000 runs holds 300,000 rows, and a call per field of each was a third of its load time
        converted = {name: build for name, build in fields.items() if build is not _same}

        def build(value: object) -> object:
            if not isinstance(value, dict):
                raise TypeError(f"{kind.__name__} should be an object")
            return kind(**{k: converted[k](v) if k in converted else v for k, v in value.items() if k in fields})

        return build
    if origin is tuple:
        inner = _builder(args[0])
        if args[0] is float:
            return _floats
        return lambda value: tuple(map(inner, value))
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind
    if kind is float:
        return lambda value: value if value is None else float(value)
    return _same


def _same(value: object) -> object:
    return value


def _floats(value: list) -> tuple:
    """A tuple of floats (a latency sketch) from JSON, converted in C while no value is null."""
    try:
        return tuple(map(float, value))
    except TypeError:
        return tuple(v if v is None else float(v) for v in value)


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    missing = re.search(r"missing \d+ required (?:positional |keyword-only )?arguments?: (.*)", text)
    if isinstance(exc, TypeError) and missing:
        return f"lacks field(s) {missing.group(1)}"
    return text


# --- migrations: every schema change of every record, in one place ------------------------------

Migration = Callable[[dict], dict]


def _history_1_to_2(old: dict) -> dict:
    """v2 keeps each pair's whole metadata: CI runs each pair on its own runner, and what a pair
    records (versions, machine, k6) is kept without listing it twice. What v1 did not keep per pair
    comes from the run; what it did not keep at all (VUs, iterations, mode) is unknown."""
    new = {k: v for k, v in old.items() if k not in ("machine", "k6_version")}
    run = {
        "run_id": old.get("run_id"),
        "profile": old.get("profile"),
        "vus": None,
        "iterations_per_vu": None,
        "iterations_expected": None,
        "mode": "unknown",
        "k6_version": old.get("k6_version", "unknown"),
        "source": {"commit": old.get("commit", ""), "branch": old.get("branch", ""), "dirty": old.get("dirty", False)},
        "machine": old.get("machine"),
        "started_at": old.get("started_at"),
    }
    new["pairs"] = [run | pair for pair in old.get("pairs", [])]
    return new


MIGRATIONS: dict[tuple[str, int], Migration] = {
    ("history record", 1): _history_1_to_2,
}


def _migrate(cls: type[Record], data: dict, source: str) -> dict:
    version = data.get("schema_version")
    if not isinstance(version, int) or version < 1:
        raise InputError(f"{source}: not {cls.KIND} (no schema_version)")
    if version > cls.SCHEMA:
        raise InputError(
            f"{source}: {cls.KIND} of schema {version}, written by a newer version of this suite "
            f"(this one reads up to {cls.SCHEMA}); update the suite"
        )
    while version < cls.SCHEMA:
        data = MIGRATIONS[(cls.KIND, version)](data)
        version += 1
    return {k: v for k, v in data.items() if k != "schema_version"}


# --- the records -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class Measurement(Record):
    """What every measurement records of how and where it ran, a run's pair and a paired A/B alike:
    the load, k6, this repository's commit, the machine, when, how it ended and where the servers
    came from."""

    profile: str
    vus: int | None  # None only in pairs recorded before history schema 2
    iterations_per_vu: int | None  # a pair's per VU; an A/B's per VU and side in each round (None: sized in seconds)
    k6_version: str
    source: Source
    machine: Machine
    started_at: str
    status: Status = Status.RUNNING
    error: str | None = None
    ended_at: str | None = None
    pinned: bool = False  # k6 and the servers on separate cores
    # where what was measured came from, beyond the versions: in CI the server and PostgreSQL image
    # digests and FastTrackML's revision label (`--provenance KEY=VALUE`)
    provenance: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class PairMetadata(Measurement):
    """One target x suite of one run: written beside its raw CSV as `<target>_<suite>.json`."""

    KIND: ClassVar[str] = "run metadata"
    SCHEMA: ClassVar[int] = 1

    run_id: str
    target: str
    suite: str
    iterations_expected: int | None
    server: ServerInfo
    database: DatabaseInfo
    mode: str  # native: launched here; external: an already running server (--server-url); IMPORTED
    counts: Counts = Counts()
    iterations_done: int | None = None
    k6_exit_code: int | None = None
    k6_seconds: float | None = None
    server_start_seconds: float | None = None
    # the load generator's share: k6's own ceiling here (GET /health at the pair's concurrency,
    # requests per second; None: not measured), k6's CPU and the server's, and whether they were pinned
    k6_ceiling_rps: float | None = None
    k6_cpu_seconds: float | None = None
    server_cpu_seconds: float | None = None
    server_rss_peak_mib: float | None = None
    # the ui suite's: the server's CPU seconds in each view, per view (`<view>@<size>`), in order
    server_cpu_by_name: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    # the suite's own settings as it ran: the scale suite's sizes and reads, the capacity suite's rates
    # and hold (seconds per rate)
    settings: dict[str, object] = dataclasses.field(default_factory=dict)

    @property
    def throughput_rps(self) -> float | None:
        """Timed requests per second of the whole suite (every request name)."""
        return self.counts.requests / self.k6_seconds if self.k6_seconds and self.counts.requests else None

    @property
    def server_cpu_per_1000(self) -> float | None:
        """The server's CPU seconds per 1000 requests it served while measured, untimed ones included
        (the scale suite's seeding is most of its requests): what a request costs it, whatever the pace."""
        served = self.counts.sent or self.counts.requests  # records made before `sent` was counted
        if self.server_cpu_seconds is None or not served:
            return None
        return self.server_cpu_seconds / served * 1000

    @property
    def load_generator_bound(self) -> bool | None:
        """Whether k6 rather than the server may have set the pace: the suite's throughput above
        LOAD_GENERATOR_SHARE of k6's ceiling, or k6 using more CPU than the server. None: not measured."""
        by_cpu = None
        if self.k6_cpu_seconds is not None and self.server_cpu_seconds is not None:
            by_cpu = self.k6_cpu_seconds > self.server_cpu_seconds
        by_rate = None
        if self.k6_ceiling_rps and self.throughput_rps is not None:
            by_rate = self.throughput_rps > LOAD_GENERATOR_SHARE * self.k6_ceiling_rps
        if by_cpu is None and by_rate is None:
            return None
        return bool(by_cpu) or bool(by_rate)

    @property
    def stem(self) -> str:
        return f"{self.target}_{self.suite}"

    def ended(self, status: Status, error: str | None = None) -> PairMetadata:
        """This metadata with its outcome (the first error wins: it is the cause)."""
        return dataclasses.replace(self, status=status, error=self.error or error)


@dataclasses.dataclass(frozen=True)
class StatRow:
    """Statistics of one request name of one pair, and its latency sketch (ms at SKETCH_QUANTILES)."""

    target: str
    suite: str
    name: str
    count: float
    errors: float
    error_rate: float | None
    mean_ms: float | None
    p50_ms: float | None
    p90_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    throughput_rps: float | None
    sketch_ms: tuple[float, ...] = ()
    # the p50's interval (analysis/precision.py); None in records made before intervals were kept
    p50_low_ms: float | None = None
    p50_high_ms: float | None = None


@dataclasses.dataclass(frozen=True)
class HistoryRecord(Record):
    """One benchmark run as the history keeps it."""

    KIND: ClassVar[str] = "history record"
    SCHEMA: ClassVar[int] = 2

    run_id: str
    commit: str
    branch: str
    started_at: str
    profile: str
    pairs: tuple[PairMetadata, ...]  # each pair's metadata, its status after the checks of its CSV
    rows: tuple[StatRow, ...]
    dirty: bool = False

    def status_of(self, target: str, suite: str) -> Status | None:
        return next((p.status for p in self.pairs if (p.target, p.suite) == (target, suite)), None)

    def machine_of(self, target: str, suite: str) -> str:
        """The key of the machine a pair ran on (CI runs each pair on a runner of its own)."""
        pair = next((p for p in self.pairs if (p.target, p.suite) == (target, suite)), None)
        return pair.machine.key if pair and pair.machine else "unknown machine"

    @property
    def machines(self) -> set[str]:
        return {p.machine.key if p.machine else "unknown machine" for p in self.pairs}

    @property
    def targets(self) -> set[str]:
        return {p.target for p in self.pairs}

    @property
    def complete(self) -> bool:
        """Every pair of the run that could run finished with status ok: a run fit to be a baseline.
        A pair the registry says cannot run (unsupported) is no gap."""
        ran = [p for p in self.pairs if p.status != Status.UNSUPPORTED]
        return bool(ran) and all(p.status == Status.OK for p in ran)

    def merged(self, other: HistoryRecord) -> HistoryRecord:
        """This run with the pairs of `other` (the same run id): CI's jobs each bring theirs. A pair
        both hold keeps this record's version, so recording again changes nothing, unless this one
        did not finish and `other`'s did: a re-run job's good pair repairs the run."""
        mine = {(p.target, p.suite): p for p in self.pairs}
        taken = {
            (p.target, p.suite)
            for p in other.pairs
            if (p.target, p.suite) not in mine
            or (mine[(p.target, p.suite)].status != Status.OK and p.status == Status.OK)
        }
        if not taken:
            return self
        kept = tuple(p for p in self.pairs if (p.target, p.suite) not in taken)
        return dataclasses.replace(
            self,
            started_at=min(self.started_at, other.started_at),
            pairs=kept + tuple(p for p in other.pairs if (p.target, p.suite) in taken),
            rows=tuple(r for r in self.rows if (r.target, r.suite) not in taken)
            + tuple(r for r in other.rows if (r.target, r.suite) in taken),
        )

    @property
    def machine(self) -> Machine | None:
        return next((p.machine for p in self.pairs if p.machine), None)


ALONE = "alone"  # each request name in a segment of its own (runner/segments.py), one request at a time by default
CONTENTION = "contention"  # the suite's mixed iteration, several VUs at once: requests wait on each other's work


def where(suite: str, mode: str) -> str:
    """A paired A/B's suite as its tables name it: with the mode when measured under contention."""
    return f"{suite}, under contention" if mode == CONTENTION else suite


@dataclasses.dataclass(frozen=True)
class CpuCost:
    """A paired A/B's CPU per request of one request name, measured on its own segment of each round:
    CPU milliseconds per request (the same number as CPU seconds per 1000 requests), B/A with its interval."""

    cpu_a: float
    cpu_b: float
    ratio: float
    low: float
    high: float
    verdict: Verdict
    rounds: tuple[float, ...] = ()  # the ratio B/A of each round
    reason: str = ""  # why there is no verdict


@dataclasses.dataclass(frozen=True)
class ComparisonRow:
    """B against A for one request name: medians, ratio B/A with its 95% interval, and the verdict."""

    target_a: str
    target_b: str
    suite: str
    name: str
    median_a: float
    median_b: float
    ratio: float
    low: float
    high: float
    verdict: Verdict
    noise: float = 0.0
    rounds: tuple[float, ...] = ()  # a paired A/B: the ratio B/A of each round
    reason: str = ""  # why there is no verdict, or what weakens it
    # a regression of a paired A/B run with --confirm: True when the second measurement called it
    # too, False when it did not (then it does not fail a gate); None when it was not measured twice
    confirmed: bool | None = None
    cpu: CpuCost | None = None  # an isolated paired A/B: the server's CPU per request of this name
    mode: str = ""  # a paired A/B's mode (ALONE or CONTENTION); "" in one recorded before modes: its only one

    @property
    def target(self) -> str:
        return self.target_a if self.target_a == self.target_b else f"{self.target_a} → {self.target_b}"

    @property
    def where(self) -> str:
        return where(self.suite, self.mode)


@dataclasses.dataclass(frozen=True)
class ResourceRow:
    """A paired A/B's server cost for one suite: CPU seconds per 1000 requests and peak memory."""

    suite: str
    cpu_a: float | None  # CPU seconds per 1000 requests, median over rounds
    cpu_b: float | None
    ratio: float | None  # of CPU per request, B/A, with its 95% interval over the paired rounds
    low: float | None
    high: float | None
    rss_a_mib: float | None  # peak resident memory of the server's process tree
    rss_b_mib: float | None
    rounds: tuple[float, ...] = ()
    mode: str = ""  # as ComparisonRow's

    @property
    def where(self) -> str:
        return where(self.suite, self.mode)


@dataclasses.dataclass(frozen=True)
class Comparison(Record):
    """A whole comparison: what was compared, how, and one row per request name."""

    KIND: ClassVar[str] = "comparison"
    SCHEMA: ClassVar[int] = 1

    baseline: str
    candidate: str
    threshold: float
    method: str
    rows: tuple[ComparisonRow, ...]
    created_at: str = ""
    resources: tuple[ResourceRow, ...] = ()
    confirmation: str = ""  # the A/B id of the second measurement of its regressions, if any
    cpu_threshold: float | None = None  # the smallest change of CPU per request called (an isolated A/B)

    def count(self, verdict: Verdict) -> int:
        return sum(r.verdict == verdict for r in self.rows)

    @property
    def regressions(self) -> tuple[ComparisonRow, ...]:
        """The regressions that stand: every one called, less those a second measurement did not repeat."""
        return tuple(r for r in self.rows if r.verdict == Verdict.REGRESSION and r.confirmed is not False)


@dataclasses.dataclass(frozen=True)
class ABSide:
    """One side of a paired A/B: what was measured and how it was served."""

    side: str  # A (baseline) or B (candidate)
    spec: str  # as the user gave it: target[@binary|@url]
    target: str
    server: ServerInfo
    database: DatabaseInfo
    mode: str  # native: launched here from its environment; local build: from a binary; external: a URL
    url: str | None = None
    executable: str | None = None
    sha256: str | None = None  # of the local binary
    start_seconds: float | None = None


@dataclasses.dataclass(frozen=True)
class ABRound:
    """One round of one side: how it ended and what the server spent on it."""

    suite: str
    round: int
    side: str
    position: int  # its place in the order the rounds ran (A B B A A B ...)
    status: Status
    error: str | None = None
    seconds: float | None = None
    cpu_seconds: float | None = None
    rss_peak_mib: float | None = None
    iterations: int | None = None  # per VU of this side (None: written before rounds were re-sized)
    # an isolated round: CPU seconds of the server on each request name's segment (see runner/segments.py)
    cpu_by_name: dict[str, float] = dataclasses.field(default_factory=dict)
    mode: str = ""  # ALONE or CONTENTION; "" in an A/B recorded before modes: its only one


@dataclasses.dataclass(frozen=True)
class ABMode:
    """How a paired A/B loaded the servers in some of its rounds: ALONE or CONTENTION, at `vus` VUs,
    for at most `rounds` rounds per suite (fewer when a sequential A/B had settled every name)."""

    name: str
    vus: int
    rounds: int
    rule_out: float | None = None  # sequential: the change whose exclusion settles a name; None: every round runs

    @property
    def isolated(self) -> bool:
        return self.name == ALONE

    def describe(self) -> str:
        how = "each request name alone" if self.isolated else "the mixed iteration"
        stops = f", stopped once every name is settled or rules out {self.rule_out:.0%}" if self.rule_out else ""
        return f"{self.name} ({how}, {self.vus} VU{'s' if self.vus != 1 else ''}, up to {self.rounds} rounds{stops})"


@dataclasses.dataclass(frozen=True)
class ABMetadata(Measurement):
    """A paired A/B: both sides, the rounds in the order they ran, and how each ended."""

    KIND: ClassVar[str] = "A/B metadata"
    SCHEMA: ClassVar[int] = 1

    ab_id: str
    baseline: ABSide
    candidate: ABSide
    suites: tuple[str, ...]
    rounds: int
    warmup: float  # share of each round's samples discarded
    results: tuple[ABRound, ...] = ()
    interleaved: bool = False  # both sides in each round's one k6 process, iteration by iteration
    round_seconds: float | None = None
    round_iterations: dict[str, int] = dataclasses.field(default_factory=dict)  # per suite: its first round's
    isolated: bool = False  # each request name in a segment of its own in every round (runner/segments.py)
    modes: tuple[ABMode, ...] = ()  # () in an A/B recorded before modes: see `measured_modes`

    @property
    def measured_modes(self) -> tuple[ABMode, ...]:
        """The modes the A/B measured; for one recorded before modes, the one its settings describe."""
        if self.modes:
            return self.modes
        return (ABMode(ALONE if self.isolated else CONTENTION, self.vus or 1, self.rounds),)

    def mode_of(self, result: ABRound) -> str:
        return result.mode or self.measured_modes[0].name

    def iterations_range(self, suite: str) -> tuple[int, int] | None:
        """The fewest and most iterations per VU and side a round of `suite` ran (rounds are re-sized
        to the pace of the one before); None when no round says."""
        counts = [r.iterations for r in self.results if r.suite == suite and r.iterations]
        if not counts:
            n = self.round_iterations.get(suite)
            return (n, n) if n else None
        return min(counts), max(counts)

    @property
    def sides(self) -> tuple[ABSide, ABSide]:
        return (self.baseline, self.candidate)


@dataclasses.dataclass(frozen=True)
class ABHistoryRecord(Record):
    """A paired A/B as the history keeps it (`history/ab/YYYY/MM/<ab id>.json.gz`): the nightly's
    FastTrackML main against its latest release, night after night, tied to the candidate's commit."""

    KIND: ClassVar[str] = "A/B history record"
    SCHEMA: ClassVar[int] = 1

    ab_id: str
    started_at: str
    status: Status
    baseline: ABSide
    candidate: ABSide
    provenance: dict[str, str]  # image digests, the candidate's revision (its commit)
    comparison: Comparison

    @property
    def revision(self) -> str:
        return self.provenance.get("candidate_revision", "")


class Outcome(StrEnum):
    """What a gate says of a change: whether the check that runs it passes."""

    PASS = "pass"  # no regression stands
    REGRESSION = "regression"  # a regression called by both measurements: the check fails
    ACKNOWLEDGED = "acknowledged"  # such a regression, marked expected: the check passes and says so
    NO_VERDICT = "no verdict"  # a comparison did not complete: the check fails, it cannot vouch

    @property
    def fails(self) -> bool:
        return self in (Outcome.REGRESSION, Outcome.NO_VERDICT)


@dataclasses.dataclass(frozen=True)
class Gate(Record):
    """The verdict on a change over all its paired A/Bs (one per target x suite in CI): what a pull
    request's check and the nightly act on."""

    KIND: ClassVar[str] = "gate"
    SCHEMA: ClassVar[int] = 1

    outcome: Outcome
    reason: str  # one line: why the outcome
    comparisons: tuple[Comparison, ...]
    baseline_commit: str = ""  # e.g. the pull request's merge base
    candidate_commit: str = ""  # e.g. the pull request's head
    acknowledgement: str = ""  # why a regression is expected, as the pull request said
    details_url: str = ""  # where the full comparisons are (the workflow run, its artifacts)
    created_at: str = ""


@dataclasses.dataclass(frozen=True)
class Acknowledgement:
    """A change point marked as expected: the series it is in, the first run after it, and why."""

    change_id: str  # the change point's id as the regressions page and `./run.sh acknowledge` show it
    profile: str
    machine: str
    target: str
    suite: str
    name: str
    statistic: str
    run_id: str  # the first run after the change
    reason: str
    link: str = ""  # e.g. the pull request that made the change
    by: str = ""
    at: str = ""


@dataclasses.dataclass(frozen=True)
class Acknowledgements(Record):
    """Every acknowledgement of a history, oldest first (`history/acknowledged.json`)."""

    KIND: ClassVar[str] = "acknowledgements"
    SCHEMA: ClassVar[int] = 1

    entries: tuple[Acknowledgement, ...] = ()
