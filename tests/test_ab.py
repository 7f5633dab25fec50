"""Paired A/B: the interval maths on rounds with a known answer, the round order, the server meter,
and the verb end to end against real servers (a registry target, a local binary, a URL)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import psutil
import pytest

from analysis import paired
from analysis import stacks as stacks_module
from analysis.k6csv import read_samples
from core.records import ABMetadata, ABRound, Status, Verdict
from report import ab_pages, comparisons, inputs
from runner.ab import MIN_SHARE, NOISE_ROUNDS, ABPlan, SegmentPlanner, round_order
from runner.k6 import run_suite, select_profile
from runner.resources import CgroupMeter, TreeMeter
from runner.segments import SegmentBarrier
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


def _plan() -> ABPlan:
    spec = load_registry().spec("fasttrackml-sqlite")
    profile = dataclasses.replace(select_profile("smoke"), vus=1)
    return ABPlan(spec, spec, ("logging",), profile, 20, None, 0.0, False, Path("out"), "id", isolate=True)


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
    result = paired.judge(_meta({}), _rounds(1.3), threshold=0.10)
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
    result = paired.judge(_meta(statuses), _rounds(1.3, errors=errors), threshold=0.10)
    [row] = result.rows
    assert row.verdict == Verdict.NO_VERDICT and reason in row.reason and np.isnan(row.ratio)


def test_cpu_per_request_name_is_paired_by_round_and_judged_on_its_own_threshold():
    """An isolated A/B: B's server spends 5% more CPU on each GetRun; its latency is unchanged."""
    rng = np.random.default_rng(3)
    meta = _meta({}, rounds=10)
    results = tuple(
        dataclasses.replace(r, cpu_by_name={"GetRun": 0.02 * (1.05 if r.side == "B" else 1) * rng.lognormal(0, 0.005)})
        for r in meta.results
    )
    meta = dataclasses.replace(meta, results=results, isolated=True)
    result = paired.judge(meta, _rounds(1.0, rounds=10), paired.Thresholds(0.10, cpu=0.02))
    [row] = result.rows
    assert row.verdict == Verdict.NO_CHANGE and result.cpu_threshold == 0.02
    assert row.cpu.verdict == Verdict.REGRESSION and row.cpu.ratio == pytest.approx(1.05, rel=0.01)
    assert row.cpu.cpu_a == pytest.approx(0.5, rel=0.02)  # 20 ms over 40 requests
    assert "| retrieval | GetRun | 0.50" in comparisons.markdown(result).replace("0.499", "0.50")
    # a round without its CPU per request name (a broken barrier) leaves the others paired
    results = tuple(dataclasses.replace(r, cpu_by_name={}) if r.round == 2 else r for r in results)
    again = paired.judge(dataclasses.replace(meta, results=results), _rounds(1.0, rounds=10), 0.10)
    assert len(again.rows[0].cpu.rounds) == 9 and again.rows[0].cpu.verdict == Verdict.REGRESSION


def test_a_trend_that_crosses_to_the_other_side_withholds_the_call():
    """B faster on an empty store, far slower on a full one (as FastTrackML 0.6.0's LogMetricBatch100
    against 0.5.1): no one ratio holds, and the reason says how it went."""
    rng = np.random.default_rng(8)
    ratios = np.geomspace(0.7, 2.8, 20) * rng.lognormal(0, 0.05, 20)
    a = 10 * rng.lognormal(0, 0.2, 20)
    judged = paired.judge_pairs(a, a * ratios, threshold=0.03, confidence=0.99)
    assert judged.verdict == Verdict.NO_VERDICT and "trends from 0.6" in judged.reason
    # a trend that stays on the side called keeps its call: the change only grows
    steady = np.geomspace(1.3, 2.8, 20) * rng.lognormal(0, 0.05, 20)
    assert paired.judge_pairs(a, a * steady, 0.03, 0.99).verdict == Verdict.REGRESSION


def test_rounds_far_from_normal_are_called_only_when_their_signs_agree():
    a = np.full(20, 10.0)
    stalled = np.full(20, 0.99) * np.linspace(0.999, 1.001, 20)
    stalled[[2, 5, 9, 12, 15, 18]] = 1.5  # 6 stalled rounds among 14 a little faster
    judged = paired.judge_pairs(a, a * stalled, threshold=0.03, confidence=0.95)
    assert judged.verdict == Verdict.NO_VERDICT and "far from normal" in judged.reason, judged
    # a skewed spread whose every round is slower is still a regression
    slower = 1.1 * np.r_[np.full(17, 1.0), [1.5, 1.8, 2.0]] * np.linspace(0.99, 1.01, 20)
    assert paired.judge_pairs(a, a * slower, 0.03, 0.95).verdict == Verdict.REGRESSION


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


