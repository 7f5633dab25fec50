"""The test tiers (cli/testing.py): a pure test that starts a process fails, a user's `-m` narrows
each stream's selection, and a tier past its budget is stopped as Ctrl-C would stop it, with one
line naming the tier and its time, and nothing left running."""

from __future__ import annotations

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


def test_a_users_marker_expression_narrows_each_stream():
    chosen, rest = testing.split_marker_option(["-q", "-m", "not docker", "tests/test_ab.py", "-mx"])
    assert chosen == "x" and rest == ["-q", "tests/test_ab.py"]
    assert testing.split_marker_option(["--maxfail=1"]) == (None, ["--maxfail=1"])


def test_every_stream_of_the_full_tier_is_told_apart_and_together_they_select_every_test():
    streams = [stream.select for phase in testing.FULL.phases for stream in phase]
    assert streams == ["not docker and not timing", "docker", "timing and not docker"]
    assert testing.FAST.targets == testing.SLICE_TARGETS


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
def test_a_tier_past_its_budget_is_stopped_with_one_line_and_leaves_nothing_running():
    """The fast tier's slice, with the tier's start set so that its budget ends 45 s into the run
    (the slice's pairs take about a minute): the run is stopped mid-way, its servers with it."""
    started = time.time() - testing.FAST.budget_minutes * 60 + 45
    watcher = ProcessWatcher(
        "-k", "test_the_run_measures_every_request", module="cli.testing", env={"BENCH_TESTS_STARTED": str(started)}
    )
    watcher.wait_for_child("fml", timeout=45)
    code = watcher.finish(timeout=240)
    said = watcher.output()
    assert code == 1, said[-3000:]
    assert said.strip().splitlines()[-1].startswith("error: the fast tier passed its 15-minute budget (15 min"), said
    assert watcher.left_behind() == [] and postgres_processes() == []
