"""The gate on a change: confirmation by a second measurement, acknowledgement, the short comment,
and (on real servers) a slowed candidate that fails the gate, then passes it when acknowledged."""

from __future__ import annotations

import dataclasses
import json
import math

import pandas as pd
import pytest

from analysis import gate, paired
from cli import ab_stages
from cli.tables import print_comparison_table
from core.layout import ABFiles
from core.records import (
    ABMetadata,
    Comparison,
    ComparisonRow,
    CpuCost,
    Gate,
    Outcome,
    ResourceRow,
    Status,
    Verdict,
)
from report import comparisons
from services import launcher
from services.environments import ensure_environment
from services.registry import load_registry
from tests.conftest import FIXTURES, run_cli
from tests.proxies import proxy


def _row(name: str, ratio: float, verdict: Verdict, suite: str = "logging", **more: object) -> ComparisonRow:
    return ComparisonRow("fasttrackml-sqlite", "fasttrackml-sqlite", suite, name, 2.0, 2.0 * ratio, ratio,
                         ratio * 0.97, ratio * 1.03, verdict, **more)  # fmt: skip


def _comparison(*rows: ComparisonRow, cost: float | None = 1.01) -> Comparison:
    resources = (ResourceRow("logging", 0.5, 0.5 * (cost or 1), cost, 0.99, 1.03, 40.0, 41.0),) if cost else ()
    return Comparison("fasttrackml-sqlite@A", "fasttrackml-sqlite@B", 0.03, "paired", rows, resources=resources)


FIRST = _comparison(
    _row("LogMetricBatch100", 1.20, Verdict.REGRESSION),
    _row("UpdateRun", 1.06, Verdict.REGRESSION),
    _row("CreateRun", 0.80, Verdict.IMPROVEMENT),
    _row("LogMetricSingle", 1.00, Verdict.NO_CHANGE),
)
SECOND = _comparison(_row("LogMetricBatch100", 1.18, Verdict.REGRESSION), _row("UpdateRun", 1.01, Verdict.NO_CHANGE))


def test_only_a_regression_both_measurements_call_stands():
    confirmed = gate.confirm(FIRST, SECOND, "20261128T000000Z-abcd")
    marks = {r.name: r.confirmed for r in confirmed.rows}
    assert marks == {"LogMetricBatch100": True, "UpdateRun": False, "CreateRun": None, "LogMetricSingle": None}
    assert [r.name for r in confirmed.regressions] == ["LogMetricBatch100"]
    assert confirmed.confirmation == "20261128T000000Z-abcd"
    assert gate.regressed_suites(FIRST) == ("logging",)
    # the record keeps the marks through its file
    assert Comparison.from_json(json.loads(json.dumps(confirmed.to_json()))) == confirmed


def test_the_outcome_fails_on_a_standing_regression_unless_acknowledged():
    confirmed = gate.confirm(FIRST, SECOND, "x")
    failed = gate.judge([confirmed])
    assert failed.outcome == Outcome.REGRESSION and failed.outcome.fails
    assert failed.reason == (
        "1 regression(s) (each called by both measurements): fasttrackml-sqlite logging/LogMetricBatch100 ×1.200"
    )
    passed = gate.judge([confirmed], "the pull request is labelled performance-expected")
    assert passed.outcome == Outcome.ACKNOWLEDGED and not passed.outcome.fails
    assert passed.reason.endswith("; acknowledged: the pull request is labelled performance-expected")
    clean = gate.judge([gate.confirm(FIRST, _comparison(cost=None), "x")])
    assert clean.outcome == Outcome.PASS
    assert (
        clean.reason
        == "4 request names compared, none regressed (2 called once and not confirmed by a second measurement)"
    )


def test_a_comparison_without_a_verdict_fails_the_gate_it_cannot_vouch():
    broken = _comparison(_row("GetRun", math.nan, Verdict.NO_VERDICT, reason="round 3 of B: failed"))
    result = gate.judge([_comparison(_row("CreateRun", 1.0, Verdict.NO_CHANGE)), broken])
    assert result.outcome == Outcome.NO_VERDICT and result.outcome.fails
    assert "round 3 of B: failed" in result.reason
    assert gate.judge([]).outcome == Outcome.NO_VERDICT


