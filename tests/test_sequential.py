"""The sequential A/B's design on rounds with a known answer: its looks, the error each spends, that
an A/A calls nothing and settles early, that a large change is called early and a change near the
threshold is not settled as none; and the judge replaying the looks the runner stopped at."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from analysis import paired, sequential
from core.records import ALONE, CONTENTION, ABMetadata, ABMode, ABRound, Status, Verdict
from runner.ab import round_order
from tests.conftest import ROOT

NAMES = 8


def _settle(true_ratio: float, sd: float, seed: int, rounds: int = 36) -> sequential.Settled:
    rng = np.random.default_rng(seed)
    a = 10 * rng.lognormal(0, 0.3, rounds)  # what drifts from round to round, shared by both sides
    b = a * true_ratio * np.exp(rng.normal(0, sd, rounds))
    design = sequential.Design(sequential.looks(rounds), NAMES, threshold=0.03, rule_out=0.05)
    return sequential.settle(a, b, design)


def test_looks_grow_by_half_and_end_at_the_last_round():
    assert sequential.looks(36) == (6, 9, 14, 21, 32, 36)
    assert sequential.looks(12) == (6, 9, 12)
    assert sequential.looks(4) == (4,)


@pytest.mark.parametrize("rounds", [4, 12, 36])
def test_the_looks_spend_exactly_the_family_error(rounds):
    design = sequential.Design(sequential.looks(rounds), NAMES, 0.03, 0.06)
    spent = sum((1 - design.confidence(n)) * NAMES for n in design.looks)
    assert spent == pytest.approx(sequential.FAMILY_ERROR)


def test_an_aa_calls_nothing_and_a_steady_one_settles_before_the_last_round():
    settled = [_settle(1.0, sd=0.02, seed=s) for s in range(300)]
    assert sum(s.judgement.verdict != Verdict.NO_CHANGE for s in settled) <= 1
    assert np.median([s.look for s in settled]) < 36


def test_a_large_slowdown_is_called_at_an_early_look():
    settled = [_settle(1.2, sd=0.05, seed=s) for s in range(50)]
    assert all(s.judgement.verdict == Verdict.REGRESSION for s in settled)
    assert max(s.look for s in settled) <= 14


def test_a_change_near_the_threshold_is_rarely_settled_as_none():
    """A 5% slowdown, as large as the change a look rules out (5%): futility may stop it
    at a look at most FUTILITY of the time, so most go on to be called."""
    settled = [_settle(1.05, sd=0.04, seed=s) for s in range(200)]
    called = sum(s.judgement.verdict == Verdict.REGRESSION for s in settled)
    assert called >= 0.8 * len(settled)


def test_a_name_without_enough_rounds_for_a_look_is_open():
    settled = sequential.settle(np.ones(4), np.ones(4) * 1.01, sequential.Design((6, 9), 1, 0.03, 0.06))
    assert settled.look is None and settled.judgement.verdict == Verdict.NO_CHANGE


def _meta(rounds_run: int, most: int) -> ABMetadata:
    meta = ABMetadata.read(ROOT / "tests" / "fixtures" / "ab.json")
    modes = (ABMode(ALONE, 1, most, 0.05), ABMode(CONTENTION, 2, most, 0.2))
    results = tuple(
        ABRound("retrieval", r, side, i, Status.OK, mode=mode.name)
        for mode in modes
        for i, (r, side) in enumerate(round_order(rounds_run))
    )
    return dataclasses.replace(meta, results=results, rounds=most, suites=("retrieval",), modes=modes)


def _rounds(ratio: dict[str, float], rounds: int) -> pd.DataFrame:
    rng = np.random.default_rng(9)
    rows = []
    for mode, factor in ratio.items():
        for r in range(1, rounds + 1):
            base = 10 * rng.lognormal(0, 0.2)
            for side in ("A", "B"):
                typical = base * (factor if side == "B" else 1.0) * rng.lognormal(0, 0.01)
                rows.append(
                    {"suite": "retrieval", "mode": mode, "round": r, "side": side, "status": "ok", "name": "GetRun"}
                    | {"count": 40, "errors": 0, "median_ms": typical, "typical_ms": typical, "requests": 40}
                )
    return pd.DataFrame(rows)


def test_the_judge_replays_the_looks_and_says_where_a_change_showed():
    """Alone nothing changed, under contention B is 40% slower: both settle at the first look (6 of
    at most 36 rounds), the call under contention, and the runner would have stopped both there."""
    meta, rounds = _meta(6, 36), _rounds({ALONE: 1.0, CONTENTION: 1.4}, 6)
    result = paired.judge(meta, rounds, threshold=0.03)
    by_mode = {r.mode: r for r in result.rows}
    assert by_mode[ALONE].verdict == Verdict.NO_CHANGE and len(by_mode[ALONE].rounds) == 6
    assert "settled after 6 rounds, its 90% interval within ±5%" in by_mode[ALONE].reason
    assert (
        by_mode[CONTENTION].verdict == Verdict.REGRESSION and by_mode[CONTENTION].where == "retrieval, under contention"
    )
    assert "sequential" in result.method and "contention" in result.method
    for mode in meta.modes:
        assert paired.part_settled(meta, rounds, "retrieval", mode, 0.03)


def test_an_ab_stopped_before_a_name_settled_gives_it_no_verdict():
    """Interrupted after 8 of 36 rounds, the change of 4% (open at the look of 6) has no verdict:
    the rounds that ran settle nothing, and a verdict of the last look would not be the design's."""
    meta, rounds = _meta(8, 36), _rounds({ALONE: 1.04, CONTENTION: 1.04}, 8)
    meta = dataclasses.replace(meta, status=Status.PARTIAL, error="interrupted")
    result = paired.judge(meta, rounds, threshold=0.03)
    open_rows = [r for r in result.rows if r.verdict == Verdict.NO_VERDICT]
    assert open_rows and all("only 8 of 36 rounds ran" in r.reason for r in open_rows)


def test_an_ab_recorded_before_modes_is_one_mode_of_its_own_settings():
    meta = ABMetadata.read(ROOT / "tests" / "fixtures" / "ab.json")
    [mode] = meta.measured_modes
    assert mode.name == (ALONE if meta.isolated else CONTENTION) and mode.rounds == meta.rounds
