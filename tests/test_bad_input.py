"""Impossible inputs are named and never become numbers: each case is a real k6 CSV damaged that way."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from analysis.k6csv import read_samples
from analysis.summarise import summarise_file, summarise_folder
from report import draw, findings
from services.registry import load_registry
from tests.conftest import FIXTURE_CSV, output_folder, run_cli

LINES = FIXTURE_CSV.read_text().splitlines(keepends=True)
STEM = "fasttrackml-sqlite_retrieval"
TARGETS = load_registry().default_targets


def _damaged(tmp_path: Path, change: Callable[[list[str]], list[str]]) -> Path:
    """The fixture CSV, its lines passed through `change`."""
    path = tmp_path / "damaged.csv"
    path.write_text("".join(change(list(LINES))))
    return path


def _set_first(lines: list[str], metric: str, name: str, field: int, value: str) -> list[str]:
    """Set column `field` of the first timed `metric` row of request `name`."""
    for i, line in enumerate(lines):
        cells = line.rstrip("\n").split(",")
        if cells[0] == metric and cells[9] == name and cells[10] == "retrieval":
            cells[field] = value
            lines[i] = ",".join(cells) + "\n"
            return lines
    raise AssertionError(f"no {metric} row for {name}")


@pytest.mark.parametrize("value", ["-3.5", "inf", "NaN", "9000000000"])
def test_an_impossible_latency_is_excluded_and_named(tmp_path, value):
    path = _damaged(tmp_path, lambda lines: _set_first(lines, "successful_request_duration", "GetRun", 2, value))
    samples = read_samples(path)
    assert samples.impossible == 1
    [warning] = samples.warnings()
    assert str(path) in warning and "1 impossible latency sample" in warning
    stats, clean = summarise_file(path), summarise_file(FIXTURE_CSV)
    assert stats.loc["GetRun", "count"] == 4 and stats.loc["GetRun", "errors"] == 0  # it did succeed
    valid = read_samples(path).frame.query("metric == 'successful_request_duration' and name == 'GetRun' and valid")
    assert len(valid) == 3 and stats.loc["GetRun", "max_ms"] == pytest.approx(valid["value"].max())
    assert stats.loc["GetRun", "max_ms"] <= clean.loc["GetRun", "max_ms"]


def test_an_unexpected_status_is_an_error_even_without_a_failed_check(tmp_path):
    def server_error(lines: list[str]) -> list[str]:
        lines = _set_first(lines, "http_reqs", "SearchRuns", 6, "false")
        return _set_first(lines, "http_reqs", "SearchRuns", 11, "500")

    stats = summarise_file(_damaged(tmp_path, server_error))
    assert stats.loc["SearchRuns", "errors"] == 1 and stats.loc["SearchRuns", "error_rate"] == 0.25
    assert stats.loc["GetRun", "errors"] == 0


def test_requests_without_any_successful_sample_are_all_errors(tmp_path):
    def no_success(lines: list[str]) -> list[str]:
        return [
            line
            for line in lines
            if not line.startswith("successful_request_duration") or ",MetricHistory," not in line
        ]

    stats = summarise_file(_damaged(tmp_path, no_success))
    row = stats.loc["MetricHistory"]
    assert row["count"] == 4 and row["errors"] == 4 and pd.isna(row["p50_ms"])


@pytest.mark.parametrize(
    "keep",
    [
        lambda line: line.startswith("metric_name"),  # a header only
        lambda line: line.startswith("metric_name") or "::setup" in line,  # setup requests only
    ],
    ids=["header-only", "setup-only"],
)
def test_a_csv_without_timed_samples_is_listed_as_missing(tmp_path, keep):
    out = output_folder(tmp_path / "out", STEM, "mlflow-sqlite_retrieval")
    (out / f"{STEM}.csv").write_text("".join(line for line in LINES if keep(line)))
    result = summarise_folder(out)
    assert set(result.summary["target"]) == {"mlflow-sqlite"}
    assert any(f"{STEM}.csv: no timed samples" in w and "listed as missing" in w for w in result.warnings)
    notes = findings.problems(result.pairs, result.summary, TARGETS, ["retrieval"])
    assert "FastTrackML (SQLite) · retrieval: missing (no timed samples in its CSV)." in notes


def test_a_csv_cut_mid_row_is_truncated_and_its_pair_partial(tmp_path):
    out = output_folder(tmp_path / "out", STEM)
    text = FIXTURE_CSV.read_text()
    (out / f"{STEM}.csv").write_text(text[: len(text) * 9 // 10 + 7])  # ends in the middle of a line
    [pair] = summarise_folder(out).pairs
    assert pair.status == "partial" and pair.meta.status == "ok"
    assert any("truncated (the last row is cut off)" in w for w in pair.warnings)
    assert set(pair.stats["status"]) == {"partial"}


def test_fewer_requests_than_the_metadata_says_is_truncated(tmp_path):
    out = output_folder(tmp_path / "out", STEM)
    # the last iteration's rows are gone, but every line is whole
    (out / f"{STEM}.csv").write_text("".join(LINES[:-60]))
    [pair] = summarise_folder(out).pairs
    assert pair.status == "partial"
    assert any("its metadata says 20 ran" in w for w in pair.warnings)


def test_partial_and_failed_pairs_are_in_no_chart_or_finding(tmp_path):
    out = output_folder(tmp_path / "out", "fasttrackml-sqlite_retrieval", "mlflow-sqlite_retrieval")
    output_folder(out, "fasttrackml-postgres_retrieval", status="partial", error="the server exited during the run")
    output_folder(out, "mlflow-postgres_retrieval", status="failed", error="not healthy within 60 s")
    result = summarise_folder(out)
    ok_targets = {"fasttrackml-sqlite", "mlflow-sqlite"}
    overview = draw.overview_chart(result.summary, TARGETS).to_dict()
    drawn = {r["target"] for r in overview["datasets"][overview["data"]["name"]] if r["note"] != "missing"}
    assert drawn == ok_targets
    distribution = draw.distribution_chart(result.quantiles, result.summary, TARGETS).to_dict()
    assert {r["target"] for r in distribution["datasets"][distribution["data"]["name"]]} == ok_targets
    throughput = draw.throughput_chart(result.summary, TARGETS).to_dict()
    assert {r["target"] for r in throughput["datasets"][throughput["data"]["name"]]} == ok_targets
    fastest = findings.fastest_per_name(result.summary, TARGETS)
    assert set(fastest["fastest"]) | set(fastest["slowest"]) <= {"FastTrackML (SQLite)", "MLflow (SQLite)"}
    notes = "\n".join(findings.problems(result.pairs, result.summary, TARGETS, ["retrieval"]))
    assert "FastTrackML (PostgreSQL) · retrieval: partial, excluded" in notes
    assert "MLflow (PostgreSQL) · retrieval: failed, excluded" in notes


def test_findings_of_one_target_alone_name_no_fastest_or_slowest(tmp_path):
    result = summarise_folder(output_folder(tmp_path / "out", STEM))
    assert findings.fastest_per_name(result.summary, TARGETS).empty
    assert findings.key_table(result.summary, [], TARGETS) == []


@pytest.mark.process
def test_a_normal_report_prints_no_dependency_warning(tmp_path):
    out = output_folder(tmp_path / "out", STEM, "mlflow-sqlite_retrieval")
    result = run_cli("report", "--out", str(out), "--site", str(tmp_path / "site"), "--history", str(tmp_path / "h"))
    assert result.returncode == 0, result.stderr
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert [line for line in lines if "warn" in line.lower()] == [], lines
    assert lines[-1].startswith("Site built")


@pytest.mark.process
def test_metadata_of_a_newer_schema_is_a_one_line_error_naming_the_file(tmp_path):
    out = output_folder(tmp_path / "out", STEM, schema_version=7)
    result = run_cli("report", "--out", str(out), "--site", str(tmp_path / "site"), "--history", str(tmp_path / "h"))
    assert result.returncode == 1
    assert f"{STEM}.json: run metadata of schema 7, written by a newer version of this suite" in result.stderr
    assert json.loads((out / f"{STEM}.json").read_text())["schema_version"] == 7  # untouched
