"""`./run.sh test [--all] [PYTEST ARGS]`: set up what a tier of the tests needs, then run it.

- The fast tier (`./run.sh test`): every pure test, every test that starts only the CLI or another
  process (bad options, linters, scripts), and one real slice of the main path (tests marked
  `slice`: FastTrackML on SQLite and the embedded PostgreSQL, real k6, summary, history, site). It
  installs only FastTrackML's environment, and node and npm where they are missing.
- The full tier (`./run.sh test --all`, what CI runs): every test. The tests on real containers run
  beside the other server tests, each stream in its own pytest process (run one after another, the
  tests left the 2-core machine 42% idle on average: image builds wait on downloads, server tests on
  servers); the tests whose verdict depends on measured times (`timing`) run after both, with
  nothing beside them. It installs every server version's environment and the Debian packages the tests use
  (chromium, node, npm, docker.io, mmdebstrap).

Each tier has a time budget, counted from run.sh's start (installs included): past it, the tier's
tests are stopped as Ctrl-C would stop them (every server they started is stopped), and a one-line
error names the tier and its time, so a slow test is caught while CI can still land.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as etree
from dataclasses import dataclass
from pathlib import Path

import psutil

from core.debian import ensure_programs
from core.errors import SetupFailed
from core.layout import StreamFiles
from core.paths import CACHE_DIR, ROOT
from localci.images import RIG_PROGRAMS
from services.environments import ensure_environment
from services.registry import load_registry

# programs the tests use, and their Debian packages: node runs the pull-request comment and nightly
# issue scripts, npm fetches the site's chart scripts (report/assets.py); the full tier adds a browser
# and the act rig's (see localci/)
NODE_PACKAGES = {"node": "nodejs", "npm": "npm"}
DEBIAN_PACKAGES = {"chromium": "chromium", **NODE_PACKAGES, **RIG_PROGRAMS}
# the targets of the fast tier's real slice (tests marked `slice`)
SLICE_TARGETS = ("fasttrackml-sqlite", "fasttrackml-postgres")
# each stream's JUnit XML (perf/tiers.py reads where the time went) and, for a stream run beside
# another, its output
REPORTS_DIR = CACHE_DIR / "tests"
NO_TESTS = 5  # pytest's exit code when a selection holds no test


@dataclass(frozen=True)
class Stream:
    """The tests of a tier that one pytest process runs: those its marker expression selects."""

    name: str
    select: str


@dataclass(frozen=True)
class Tier:
    """A tier's streams come in phases: the streams of a phase run at the same time (the first one's
    output shown as it comes, the others' when they end), and each phase starts when the last ends."""

    name: str
    budget_minutes: int
    phases: tuple[tuple[Stream, ...], ...]
    targets: tuple[str, ...] | None  # whose server environments it needs; None: every version in the registry
    debian_packages: dict[str, str]


FAST = Tier("fast", 15, ((Stream("fast", "not (servers or docker) or slice"),),), SLICE_TARGETS, NODE_PACKAGES)
FULL = Tier(
    "full",
    60,
    (
        (Stream("servers", "not docker and not timing"), Stream("containers", "docker")),
        (Stream("timing", "timing and not docker"),),
    ),
    None,
    DEBIAN_PACKAGES,
)


def main(argv: list[str]) -> int:
    tier = FULL if "--all" in argv else FAST
    pytest_args = [arg for arg in argv if arg != "--all"]
    started = float(os.environ.get("BENCH_TESTS_STARTED", time.time()))
    try:
        set_up(tier)
    except SetupFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    budget = Budget(tier, started)
    chosen, rest = split_marker_option(pytest_args)
    results = run_streams(tier, chosen, rest, budget)
    return conclude(tier, results, budget)


def set_up(tier: Tier) -> None:
    """The server environments and Debian packages the tier's tests use, so that no test pays for them."""
    registry = load_registry()
    wanted = registry.targets.values() if tier.targets is None else [registry.targets[t] for t in tier.targets]
    for target in wanted:
        ensure_environment(target, log=lambda message: print(message, file=sys.stderr))
    ensure_programs(tier.debian_packages, required=False)


def split_marker_option(args: list[str]) -> tuple[str | None, list[str]]:
    """A user's own `-m EXPR` (or `-mEXPR`) apart from the other pytest arguments: it narrows each
    stream's selection rather than replacing it."""
    chosen, rest, items = None, [], iter(args)
    for arg in items:
        if arg == "-m":
            chosen = next(items, "")
        elif arg.startswith("-m") and not arg.startswith("--"):
            chosen = arg[2:]
        else:
            rest.append(arg)
    return chosen, rest


@dataclass
class Result:
    stream: Stream
    exit_code: int
    interrupted: bool = False
    passed: int = 0
    failed: int = 0
    skipped: int = 0