def test_the_printed_table_shows_a_row_without_a_verdict_and_why(capsys):
    withheld = _row("GetRun", math.nan, Verdict.NO_VERDICT, reason="trends from 0.6 to 1.4")
    print_comparison_table(_comparison(withheld, _row("CreateRun", 1.2, Verdict.REGRESSION)))
    printed = capsys.readouterr().out
    assert "no verdict: trends from 0.6 to 1.4" in printed and "regression" in printed
    assert "nan" not in printed


def test_the_comment_shows_changed_rows_unchanged_count_cost_and_link_and_mentions_no_one():
    confirmed = gate.confirm(FIRST, SECOND, "x")
    result = gate.judge(
        [confirmed],
        "expected by @someone",
        baseline_commit="a" * 40,
        candidate_commit="b" * 40,
        details_url="https://example.invalid/run/1",
    )
    text = comparisons.comment(result)
    lines = text.splitlines()
    assert lines[0] == comparisons.MARKER and lines[1] == "### Performance: 🟡 regression, acknowledged as expected"
    assert "`aaaaaaaaaaaa` (baseline) → `bbbbbbbbbbbb` (candidate)" in text
    table = [line for line in lines if line.startswith("| fasttrackml-sqlite | logging |") and line.count("|") == 7]
    assert [row.split(" | ")[2] for row in table] == ["LogMetricBatch100", "UpdateRun", "CreateRun"]
    assert "🔴 regression (confirmed)" in table[0] and "(not confirmed by a second measurement)" in table[1]
    assert "1 request name(s) unchanged." in lines
    assert "| fasttrackml-sqlite | logging | 1.010 | 0.990 – 1.030 |" in lines  # the server's CPU per request
    assert text.rstrip().endswith("[Full comparison](https://example.invalid/run/1)")
    assert "@someone" not in text and "@\u200bsomeone" in text  # nobody is notified
    assert Gate.from_json(json.loads(json.dumps(result.to_json()))) == result


def test_a_costlier_request_is_shown_in_the_comment_and_never_fails_the_gate():
    costlier = CpuCost(0.40, 0.42, 1.05, 1.03, 1.07, Verdict.REGRESSION)
    steady = CpuCost(0.30, 0.30, 1.0, 0.99, 1.01, Verdict.NO_CHANGE)
    result = gate.judge([_comparison(_row("LogMetricBatch500", 1.0, Verdict.NO_CHANGE, cpu=costlier),
                                     _row("CreateRun", 1.0, Verdict.NO_CHANGE, cpu=steady))])  # fmt: skip
    assert result.outcome == Outcome.PASS
    lines = comparisons.comment(result).splitlines()
    assert "| CPU per request (not gated) | suite | request | B/A | interval |" in lines
    assert "| fasttrackml-sqlite | logging | LogMetricBatch500 | 1.050 | 1.030 – 1.070 |" in lines
    assert not any("| CreateRun |" in line for line in lines)
    assert "2 request name(s) unchanged." in lines


@pytest.mark.process
def test_the_gate_verb_reads_ab_folders_and_names_a_missing_job(tmp_path):
    from tests.conftest import FIXTURES

    folder = tmp_path / "ab_outputs" / "fasttrackml-sqlite-logging"
    folder.mkdir(parents=True)
    (folder / "ab.json").write_text((FIXTURES / "ab.json").read_text())
    gate.confirm(FIRST, SECOND, "x").write(folder / "comparison.json")
    planned = {"include": [{"target": "fasttrackml-sqlite", "suite": "logging"}]}
    args = ["gate", str(tmp_path / "ab_outputs"), "--comment", str(tmp_path / "v" / "comment.md"),
            "--json", str(tmp_path / "v" / "gate.json"), "--github-output", str(tmp_path / "out")]  # fmt: skip
    failed = run_cli(*args, "--matrix", json.dumps(planned))
    assert failed.returncode == 1 and "gate: regression" in failed.stdout
    assert (tmp_path / "out").read_text() == "outcome=regression\n"
    assert Gate.read(tmp_path / "v" / "gate.json").outcome == Outcome.REGRESSION
    acknowledged = run_cli(*args, "--acknowledge", "a known cost of the new index")
    assert acknowledged.returncode == 0 and "gate: acknowledged" in acknowledged.stdout
    planned["include"].append({"target": "fasttrackml-postgres", "suite": "logging"})
    missing = run_cli(*args, "--acknowledge", "known", "--matrix", json.dumps(planned))
    assert missing.returncode == 1
    gate_record = Gate.read(tmp_path / "v" / "gate.json")
    assert any(r.reason == "the A/B job left no output" for c in gate_record.comparisons for r in c.rows)
    assert gate_record.outcome == Outcome.NO_VERDICT  # an acknowledgement covers a regression, not a gap
    nothing = run_cli("gate", str(tmp_path / "nowhere"))
    assert (
        nothing.returncode == 2 and nothing.stderr.strip() == f"error: FOLDER: {tmp_path / 'nowhere'} is not a folder"
    )


