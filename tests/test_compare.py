"""A versus B: the bootstrap verdicts, the markdown CI posts, and compare on two real smoke runs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis import compare
from core.records import Comparison, ComparisonRow, Verdict
from report import comparisons
from tests.conftest import FIXTURES, metadata, run_cli, run_smoke


def test_same_distribution_is_no_change_and_a_real_slowdown_is_a_regression():
    rng = np.random.default_rng(1)
    a = rng.lognormal(np.log(10), 0.3, 400)
    same = rng.lognormal(np.log(10), 0.3, 400)
    slower = rng.lognormal(np.log(13), 0.3, 400)
    faster = rng.lognormal(np.log(7), 0.3, 400)
    ratio, low, high = compare.ratio_interval(a, same)
    assert low < 1 < high and compare.verdict(ratio, low, high, 0.10) == "no change"
    ratio, low, high = compare.ratio_interval(a, slower)
    assert low > 1 and ratio > 1.2 and compare.verdict(ratio, low, high, 0.10) == "regression"
    ratio, low, high = compare.ratio_interval(a, faster)
    assert compare.verdict(ratio, low, high, 0.10) == "improvement"
    # significant but under the threshold is not a regression
    assert compare.verdict(1.05, 1.02, 1.08, 0.10) == "no change"


def test_run_to_run_noise_widens_the_interval_and_quiets_small_shifts():
    rng = np.random.default_rng(3)
    a = rng.lognormal(np.log(10), 0.2, 4000)
    b = rng.lognormal(np.log(11.5), 0.2, 4000)  # +15%: clear within one run, not across runs
    ratio, low, high = compare.ratio_interval(a, b)
    assert compare.verdict(ratio, low, high, 0.10) == "regression"
    assert compare.widen(ratio, low, high, 0.0) == pytest.approx((low, high), rel=1e-3)
    wide_low, wide_high = compare.widen(ratio, low, high, 0.15)
    assert wide_low < low and wide_high > high and wide_low < 1
    assert compare.verdict(ratio, wide_low, wide_high, 0.10) == "no change"
    [result] = compare.compare({("t", "s", "n"): a}, {("t", "s", "n"): b}, default_noise=0.15)
    assert result.verdict == "no change" and result.noise == 0.15
    [quiet] = compare.compare({("t", "s", "n"): a}, {("t", "s", "n"): b}, noise={("t", "s", "n"): 0.01})
    assert quiet.verdict == "regression" and quiet.noise == 0.01


def test_run_noise_is_estimated_from_history_and_ignores_a_step():
    rng = np.random.default_rng(4)
    p50 = np.exp(rng.normal(0, 0.05, 60))
    p50[30:] *= 2.0  # one real step must not count as noise
    sigma = compare.run_noise(pd.Series(p50))
    assert 0.03 < sigma < 0.08
    assert compare.run_noise(pd.Series(p50[:4])) is None  # too few runs to tell


def test_sketch_samples_follow_the_quantiles():
    from analysis.history import SKETCH_QUANTILES

    values = np.random.default_rng(2).lognormal(np.log(5), 0.4, 5000)
    sketch = list(np.quantile(values, SKETCH_QUANTILES))
    rebuilt = compare.samples_from_sketch(sketch, 1000)
    assert abs(np.median(rebuilt) / np.median(values) - 1) < 0.02


def _comparison() -> Comparison:
    rows = [
        ComparisonRow("a", "a", "logging", "UpdateRun", 10, 10, 1.0, 0.9, 1.1, Verdict.NO_CHANGE),
        ComparisonRow("a", "b", "retrieval", "GetRun", 10, 5, 0.5, 0.4, 0.6, Verdict.IMPROVEMENT),
        ComparisonRow("a", "a", "logging", "CreateRun", 10, 13, 1.3, 1.2, 1.4, Verdict.REGRESSION),
    ]
    return compare.comparison(rows, "main", "pr-42", 0.10)


def test_markdown_matches_the_expected_file():
    """Regressions first, then improvements; one row per comparison; the summary line counts them."""
    assert comparisons.markdown(_comparison()) == (FIXTURES / "comparison.md").read_text()


def test_one_pair_of_targets_is_named_once_above_the_table():
    rows = [
        ComparisonRow("old", "new", "logging", name, 10, 11, 1.1, 1.0, 1.2, Verdict.NO_CHANGE)
        for name in ("CreateRun", "UpdateRun")
    ]
    text = comparisons.markdown(compare.comparison(rows, "A", "B", 0.03))
    assert "**A** = `A`, **B** = `B`, target `old → new`: 2 request names compared" in text
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert table[0].startswith("| suite | request |") and all("old → new" not in line for line in table)
    assert len(table) == 4


def test_comparison_round_trips_through_json(tmp_path):
    result = _comparison()
    assert Comparison.read(result.write(tmp_path / "c.json")) == result
    assert json.loads((tmp_path / "c.json").read_text())["rows"][2]["verdict"] == "regression"


@pytest.mark.servers
def test_compare_two_real_smoke_runs(smoke_run, tmp_path):
    first, _ = smoke_run
    second = tmp_path / "second"
    run = run_smoke(second, "fasttrackml-sqlite", "retrieval")
    assert run.returncode == 0, run.stderr[-2000:]
    assert metadata(second, "fasttrackml-sqlite", "retrieval")["status"] == "ok"
    markdown = tmp_path / "comparison.md"
    result = run_cli("compare", str(first), str(second), "--markdown", str(markdown), "--fail-on-regression")
    assert result.returncode in (0, 1), result.stderr
    text = markdown.read_text()
    assert "target `fasttrackml-sqlite`: 5 request names compared" in text  # named once, above the table
    rows = [line for line in text.splitlines() if line.startswith("| retrieval |")]
    assert len(rows) == 5  # the five retrieval request names, the only target x suite in both
    assert all(("regression" in r) or ("improvement" in r) or ("no change" in r) for r in rows)
    assert result.returncode == (1 if "🔴" in text else 0)


@pytest.mark.servers
def test_nothing_in_common_explains_why(smoke_run, tmp_path):
    first, _ = smoke_run
    result = run_cli(
        "compare",
        str(first),
        str(first),
        "--map",
        "fasttrackml-sqlite=no-such-target",
        "--markdown",
        str(tmp_path / "c.md"),
    )
    assert result.returncode == 1
    assert "nothing to compare" in result.stderr and "--map" in result.stderr
