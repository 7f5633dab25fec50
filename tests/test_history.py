"""History: idempotent append, corrupt files, failed runs; change points found where they are."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import detect, history, trends
from analysis.summarise import summarise_folder
from core.errors import InputError
from core.records import Comparison, ComparisonRow, HistoryRecord, Verdict
from report import history_pages
from report.inputs import ReportSettings
from services.registry import load_registry
from tests.conftest import ROOT, output_folder, run_cli

FIXTURES = ROOT / "tests" / "fixtures"


def _output_folder(tmp_path: Path, statuses: dict[str, str]) -> Path:
    for target, status in statuses.items():
        error = None if status == "ok" else "the server exited during the run"
        output_folder(tmp_path / "out", f"{target}_retrieval", status=status, error=error)
    return tmp_path / "out"


def test_recording_twice_changes_nothing(tmp_path):
    out = _output_folder(tmp_path, {"fasttrackml-sqlite": "ok"})
    store = tmp_path / "history"
    first = history.record(summarise_folder(out), store)
    files = list(store.rglob("*.json.gz"))
    assert len(files) == 1 and "recorded in" in first[0][1]
    before = (files[0].read_bytes(), files[0].stat().st_mtime_ns)
    again = history.record(summarise_folder(out), store)
    assert again[0][1] == "already recorded"
    assert (files[0].read_bytes(), files[0].stat().st_mtime_ns) == before
    record = json.loads(gzip.decompress(files[0].read_bytes()))
    assert record["schema_version"] == HistoryRecord.SCHEMA
    assert files[0].relative_to(store).parts[:3] == ("runs", record["run_id"][:4], record["run_id"][4:6])
    assert {r["name"] for r in record["rows"]} == {
        "SearchRuns",
        "SearchExperiments",
        "MetricHistory",
        "GetRun",
        "GetExperiment",
    }
    assert all(len(r["sketch_ms"]) == len(history.SKETCH_QUANTILES) for r in record["rows"])


def test_failed_targets_are_recorded_marked_and_left_out_of_trends(tmp_path):
    out = _output_folder(tmp_path, {"fasttrackml-sqlite": "ok", "mlflow-sqlite": "partial"})
    store = tmp_path / "history"
    history.record(summarise_folder(out), store)
    frame = history.load(store).frame()
    assert set(frame[frame["status"] == "partial"]["target"]) == {"mlflow-sqlite"}
    assert [p for p in detect.detect(frame) if p.target == "mlflow-sqlite"] == []


@pytest.mark.process
def test_corrupt_and_unknown_schema_files_are_named_and_the_rest_still_loads(tmp_path):
    out = _output_folder(tmp_path, {"fasttrackml-sqlite": "ok"})
    store = tmp_path / "history"
    history.record(summarise_folder(out), store)
    month = next(store.glob("runs/*/*"))
    (month / "20260101T000000Z-broken.json.gz").write_bytes(b"not gzip at all")
    (month / "20260102T000000Z-future.json.gz").write_bytes(gzip.compress(b'{"schema_version": 99}'))
    loaded = history.load(store)
    assert len(loaded.records) == 1
    assert any("20260101T000000Z-broken.json.gz: corrupt history file" in w for w in loaded.warnings)
    assert any(
        "20260102T000000Z-future.json.gz: history record of schema 99, written by a newer version" in w
        for w in loaded.warnings
    )
    result = run_cli(
        "compare", str(out), loaded.records[0].run_id, "--history", str(store), "--markdown", str(tmp_path / "c.md")
    )
    assert result.returncode == 0, result.stderr


def _synthetic(steps: dict[str, list[tuple[int, float]]], runs: int = 120, noise: float = 0.03) -> pd.DataFrame:
    """A history frame with a p50 series per target: base 10 ms times each (from run, factor) step."""
    rng = np.random.default_rng(7)
    rows = []
    for target, target_steps in steps.items():
        level = np.full(runs, 10.0)
        for start, factor in target_steps:
            level[start:] *= factor
        values = level * rng.lognormal(0, noise, runs)
        for i, value in enumerate(values):
            rows.append(
                {
                    "run_id": f"run{i:04d}",
                    "commit": f"c{i:04d}",
                    "started_at": pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(hours=i),
                    "profile": "quick",
                    "status": "ok",
                    "target": target,
                    "suite": "logging",
                    "name": "CreateRun",
                    "p50_ms": value,
                    "p95_ms": value * 2,
                }
            )
    return pd.DataFrame(rows)


def test_known_steps_are_found_where_they_are_and_nowhere_else():
    frame = _synthetic(
        {
            "flat": [],
            "slower": [(60, 1.30)],
            "faster-then-tiny": [(30, 0.75), (90, 1.04)],  # the 4% step is under the 10% minimum magnitude
        }
    )
    points = detect.detect(frame, detect.Options(), statistics=("p50_ms",))
    found = sorted((p.target, p.run_id, p.kind) for p in points)
    assert found == [("faster-then-tiny", "run0030", "improvement"), ("slower", "run0060", "regression")]
    slower = next(p for p in points if p.target == "slower")
    assert slower.magnitude == pytest.approx(0.30, abs=0.03)
    assert slower.commit_before == "c0059" and slower.commit_after == "c0060" and slower.pvalue < 0.001


def test_min_magnitude_is_an_option():
    frame = _synthetic({"tiny": [(60, 1.06)]}, noise=0.005)
    assert detect.detect(frame, detect.Options(min_magnitude=0.10), statistics=("p50_ms",)) == []
    points = detect.detect(frame, detect.Options(min_magnitude=0.03), statistics=("p50_ms",))
    assert [p.run_id for p in points] == ["run0060"]


def _ci_job(tmp_path: Path, name: str, pairs: list[str], run_id: str, **changes: object) -> Path:
    """The artifact folder of one CI bench job: its pairs, under the workflow run's shared run id."""
    return output_folder(tmp_path / name, *pairs, run_id=run_id, **changes)


