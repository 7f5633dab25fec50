"""The default profile's rounds (runner/rounds.py) on real servers: the targets of one database take
turns round by round, each p50's interval is made of its rounds, and two targets' rounds pair up.

The two targets are the same FastTrackML twice (its id, and its version named), as the intervals'
check against reality runs them (perf/run_precision.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import precision
from analysis.k6csv import read_samples
from analysis.summarise import round_p50s, summarise_folder
from runner.k6 import Rounds
from runner.rounds import enough, round_order
from tests.conftest import metadata, run_cli

TWINS = ("fasttrackml-sqlite", "fasttrackml-0.6.0-sqlite")
SUITES = ("logging", "retrieval")


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    out = tmp_path_factory.mktemp("rounds") / "out"
    done = run_cli(
        "run", "--profile", "smoke", "--targets", ",".join(TWINS), "--suites", ",".join(SUITES),
        "--out", str(out), "--no-report",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def _frames(out, suite):
    return {target: read_samples(out / f"{target}_{suite}.csv").frame for target in TWINS}


@pytest.mark.servers
@pytest.mark.parametrize("suite", SUITES)
def test_the_targets_take_turns_round_by_round_and_the_warm_up_is_not_kept(twins, suite):
    spans = {}
    for target, frame in _frames(twins, suite).items():
        assert set(frame["round"]) == {1, 2}  # the warm-up round (0) is discarded
        spans[target] = frame.groupby("round")["timestamp"].agg(["min", "max"])
    run_id = metadata(twins, TWINS[0], suite)["run_id"]
    for number in (1, 2):
        # one target's round ends before the next one's starts, in the order drawn for the round
        order = round_order(list(TWINS), number, f"{run_id}/{suite}")
        first, second = (spans[t].loc[number] for t in order)
        assert first["max"] <= second["min"], (number, order)
    a = TWINS[0]
    assert spans[a].loc[1, "max"] <= spans[a].loc[2, "min"]
    meta = metadata(twins, a, suite)
    assert meta["settings"]["rounds"] == 2 and meta["iterations_expected"] == meta["iterations_done"] == 8


def test_each_round_draws_its_order_so_that_no_target_always_follows_the_same_one():
    orders = [round_order(list("ABCD"), n, "run/logging") for n in range(1, 41)]
    assert orders == [round_order(list("ABCD"), n, "run/logging") for n in range(1, 41)]  # replayable
    followers = {(o[i], o[i + 1]) for o in orders for i in range(3)}
    assert len(followers) == 12  # every target came right after every other one
    firsts = {o[0] for o in orders}
    assert firsts == set("ABCD")


@pytest.mark.servers
def test_each_p50_s_interval_is_made_of_its_rounds_and_the_twins_pair_up(twins):
    summary = summarise_folder(twins)
    stats = summary.summary.set_index(["target", "suite", "name"])
    for suite in SUITES:
        for target, frame in _frames(twins, suite).items():
            per_round = round_p50s(frame)
            for name, rounds in per_round.groupby("name"):
                row = stats.loc[(target, suite, name)]
                expected = precision.from_rounds(row["p50_ms"], rounds["p50_ms"].to_numpy())
                assert (row["p50_low_ms"], row["p50_high_ms"]) == pytest.approx(expected)
                assert row["p50_low_ms"] < row["p50_ms"] < row["p50_high_ms"]
    found = precision.head_to_head(summary.summary, summary.rounds, *TWINS)
    assert len(found) == 13 and all(h.paired_rounds == 2 for h in found)  # 8 logging + 5 retrieval names
    ratios = summary.rounds.pivot_table(index=["suite", "name", "round"], columns="target", values="p50_ms")
    h = found[0]
    mine = ratios.loc[(h.suite, h.name)]
    assert h.ratio == pytest.approx(float(np.exp(np.log(mine[TWINS[1]] / mine[TWINS[0]]).mean())))


def test_rounds_stop_when_every_p50_is_sure_enough_or_the_time_is_spent_never_before_the_least():
    rounds = Rounds(least=5, most=12, precision=0.10, seconds=150)
    assert not enough(4, rounds, widest=0.01, seconds=1000)  # never before the least
    assert enough(5, rounds, widest=0.09, seconds=10)
    assert not enough(5, rounds, widest=0.11, seconds=10)
    assert not enough(5, rounds, widest=None, seconds=10)
    assert enough(6, rounds, widest=0.5, seconds=151)
    assert enough(12, rounds, widest=0.5, seconds=10)
    assert pd.isna(precision.from_rounds(1.0, np.array([1.0]))[0])
