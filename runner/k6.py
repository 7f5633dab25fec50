"""Run one k6 suite against a server and write k6's raw CSV, untouched.

Progress is read from the CSV while k6 writes it: every finished iteration adds one `iterations`
row, so counting those rows tells how far the suite has come without parsing k6's terminal output.
"""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import psutil

from core.errors import BadValue
from core.layout import ceiling_files
from core.paths import K6_DIR, installed_program
from core.records import Machine, Source, now_iso
from services import processes

PROFILES_FILE = K6_DIR / "profiles.json"
THRESHOLDS_CROSSED = 99  # k6's exit code when a threshold with abortOnFail ended the test
POLL_SECONDS = 0.25  # how often progress, the server's liveness and its memory are looked at


# A suite's own settings, which run options can override: what they mean is in k6/scale.js,
# k6/capacity.js and clients/training.py, and each reaches the suite as the environment variable of
# the same name in capitals.
SUITE_SETTINGS = ("sizes", "reads", "rates", "hold", "epochs", "metrics", "train_ms")


@dataclass(frozen=True)
class Rounds:
    """How a suite runs in rounds (runner/rounds.py): at least `least` and at most `most` rounds, ended
    sooner once every p50 is known within ±`precision` (a share) or `seconds` have passed."""

    least: int
    most: int
    precision: float
    seconds: float

    @classmethod
    def of(cls, entry: dict | None) -> Rounds | None:
        if entry is None:
            return None
        return cls(int(entry["least"]), int(entry["most"]), float(entry["precision"]), float(entry["seconds"]))

    def describe(self) -> str:
        return f"{self.least}-{self.most} rounds until each p50 is known within ±{self.precision:.0%}"


