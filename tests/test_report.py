"""The report: statistics checked independently on real k6 output, bad input, charts by their specs."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import shutil
import statistics
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from analysis import summarise as summarise_module
from analysis.k6csv import read_samples
from analysis.summarise import summarise_file, summarise_folder
from cli import stages
from core.errors import InputError
from core.records import ABMetadata, Comparison
from report import ab_pages, draw, findings
from runner.k6 import k6_binary
from services import launcher
from services.environments import ensure_environment
from services.registry import load_registry
from tests.conftest import FIXTURE_CSV, ROOT, output_folder, run_cli

TARGETS = load_registry().default_targets


def _independent_stats(path: Path) -> dict[str, dict]:
    """Per request name, from the CSV with the csv module and `statistics` alone (no pandas)."""
    latencies: dict[str, list[float]] = {}
    requests: dict[str, int] = {}
    failed: dict[str, int] = {}
    with path.open() as f:
        for row in csv.DictReader(f):
            if not row["scenario"]:
                continue  # setup
            name = row["name"]
            if row["metric_name"] == "http_reqs":
                requests[name] = requests.get(name, 0) + 1
            elif row["metric_name"] == "successful_request_duration":
                latencies.setdefault(name, []).append(float(row["metric_value"]))
            elif row["metric_name"] == "checks" and float(row["metric_value"]) == 0:
                failed[name] = failed.get(name, 0) + 1
    result = {}
    for name, count in requests.items():
        values = sorted(latencies.get(name, []))
        cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else []
        result[name] = {
            "count": count,
            "errors": failed.get(name, 0),
            "mean_ms": statistics.fmean(values) if values else None,
            "p50_ms": statistics.median(values) if values else None,
            "p95_ms": cuts[94] if cuts else None,
            "max_ms": max(values) if values else None,
        }
    return result


def test_statistics_match_an_independent_computation_on_real_k6_output():
    expected = _independent_stats(FIXTURE_CSV)
    stats = summarise_file(FIXTURE_CSV)
    assert (
        set(stats.index)
        == set(expected)
        == {"SearchRuns", "SearchExperiments", "MetricHistory", "GetRun", "GetExperiment"}
    )
    for name, want in expected.items():
        got = stats.loc[name]
        assert got["count"] == want["count"] and got["errors"] == want["errors"] == 0
        for column in ("mean_ms", "p50_ms", "p95_ms", "max_ms"):
            assert got[column] == pytest.approx(want[column], rel=1e-9), (name, column)


@pytest.fixture(scope="module")
def mixed_csv(tmp_path_factory) -> Path:
    """Real k6 output with real failures: a 404 and a 200 with a wrong result count."""
    fml = load_registry().targets["fasttrackml-sqlite"]
    ensure_environment(fml)
    folder = tmp_path_factory.mktemp("mixed")
    uri = fml.server.sqlite_uri.format(path=folder / "t.db")
    with launcher.launch(fml, uri, folder, folder / "server.log") as server:
        path = folder / "mixed.csv"
        subprocess.run(
            [
                k6_binary(),
                "run",
                "-q",
                str(ROOT / "tests/k6/mixed.js"),
                "-e",
                f"BASE_URL={server.url}",
                "--out",
                f"csv={path}",
            ],
            env={"K6_CSV_TIME_FORMAT": "unix_milli", "PATH": "/usr/bin:/bin"},
            check=True,
            capture_output=True,
        )
    return path


@pytest.mark.servers
def test_failed_requests_count_as_errors_and_never_as_latency(mixed_csv):
    stats = summarise_file(mixed_csv)
    expected = _independent_stats(mixed_csv)
    assert stats.loc["Good", "errors"] == 0 and stats.loc["Good", "count"] == 5
    assert stats.loc["Missing", "errors"] == 5 and stats.loc["Missing", "error_rate"] == 1.0
    assert stats.loc["Short", "errors"] == 5  # status 200 but the wrong amount of data
    for name in ("Missing", "Short"):
        assert stats.loc[name, ["mean_ms", "p50_ms", "p95_ms", "max_ms"]].isna().all()
        assert stats.loc[name, "throughput_rps"] == 0
    assert stats.loc["Good", "p50_ms"] == pytest.approx(expected["Good"]["p50_ms"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("a,b,c\n1,2,3\n", "not a k6 CSV"),
        ("metric_name,timestamp,metric_value,check,error,name,scenario\n", r"lacks column\(s\) expected_response"),
    ],
)
def test_unusable_csv_is_a_one_line_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        read_samples(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_folder_problems_become_warnings_and_the_rest_is_reported(tmp_path):
    out = output_folder(tmp_path / "out", "fasttrackml-sqlite_retrieval", "mlflow-sqlite_retrieval")
    shutil.copy(FIXTURE_CSV, out / "mlflow-postgres_retrieval.csv")  # no metadata beside it
    (out / "fasttrackml-postgres_retrieval.json").write_text("{not json")
    quick = json.loads((out / "mlflow-sqlite_retrieval.json").read_text()) | {
        "profile": "quick",
        "ended_at": "2000-01-01",
    }
    (out / "mlflow-sqlite_retrieval.json").write_text(json.dumps(quick))
    result = summarise_folder(out)
    assert set(result.summary["target"]) == {"fasttrackml-sqlite"}
    joined = "\n".join(result.warnings)
    assert "mlflow-postgres_retrieval.csv: no metadata beside it" in joined
    assert "fasttrackml-postgres_retrieval.json: unreadable run metadata" in joined
    assert "mlflow-sqlite_retrieval.json: profile 'quick' differs" in joined


@pytest.mark.process
def test_report_exits_non_zero_when_nothing_can_be_reported(tmp_path):
    (tmp_path / "x_logging.csv").write_text("")
    result = run_cli("report", "--out", str(tmp_path), "--site", str(tmp_path / "site"))
    assert result.returncode == 1
    assert "no benchmark outputs" in result.stderr and not (tmp_path / "site").exists()


def test_charts_show_every_target_with_the_right_marks_and_fields(tmp_path):
    out = output_folder(tmp_path / "out", "fasttrackml-sqlite_retrieval", "mlflow-postgres_retrieval")
    result = summarise_folder(out)
    overview = draw.overview_chart(result.summary, TARGETS).to_dict()
    layers = overview["spec"]["layer"]
    assert overview["facet"]["field"] == "name" and overview["columns"] == 4
    assert [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in layers] == [
        "bar",
        "tick",
        "text",
    ]
    assert layers[0]["encoding"]["y"]["field"] == "p50_ms" and layers[1]["encoding"]["y"]["field"] == "p95_ms"
    assert layers[0]["encoding"]["color"]["scale"]["domain"] == [t.label for t in TARGETS]
    rows = overview["datasets"][overview["data"]["name"]]
    notes = {(r["target"], r["name"]): r["note"] for r in rows}
    assert notes[("mlflow-sqlite", "GetRun")] == "missing"  # no data: shown as missing, not zero
    assert notes[("fasttrackml-sqlite", "GetRun")] == ""
    distribution = draw.distribution_chart(result.quantiles, result.summary, TARGETS).to_dict()
    line = distribution["spec"]["layer"][0]
    assert line["mark"]["type"] == "line" and line["encoding"]["x"]["scale"]["type"] == "log"
    throughput = draw.throughput_chart(result.summary, TARGETS).to_dict()
    assert throughput["spec"]["layer"][0]["encoding"]["x"]["field"] == "throughput_rps"
    saved = draw.save(draw.overview_chart(result.summary, TARGETS), tmp_path / "img", "performanceReport")
    assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_summary_files_are_read_back_and_raw_csvs_parsed_only_when_newer(tmp_path, monkeypatch):
    out = output_folder(tmp_path / "out", "fasttrackml-sqlite_retrieval", "mlflow-sqlite_retrieval")
    first = summarise_folder(out)
    assert {p.name for p in out.iterdir()} >= {"summary.csv", "quantiles.csv", "summary.pairs.json"}
    parsed = []
    real_read = summarise_module.read_samples
    monkeypatch.setattr(summarise_module, "read_samples", lambda path: parsed.append(path.name) or real_read(path))
    again = summarise_folder(out)
    assert parsed == []  # everything came from the summary files
    pd.testing.assert_frame_equal(again.summary, first.summary)
    pd.testing.assert_frame_equal(again.quantiles, first.quantiles, check_dtype=False)
    os.utime(out / "mlflow-sqlite_retrieval.csv")  # a newer raw file is read again, and only that one
    summarise_folder(out)
    assert parsed == ["mlflow-sqlite_retrieval.csv"]


def test_a_run_hands_its_pairs_to_the_summary_and_no_csv_is_parsed_again(tmp_path, monkeypatch):
    """What `run` does after its pairs: the runner parsed each CSV once, the summary takes its pairs."""
    out = output_folder(tmp_path / "out", "fasttrackml-sqlite_retrieval", "mlflow-sqlite_retrieval")
    ran = summarise_folder(out).pairs  # as the runner summarised them, one parse each
    for name in ("summary.csv", "quantiles.csv", "summary.pairs.json"):
        (out / name).unlink()
    parsed = []
    real_read = summarise_module.read_samples
    monkeypatch.setattr(summarise_module, "read_samples", lambda path: parsed.append(path.name) or real_read(path))
    result = stages.summarise(out, fresh=ran)
    assert parsed == [] and len(result.pairs) == 2
    assert (out / "summary.csv").exists()


def test_key_findings_are_one_row_per_suite_and_database_and_few_sentences_naming_the_winner():
    by_id = load_registry().targets
    mlflow, go, fml = by_id["mlflow-sqlite"], by_id["mlflow-go-sqlite"], by_id["fasttrackml-sqlite"]
    rows = [
        {"target": t, "suite": "retrieval", "name": name, "status": "ok", "p50_ms": p50}
        for name, slow, fast in (("GetRun", 10.0, 2.0), ("SearchRuns", 30.0, 10.0), ("GetExperiment", 4.0, 5.0))
        for t, p50 in ((mlflow.id, slow), (go.id, fast))
    ]
    cost = [
        {"target": mlflow.id, "suite": "retrieval", "database": "SQLite", "cpu_per_1000": 40.0},
        {"target": go.id, "suite": "retrieval", "database": "SQLite", "cpu_per_1000": 10.0},
    ]
    (row,) = findings.key_table(pd.DataFrame(rows), cost, [mlflow, go])
    assert row["fastest"] == "MLflow-Go" and row["slower"] == "MLflow 3.00×" and row["cpu"] == "MLflow 4.00×"
    sentences = findings.key_sentences([row], cost, [], [mlflow, go])
    assert sentences[0] == (
        "On SQLite, MLflow-Go was the fastest in 1 of 1 suites; the next, MLflow, was 3.00× slower at the median p50."
    )
    assert sentences[1].startswith("MLflow-Go spent the least server CPU per request in 1 of 1")
    # three servers on two suites, each faster on one: a tie, said so; never more than five sentences
    many = rows + [
        {"target": t, "suite": "logging", "name": "CreateRun", "status": "ok", "p50_ms": p50}
        for t, p50 in ((mlflow.id, 9.0), (go.id, 3.0), (fml.id, 1.0))
    ]
    table = findings.key_table(pd.DataFrame(many), cost, [mlflow, go, fml])
    assert [r["fastest"] for r in table] == ["FastTrackML", "MLflow-Go"]
    tied = findings.key_sentences(table, cost, [{"target": "x", "suite": "y", "bound": True}] * 9, [mlflow, go, fml])
    assert "FastTrackML and MLflow-Go were each the fastest in 1 of 2 suites" in tied[1]
    assert len(findings.key_sentences(table * 4, cost, [], [mlflow, go, fml])) <= findings.MAX_SENTENCES


def test_the_ab_page_keeps_a_space_between_its_sentences():
    meta = ABMetadata.read(ROOT / "tests" / "fixtures" / "ab.json")
    for isolated, interleaved, warmup in ((False, False, 0.0), (True, True, 0.1)):
        shaped = dataclasses.replace(meta, isolated=isolated, interleaved=interleaved, warmup=warmup)
        page = ab_pages.ab_page(shaped, Comparison("A", "B", 0.05, "paired", ()), image="ab.png")
        text = " ".join(page.split())  # as markdown joins the lines of a paragraph
        assert not re.search(r"[a-z.]k6 and the servers", text), text[:800]


@pytest.mark.process
def test_a_site_built_from_the_smoke_profile_says_so_on_every_page(tmp_path):
    for profile, warned in (("smoke", True), ("quick", False)):
        out = output_folder(tmp_path / profile / "out", "fasttrackml-sqlite_retrieval", profile=profile)
        site = tmp_path / profile / "site"
        result = run_cli("report", "--out", str(out), "--site", str(site), "--history", str(tmp_path / profile / "h"))
        assert result.returncode == 0, result.stderr[-2000:]
        for page in ("index.html", "methodology.html", "trends.html"):  # generated and hand-written
            assert ("these numbers mean nothing" in (site / page).read_text()) is warned, (profile, page)
        assert "<title>Running it in CI" in (site / "ci.html").read_text()  # its title is still its heading
        assert not any(p.name.startswith(".") for p in site.iterdir())


def test_the_overview_goes_log_scale_when_one_request_name_spans_more_than_ten_times():
    def bars(fast_ms: float) -> dict:
        rows = [
            {"target": t.id, "suite": "retrieval", "name": "GetRun", "status": "ok", "p50_ms": p50, "p95_ms": p50 * 2}
            | {"errors": 0, "count": 10}
            for t, p50 in zip(TARGETS[:2], (fast_ms, 100.0), strict=True)
        ]
        return draw.overview_chart(pd.DataFrame(rows), TARGETS).to_dict()["spec"]["layer"][0]["encoding"]

    log = bars(1.3)
    # a log scale has no zero: the bars start at the power of ten below the fastest p50
    assert log["y"]["scale"] == {"type": "log", "domainMin": 1.0} and log["y2"] == {"datum": 1.0}
    assert "log scale" in log["y"]["title"]
    linear = bars(50.0)
    assert linear["y"]["scale"] == {"type": "linear"} and "y2" not in linear and "log" not in linear["y"]["title"]


@pytest.mark.process
def test_the_ab_section_of_the_navigation_is_named_for_a_reader(tmp_path):
    folder = tmp_path / "ab_outputs" / "fasttrackml-sqlite-logging"
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "fixtures" / "ab.json", folder / "ab.json")
    Comparison("A", "B", 0.05, "paired", ()).write(folder / "comparison.json")  # judged, nothing to chart
    out = output_folder(tmp_path / "out", "fasttrackml-sqlite_retrieval")
    args = ["--out", str(out), "--site", str(tmp_path / "site"), "--history", str(tmp_path / "h")]
    result = run_cli("report", *args, "--ab-outputs", str(tmp_path / "ab_outputs"))
    assert result.returncode == 0, result.stderr[-2000:]
    page = (tmp_path / "site" / "ab" / "fasttrackml-sqlite-logging.html").read_text()
    assert "A/B comparisons" in page and not re.search(r">\s*Ab\s*<", page)


def test_the_overview_sets_each_server_against_fasttrackml_per_database_with_the_ratio_s_interval():
    registry = load_registry()
    targets = [registry.targets[t] for t in ("fasttrackml-sqlite", "mlflow-sqlite", "mlflow-go-sqlite")]
    targets += [registry.targets[t] for t in ("fasttrackml-postgres", "mlflow-postgres", "mlflow-go-postgres")]
    p50s = {"fasttrackml": 1.0, "mlflow": 13.0, "mlflow-go": 1.05}
    summary = pd.DataFrame(
        [
            {"target": t.id, "suite": "logging", "name": "CreateRun", "status": "ok", "p50_ms": p50s[t.server.name]}
            | {"p50_low_ms": p50s[t.server.name] / 1.3, "p50_high_ms": p50s[t.server.name] * 1.3}
            for t in targets
            if t.id != "mlflow-go-postgres"  # unsupported there: no row at all
        ]
    )
    rounds = pd.DataFrame(
        [
            {"target": t, "suite": "logging", "name": "CreateRun", "round": r, "p50_ms": p}
            for t, values in (("fasttrackml-sqlite", [1.0, 1.1, 0.95]), ("mlflow-sqlite", [13.0, 14.2, 12.5]))
            for r, p in enumerate(values, start=1)
        ]
    )
    sqlite, postgres = findings.head_to_head(summary, rounds, targets)
    assert (sqlite["database"], sqlite["reference"], sqlite["others"]) == (
        "SQLite",
        "FastTrackML",
        ["MLflow", "MLflow-Go"],
    )
    [row] = sqlite["rows"]
    mlflow, go = row["cells"]
    # MLflow's ratio is paired over the three rounds both ran, and told apart (bold); MLflow-Go's, from
    # the two one-pass intervals, is not
    assert mlflow.startswith("**13× [") and sqlite["paired"] == 1 and sqlite["apart"] == 1
    assert go.startswith("1.05× [") and not go.startswith("**")
    assert row["reference"] == "1.00 ±30%"
    assert postgres["others"] == ["MLflow"]  # MLflow-Go has no result on PostgreSQL: no column
