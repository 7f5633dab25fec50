"""Paired A/B: the interval maths on rounds with a known answer, the round order, the server meter,
and the verb end to end against real servers (a registry target, a local binary, a URL)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from analysis import paired
from analysis.k6csv import read_samples
from core.records import ABMetadata, ABRound, Status, Verdict
from runner.ab import round_order
from runner.k6 import run_suite, select_profile
from runner.resources import CgroupMeter, TreeMeter
from services import launcher
from services.environments import ensure_environment, server_executable
from services.registry import load_registry
from tests.conftest import ROOT, ProcessWatcher, output_folder, run_cli

FML = load_registry().targets["fasttrackml-sqlite"]


def test_rounds_alternate_so_each_side_goes_first_as_often():
    order = round_order(4)
    assert [side for _, side in order] == list("ABBAABBA")
    assert [r for r, _ in order] == [1, 1, 2, 2, 3, 3, 4, 4]


@pytest.mark.parametrize("true_ratio", [1.0, 1.05, 1.2])
def test_the_paired_interval_covers_a_known_ratio_about_95_percent_of_the_time(true_ratio):
    rng = np.random.default_rng(11)
    covered, trials = 0, 2000
    for _ in range(trials):
        drift = rng.lognormal(0, 0.3, 10)  # shared by both sides of a pair of rounds
        a = 20 * drift * rng.lognormal(0, 0.05, 10)
        b = 20 * true_ratio * drift * rng.lognormal(0, 0.05, 10)
        ratio, low, high = paired.paired_interval(a, b)
        covered += low <= true_ratio <= high
    assert 0.93 < covered / trials < 0.97
    ratio, low, high = paired.paired_interval(
        np.full(8, 10.0) * [1, 2, 3, 4, 5, 6, 7, 8], np.full(8, 12.0) * [1, 2, 3, 4, 5, 6, 7, 8]
    )
    assert ratio == pytest.approx(1.2) and low == pytest.approx(1.2) and high == pytest.approx(1.2)


def _meta(statuses: dict[tuple[int, str], Status], rounds: int = 4) -> ABMetadata:
    meta = ABMetadata.read(ROOT / "tests" / "fixtures" / "ab.json")
    results = tuple(
        ABRound(
            "retrieval",
            r,
            side,
            i,
            statuses.get((r, side), Status.OK),
            cpu_seconds=0.5 * (1.1 if side == "B" else 1),
            rss_peak_mib=40,
        )
        for i, (r, side) in enumerate(round_order(rounds))
    )
    return dataclasses.replace(meta, results=results, rounds=rounds, suites=("retrieval",))


def _rounds(ratio: float, rounds: int = 4, errors: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    rows = []
    for r in range(1, rounds + 1):
        base = 10 * rng.lognormal(0, 0.2)
        for side, factor in (("A", 1.0), ("B", ratio)):
            rows.append(
                {
                    "suite": "retrieval",
                    "round": r,
                    "side": side,
                    "status": "ok",
                    "name": "GetRun",
                    "count": 40,
                    "errors": errors if (r, side) == (2, "B") else 0,
                    "median_ms": base * factor * rng.lognormal(0, 0.01),
                    "requests": 200,
                }
            )
    return pd.DataFrame(rows)


def test_a_clear_slowdown_is_a_regression_and_cpu_is_paired_too():
    result = paired.compare_rounds(_rounds(1.3), _meta({}), threshold=0.10)
    [row] = result.rows
    assert row.verdict == Verdict.REGRESSION and row.ratio == pytest.approx(1.3, rel=0.02) and len(row.rounds) == 4
    [cost] = result.resources
    assert cost.ratio == pytest.approx(1.1) and cost.cpu_a == pytest.approx(2.5)  # 0.5 s per 200 requests


@pytest.mark.parametrize(
    ("statuses", "errors", "reason"),
    [
        ({(3, "B"): Status.PARTIAL}, 0, "round 3 of B: partial"),
        ({(4, "A"): Status.FAILED}, 0, "round 4 of A: failed"),
        ({}, 2, "2 failed request(s)"),
    ],
)
def test_incomplete_rounds_or_failed_requests_give_no_verdict(statuses, errors, reason):
    result = paired.compare_rounds(_rounds(1.3, errors=errors), _meta(statuses), threshold=0.10)
    [row] = result.rows
    assert row.verdict == Verdict.NO_VERDICT and reason in row.reason and np.isnan(row.ratio)


def _burn(seconds: float) -> tuple[float, float]:
    """CPU and memory the meter sees of a process whose child burns `seconds` of CPU (after a pause)."""
    child = "\n".join(
        [
            "import time",
            "time.sleep(0.5)",
            f"end = time.process_time() + {seconds}",
            "while time.process_time() < end: pass",
            "time.sleep(30)",
        ]
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}])"]
    )
    try:
        time.sleep(0.2)
        meter = TreeMeter(parent.pid)
        meter.begin()
        deadline = time.monotonic() + seconds + 1.5
        while time.monotonic() < deadline:
            meter.sample()
            time.sleep(0.05)
        return meter.end()
    finally:
        for process in [*psutil.Process(parent.pid).children(recursive=True), parent]:
            process.kill()
        parent.wait()


def test_the_meter_counts_the_whole_tree_and_more_work_is_more_cpu():
    light, rss = _burn(0.2)
    heavy, _ = _burn(0.8)
    assert 0.15 < light < 0.5 and 0.7 < heavy < 1.2 and rss > 5


def _machine_cgroup() -> Path:
    """The cgroup every process here belongs to (v2 alone, v2 beside v1, or v1's cpuacct)."""
    for path in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/cpuacct"):
        if (Path(path) / "cpu.stat").exists() or (Path(path) / "cpuacct.usage").exists():
            return Path(path)
    pytest.fail("no cgroup filesystem on this machine")


def test_the_cgroup_meter_reads_the_kernels_account_of_cpu():
    meter = CgroupMeter(_machine_cgroup())
    meter.begin()
    end = time.process_time() + 0.8
    while time.process_time() < end:
        pass
    cpu, _ = meter.end()
    assert cpu >= 0.7  # the cgroup holds this process: its burn counts, whatever else ran


@pytest.mark.servers
def test_a_real_server_under_load_reports_cpu_and_memory(tmp_path):
    ensure_environment(FML)
    uri = FML.server.sqlite_uri.format(path=tmp_path / "t.db")
    with launcher.launch(FML, uri, tmp_path, tmp_path / "server.log") as server:
        meter = TreeMeter(server.process.pid)
        meter.begin()
        idle, _ = meter.end()
        meter.begin()
        env = {"VUS": "2", "ITERATIONS": "30"}
        run_suite(
            "retrieval",
            server.url,
            select_profile("smoke"),
            tmp_path / "k.csv",
            tmp_path / "k.log",
            should_stop=lambda: meter.sample(),
            script_env=env,
        )
        busy, rss = meter.end()
    assert busy > idle + 0.05 and rss > 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--baseline", "oracle-sqlite", "--candidate", "fasttrackml-sqlite"],
            "--baseline: unknown target 'oracle-sqlite'",
        ),
        (
            ["--baseline", "fasttrackml-sqlite", "--candidate", "fasttrackml-sqlite@/no/such/fml"],
            "--candidate: 'fasttrackml-sqlite@/no/such/fml': /no/such/fml is not an executable file",
        ),
        (
            ["--baseline", "fasttrackml-sqlite", "--candidate", "mlflow-postgres"],
            "an A/B compares two servers on the same kind of database",
        ),
        (
            ["--baseline", "fasttrackml-sqlite", "--candidate", "fasttrackml-sqlite@http://nohost"],
            "--candidate: 'fasttrackml-sqlite@http://nohost': expected a URL",
        ),
        (
            ["--baseline", "fasttrackml-sqlite", "--candidate", "fasttrackml-sqlite", "--rounds", "2"],
            "--rounds: must be at least 3, got 2",
        ),
        (
            ["--baseline", "fasttrackml-sqlite", "--candidate", "fasttrackml-sqlite", "--suites", "x"],
            "--suites: unknown suite x",
        ),
        (
            ["--baseline", "fasttrackml-sqlite", "--candidate", "fasttrackml-sqlite", "--candidate-cgroup", "/"],
            "--candidate-cgroup: / is not a cgroup folder",
        ),
    ],
)
def test_bad_specs_and_options_are_one_line_errors_with_exit_2(tmp_path, args, message):
    result = run_cli("ab", *args, "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not (tmp_path / "out").exists()


def _ab(
    tmp_path, baseline: str, candidate: str, *extra: str, size: tuple[str, str] = ("--round-iterations", "10")
) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / "ab"
    result = run_cli(
        "ab",
        "--baseline",
        baseline,
        "--candidate",
        candidate,
        "--suites",
        "retrieval",
        "--rounds",
        "4",
        *size,
        "--out",
        str(out),
        "--markdown",
        str(tmp_path / "c.md"),
        *extra,
    )
    comparison = json.loads((out / "comparison.json").read_text()) if (out / "comparison.json").exists() else {}
    return result, comparison


@pytest.mark.servers
def test_fasttrackml_against_itself_calls_nothing_and_writes_every_output(tmp_path):
    result, comparison = _ab(
        tmp_path, "fasttrackml-sqlite", "fasttrackml-sqlite", "--fail-on-regression", "--no-interleave"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "ab"
    for name in (
        "ab.json",
        "rounds.csv",
        "comparison.json",
        "comparison.md",
        "ab.md",
        "ab.png",
        "A.server.log",
        "B.server.log",
    ):
        assert (out / name).exists(), name
    assert len(list((out / "retrieval").glob("[AB]-0[1-4].csv"))) == 8  # every round's raw CSV, warm-ups besides
    assert {r["verdict"] for r in comparison["rows"]} == {"no change"}
    assert len(comparison["rows"]) == 5 and all(len(r["rounds"]) == 4 for r in comparison["rows"])
    [cost] = comparison["resources"]
    assert cost["cpu_a"] > 0 and cost["rss_a_mib"] > 10
    meta = json.loads((out / "ab.json").read_text())
    assert [r["side"] for r in meta["results"]] == list("ABBAABBA") and meta["status"] == "ok"
    assert "## Benchmark comparison" in (tmp_path / "c.md").read_text()
    # the report gives it a page of its own (built with mkdocs --strict: its links hold)
    folder = output_folder(tmp_path / "outputs", "fasttrackml-sqlite_retrieval")
    site = tmp_path / "site"
    report = run_cli(
        "report",
        "--out",
        str(folder),
        "--site",
        str(site),
        "--history",
        str(tmp_path / "h"),
        "--ab-outputs",
        str(tmp_path),
    )
    assert report.returncode == 0, report.stderr
    assert (site / "ab" / "ab.html").exists() and (site / "ab" / "ab.png").exists()
    assert "ab/ab.html" in (site / "ab.html").read_text()


@pytest.mark.servers
def test_a_local_binary_and_a_running_server_can_be_the_sides(tmp_path):
    ensure_environment(FML)
    binary = server_executable(FML)
    uri = FML.server.sqlite_uri.format(path=tmp_path / "ext.db")
    with launcher.launch(FML, uri, tmp_path, tmp_path / "ext.log") as server:
        # the running server is metered as a cgroup, as CI meters its container (here: the machine's)
        cgroup = str(_machine_cgroup())
        result, comparison = _ab(
            tmp_path, f"fasttrackml-sqlite@{server.url}", f"fasttrackml-sqlite@{binary}", "--baseline-cgroup", cgroup
        )
    assert result.returncode == 0, result.stderr[-3000:]
    meta = json.loads((tmp_path / "ab" / "ab.json").read_text())
    assert meta["baseline"]["mode"] == "external" and meta["baseline"]["url"] == server.url
    assert meta["candidate"]["mode"] == "local build" and len(meta["candidate"]["sha256"]) == 64
    assert comparison["rows"] and comparison["resources"][0]["cpu_a"] > 0


@pytest.mark.servers
def test_a_side_that_does_not_start_gives_no_verdict_and_leaves_nothing_running(tmp_path):
    watcher = ProcessWatcher(
        "ab",
        "--baseline",
        "fasttrackml-sqlite",
        "--candidate",
        "fasttrackml-sqlite@/bin/false",
        "--suites",
        "retrieval",
        "--rounds",
        "3",
        "--round-iterations",
        "2",
        "--out",
        str(tmp_path / "ab"),
    )
    code = watcher.finish()
    assert code == 1, watcher.output()
    comparison = json.loads((tmp_path / "ab" / "comparison.json").read_text())
    assert {r["verdict"] for r in comparison["rows"]} == {"no verdict"}
    meta = json.loads((tmp_path / "ab" / "ab.json").read_text())
    assert meta["status"] == "partial" and "B" in meta["error"]
    assert watcher.left_behind() == []


def test_an_interleaved_round_is_split_by_its_side_tag():
    """Real k6 output of the logging suite interleaving two servers (smoke size: 2 iterations a side)."""
    path = ROOT / "tests" / "fixtures" / "k6_logging_interleaved.csv"
    a, b = (paired.round_statistics(path, warmup=0.0, side=side) for side in ("A", "B"))
    assert len(a) == len(b) == 8 and set(a["count"]) == set(b["count"]) == {2}
    assert (a["errors"] == 0).all() and a["median_ms"].notna().all()
    both = paired.round_statistics(path, warmup=0.0)
    assert set(both["count"]) == {4}  # without a side, the round is both servers' requests


@pytest.mark.servers
def test_interleaved_rounds_measure_both_sides_in_one_k6_process(tmp_path):
    # interleaved by default; rounds sized in seconds, each at the pace of the round before
    result, comparison = _ab(tmp_path, "fasttrackml-sqlite", "fasttrackml-sqlite", size=("--round-seconds", "1"))
    assert result.returncode == 0, result.stderr[-3000:]
    rounds = sorted(p.name for p in (tmp_path / "ab" / "retrieval").glob("*.csv"))
    assert rounds == ["AB-00.csv", "AB-01.csv", "AB-02.csv", "AB-03.csv", "AB-04.csv"]
    assert len(comparison["rows"]) == 5 and all(len(r["rounds"]) == 4 for r in comparison["rows"])
    meta = json.loads((tmp_path / "ab" / "ab.json").read_text())
    assert meta["interleaved"] is True and [r["side"] for r in meta["results"]] == list("AB" * 4)
    sizes = [(r["round"], r["side"], r["iterations"]) for r in meta["results"]]
    assert all(n >= 5 for _, _, n in sizes)  # at least MIN_ROUND_ITERATIONS
    for k in range(1, 5):  # both sides of a round ran as many iterations
        assert len({n for round_no, _, n in sizes if round_no == k}) == 1
    # what each round ran is in its CSV: one GetRun per iteration, 2 VUs x n iterations x 2 sides
    for k in range(1, 5):
        n = next(n for round_no, _, n in sizes if round_no == k)
        frame = read_samples(tmp_path / "ab" / "retrieval" / f"AB-{k:02d}.csv").frame
        assert ((frame["metric"] == "http_reqs") & (frame["name"] == "GetRun")).sum() == 2 * 2 * n
    [cost] = comparison["resources"]
    assert cost["cpu_a"] > 0 and cost["cpu_b"] > 0
