"""Run one k6 suite against a server and write k6's raw CSV, untouched.

Progress is read from the CSV while k6 writes it: every finished iteration adds one `iterations`
row, so counting those rows tells how far the suite has come without parsing k6's terminal output.
"""

from __future__ import annotations

import json
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from core.errors import BadValue, SetupFailed
from core.paths import K6_DIR
from services import processes

PROFILES_FILE = K6_DIR / "profiles.json"
POLL_SECONDS = 0.25  # how often progress, the server's liveness and its memory are looked at


@dataclass(frozen=True)
class Profile:
    name: str
    vus: int
    iterations: int
    description: str

    @property
    def total_iterations(self) -> int:
        return self.vus * self.iterations


def profiles() -> dict[str, Profile]:
    raw = json.loads(PROFILES_FILE.read_text())
    return {name: Profile(name, spec["vus"], spec["iterations"], spec["description"]) for name, spec in raw.items()}


def select_profile(name: str) -> Profile:
    known = profiles()
    if name not in known:
        raise BadValue(f"unknown profile {name!r}; valid: {', '.join(known)}")
    return known[name]


def k6_binary() -> str:
    """The k6 pinned in requirements.txt (installed beside this Python), else the one on PATH."""
    local = Path(sys.executable).parent / "k6"
    found = str(local) if local.exists() else shutil.which("k6")
    if not found:
        raise SetupFailed("k6 not found: run ./run.sh (it installs k6 into .venv) or put k6 on PATH")
    return found


def k6_version() -> str:
    out = subprocess.run([k6_binary(), "version"], capture_output=True, text=True).stdout
    return out.split()[1].lstrip("v") if len(out.split()) > 1 else "unknown"


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
) -> LoadResult:
    """Run `k6/<suite>.js`; `should_stop` is polled and, when it returns a reason, k6 is stopped.

    `script_env` reaches the script (VUS, ITERATIONS, DATASET_PREFIX ...); `cpus` pins k6."""
    env = {
        "BASE_URL": base_url,
        "PROFILE": profile.name,
        "K6_CSV_TIME_FORMAT": "unix_milli",
        "K6_NO_USAGE_REPORT": "true",
        **(script_env or {}),
    }
    if dashboard_path is not None:
        env |= {
            "K6_WEB_DASHBOARD": "true",
            "K6_WEB_DASHBOARD_PORT": "-1",
            "K6_WEB_DASHBOARD_EXPORT": str(dashboard_path),
            # snapshots every second, so that a short suite has data in its dashboard too
            "K6_WEB_DASHBOARD_PERIOD": "1s",
        }
    command = [k6_binary(), "run", "--no-color", "--out", f"csv={csv_path}", str(K6_DIR / f"{suite}.js")]
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
            # SIGINT lets k6 flush its CSV and end-of-test summary before it exits.
            processes.stop(process, first_signal=signal.SIGINT, grace_seconds=15)
        else:
            processes.stop(process)
    done = counter.count()
    on_progress(done)
    return LoadResult(process.returncode, interrupted, time.monotonic() - started, done, _cpu_since(children_before))


def _cpu_since(before: resource.struct_rusage) -> float:
    """CPU seconds of the children reaped since `before`: k6 alone, the one child that ends meanwhile."""
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 3)


def probe_ceiling(
    base_url: str, vus: int, folder: Path, seconds: float = 3.0, cpus: frozenset[int] | None = None
) -> float | None:
    """Requests per second k6 reaches on `GET /health` with `vus` VUs (k6/probes/ceiling.js): the load
    generator's ceiling, the cheapest request there is. None when the probe failed."""
    folder.mkdir(parents=True, exist_ok=True)
    result = folder / "ceiling.json"
    env = {"BASE_URL": base_url, "VUS": str(vus), "DURATION": f"{seconds}s", "RESULT": str(result)}
    env |= {"K6_NO_USAGE_REPORT": "true"}
    command = [k6_binary(), "run", "--quiet", "--no-color", str(K6_DIR / "probes" / "ceiling.js")]
    process = processes.start(command, folder / "ceiling.k6.log", env=env, cpus=cpus)
    try:
        process.wait(timeout=seconds + 60)
    except psutil.TimeoutExpired:  # processes.start gives a psutil.Popen, whose wait raises psutil's
        return None
    finally:
        processes.stop(process)
    try:
        measured = json.loads(result.read_text())
    except (OSError, ValueError):
        return None
    if process.returncode != 0 or measured.get("failed_share", 1) > 0.01:
        return None
    return round(float(measured["requests_per_second"]), 1)


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