class Budget:
    """Stops the tier's tests as Ctrl-C would once it has run `budget_minutes`, installs included."""

    def __init__(self, tier: Tier, started: float) -> None:
        self.tier, self.started, self.passed = tier, started, False
        self._timer: threading.Timer | None = None

    def remaining(self) -> float:
        return self.started + self.tier.budget_minutes * 60 - time.time()

    def watch(self) -> None:
        """Stop what runs now when the budget is spent."""
        self._timer = threading.Timer(max(self.remaining(), 0), self.stop)
        self._timer.daemon = True
        self._timer.start()

    def unwatch(self) -> None:
        if self._timer:
            self._timer.cancel()

    def stop(self) -> None:
        self.passed = True
        print(f"\n{self.message()}", file=sys.stderr, flush=True)
        interrupt_descendants()

    def message(self) -> str:
        took = (time.time() - self.started) / 60
        return (
            f"error: the {self.tier.name} tier passed its {self.tier.budget_minutes}-minute budget "
            f"({took:.0f} min, installs included): its tests were stopped; see the slowest tests above"
        )


def interrupt_descendants() -> None:
    """SIGINT to every process this one started, as a terminal's Ctrl-C sends it to them all."""
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            child.send_signal(signal.SIGINT)


def run_streams(tier: Tier, chosen: str | None, args: list[str], budget: Budget) -> list[Result]:
    """Each phase's streams together, each in its own pytest; no further phase after a Ctrl-C or
    past the budget."""
    REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    for phase in tier.phases:
        if budget.passed or any(r.interrupted for r in results):
            break
        if budget.remaining() <= 0:
            budget.stop()
            break
        started = [(stream, _start(stream, chosen, args, shown=n == 0)) for n, stream in enumerate(phase)]
        budget.watch()
        results += _wait(started, budget)
        budget.unwatch()
        for stream in phase[1:]:
            print(f"\n===== {stream.name} tests, which ran beside the {phase[0].name} tests =====", flush=True)
            print(_log(stream).read_text(), end="", flush=True)
    return results


def _start(stream: Stream, chosen: str | None, args: list[str], shown: bool) -> subprocess.Popen:
    select = stream.select if chosen is None else f"({stream.select}) and ({chosen})"
    command = [sys.executable, "-m", "pytest", "-m", select, f"--junitxml={_junit(stream)}", *args]
    _junit(stream).unlink(missing_ok=True)
    # Ctrl-C's default action in pytest, which turns it into a clean stop, even where this process
    # was started with SIGINT ignored (as a shell starts a command in the background)
    default_sigint = {"cwd": ROOT, "preexec_fn": lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)}
    if shown:
        print(f"===== {stream.name} tests: -m '{select}' =====", flush=True)
        return subprocess.Popen(command, **default_sigint)
    with _log(stream).open("w") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, **default_sigint)


def _wait(started: list[tuple[Stream, subprocess.Popen]], budget: Budget) -> list[Result]:
    """Wait for the phase's pytest processes, through a Ctrl-C too. Every process they start is
    remembered: once stopped, the tier also waits for those that outlive their parent (a CLI
    stopping its servers after the test that ran it was interrupted), and kills any still there."""
    seen: dict[int, psutil.Process] = {}
    interrupted = False
    while any(process.poll() is None for _, process in started):
        try:
            for child in psutil.Process().children(recursive=True):
                seen.setdefault(child.pid, child)
            time.sleep(1)
        except KeyboardInterrupt:
            interrupted = True
    if interrupted or budget.passed:
        _, alive = psutil.wait_procs(list(seen.values()), timeout=120)
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.kill()
    return [_count(stream, process.returncode, interrupted) for stream, process in started]


def _count(stream: Stream, exit_code: int, interrupted: bool) -> Result:
    """The stream's passed, failed and skipped tests, from its JUnit XML."""
    result = Result(stream, exit_code, interrupted=interrupted)
    junit = _junit(stream)
    if exit_code != NO_TESTS and junit.exists():
        for suite in etree.parse(junit).getroot().iter("testsuite"):
            failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            skipped = int(suite.get("skipped", 0))
            result.failed += failed
            result.skipped += skipped
            result.passed += int(suite.get("tests", 0)) - failed - skipped
    return result


def _junit(stream: Stream) -> Path:
    return StreamFiles(REPORTS_DIR, stream.name).junit


def _log(stream: Stream) -> Path:
    return StreamFiles(REPORTS_DIR, stream.name).log


def conclude(tier: Tier, results: list[Result], budget: Budget) -> int:
    """One closing line for the tier (each stream's own is above it), and the tier's exit code."""
    for r in results:
        print(f"{r.stream.name}: {r.passed} passed, {r.failed} failed, {r.skipped} skipped (exit {r.exit_code})")
    passed, failed = sum(r.passed for r in results), sum(r.failed for r in results)
    took = (time.time() - budget.started) / 60
    sys.stdout.flush()
    if budget.passed:
        print(budget.message(), file=sys.stderr)
        return 1
    if any(r.interrupted for r in results):
        return 130
    if passed + failed == 0:
        print("error: no test was collected", file=sys.stderr)
        return 1
    print(f"{tier.name} tier, {took:.1f} min with installs:")
    print(f"{passed} passed, {failed} failed, {sum(r.skipped for r in results)} skipped")
    return 0 if all(r.exit_code in (0, NO_TESTS) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