@pytest.mark.servers
@pytest.mark.timing
def test_a_slowed_candidate_is_confirmed_and_fails_the_gate_then_passes_acknowledged(tmp_path):
    """Real FastTrackML on both sides; the candidate behind a proxy that adds 30 ms to each request."""
    target = load_registry().targets["fasttrackml-sqlite"]
    ensure_environment(target)
    out = tmp_path / "ab"

    def serve(side: str):  # noqa: ANN202
        uri = target.server.sqlite_uri.format(path=tmp_path / f"{side}.db")
        return launcher.launch(target, uri, tmp_path, tmp_path / f"{side}.log")

    with serve("a") as a, serve("b") as b, proxy(a.url) as fast, proxy(b.url, delay=0.03) as slow:
        result = run_cli(
            "ab", "--baseline", f"fasttrackml-sqlite@{fast}", "--candidate", f"fasttrackml-sqlite@{slow}",
            "--suites", "retrieval", "--rounds", "3", "--contention-rounds", "3", "--round-iterations", "3",
            "--confirm", "--fail-on-regression", "--out", str(out),
        )  # fmt: skip
    assert result.returncode == 1, result.stderr[-3000:]
    assert "measuring again to confirm" in result.stdout + result.stderr
    comparison = Comparison.read(out / "comparison.json")
    assert comparison.confirmation and (out / "confirmation" / "comparison.json").exists()
    assert comparison.regressions and all(r.confirmed for r in comparison.regressions)
    failed = run_cli("gate", str(out), "--comment", str(tmp_path / "comment.md"))
    assert failed.returncode == 1 and "🔴 regression (confirmed)" in (tmp_path / "comment.md").read_text()
    passed = run_cli("gate", str(out), "--acknowledge", "slower by design", "--comment", str(tmp_path / "c2.md"))
    assert passed.returncode == 0
    assert "acknowledged: slower by design" in (tmp_path / "c2.md").read_text()


def test_an_ab_stopped_before_its_judge_is_judged_from_its_rounds_for_the_gate(tmp_path):
    """An A/B interrupted mid-way stores its metadata and the rounds it ran, never a comparison: the
    gate judges those rounds, and says which are missing instead of only that it was interrupted."""
    meta = ABMetadata.read(FIXTURES / "ab.json")
    ran = meta.results[:6]
    meta = dataclasses.replace(meta, results=ran, status=Status.PARTIAL, error="interrupted (Ctrl-C or SIGTERM)")
    files = ABFiles(tmp_path)
    meta.write(files.metadata)
    pd.concat([paired.round_rows(None, r, 0.0, meta.interleaved) for r in ran]).to_csv(files.rounds, index=False)
    comparison = ab_stages.judged(files)
    assert not files.comparison.exists()  # the gate reads its inputs, and writes nothing into them
    assert {r.verdict for r in comparison.rows} == {Verdict.NO_VERDICT}
    reasons = {r.suite: r.reason for r in comparison.rows}
    assert reasons == {"logging": "only 6 of 8 rounds ran", "retrieval": "only 0 of 8 rounds ran"}
    assert gate.judge([comparison]).outcome == Outcome.NO_VERDICT
    assert ab_stages.judged(ABFiles(tmp_path / "nothing")) is None
