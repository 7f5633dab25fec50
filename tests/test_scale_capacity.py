"""The scale and capacity suites end to end at their smallest size, on real servers and real k6, and
against servers that misbehave in a known way (a proxy that drops rows, one that serves a known rate)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from analysis import capacity
from analysis.summarise import PairSummary, summarise_file, summarise_pair
from core.layout import PAIRS_FILE
from core.records import PairMetadata
from services import launcher
from services.environments import ensure_environment
from services.registry import load_registry
from tests.conftest import metadata, run_cli
from tests.proxies import drop_last_run, nth_request, proxy

pytestmark = pytest.mark.servers

READS = {"SearchExperiments", "SearchRuns", "GetRun", "MetricHistory", "ChartHistories"}
SMOKE_SIZES = (5, 50, 500)  # k6/profiles.json, smoke
# what growing the store to each smoke size takes (k6/scale.js): experiments of 5 runs, a CreateRun
# and a LogBatch per run, and a long history of 10 points per run in the store, 1000 per request
SEED_REQUESTS = {
    5: 1 + 2 * 5 + 1 + 1,
    50: 9 + 2 * 45 + 1 + 1,
    500: 90 + 2 * 450 + 1 + 5,
}
BOTH = ("fasttrackml-sqlite", "mlflow-sqlite")


@pytest.mark.parametrize("target", BOTH)
def test_scale_times_every_read_at_every_size_and_every_read_got_all_the_data(smoke_run, target):
    out, _ = smoke_run
    stats = summarise_file(out / f"{target}_scale.csv")
    assert set(stats.index) == {f"{read}@{size}" for read in READS for size in SMOKE_SIZES}
    assert (stats["errors"] == 0).all(), stats["errors"]
    # 2 reads per size; SearchRuns' 250 even runs at size 500 fit one page of 1000
    assert (stats["count"] >= 2).all() and stats.loc["GetRun@500", "count"] == 2
    meta = metadata(out, target, "scale")
    assert meta["status"] == "ok" and meta["settings"] == {"sizes": list(SMOKE_SIZES), "reads": 2}


def _summarised(out: Path, stem: str) -> PairSummary:
    return summarise_pair(out / f"{stem}.csv", PairMetadata.read(out / f"{stem}.json"))


@pytest.mark.parametrize("target", BOTH)
def test_seeding_is_untimed_and_counted_per_size(smoke_run, target):
    out, _ = smoke_run
    summarised = _summarised(out, f"{target}_scale")
    seeding = pd.DataFrame(summarised.seeding)
    # counted once, when the pair was summarised, and kept in the summary files for the report
    assert json.loads((out / PAIRS_FILE).read_text())[f"{target}_scale"]["seeding"] == list(summarised.seeding)
    assert dict(zip(seeding["size"], seeding["requests"], strict=True)) == SEED_REQUESTS
    assert (seeding["seconds"] >= 0).all() and seeding["seconds"].iloc[-1] > 0 and (seeding["failed"] == "").all()
    timed = summarise_file(out / f"{target}_scale.csv")
    assert not any(name.startswith("Seed@") for name in timed.index)
    # the server's CPU is spent on every request it served: seeding is counted with the timed reads
    counts = metadata(out, target, "scale")["counts"]
    assert counts["requests"] == timed["count"].sum()
    assert counts["sent"] == counts["requests"] + sum(SEED_REQUESTS.values())


def test_the_scale_page_fits_an_exponent_per_target_and_read(smoke_run):
    out, _ = smoke_run
    page = (out.parent / "site" / "scale.html").read_text()
    for read in READS:
        assert re.search(rf"{read} grows (~flat|sublinearly|~linearly|faster than linearly) on ", page), read
    assert (out.parent / "site" / "img" / "scale.png").exists()
    assert "Seeding" in page and "failed request" in page


@pytest.mark.parametrize("target", BOTH)
def test_capacity_steps_the_offered_rate_and_the_page_gives_the_verdict_of_those_steps(smoke_run, target):
    """Whether a server sustains a smoke rate within the SLO depends on the machine; what must hold
    everywhere is that every rate was offered and measured, and the page says what its steps say."""
    out, _ = smoke_run
    meta = metadata(out, target, "capacity")
    assert meta["status"] == "ok" and meta["settings"] == {"rates": [5, 10, 20], "hold": 4}
    raw = (out / f"{target}_capacity.csv").read_text()
    assert ",Warmup@" in raw and ",warmup," in raw  # an untimed warm-up ran before the first step
    assert not any(name.startswith("Warmup@") for name in summarise_file(out / f"{target}_capacity.csv").index)
    found = list(_summarised(out, f"{target}_capacity").steps)
    kept = json.loads((out / PAIRS_FILE).read_text())[f"{target}_capacity"]["steps"]
    assert [capacity.Step(**step) for step in kept] == found  # the summary files hold what the page reads
    assert [s.rate for s in found] == [5, 10, 20]
    assert all(s.failed == 0 and s.achieved_rps > 0 and s.p95_ms > 0 for s in found), found
    verdict = capacity.capacity(PairMetadata.from_json(meta), found, [5, 10, 20], capacity.DEFAULT_SLO_MS)
    shown = ("≥ " if verdict.at_least else "") + str(verdict.sustained_rps) if verdict.sustained_rps else "none"
    page = (out.parent / "site" / "capacity.html").read_text()
    label = load_registry().targets[target].label
    cause = re.escape(html.escape(verdict.cause, quote=False))
    row = rf"<td>{re.escape(label)}</td>\s*<td[^>]*>{re.escape(shown)}</td>\s*<td>{cause}</td>"
    assert re.search(row, page), (shown, verdict.cause)


def test_a_ramp_no_server_sustains_is_shown_as_none_with_its_cause(smoke_run, tmp_path):
    out, _ = smoke_run
    result = run_cli(
        *("report", "--out", str(out), "--site", str(tmp_path / "site"), "--history", str(tmp_path / "h")),
        *("--slo-ms", "1"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    page = (tmp_path / "site" / "capacity.html").read_text()
    for target in BOTH:
        label = re.escape(load_registry().targets[target].label)
        verdict = rf"<td>{label}</td>\s*<td[^>]*>none</td>\s*<td>p95 [\d.]+ ms over the 1 ms SLO at 5 req/s"
        row = re.search(rf"<td>{label}</td>.*?</tr>", page, re.S)  # what the page says instead, if it fails
        assert re.search(verdict, page), (target, row.group(0) if row else "no row for it")
    assert (tmp_path / "site" / "img" / "capacity.png").exists()


def _fasttrackml(tmp_path):
    target = load_registry().targets["fasttrackml-sqlite"]
    ensure_environment(target)
    db = f"sqlite://{tmp_path / 'fml.db'}"
    return launcher.launch(target, db, tmp_path / "work", tmp_path / "fml.log")


def test_a_server_that_returns_fewer_rows_fails_the_count_check(tmp_path):
    with _fasttrackml(tmp_path) as server, proxy(server.url, rewrite=drop_last_run) as url:
        result = run_cli(
            *("run", "--profile", "smoke", "--targets", "fasttrackml-sqlite", "--suites", "scale"),
            *("--server-url", url, "--out", str(tmp_path / "out"), "--no-report"),
        )
    assert result.returncode == 0, result.stderr[-3000:]
    stats = summarise_file(tmp_path / "out" / "fasttrackml-sqlite_scale.csv")
    searched = stats[stats.index.str.startswith("SearchRuns@")]
    others = stats[~stats.index.str.startswith("SearchRuns@")]
    assert (searched["errors"] > 0).all(), searched["errors"]  # every size: a run short
    assert (others["errors"] == 0).all(), others["errors"]


def test_a_seeding_failure_names_the_size_and_request_and_the_other_sizes_still_run(tmp_path):
    # growing to 5 runs sends 6 log-batch requests (k6/scale.js): the 10th is one of size 50's
    with _fasttrackml(tmp_path) as server, proxy(server.url, fail=nth_request("/runs/log-batch", 10)) as url:
        result = run_cli(
            *("run", "--profile", "smoke", "--targets", "fasttrackml-sqlite", "--suites", "scale"),
            *("--server-url", url, "--out", str(tmp_path / "out"), "--no-report"),
        )
    assert result.returncode == 1, result.stderr[-3000:]
    meta = metadata(tmp_path / "out", "fasttrackml-sqlite", "scale")
    assert meta["status"] == "partial"
    assert meta["error"].startswith("growing the store failed at 50 runs (LogBatch): the reads at that size were")
    seeding = pd.DataFrame(_summarised(tmp_path / "out", "fasttrackml-sqlite_scale").seeding)
    assert dict(zip(seeding["size"], seeding["failed"], strict=True)) == {5: "", 50: "LogBatch", 500: ""}
    stats = summarise_file(tmp_path / "out" / "fasttrackml-sqlite_scale.csv")
    assert {name.split("@")[1] for name in stats.index} == {"5", "500"}
    assert (stats["errors"] == 0).all(), stats["errors"]


@pytest.mark.timing
def test_capacity_finds_the_known_limit_of_a_throttled_server(tmp_path):
    """The proxy serves one API request at a time, 25 ms each: at most 40 per second. k6 offers its
    arrivals evenly spaced, so 30 per second queue nothing and 60 per second queue without end."""
    with _fasttrackml(tmp_path) as server, proxy(server.url, rate=40) as url:
        result = run_cli(
            *("run", "--profile", "smoke", "--targets", "fasttrackml-sqlite", "--suites", "capacity"),
            *("--rates", "10,20,30,60,120", "--hold-seconds", "6", "--server-url", url),
            *("--out", str(tmp_path / "out"), "--history", str(tmp_path / "h"), "--site", str(tmp_path / "site")),
        )
    assert result.returncode == 0, result.stderr[-3000:]
    page = (tmp_path / "site" / "capacity.html").read_text()
    assert re.search(r"<td>FastTrackML \(SQLite\)</td>\s*<td[^>]*>30</td>\s*<td>[^<]*60 req/s", page), page[:4000]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sizes", "0,10"], "--sizes: each must be from 1 to 1000000, got 0,10"),
        (["--sizes", "100,10"], "--sizes: must ascend without repeats, got 100,10"),
        (["--rates", "10,200000"], "--rates: each must be from 1 to 100000, got 10,200000"),
        (["--hold-seconds", "0"], "--hold-seconds: must be from 1 to 3600, got 0"),
        (["--slo-ms", "0"], "--slo-ms: must be from 1 to 60000, got 0.0"),
    ],
)
def test_out_of_range_sizes_rates_and_slo_are_one_line_errors(tmp_path, args, message):
    result = run_cli("run", "--profile", "smoke", "--out", str(tmp_path / "out"), *args)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith(message), result.stderr