def test_the_jobs_of_one_workflow_run_become_one_record_and_recording_again_changes_nothing(tmp_path):
    run_id = "20261126T101500Z-gh42.1"
    store = tmp_path / "history"
    first = _ci_job(tmp_path, "job1", ["fasttrackml-sqlite_retrieval"], run_id)
    second = _ci_job(tmp_path, "job2", ["mlflow-sqlite_retrieval", "mlflow-sqlite_logging"], run_id)
    assert "recorded in" in history.record(summarise_folder(first), store)[0][1]
    assert "added 2 pair(s)" in history.record(summarise_folder(second), store)[0][1]
    files = list(store.rglob("*.json.gz"))
    before = files[0].read_bytes()
    assert history.record(summarise_folder(second), store)[0][1] == "already recorded"
    assert history.record(summarise_folder(first), store)[0][1] == "already recorded"
    assert len(files) == 1 and files[0].read_bytes() == before
    (record,) = history.load(store).records
    assert record.run_id == run_id and len(record.pairs) == 3
    assert {r.target for r in record.rows} == {"fasttrackml-sqlite", "mlflow-sqlite"}


def test_a_rerun_jobs_finished_pair_repairs_the_run_and_a_failed_one_never_replaces_a_finished(tmp_path):
    run_id = "20261126T101500Z-gh43.1"
    store = tmp_path / "history"
    failed = _ci_job(tmp_path, "attempt1", ["fasttrackml-sqlite_retrieval"], run_id, status="failed", error="k6 died")
    history.record(summarise_folder(failed), store)
    assert history.load(store).records[0].status_of("fasttrackml-sqlite", "retrieval") == "failed"
    repaired = _ci_job(tmp_path, "attempt2", ["fasttrackml-sqlite_retrieval"], run_id)
    outcome = history.record(summarise_folder(repaired), store)[0][1]
    assert outcome.startswith("added 0 pair(s), repaired 1 in ")
    (record,) = history.load(store).records
    assert record.status_of("fasttrackml-sqlite", "retrieval") == "ok" and record.complete
    assert {r.target for r in record.rows} == {"fasttrackml-sqlite"} and len(record.pairs) == 1
    assert history.record(summarise_folder(failed), store)[0][1] == "already recorded"  # an old failure stays out
    assert history.load(store).records[0].complete


def test_the_baseline_is_the_newest_complete_main_run_of_the_same_profile_never_the_run_itself(tmp_path):
    store = tmp_path / "history"
    pair = ["fasttrackml-sqlite_retrieval"]
    runs = {
        "20261101T000000Z-old": {"branch": "main", "profile": "quick"},
        "20261102T000000Z-good": {"branch": "main", "profile": "quick"},
        "20261103T000000Z-standard": {"branch": "main", "profile": "standard"},
        "20261104T000000Z-branch": {"branch": "feature", "profile": "quick"},
        "20261105T000000Z-partial": {"branch": "main", "profile": "quick", "status": "partial"},
        "20261106T000000Z-this": {"branch": "main", "profile": "quick"},
    }
    for run_id, fields in runs.items():
        source = json.loads((output_folder(tmp_path / "probe", *pair) / f"{pair[0]}.json").read_text())["source"]
        changes = {"profile": fields["profile"], "status": fields.get("status", "ok")}
        changes["source"] = source | {"branch": fields["branch"]}
        changes["started_at"] = f"2026-11-{run_id[6:8]}T00:00:00+00:00"
        history.record(summarise_folder(_ci_job(tmp_path, run_id, pair, run_id, **changes)), store)
    loaded = history.load(store)
    # this run, already recorded (push: record, then compare), is skipped as its own baseline
    assert loaded.baseline("main", "quick", {"fasttrackml-sqlite"}, {"20261106T000000Z-this"}).run_id.endswith("good")
    assert loaded.baseline("main", "standard", {"fasttrackml-sqlite"}, set()).run_id.endswith("standard")
    with pytest.raises(InputError, match="no complete run of main with profile quick"):
        loaded.baseline("main", "quick", {"mlflow-postgres"}, set())
    assert [p for p in loaded.profiles()] == ["quick", "standard"]