@dataclass(frozen=True)
class Profile:
    name: str
    vus: int
    iterations: int
    description: str
    suites: dict[str, dict] = field(default_factory=dict, compare=False)  # a suite's own entry
    # a pair's wall time here, measured (what a run's estimate starts from): the profile's figure, or
    # the suite's own where its pairs take far longer or shorter (ui, client)
    pair_seconds: float = 0.0
    max_duration: str = "10m"  # k6 stops a suite that takes longer (its maxDuration)
    settings: dict[str, object] = field(default_factory=dict, compare=False)  # the suite's, as it runs
    rounds: Rounds | None = None  # the suite runs in interleaved rounds (runner/rounds.py), as it runs

    @property
    def total_iterations(self) -> int:
        return self.vus * self.iterations

    @property
    def open_model(self) -> bool:
        """Arrivals at set rates (capacity): as many iterations as the server allows."""
        return "rates" in self.settings

    def for_suite(self, suite: str, overrides: dict[str, object] | None = None) -> Profile:
        """This profile as `suite` runs it: the suite's own entry (and `overrides`, from run options)
        set its VUs, its iterations and its settings. The scale suite reads with one VU, `reads`
        iterations per size; the capacity suite's iterations are the arrivals it offers in all."""
        own = dict(self.suites.get(suite, {}))
        settings = {k: v for k, v in {**own, **(overrides or {})}.items() if k in SUITE_SETTINGS and k in own}
        vus, iterations = own.get("vus", self.vus), own.get("iterations", self.iterations)
        max_duration = own.get("maxDuration", self.max_duration)
        pair_seconds = own.get("pairSeconds", self.pair_seconds)
        if "sizes" in settings:
            iterations = len(settings["sizes"]) * settings["reads"]
        if "rates" in settings:  # the warm-up at the first rate, then each step
            iterations = -(-(settings["rates"][0] + sum(settings["rates"])) * settings["hold"] // vus)
        return replace(
            self,
            vus=vus,
            iterations=iterations,
            settings=settings,
            max_duration=max_duration,
            pair_seconds=pair_seconds,
            rounds=Rounds.of(own.get("rounds")),
        )

    def script_env(self) -> dict[str, str]:
        """This profile as k6 reads it, resolved: VUS=10 ITERATIONS=20 MAX_DURATION=15m, and the
        suite's settings SIZES=5,50,500 READS=2 ... (k6 never reads k6/profiles.json itself)."""
        settings = {
            k.upper(): ",".join(map(str, v)) if isinstance(v, list | tuple) else str(v)
            for k, v in self.settings.items()
        }
        return {"VUS": str(self.vus), "ITERATIONS": str(self.iterations), "MAX_DURATION": self.max_duration, **settings}


def profiles() -> dict[str, Profile]:
    raw = json.loads(PROFILES_FILE.read_text())
    return {
        name: Profile(
            name,
            spec["vus"],
            spec["iterations"],
            spec["description"],
            suites=spec.get("suites", {}),
            pair_seconds=spec.get("pairSeconds", 0.0),
            max_duration=spec.get("maxDuration", "10m"),
        )
        for name, spec in raw.items()
    }


def select_profile(name: str) -> Profile:
    known = profiles()
    if name not in known:
        raise BadValue(f"unknown profile {name!r}; valid: {', '.join(known)}")
    return known[name]


def k6_binary() -> str:
    """The k6 pinned in requirements.txt (installed beside this Python), else the one on PATH."""
    return installed_program("k6", "run ./run.sh (it installs k6 into .venv) or put k6 on PATH")


def k6_version() -> str:
    out = subprocess.run([k6_binary(), "version"], capture_output=True, text=True).stdout
    return out.split()[1].lstrip("v") if len(out.split()) > 1 else "unknown"


def measured_here(
    profile: Profile, iterations_per_vu: int | None, pinned: bool, provenance: dict[str, str]
) -> dict[str, object]:
    """The fields of a Measurement (a run's pair, a paired A/B) as one starts here and now."""
    return {
        "profile": profile.name,
        "vus": profile.vus,
        "iterations_per_vu": iterations_per_vu,
        "k6_version": k6_version(),
        "source": Source.here(),
        "machine": Machine.here(),
        "started_at": now_iso(),
        "pinned": pinned,
        "provenance": dict(provenance),
    }


# The contract between the runner and the k6 scripts: every variable a script reads (`__ENV.NAME`
# under k6/), and who sets it. The runner passes k6 no other name but k6's own `K6_*` settings
# (`script_environment` refuses one), and a test checks the scripts read exactly these.
SCRIPT_VARIABLES = {
    "BASE_URL": "the server's URL",
    "VUS": "the profile's VUs",
    "ITERATIONS": "the profile's iterations per VU (an A/B round's: both sides' together)",
    "MAX_DURATION": "the profile's limit on a suite's time",
    "SIZES": "the scale suite's store sizes",
    "READS": "the scale suite's reads per size",
    "RATES": "the capacity suite's arrival rates",
    "HOLD": "the capacity suite's seconds per rate",
    "UI_PATH": "where the server serves the MLflow UI (the ui suite)",
    "AIM_PATH": "where FastTrackML serves the Aim UI (the ui suite)",
    "VIEW_TIMEOUT_MS": "how long the ui suite waits for a view (a user's setting; default 60000)",
    "DATASET_PREFIX": "an A/B's id: the retrieval data both sides seed once and find again",
    "ROUND": "an A/B round's number: which side each VU starts with",
    "BASE_URL_B": "an interleaved A/B round: side B's URL",
    "ISOLATE": "1: an isolated round or suite, each request name in a segment of its own",
    "SEGMENT_URL": "the barrier between segments (runner/segments.py)",
    "SEGMENT_ITERATIONS": "an isolated A/B round: iterations per VU of each request name's segment",
    "BENCH_NAME_HEADER": "1: each request carries its name in a header (the tests' delay proxy reads it)",
    "DURATION": "the ceiling probe's length",
    "RESULT": "the file the ceiling probe writes its result to",
}


def script_environment(variables: dict[str, str]) -> dict[str, str]:
    """`variables` as k6 gets them; a name the scripts do not read (nor k6's own `K6_*`) is a bug."""
    unknown = sorted(k for k in variables if k not in SCRIPT_VARIABLES and not k.startswith("K6_"))
    if unknown:
        raise ValueError(f"no k6 script reads {', '.join(unknown)}: declare it in runner/k6.py's SCRIPT_VARIABLES")
    return variables


@dataclass
class LoadResult:
    exit_code: int | None
    interrupted: bool
    seconds: float
    iterations_done: int
    cpu_seconds: float | None = None  # k6's own CPU (user + system), from the kernel's account of the child


def run_suite(
    suite: str,
    base_url: str,
    profile: Profile,
    csv_path: Path,
    log_path: Path,
    dashboard_path: Path | None = None,
    on_progress: Callable[[int], None] = lambda done: None,
    should_stop: Callable[[], str | None] = lambda: None,
    script_env: dict[str, str] | None = None,
    cpus: frozenset[int] | None = None,
    tags: dict[str, str] | None = None,
) -> LoadResult:
    """Run `k6/<suite>.js`; `should_stop` is polled and, when it returns a reason, k6 is stopped.

    `script_env` reaches the script (VUS, ITERATIONS, DATASET_PREFIX ...); `cpus` pins k6; `tags`
    label every sample (the CSV's extra_tags), e.g. the round of a suite run in rounds."""
    env = script_environment(
        {
            **profile.script_env(),
            "BASE_URL": base_url,
            "K6_CSV_TIME_FORMAT": "unix_milli",
            "K6_NO_USAGE_REPORT": "true",
            **(script_env or {}),
        }
    )
    if dashboard_path is not None:
        env |= {
            "K6_WEB_DASHBOARD": "true",
            "K6_WEB_DASHBOARD_PORT": "-1",
            "K6_WEB_DASHBOARD_EXPORT": str(dashboard_path),
            # snapshots every second, so that a short suite has data in its dashboard too
            "K6_WEB_DASHBOARD_PERIOD": "1s",
        }
    tag_options = [option for key, value in (tags or {}).items() for option in ("--tag", f"{key}={value}")]
    command = [k6_binary(), "run", "--no-color", *tag_options, "--out", f"csv={csv_path}", str(K6_DIR / f"{suite}.js")]
    # SIGINT lets k6 flush its CSV and end-of-test summary before it exits.
    return run_load(command, env, csv_path, log_path, on_progress, should_stop, cpus, signal.SIGINT)


def run_load(
    command: list[str],
    env: dict[str, str],
    csv_path: Path,
    log_path: Path,
    on_progress: Callable[[int], None],
    should_stop: Callable[[], str | None],
    cpus: frozenset[int] | None,
    first_signal: int = signal.SIGTERM,
) -> LoadResult:
    """Run a load generator (k6, or the client suite's script) that writes k6's CSV to `csv_path`;
    report progress from its `iterations` rows and stop it with `first_signal` when `should_stop`
    gives a reason or on Ctrl-C."""
    started = time.monotonic()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = processes.start(command, log_path, env=env, cpus=cpus)
    counter = _IterationCounter(csv_path)
    interrupted = False
    try:
        while process.poll() is None:
            time.sleep(POLL_SECONDS)
            on_progress(counter.count())
            if should_stop():
                interrupted = True
                break
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        if process.poll() is None:
            processes.stop(process, first_signal=first_signal, grace_seconds=15)
        else:
            processes.stop(process)
    done = counter.count()
    on_progress(done)
    return LoadResult(process.returncode, interrupted, time.monotonic() - started, done, _cpu_since(children_before))


def _cpu_since(before: resource.struct_rusage) -> float:
    """CPU seconds of the children reaped since `before`: k6 alone, the one child that ends meanwhile."""
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 3)


