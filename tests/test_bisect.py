"""`./run.sh bisect`: the search on its own, then over five real builds, two of them slowed by a proxy."""

from __future__ import annotations

import json
import math

import pytest

from analysis import bisection
from core.records import Verdict
from perf.delay_proxy import slowed_servers
from tests.conftest import run_cli


def _judge_with_first_bad(first_bad: int, seen: list[tuple[int, int]]):
    """A judge for builds that are slower from position `first_bad` on."""

    def judge(good: int, candidate: int) -> bisection.Step:
        seen.append((good, candidate))
        slower = candidate >= first_bad > good
        return bisection.Step(good, candidate, Verdict.REGRESSION if slower else Verdict.NO_CHANGE, 1.0, 1.0, 1.0)

    return judge


@pytest.mark.parametrize("builds", [2, 3, 5, 9, 17])
def test_the_search_finds_every_first_bad_build_in_few_comparisons(builds):
    for first_bad in range(1, builds):
        seen = []
        outcome = bisection.search(0, builds - 1, _judge_with_first_bad(first_bad, seen))
        assert outcome.first_bad == first_bad and outcome.last_good == first_bad - 1
        assert len(seen) <= 1 + math.ceil(math.log2(builds - 1)), (first_bad, seen)
        assert seen[0] == (0, builds - 1) and all(good < candidate for good, candidate in seen)


def test_no_regression_between_good_and_bad_ends_the_search_at_once():
    seen = []
    outcome = bisection.search(0, 4, _judge_with_first_bad(99, seen))
    assert outcome.first_bad is None and seen == [(0, 4)]
    with pytest.raises(ValueError, match="must come before"):
        bisection.search(3, 3, _judge_with_first_bad(1, []))


BASE = {"*": 0.2}  # ms every answer waits, on every build
SLOWED = BASE | {"CreateRun": 6.0}  # builds 4 and 5: CreateRun 6 ms slower (several times, on any machine)


@pytest.mark.servers
@pytest.mark.timing
def test_bisect_names_the_fourth_of_five_builds_in_at_most_three_ab(tmp_path):
    with slowed_servers("fasttrackml-sqlite", [BASE, BASE, BASE, SLOWED, SLOWED], tmp_path / "servers") as builds:
        out = tmp_path / "bisect"
        result = run_cli(
            "bisect",
            "--builds",
            *builds,
            "--suite",
            "logging",
            "--request",
            "CreateRun",
            "--out",
            str(out),
            "--",
            "--rounds",
            "6",
            "--round-iterations",
            "4",
            env={"BENCH_NAME_HEADER": "1"},
        )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"first bad build: 4 ({builds[3]}); last good: 3 ({builds[2]})" in result.stdout
    steps = [line for line in result.stdout.splitlines() if line.startswith("A/B: build")]
    record = json.loads((out / "bisect.json").read_text())
    assert record["first_bad"] == 4 and len(record["steps"]) == len(steps) <= 3
    assert [(s["good"], s["candidate"]) for s in record["steps"]] == [(1, 5), (1, 3), (3, 4)]
    assert [s["verdict"] for s in record["steps"]] == ["regression", "no change", "regression"]
    assert all((out / f"step-{i}" / "comparison.json").exists() for i in (1, 2, 3))


@pytest.mark.servers
@pytest.mark.timing
def test_two_builds_alike_leave_nothing_to_bisect_after_one_ab(tmp_path):
    with slowed_servers("fasttrackml-sqlite", [BASE, BASE], tmp_path / "servers") as builds:
        result = run_cli(
            "bisect", "--builds", *builds, "--suite", "logging", "--request", "CreateRun",
            "--out", str(tmp_path / "bisect"), "--", "--rounds", "6", "--round-iterations", "4",
            env={"BENCH_NAME_HEADER": "1"},
        )  # fmt: skip
    assert result.returncode == 1, result.stderr[-3000:]
    assert "no regression of CreateRun between build 1 and build 2: nothing to bisect (1 A/B" in result.stdout
    assert json.loads((tmp_path / "bisect" / "bisect.json").read_text())["first_bad"] is None
