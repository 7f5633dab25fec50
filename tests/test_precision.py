"""How sure a p50 is (analysis/precision.py): the intervals' maths, checked against draws of known truth.

The round p50s below are real: FastTrackML's LogMetricBatch100 on SQLite, five rounds of the default
profile (4 VUs x 5 iterations), and its samples the first round's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import precision
from analysis.precision import from_rounds, from_samples, head_to_head, relative_half_width

ROUND_P50S = np.array([7.02, 7.41, 6.88, 7.95, 7.23])
SAMPLES = np.array([5.1, 5.9, 6.2, 6.4, 6.7, 6.9, 7.0, 7.1, 7.3, 7.6, 7.9, 8.4, 9.0, 11.8, 21.7])


def test_an_interval_from_rounds_holds_its_p50_and_narrows_with_more_rounds():
    low, high = from_rounds(7.2, ROUND_P50S)
    assert low < 7.2 < high
    wider = from_rounds(7.2, ROUND_P50S[:3])
    assert wider[0] < low and wider[1] > high
    # no scatter over time: what is left is the instance's own offset, which rounds cannot show
    instance = precision._z(precision.CONFIDENCE) * precision.INSTANCE_NOISE
    assert from_rounds(7.2, np.array([7.0, 7.0, 7.0])) == pytest.approx(
        (7.2 * np.exp(-instance), 7.2 * np.exp(instance))
    )
    assert np.isnan(from_rounds(7.2, ROUND_P50S[:1])).all()  # one round says nothing of the spread


def test_an_interval_from_one_pass_is_never_narrower_than_the_run_to_run_noise():
    low, high = from_samples(SAMPLES)
    assert low < np.median(SAMPLES) < high
    noise_only = np.exp(precision._z(precision.CONFIDENCE) * precision.RUN_NOISE) - 1
    assert relative_half_width(float(np.median(SAMPLES)), low, high) > noise_only
    # ten times the samples: the sampling part shrinks, the run-to-run part stays
    many = from_samples(np.tile(SAMPLES, 10))
    assert relative_half_width(float(np.median(SAMPLES)), *many) < relative_half_width(7.1, low, high)
    assert relative_half_width(float(np.median(SAMPLES)), *many) >= noise_only - 1e-9
    single = from_samples(np.array([4.0]))
    assert single[0] < 4.0 < single[1]


@pytest.mark.parametrize("rounds", [3, 5, 12])
def test_intervals_from_rounds_cover_the_true_p50_as_often_as_they_say(rounds):
    """Rounds drawn around a known p50, each run on a fresh server instance with its own offset, with
    a spread over time: the 95% interval covers it 94-98.5% of the time (2000 draws, seeded)."""
    rng = np.random.default_rng(7)
    truth, covered = 10.0, 0
    for _ in range(2000):
        instance = rng.normal(0, precision.INSTANCE_NOISE)
        draws = truth * np.exp(instance + rng.normal(0, 0.06, rounds))
        centre = float(np.exp(np.log(draws).mean()))
        low, high = from_rounds(centre, draws)
        covered += low <= truth <= high
    assert 0.94 <= covered / 2000 <= 0.985


def _summary(rows: list[tuple[str, str, float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"target": t, "suite": "logging", "name": n, "status": "ok", "p50_ms": p, "p50_low_ms": lo,
          "p50_high_ms": hi} for t, n, p, lo, hi in rows]
    )  # fmt: skip


def test_head_to_head_pairs_the_rounds_both_ran_and_else_combines_the_intervals():
    summary = _summary(
        [
            ("fml", "CreateRun", 1.0, 0.9, 1.1),
            ("mlflow", "CreateRun", 20.0, 18.0, 22.0),
            ("fml", "UpdateRun", 2.0, 1.8, 2.2),
            ("mlflow", "UpdateRun", 2.1, 1.9, 2.3),
        ]
    )
    rounds = pd.DataFrame(
        [
            {"target": t, "suite": "logging", "name": "CreateRun", "round": r, "p50_ms": p}
            for t, values in (("fml", [1.0, 1.2, 0.9]), ("mlflow", [20.0, 24.5, 17.8]))
            for r, p in enumerate(values, start=1)
        ]
    )
    create, update = head_to_head(summary, rounds, "fml", "mlflow")
    # the machine's drift (round 2 slower for both) cancels in the pairs: a narrow interval
    assert create.paired_rounds == 3 and create.low < 20 < create.high and create.sure == "slower"
    assert create.high / create.low < 22.0 / 18.0 * 1.1 / 0.9
    # no rounds: the halves add in quadrature, and 2.1 against 2.0 is not told apart
    assert update.paired_rounds == 0 and update.sure == "not told apart"
    assert update.low < 1.05 < update.high
    half = np.hypot(np.log(2.0 / 1.8), np.log(2.1 / 1.9))  # each side's wider half
    assert update.high == pytest.approx(1.05 * np.exp(half))


@pytest.mark.parametrize("n", [3, 5, 8, 30])
def test_a_one_pass_interval_s_sampling_part_covers_the_true_median_at_any_sample_count(n, monkeypatch):
    """Without the run-to-run part, draws of n samples from a known log-normal: the interval holds its
    median at least 93% of the time, also below 6 samples, where order statistics cannot reach 95%."""
    monkeypatch.setattr(precision, "RUN_NOISE", 0.0)
    rng = np.random.default_rng(11)
    covered = sum(
        low <= 10.0 <= high for low, high in (from_samples(10.0 * np.exp(rng.normal(0, 0.3, n))) for _ in range(2000))
    )
    assert covered / 2000 >= 0.93