@pytest.mark.process
def test_the_meter_counts_the_whole_tree_and_more_work_is_more_cpu():
    light, rss = _burn(0.2)
    heavy, _ = _burn(0.8)
    assert 0.15 < light < 0.5 and 0.7 < heavy < 1.2 and rss > 5


BUSY_CHILD = """
import sys, time
print("ready", flush=True)
for line in sys.stdin:
    end = time.thread_time() + float(line)
    while time.thread_time() < end:
        pass
    print("done", flush=True)
"""


@pytest.mark.process
def test_the_meter_counts_to_the_nanosecond_and_its_laps_add_up():
    """Thread by thread from schedstat: 25 ms of work is measured as such, not in 10 ms ticks. The work
    is a child's that does nothing else (this test process has other threads, busy at times)."""
    child = subprocess.Popen(
        [sys.executable, "-c", BUSY_CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        meter = TreeMeter(child.pid)
        meter.begin()
        laps = []
        for seconds in (0.025, 0.005, 0.06):
            child.stdin.write(f"{seconds}\n")
            child.stdin.flush()
            assert child.stdout.readline().strip() == "done"
            laps.append(meter.lap())
        total, _ = meter.end()
    finally:
        child.kill()
        child.wait()
    assert laps[0] == pytest.approx(0.025, abs=0.004) and laps[1] == pytest.approx(0.005, abs=0.004)
    assert sum(laps) == pytest.approx(total, abs=0.002)


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
@pytest.mark.process
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
        "--contention-rounds",
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
@pytest.mark.timing
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
        "A.server.log",
        "B.server.log",
    ):
        assert (out / name).exists(), name
    assert not list(out.glob("*.png")) and list(out.glob("*.md")) == [out / "comparison.md"]  # data, no page
    for mode in ("", "contention"):  # every round's raw CSV in each mode, warm-ups besides
        assert len(list((out / "retrieval" / mode).glob("[AB]-0[1-4].csv"))) == 8
    assert {r["verdict"] for r in comparison["rows"]} == {"no change"}
    assert {r["mode"] for r in comparison["rows"]} == {"alone", "contention"}  # both, by default
    assert len(comparison["rows"]) == 10 and all(len(r["rounds"]) == 4 for r in comparison["rows"])
    for cost in comparison["resources"]:
        assert cost["cpu_a"] > 0 and cost["rss_a_mib"] > 10
    meta = json.loads((out / "ab.json").read_text())
    assert [r["side"] for r in meta["results"]] == list("ABBAABBA" * 2) and meta["status"] == "ok"
    assert [(m["name"], m["vus"]) for m in meta["modes"]] == [("alone", 1), ("contention", 2)]
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


@pytest.mark.servers
@pytest.mark.timing
def test_isolated_rounds_run_each_request_name_alone_and_meter_its_cpu(tmp_path):
    result, comparison = _ab(
        tmp_path,
        "fasttrackml-sqlite",
        "fasttrackml-sqlite",
        "--suites",
        "logging",
        "--modes",
        "alone",
        size=("--round-seconds", "1"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    meta = json.loads((tmp_path / "ab" / "ab.json").read_text())
    assert meta["isolated"] is True
    order = ["CreateRun", "LogMetricSingle", "LogMetricBatch10", "LogMetricBatch100", "LogMetricBatch500"]
    order += ["LogParamBatch10", "LogParamBatch100", "UpdateRun"]
    for r in meta["results"]:  # each side's server CPU on each request name's segment
        assert set(r["cpu_by_name"]) == set(order) and all(s > 0 for s in r["cpu_by_name"].values()), r
    for k in range(1, 5):  # a segment starts when every request of the one before it has ended
        frame = read_samples(tmp_path / "ab" / "logging" / f"AB-{k:02d}.csv").frame
        frame = frame[frame["metric"] == "successful_request_duration"]
        ends = frame.groupby("name", observed=True)["timestamp"].max()[order]
        starts = (frame["timestamp"] - frame["value"]).groupby(frame["name"], observed=True).min()[order]
        assert (ends.to_numpy()[:-1] <= starts.to_numpy()[1:] + 1).all(), (starts, ends)
        counts = frame.groupby(["name", "side"], observed=True).size().unstack()
        assert (counts["A"] == counts["B"]).all() and (counts["A"] >= 5).all(), counts  # paired: as many a side
        assert counts["A"].max() == counts.loc[order[0], "A"], counts  # CreateRun: a run for any step's iteration
        for name, turns in frame.groupby("name", observed=True)["side"]:  # one VU: its requests in file order
            sides = "".join(turns)  # A B B A ...: each side follows itself as often as the other
            assert all(sides[i] != sides[i + 1] for i in range(0, len(sides) - 1, 2)), (name, sides)
            assert all(sides[i] == sides[i + 1] for i in range(1, len(sides) - 1, 2)), (name, sides)
    rows = {r["name"]: r for r in comparison["rows"]}
    assert list(sorted(rows)) == sorted(order) and {r["verdict"] for r in rows.values()} <= {"no change"}
    assert all(r["cpu"]["cpu_a"] > 0 and len(r["cpu"]["rounds"]) == 4 for r in rows.values())
    assert comparison["cpu_threshold"] == paired.DEFAULT_CPU_THRESHOLD
    assert "Server CPU per request" in (tmp_path / "c.md").read_text()


def test_segments_get_time_in_proportion_to_their_noise_once_it_is_measured():
    plan = dataclasses.replace(_plan(), round_seconds=4.0)
    planner = SegmentPlanner(plan, 2)
    names = ["Quiet", "Noisy", "Steady"]
    assert planner._shares(names) == {n: pytest.approx(1 / 3) for n in names}  # nothing measured yet: equal
    for name, sd in (("Quiet", 0.01), ("Noisy", 0.10), ("Steady", 0.05)):
        planner.ratios[name] = [sd, -sd] * (NOISE_ROUNDS // 2)
        planner.seconds[name] = [1.0] * NOISE_ROUNDS
    shares = planner._shares(names)
    assert sum(shares.values()) == pytest.approx(1) and shares["Noisy"] > shares["Steady"] > shares["Quiet"]
    assert shares["Quiet"] >= MIN_SHARE * 0.9  # no name starves


def test_a_vu_that_never_arrives_breaks_the_barrier_and_no_cpu_per_name_is_given():
    class Clock:
        def lap(self) -> float:
            return 0.01

    barrier = SegmentBarrier(vus=2, meters={"A": Clock()}, timeout=0.5)
    waiting = threading.Thread(target=barrier.arrive, args=("CreateRun",))
    waiting.start()
    waiting.join(5)
    assert barrier.broken and not barrier.complete and barrier.cpu_by_name("A") == {}
    whole = SegmentBarrier(vus=1, meters={"A": Clock()})
    assert all(whole.arrive(label) for label in ("CreateRun", "UpdateRun", "end"))
    assert whole.complete and set(whole.cpu_by_name("A")) == {"CreateRun", "UpdateRun"}


def test_a_view_met_at_the_barrier_again_and_again_keeps_each_view_s_cpu():
    """The ui suite's VU meets the barrier before each view and at `end` after it: each view's CPU is
    kept, in order, and what the server spends between views (after `end`) is in none."""

    class Spending:
        def __init__(self) -> None:
            self.spent = 0.0

        def lap(self) -> float:  # everything spent since the last lap, then idle
            spent, self.spent = self.spent, 0.0
            return spent

    server = Spending()
    barrier = SegmentBarrier(vus=1, meters={"server": server})
    for label, spent in (("ExperimentPage@5", 0.5), ("end", 0.03), ("ExperimentPage@5", 0.9), ("end", 0.02)):
        barrier.arrive(label)
        server.spent = spent  # the view (or the time between views) that follows this barrier
    barrier.arrive("MetricPage@5")
    server.spent = 0.04
    barrier.arrive("end")
    assert barrier.cpu_of_each("server") == {"ExperimentPage@5": [0.5, 0.9], "MetricPage@5": [0.04]}


def test_an_interleaved_round_is_split_by_its_side_tag():
    """Real k6 output of the logging suite interleaving two servers (smoke size: 2 iterations a side)."""
    path = ROOT / "tests" / "fixtures" / "k6_logging_interleaved.csv"
    a, b = (paired.round_statistics(path, warmup=0.0, side=side) for side in ("A", "B"))
    assert len(a) == len(b) == 8 and set(a["count"]) == set(b["count"]) == {2}
    assert (a["errors"] == 0).all() and a["median_ms"].notna().all()
    both = paired.round_statistics(path, warmup=0.0)
    assert set(both["count"]) == {4}  # without a side, the round is both servers' requests


@pytest.mark.servers
@pytest.mark.timing
def test_interleaved_rounds_measure_both_sides_in_one_k6_process(tmp_path):
    # interleaved by default; rounds sized in seconds, each at the pace of the round before (here the
    # mixed iteration, as `run` measures it)
    mixed, size = ("--modes", "contention", "--contention-vus", "2"), ("--round-seconds", "1")
    result, comparison = _ab(tmp_path, "fasttrackml-sqlite", "fasttrackml-sqlite", *mixed, size=size)
    assert result.returncode == 0, result.stderr[-3000:]
    folder = tmp_path / "ab" / "retrieval" / "contention"  # the contention mode's rounds
    rounds = sorted(p.name for p in folder.glob("*.csv"))
    assert rounds == ["AB-00.csv", "AB-01.csv", "AB-02.csv", "AB-03.csv", "AB-04.csv"]
    assert len(comparison["rows"]) == 5 and all(len(r["rounds"]) == 4 for r in comparison["rows"])
    meta = json.loads((tmp_path / "ab" / "ab.json").read_text())
    assert meta["interleaved"] is True and [r["side"] for r in meta["results"]] == list("AB" * 4)
    assert meta["isolated"] is False and meta["modes"] == [
        {"name": "contention", "vus": 2, "rounds": 4, "rule_out": 0.2}
    ]
    sizes = [(r["round"], r["side"], r["iterations"]) for r in meta["results"]]
    assert all(n >= 5 for _, _, n in sizes)  # at least MIN_ROUND_ITERATIONS
    for k in range(1, 5):  # both sides of a round ran as many iterations
        assert len({n for round_no, _, n in sizes if round_no == k}) == 1
    # what each round ran is in its CSV: one GetRun per iteration, 2 VUs x n iterations x 2 sides
    for k in range(1, 5):
        n = next(n for round_no, _, n in sizes if round_no == k)
        frame = read_samples(folder / f"AB-{k:02d}.csv").frame
        assert ((frame["metric"] == "http_reqs") & (frame["name"] == "GetRun")).sum() == 2 * 2 * n  # VUs x n x sides
    [cost] = comparison["resources"]
    assert cost["cpu_a"] > 0 and cost["cpu_b"] > 0


@pytest.mark.servers
@pytest.mark.timing
def test_profile_servers_names_go_functions_and_draws_what_grew(tmp_path):
    """FastTrackML is a stripped Go binary: perf sees addresses, which the binary's .gopclntab names."""
    result, _ = _ab(
        tmp_path, "fasttrackml-sqlite", "fasttrackml-sqlite", "--profile-servers", size=("--round-seconds", "1")
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "ab"
    for side in "AB":
        stacks = stacks_module.read_folded(out / "retrieval" / f"{side}.folded")
        assert sum(stacks.values()) > 50
        frames = {frame for stack in stacks for frame in stack.split(";")}
        assert any(f.startswith("github.com/G-Research/fasttrackml/") for f in frames), sorted(frames)[:20]
        assert "runtime.mallocgc" in frames or "runtime.gcBgMarkWorker" in frames
    later = read_samples(out / "retrieval" / "AB-04.csv").frame
    counts = later[later["metric"] == "http_reqs"].groupby("name", observed=True).size()
    assert counts.nunique() > 1, counts  # reads hand nothing on: each name's segment is sized to its own pace
    # the report draws the page: what grew, and its flame graph beside it
    [ab] = inputs.load_ab(tmp_path)
    [page] = ab_pages.write_ab_pages([ab], tmp_path / "docs")
    assert "Where the CPU went, retrieval" in page.read_text() and "](ab-profile-retrieval.svg)" in page.read_text()
    svg = ElementTree.parse(page.parent / "ab-profile-retrieval.svg").getroot()
    assert svg.tag.endswith("svg") and len(svg.findall(".//{http://www.w3.org/2000/svg}rect")) > 20


@pytest.mark.servers
def test_a_sequential_ab_stops_each_mode_at_the_first_look_that_settles_every_name(tmp_path):
    """A change of 900% ruled out settles every name at the first look (6 rounds), in both modes,
    though each allows more: the runner stops there, and the judge replays the same look."""
    out = tmp_path / "ab"
    result = run_cli(
        "ab", "--baseline", "fasttrackml-sqlite", "--candidate", "fasttrackml-sqlite", "--suites", "retrieval",
        "--rounds", "12", "--contention-rounds", "9", "--rule-out", "9", "--contention-rule-out", "9",
        "--round-iterations", "5", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    meta = json.loads((out / "ab.json").read_text())
    assert meta["status"] == "ok"
    for mode in ("alone", "contention"):
        assert {r["round"] for r in meta["results"] if r["mode"] == mode} == set(range(1, 7)), mode
    rows = json.loads((out / "comparison.json").read_text())["rows"]
    assert len(rows) == 10 and all(len(r["rounds"]) == 6 and "settled after 6 rounds" in r["reason"] for r in rows)
