"""The load generator's share, measured on real runs, and the progress a CI log shows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from core.records import PairMetadata
from tests.conftest import metadata, run_cli


@pytest.fixture(scope="module")
def measured_runs(tmp_path_factory) -> tuple[Path, str]:
    """FastTrackML's reads (k6 does about as much work as the server) and MLflow's writes (the server
    does far more), at the smoke profile (at quick, MLflow's writes took this test 3 minutes), into
    one folder, one overview; the second run's output (not a terminal)."""
    tmp = tmp_path_factory.mktemp("harness")
    out = tmp / "out"
    common = ["--profile", "smoke", "--out", str(out), "--no-report", "--progress-seconds", "1"]
    reads = run_cli("run", "--targets", "fasttrackml-sqlite", "--suites", "retrieval", *common)
    assert reads.returncode == 0, reads.stderr[-3000:]
    writes = run_cli("run", "--targets", "mlflow-sqlite", "--suites", "logging", *common)
    assert writes.returncode == 0, writes.stderr[-3000:]
    report = run_cli("report", "--out", str(out), "--site", str(tmp / "site"), "--history", str(tmp / "history"))
    assert report.returncode == 0, report.stderr[-3000:]
    return tmp, writes.stderr


@pytest.mark.servers
@pytest.mark.timing
def test_every_pair_records_k6s_ceiling_and_both_cpus(measured_runs):
    tmp, _ = measured_runs
    for target, suite in (("fasttrackml-sqlite", "retrieval"), ("mlflow-sqlite", "logging")):
        meta = metadata(tmp / "out", target, suite)
        assert meta["k6_ceiling_rps"] > 100 and meta["k6_cpu_seconds"] > 0 and meta["server_cpu_seconds"] > 0
        assert meta["pinned"] is False


@pytest.mark.servers
@pytest.mark.timing
def test_the_flag_follows_the_measured_figures_and_mlflows_writes_are_not_flagged(measured_runs):
    tmp, _ = measured_runs
    reads = PairMetadata.read(tmp / "out" / "fasttrackml-sqlite_retrieval.json")
    writes = PairMetadata.read(tmp / "out" / "mlflow-sqlite_logging.json")
    expected = reads.k6_cpu_seconds > reads.server_cpu_seconds or reads.throughput_rps > 0.5 * reads.k6_ceiling_rps
    assert reads.load_generator_bound is expected
    # MLflow spends far more on each write than k6 does on sending it
    assert writes.server_cpu_seconds > 3 * writes.k6_cpu_seconds and writes.load_generator_bound is False
    overview = (tmp / "site" / "index.html").read_text()
    cells = r"<td>([\w-]+)</td>\s*<td>\w+</td>(?:\s*<td[^>]*>[^<]*</td>){6}\s*<td>(.*?)</td>"
    rows = {m.group(1): m.group(2) for m in re.finditer(cells, overview)}
    assert rows["mlflow-sqlite"] == "no"
    assert ("load-generator bound" in rows["fasttrackml-sqlite"]) is expected


@pytest.mark.servers
@pytest.mark.timing
def test_progress_off_a_terminal_is_one_plain_line_per_round(measured_runs):
    """The smoke profile runs the logging suite in rounds (runner/rounds.py): off a terminal, each
    round is one plain line, with how sure its p50s are so far."""
    _, output = measured_runs
    lines = re.findall(r"^logging round (\d+): (?:too few rounds|the least sure p50 is known within ±)", output, re.M)
    assert "\x1b[" not in output
    assert [int(n) for n in lines] == [1, 2]


def test_a_pair_without_measurements_is_not_flagged_but_not_measured():
    meta = json.loads((Path(__file__).parent / "fixtures" / "k6_retrieval.json").read_text())
    assert PairMetadata.from_json(meta).load_generator_bound is None


@pytest.mark.servers
@pytest.mark.timing
def test_a_pair_where_k6_sets_the_pace_is_flagged_on_the_overview(tmp_path):
    """A trivial server (tests/servers/trivial_mlflow.js: the retrieval data in memory, in FastTrackML's
    place) answers each request with almost no work: k6 spends more CPU than the server, so k6 set the pace."""
    trivial = Path(__file__).parent / "servers" / "trivial_mlflow.js"
    out = tmp_path / "out"
    result = run_cli(
        *("run", "--profile", "quick", "--targets", "fasttrackml-sqlite", "--suites", "retrieval"),
        *("--server-executable", str(trivial), "--out", str(out)),
        *("--site", str(tmp_path / "site"), "--history", str(tmp_path / "history")),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    meta = PairMetadata.read(out / "fasttrackml-sqlite_retrieval.json")
    assert meta.mode == "local build" and meta.server.version == "local build"
    assert meta.k6_cpu_seconds > meta.server_cpu_seconds > 0 and meta.load_generator_bound is True
    overview = (tmp_path / "site" / "index.html").read_text()
    row = r"<td>fasttrackml-sqlite</td>\s*<td>retrieval</td>(?:\s*<td[^>]*>[^<]*</td>){6}\s*<td>(.*?)</td>"
    assert "load-generator bound" in re.search(row, overview).group(1)
    assert "The load generator may have set the pace, not the server, of fasttrackml-sqlite · retrieval" in overview