PROBE_WARMUP_SECONDS = 0.5  # k6's start (compiling the script) is left out of its CPU per request


def probe_ceiling(
    base_url: str, vus: int, folder: Path, seconds: float = 3.0, cpus: frozenset[int] | None = None
) -> float | None:
    """k6's ceiling: the `GET /health` requests it sends per second of its own CPU (one core, fully
    busy), measured with `vus` VUs (k6/probes/ceiling.js) after its first half second. Per CPU-second,
    not per second: against a server whose /health is slow (MLflow 3 answers it in ~45 ms) k6 idles,
    and the plain rate would be the server's limit, not k6's. None when the probe failed."""
    folder.mkdir(parents=True, exist_ok=True)
    result, log = ceiling_files(folder)
    env = {"BASE_URL": base_url, "VUS": str(vus), "DURATION": f"{seconds}s", "RESULT": str(result)}
    env = script_environment(env | {"K6_NO_USAGE_REPORT": "true"})
    command = [k6_binary(), "run", "--quiet", "--no-color", str(K6_DIR / "probes" / "ceiling.js")]
    process = processes.start(command, log, env=env, cpus=cpus)
    try:
        cpu_per_second = _busy_share(process, seconds + 60)
    except psutil.TimeoutExpired:  # processes.start gives a psutil.Popen, whose wait raises psutil's
        return None
    finally:
        processes.stop(process)
    try:
        measured = json.loads(result.read_text())
    except (OSError, ValueError):
        return None
    if process.returncode != 0 or measured.get("failed_share", 1) > 0.01 or not cpu_per_second:
        return None
    return round(float(measured["requests_per_second"]) / cpu_per_second, 1)


def _busy_share(process: psutil.Popen, timeout: float) -> float | None:
    """k6's CPU seconds per second from PROBE_WARMUP_SECONDS after its start to its last moment
    alive (sampled every POLL_SECONDS / 2); waits for it to exit."""
    deadline = time.monotonic() + timeout
    time.sleep(PROBE_WARMUP_SECONDS)
    first = last = _cpu_sample(process)
    while process.poll() is None:
        if time.monotonic() > deadline:
            raise psutil.TimeoutExpired(timeout, process.pid)
        time.sleep(POLL_SECONDS / 2)
        last = _cpu_sample(process) or last
    if not first or not last or last[0] <= first[0] or last[1] <= first[1]:
        return None
    return (last[1] - first[1]) / (last[0] - first[0])


def _cpu_sample(process: psutil.Popen) -> tuple[float, float] | None:
    """(now, k6's user + system CPU seconds so far), or None once it has exited."""
    try:
        times = process.cpu_times()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    return time.monotonic(), times.user + times.system


class _IterationCounter:
    """Counts `iterations` rows in a CSV that is still being written, reading only what is new."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.total = 0
        self.rest = b""

    def count(self) -> int:
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return 0
        self.offset += len(chunk)
        lines = (self.rest + chunk).split(b"\n")
        self.rest = lines.pop()
        self.total += sum(1 for line in lines if line.startswith(b"iterations,"))
        return self.total
