"""The test tiers (cli/testing.py): a pure test that starts a process fails, a user's `-m` narrows
each stream's selection, and a tier past its budget is stopped as Ctrl-C would stop it, with one
line naming the tier and its time, and nothing left running."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time

import pytest

from cli import testing
from tests.conftest import ROOT, ProcessWatcher, postgres_processes

SPAWNING_TEST = """
import subprocess
import pytest

def test_unmarked():
    subprocess.run(["true"])

@pytest.mark.process
def test_marked():
    subprocess.run(["true"], check=True)
"""

MARKS = ("servers", "docker", "process", "timing", "slice")
# a test of the fast tier's kind (`slice`) that benchmarks for minutes, on the embedded PostgreSQL
LONG_TEST = """
import pytest
from tests.conftest import run_cli

@pytest.mark.slice
def test_a_long_run():
    run_cli("run", "--profile", "standard", "--targets", "fasttrackml-postgres", "--suites", "logging,retrieval",
            "--no-report", "--out", {out!r})
"""


def test_a_users_marker_expression_narrows_each_stream():
    chosen, rest = testing.split_marker_option(["-q", "-m", "not docker", "tests/test_ab.py", "-mx"])
    assert chosen == "x" and rest == ["-q", "tests/test_ab.py"]
    assert testing.split_marker_option(["--maxfail=1"]) == (None, ["--maxfail=1"])


def selects(expression: str, marks: set[str]) -> bool:
    """Whether `-m expression` selects a test with `marks`, as pytest evaluates it."""
    from _pytest.mark.expression import Expression

    return Expression.compile(expression).evaluate(lambda name, **_: name in marks)


def test_the_full_tier_runs_every_test_once_and_the_fast_tier_only_its_own():
    """Whatever marks a test has, exactly one stream of the full tier selects it; the fast tier
    selects a test that starts no server, or the slice."""
    streams = [stream for phase in testing.FULL.phases for stream in phase]
    [fast] = [stream for phase in testing.FAST.phases for stream in phase]
    for chosen in itertools.product([False, True], repeat=len(MARKS)):
        marks = {mark for mark, on in zip(MARKS, chosen, strict=True) if on}
        assert len([s for s in streams if selects(s.select, marks)]) == 1, marks
        assert selects(fast.select, marks) == (not marks & {"servers", "docker"} or "slice" in marks), marks


@pytest.mark.process
def test_a_pure_test_that_starts_a_process_fails_naming_the_mark(tmp_path):
    (tmp_path / "test_spawning.py").write_text(SPAWNING_TEST)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-c", str(ROOT / "pyproject.toml"),
         "--rootdir", str(ROOT), str(tmp_path / "test_spawning.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "1 failed, 1 passed" in done.stdout, done.stdout[-2000:]
    assert "test_unmarked starts a process but is not marked process, servers or docker" in done.stdout


@pytest.mark.servers
@pytest.mark.timing
def test_a_tier_past_its_budget_is_stopped_with_one_line_and_leaves_nothing_running(tmp_path):
    """The fast tier running a test that benchmarks FastTrackML for minutes, with the tier's start set
    so that its budget ends 30 s in: the run is stopped mid-way, its server and PostgreSQL with it."""
    (tmp_path / "test_long.py").write_text(LONG_TEST.format(out=str(tmp_path / "out")))
    started = time.time() - testing.FAST.budget_minutes * 60 + 30
    budget = {"BENCH_TESTS_STARTED": str(started)}
    watcher = ProcessWatcher(str(tmp_path / "test_long.py"), module="cli.testing", env=budget)
    watcher.wait_for_child("fml", timeout=30)
    code = watcher.finish(timeout=240)
    said = watcher.output()
    assert code == 1, said[-3000:]
    assert said.strip().splitlines()[-1].startswith("error: the fast tier passed its 15-minute budget (15 min"), said
    assert "KeyboardInterrupt" in said  # the test was stopped, not finished
    assert watcher.left_behind() == [] and postgres_processes() == []
