"""The scale suite's growth exponent and the capacity suite's verdict, on constructed input with a known answer."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import capacity, scale
from core.records import Counts, DatabaseInfo, Machine, PairMetadata, ServerInfo, Source
from report import sentences


def _summary(target: str, read: str, p50_at: dict[int, float], count: int = 10) -> pd.DataFrame:
    return pd.DataFrame(
        {"suite": "scale", "status": "ok", "target": target, "name": f"{read}@{size}", "p50_ms": p50, "count": count}
        for size, p50 in p50_at.items()
    )


@pytest.mark.parametrize(
    ("exponent", "shape"), [(0.0, "~flat"), (0.5, "sublinearly"), (1.0, "~linearly"), (1.5, "faster than linearly")]
)
def test_the_exponent_of_a_power_law_is_found(exponent, shape):
    summary = _summary("t", "SearchRuns", {n: 2.0 * n**exponent for n in (100, 1000, 10000)})
    [found] = scale.growth(summary)
    assert found.exponent == pytest.approx(exponent, abs=0.01) and found.shape == shape
    assert found.sizes == (100, 1000, 10000)


def test_a_read_that_pages_is_timed_as_all_of_its_pages():
    """10 reads at each size; at 10,000 runs one server answers a read in 4 pages of 100 ms, the other
    in 1 page of 300 ms: the first is the slower read, whatever its p50 per request says."""
    sizes = {100: 1.0, 1000: 10.0}
    summary = pd.concat(
        [
            _summary("paged", "GetRun", {**sizes, 10000: 1.0}),
            _summary("paged", "MetricHistory", sizes),
            _summary("paged", "MetricHistory", {10000: 100.0}, count=40),
            _summary("whole", "GetRun", {**sizes, 10000: 1.0}),
            _summary("whole", "MetricHistory", {**sizes, 10000: 300.0}),
        ]
    )
    history = {g.target: g for g in scale.growth(summary) if g.read == "MetricHistory"}
    assert history["paged"].read_ms == (1.0, 10.0, 400.0) and history["paged"].requests_per_read == (1, 1, 4)
    assert history["whole"].read_ms == (1.0, 10.0, 300.0) and history["whole"].requests_per_read == (1, 1, 1)
    assert history["paged"].exponent > history["whole"].exponent


def test_seeding_rows_and_other_suites_are_not_reads():
    summary = pd.concat(
        [
            _summary("t", "GetRun", {10: 1.0, 100: 1.0}),
            pd.DataFrame([{"suite": "retrieval", "status": "ok", "target": "t", "name": "GetRun", "p50_ms": 1.0}]),
            pd.DataFrame(
                [{"suite": "scale", "status": "partial", "target": "t", "name": "GetRun@1000", "p50_ms": 9.0}]
            ),
        ]
    )
    assert set(scale.sized(summary)["size"]) == {10, 100}  # the partial pair is left out
    assert sentences.scale_sentences(scale.growth(summary), {"t": "T"}) == ["GetRun grows ~flat on T (b = 0.00)."]


def _meta(ceiling: float | None = 10_000.0, error: str | None = None) -> PairMetadata:
    return PairMetadata(
        run_id="20261126T000000Z-test",
        target="t",
        suite="capacity",
        profile="smoke",
        vus=10,
        iterations_per_vu=1,
        iterations_expected=10,
        server=ServerInfo("s", "S", "1"),
        database=DatabaseInfo("sqlite", "SQLite"),
        mode="native",
        k6_version="1.1.0",
        source=Source("c", "main", False),
        machine=Machine.here(),
        started_at="2026-11-26T00:00:00+00:00",
        counts=Counts(),
        k6_ceiling_rps=ceiling,
        error=error,
    )


def _step(rate: int, p95: float = 10.0, failed: float = 0.0, achieved: float | None = None, beyond: bool = False):
    return capacity.Step(rate, rate if achieved is None else achieved, p95 / 2, p95, failed, 0.0, beyond)


def test_the_highest_sustained_step_below_the_knee_and_what_ended_it():
    steps = [_step(10), _step(20), _step(40, p95=150), _step(80)]  # 80 is fine again: after the knee, not counted
    found = capacity.capacity(_meta(), steps, [10, 20, 40, 80], slo_ms=100)
    assert (found.sustained_rps, found.at_least) == (20, False)
    assert found.cause == "p95 150 ms over the 100 ms SLO at 40 req/s"


@pytest.mark.parametrize(
    ("step", "cause"),
    [
        (_step(40, failed=0.02), "2.0% of requests failed at 40 req/s"),
        (_step(40, achieved=30), "only 30 of 40 req/s achieved"),
    ],
)
def test_errors_and_a_rate_not_achieved_end_the_ramp(step, cause):
    found = capacity.capacity(_meta(), [_step(10), _step(20), step], [10, 20, 40], slo_ms=100)
    assert found.sustained_rps == 20 and found.cause == cause


def test_a_rate_k6_cannot_be_trusted_to_offer_is_never_the_servers():
    steps = [_step(10), _step(20), _step(40, beyond=True)]
    found = capacity.capacity(_meta(ceiling=60), steps, [10, 20, 40], slo_ms=100)
    assert (found.sustained_rps, found.at_least) == (20, True)
    assert "over 50% of k6's ceiling here (60)" in found.cause


def test_a_ramp_k6_aborted_ends_at_the_first_missing_step():
    found = capacity.capacity(_meta(error=None), [_step(10)], [10, 20, 40], slo_ms=100)
    assert found.sustained_rps == 10 and found.cause.startswith("the ramp ended before 20 req/s")
