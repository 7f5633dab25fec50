"""Shared fixtures: the CLI as a subprocess, output folders built from real k6 output, and one
real smoke run of every target x suite.

Tests that start real servers, k6 or PostgreSQL are marked `servers`, real containers `docker`, any
other process (the CLI, git, node) `process`; the rest are pure, and a pure test that starts a
process fails (`pure_tests_start_no_process`), so the pure part of the fast tier stays fast. The
smoke run runs once per test session and several test modules read its outputs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
FIXTURE_CSV = FIXTURES / "k6_retrieval.csv"  # a real smoke run of fasttrackml-sqlite x retrieval
FIXTURE_METADATA = FIXTURES / "k6_retrieval.json"  # its metadata, as the runner wrote it (schema 1)


PROCESS_MARKS = ("servers", "docker", "process")


@pytest.fixture(autouse=True)
def pure_tests_start_no_process(request, monkeypatch) -> None:
    """A test without one of PROCESS_MARKS that starts a process fails, naming the mark it lacks."""
    if any(request.node.get_closest_marker(mark) for mark in PROCESS_MARKS):
        return

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(
            f"{request.node.nodeid} starts a process but is not marked process, servers or docker "
            "(pytest.mark.process): the pure tests must stay fast"
        )

    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse)
    monkeypatch.setattr(os, "fork", refuse)
    monkeypatch.setattr(os, "system", refuse)


def output_folder(folder: Path, *pairs: str, csv: Path = FIXTURE_CSV, **changes: object) -> Path:
    """An output folder with the real fixture CSV and metadata under each `<target>_<suite>` in `pairs`.

    `changes` are metadata fields to set on every pair (status="partial", profile="quick" ...).
    """
    folder.mkdir(parents=True, exist_ok=True)
    for stem in pairs:
        target, suite = stem.split("_")
        shutil.copy(csv, folder / f"{stem}.csv")
        meta = json.loads(FIXTURE_METADATA.read_text()) | {"target": target, "suite": suite} | changes
        (folder / f"{stem}.json").write_text(json.dumps(meta))
    return folder


# each of the smoke run's two invocations: 10 to 20 minutes on a 2-core machine, whose MLflow pairs
# take 40 to 90 s each (the first run also installs the clients)
SMOKE_RUN_TIMEOUT = 2700


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    """`./run.sh ARGS` through the project's Python, with output captured. Past `timeout` the CLI is
    interrupted as Ctrl-C would (so it stops the servers it started), then killed if it hangs."""
    command = [sys.executable, "-m", "cli", *args]
    with subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as ProcessWatcher, below
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except KeyboardInterrupt:  # Ctrl-C, or the tier's budget: the CLI got it too and stops its servers
            process.wait(timeout=120)
            raise
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)
            try:
                process.communicate(timeout=60)
            finally:
                process.kill()
            raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def run_smoke(out: Path, target: str, suite: str, *extra: str) -> subprocess.CompletedProcess:
    """One target x suite at the smoke profile into `out`, without the report."""
    return run_cli(
        "run", "--profile", "smoke", "--targets", target, "--suites", suite, "--out", str(out), "--no-report", *extra
    )


def metadata(out: Path, target: str, suite: str) -> dict:
    return json.loads((out / f"{target}_{suite}.json").read_text())


# The smoke run's shape. Every default target runs the suites that check each of its requests
# works (BREADTH_SUITES). The suites that grow stores, step rates, or drive a real browser or MLflow
# client run on the targets their tests read: FastTrackML on both databases and MLflow on SQLite.
# On the other MLflow targets those four suites cost a CI run about 10 minutes (each pair mostly
# waits for MLflow's 4 workers to start) and no test reads them; the standard runs measure them.
BREADTH_SUITES = ("logging", "retrieval")
DEPTH_TARGETS = ("fasttrackml-sqlite", "fasttrackml-postgres", "mlflow-sqlite")
# the request names of the breadth suites (DESIGN.md, "Workloads")
REQUEST_NAMES = {
    "logging": {
        "CreateRun",
        "LogMetricSingle",
        "LogMetricBatch10",
        "LogMetricBatch100",
        "LogMetricBatch500",
        "LogParamBatch10",
        "LogParamBatch100",
        "UpdateRun",
    },
    "retrieval": {"SearchRuns", "SearchExperiments", "MetricHistory", "GetRun", "GetExperiment"},
}


def smoke_pairs() -> list[tuple[str, str]]:
    """Every (target, suite) the smoke run holds."""
    from services.registry import load_registry, suites

    return [
        (target.id, suite)
        for target in load_registry().default_targets
        for suite in suites()
        if suite in BREADTH_SUITES or target.id in DEPTH_TARGETS
    ]


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """`./run.sh --profile smoke` into a folder of its own, the whole flow: benchmark, history
    record and site. Two invocations share one run id, as CI's jobs of one workflow run do: the
    other suites on `DEPTH_TARGETS` first, then every default target on `BREADTH_SUITES`, whose
    invocation records the run and builds the site from the whole folder (its result is returned)."""
    from core.records import new_run_id
    from services.registry import suites

    folder = tmp_path_factory.mktemp("smoke")
    out = folder / "benchmark_outputs"
    run_id = ["--run-id", new_run_id()]
    smoke = ["run", "--profile", "smoke", "--out", str(out), *run_id]
    depth = [suite for suite in suites() if suite not in BREADTH_SUITES]
    first = run_cli(*smoke, "--targets", ",".join(DEPTH_TARGETS), "--suites", ",".join(depth), "--no-report",
                    timeout=SMOKE_RUN_TIMEOUT)  # fmt: skip
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Warning" not in first.stdout + first.stderr  # no dependency's warning reaches the user
    result = run_cli(*smoke, "--suites", ",".join(BREADTH_SUITES), "--history", str(folder / "history"),
                     "--site", str(folder / "site"), timeout=SMOKE_RUN_TIMEOUT)  # fmt: skip
    return out, result


class ProcessWatcher:
    """Runs the CLI (or another of its modules) in the background and remembers every descendant it ever had."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, module: str = "cli") -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
            # as from a terminal: Ctrl-C's default action, even if this test process ignores SIGINT
            # (an ignored signal stays ignored in every child, and some earlier test leaves it so)
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.seen: dict[int, psutil.Process] = {}

    def poll_descendants(self) -> list[psutil.Process]:
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        for child in children:
            self.seen.setdefault(child.pid, child)
        return children

    def wait_for_child(self, name: str, timeout: float = 300, argument: str = "") -> psutil.Process:
        """Wait until a descendant named `name` (with `argument` in its command line) runs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for child in self.poll_descendants():
                with contextlib.suppress(psutil.NoSuchProcess):
                    if child.name() == name and argument in " ".join(child.cmdline()):
                        return child
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"no {name} process appeared; output:\n{self.output()}")

    def finish(self, timeout: float = 300) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self.poll_descendants()
            time.sleep(0.2)
        return self.process.wait(timeout=5)

    def output(self) -> str:
        if self.process.poll() is None:
            return "(still running)"
        return self.process.stdout.read()

    def left_behind(self) -> list[str]:
        alive = []
        for p in self.seen.values():
            with contextlib.suppress(psutil.NoSuchProcess):
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"{p.pid} {p.name()}")
        return alive


def postgres_processes() -> list[psutil.Process]:
    """Embedded PostgreSQL processes of this project (their data folder is ours)."""
    data_dir = str(ROOT / ".cache" / "postgres")
    found = []
    for p in psutil.process_iter(["name", "cmdline"]):
        with contextlib.suppress(psutil.Error):
            if p.info["name"] == "postgres" and data_dir in " ".join(p.info["cmdline"] or []):
                found.append(p)
    return found
