"""How long a run will take: from the history's pairs of the same profile and machine, else the profile's
figure, refined by how the finished pairs went."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from analysis import duration
from core.records import Counts, DatabaseInfo, HistoryRecord, Machine, PairMetadata, ServerInfo, Source, Status
from runner.k6 import profiles

HERE = Machine.here()
ELSEWHERE = dataclasses.replace(HERE, cpu_model="another CPU")


def _pair(target: str, suite: str, seconds: float, machine: Machine = HERE, status: Status = Status.OK) -> PairMetadata:
    started = datetime(2026, 11, 28, 12, 0, 0).astimezone()
    return PairMetadata(
        run_id="20261128T120000Z-test", target=target, suite=suite, profile="quick", vus=10, iterations_per_vu=20,
        iterations_expected=200, server=ServerInfo("s", "S", "1"), database=DatabaseInfo("sqlite", "SQLite"),
        mode="native", k6_version="1.1.0", source=Source("c", "main", False), machine=machine,
        started_at=started.isoformat(), ended_at=(started + timedelta(seconds=seconds)).isoformat(),
        status=status, counts=Counts(),
    )  # fmt: skip


def _run(*pairs: PairMetadata, profile: str = "quick") -> HistoryRecord:
    return HistoryRecord("20261128T120000Z-test", "c", "main", pairs[0].started_at, profile, pairs, ())


PAIRS = [("fml", "logging"), ("mlflow", "logging"), ("mlflow", "scale")]


def test_each_pair_takes_the_median_of_its_finished_runs_on_this_machine():
    history = [
        _run(_pair("fml", "logging", 20), _pair("mlflow", "logging", 100)),
        _run(_pair("fml", "logging", 30), _pair("mlflow", "logging", 500, status=Status.PARTIAL)),
        _run(_pair("fml", "logging", 40), _pair("mlflow", "logging", 900, machine=ELSEWHERE)),
        _run(_pair("fml", "logging", 1000)),  # one slow run: the median keeps it out
        _run(_pair("mlflow", "scale", 7), profile="smoke"),  # another profile: not this run's
    ]
    found = duration.estimate(PAIRS, "quick", 60.0, history, HERE.cpu_model)
    assert found.seconds == {("fml", "logging"): 35.0, ("mlflow", "logging"): 100.0, ("mlflow", "scale"): 60.0}
    assert found.from_history == 2 and found.total == 195.0
    assert found.describe() == "about 3 min (2 of 3 pairs from the history, the rest from the profile)"


def test_another_machines_history_is_used_when_this_one_has_none():
    history = [_run(_pair("fml", "logging", 300, machine=ELSEWHERE))]
    found = duration.estimate(PAIRS[:1], "quick", 60.0, history, HERE.cpu_model)
    assert found.seconds == {("fml", "logging"): 300.0} and found.describe() == "about 5 min (from the history)"
    assert duration.estimate(PAIRS, "quick", 90.0, [], "").describe() == (
        "about 4 min (from the profile; the history will refine it)"
    )


def test_what_is_left_is_the_estimate_of_the_pairs_to_come():
    found = duration.estimate(PAIRS, "quick", 100.0, [_run(_pair("mlflow", "scale", 40))])
    assert found.remaining([]) == 240.0
    assert found.remaining([("fml", "logging"), ("other", "logging")]) == 140.0  # a pair not planned: ignored
    assert found.remaining(PAIRS) == 0.0


def test_a_suite_with_its_own_figure_is_expected_to_take_it():
    found = duration.estimate(PAIRS, "quick", {"logging": 60.0, "scale": 300.0}, [])
    assert found.seconds == {("fml", "logging"): 60.0, ("mlflow", "logging"): 60.0, ("mlflow", "scale"): 300.0}


def test_the_browser_and_client_suites_have_their_own_measured_pair_time():
    for profile in profiles().values():
        for suite in ("ui", "client"):
            assert profile.suites[suite].get("pairSeconds", 0) > 0, (profile.name, suite)
            assert profile.for_suite(suite).pair_seconds == profile.suites[suite]["pairSeconds"]
        assert profile.for_suite("logging").pair_seconds == profile.pair_seconds


def test_minutes_read_as_a_person_says_them():
    assert [duration.minutes(s) for s in (45, 130, 4560)] == ["45 s", "2 min", "1 h 16 min"]


def test_every_profile_has_a_measured_pair_time():
    assert all(p.pair_seconds > 0 for p in profiles().values())