@pytest.mark.process
def test_compare_refuses_runs_of_different_profiles(tmp_path):
    quick = output_folder(tmp_path / "quick", "fasttrackml-sqlite_retrieval", profile="quick")
    standard = output_folder(tmp_path / "standard", "fasttrackml-sqlite_retrieval", profile="standard")
    result = run_cli("compare", str(quick), str(standard), "--markdown", str(tmp_path / "c.md"))
    assert result.returncode == 1
    assert "A is profile quick and B profile standard: runs of different profiles are not comparable" in result.stderr
    assert not (tmp_path / "c.md").exists()


def _nightly_ab(folder: Path, night: int, ratio: float, revision: str) -> Path:
    """The folder a nightly A/B leaves: the real fixture ab.json, with its night, the candidate's
    revision and a comparison of ratio `ratio` on SearchRuns."""
    meta = json.loads((FIXTURES / "ab.json").read_text())
    meta |= {"ab_id": f"202611{night:02d}T021700Z-ab{night}", "started_at": f"2026-11-{night:02d}T02:17:00+00:00"}
    meta["provenance"] = {"candidate_revision": revision, "candidate_image": "gresearch/fasttrackml@sha256:1"}
    folder.mkdir(parents=True)
    (folder / "ab.json").write_text(json.dumps(meta))
    row = ComparisonRow(
        "fasttrackml-sqlite",
        "fasttrackml-sqlite",
        "retrieval",
        "SearchRuns",
        2.0,
        2.0 * ratio,
        ratio,
        ratio * 0.98,
        ratio * 1.02,
        Verdict.REGRESSION if ratio > 1.03 else Verdict.NO_CHANGE,
    )
    Comparison("A", "B", 0.03, "paired", (row,), "").write(folder / "comparison.json")
    return folder


def test_the_nightly_ab_is_recorded_once_and_a_step_in_its_ratio_is_a_change_point(tmp_path):
    store = tmp_path / "history"
    outputs = tmp_path / "ab_outputs"
    for night in range(1, 13):
        ratio = (1.0 if night < 7 else 1.25) * (1 + 0.004 * (night % 3))
        _nightly_ab(outputs / f"night-{night}", night, ratio, f"{night:040x}")
    assert all("recorded in" in outcome for _, outcome in history.record_ab(outputs, store))
    assert all(outcome == "already recorded" for _, outcome in history.record_ab(outputs, store))
    records, warnings = history.load_ab(store)
    assert len(records) == 12 and not warnings
    frame = history.ab_frame(records)
    (point,) = detect.detect_ab(frame, detect.Options(min_runs=3))
    assert point.commit_after == f"{7:040x}" and point.kind == "regression" and point.after_ms / point.before_ms > 1.2


def test_the_trends_page_shows_the_nightly_ab_with_links_to_the_candidates_commits(tmp_path):
    store = tmp_path / "history"
    for night in range(1, 4):
        _nightly_ab(tmp_path / "ab_outputs" / f"night-{night}", night, 1.01, f"{night:040x}")
    history.record_ab(tmp_path / "ab_outputs", store)
    docs = tmp_path / "docs"
    (docs / "img").mkdir(parents=True)
    targets = list(load_registry().targets.values())
    history_pages.write_history_pages(trends.analyse(store, detect.Options()), targets, docs, ReportSettings())
    page = (docs / "trends.md").read_text()
    assert "## Nightly paired A/B" in page and "### SearchRuns (retrieval)" in page
    assert f"(https://github.com/G-Research/fasttrackml/commit/{3:040x})" in page
    assert (docs / "img" / "trends" / "ab-00-retrieval-SearchRuns.png").exists()
    spec = json.loads((docs / "img" / "trends" / "ab-00-retrieval-SearchRuns.vl.json").read_text())
    nights = next(iter(spec["datasets"].values()))  # a night's point leads to the candidate's commit
    assert [n["href"] for n in nights][-1] == f"https://github.com/G-Research/fasttrackml/commit/{3:040x}"


def test_the_latest_runs_alone_can_be_read(tmp_path):
    store = tmp_path / "history"
    for run_id in ("20261126T000000Z-aaaaaa", "20261127T000000Z-bbbbbb", "20261128T000000Z-cccccc"):
        out = output_folder(tmp_path / run_id, "fasttrackml-sqlite_retrieval", run_id=run_id)
        history.record(summarise_folder(out), store)
    assert [r.run_id for r in history.load(store, latest=2).records] == [
        "20261127T000000Z-bbbbbb",
        "20261128T000000Z-cccccc",
    ]
    assert len(history.load(store).records) == 3
