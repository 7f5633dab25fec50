"""The ui suite end to end: k6's browser module drives Debian's chromium through the real servers'
web UIs against the scale suite's store; every view is timed, checked for what it shows, and the
requests behind it are counted; a server that shows half of its runs fails the check."""

from __future__ import annotations

import html
import re

import pytest

from analysis.summarise import PairSummary, summarise_pair
from core.records import PairMetadata
from services.registry import load_registry
from tests.conftest import metadata, run_cli
from tests.proxies import hide_half_of_the_runs, proxy
from tests.test_scale_capacity import _fasttrackml

pytestmark = pytest.mark.servers

BOTH = ("fasttrackml-sqlite", "mlflow-sqlite")
SIZES = (5, 50)  # k6/profiles.json, smoke
VIEWS = ("ExperimentPage", "CompareRuns", "MetricPage")
AIM_VIEW = "AimMetrics"  # FastTrackML only


def _pair(out, target) -> PairSummary:
    stem = f"{target}_ui"
    return summarise_pair(out / f"{stem}.csv", PairMetadata.read(out / f"{stem}.json"))


@pytest.mark.parametrize("target", BOTH)
def test_every_view_is_shown_with_all_its_data_at_every_size(smoke_run, target):
    out, _ = smoke_run
    meta = metadata(out, target, "ui")
    assert meta["status"] == "ok", meta["error"]
    assert meta["settings"] == {"sizes": list(SIZES), "reads": 1}
    pair = _pair(out, target)
    stats = pair.stats.set_index("name")
    views = (*VIEWS, AIM_VIEW) if target.startswith("fasttrackml") else VIEWS
    assert set(stats.index) == {f"{view}@{size}" for view in views for size in SIZES}
    assert (stats["count"] == 1).all() and (stats["errors"] == 0).all(), stats[["count", "errors"]]
    # a view is a page load with scripts to run: never a few milliseconds
    assert (stats["p50_ms"] > 50).all(), stats["p50_ms"]
    assert pair.seeding == () or all(not s.get("failed") for s in pair.seeding)


@pytest.mark.parametrize("target", BOTH)
def test_the_requests_behind_each_view_are_counted_per_endpoint(smoke_run, target):
    out, _ = smoke_run
    calls = {(c["name"], c["endpoint"]): c for c in _pair(out, target).calls}
    for size in SIZES:
        assert calls[(f"ExperimentPage@{size}", "runs/search")]["calls_per_operation"] >= 1
        assert calls[(f"MetricPage@{size}", "metrics/get-history")]["calls_per_operation"] >= 1
        assert calls[(f"ExperimentPage@{size}", "static files")]["calls_per_operation"] >= 1
        assert calls[(f"ExperimentPage@{size}", "runs/search")]["errors"] == 0
    # FastTrackML's classic MLflow UI fetches every compared run by itself: 50 at size 50; its Aim
    # UI's explorer streams every run's metric in one call
    if target.startswith("fasttrackml"):
        assert calls[("CompareRuns@50", "runs/get")]["calls_per_operation"] == 50
        assert calls[("AimMetrics@50", "aim/runs/search/metric")]["calls_per_operation"] == 1


@pytest.mark.parametrize("target", BOTH)
def test_the_server_s_cpu_is_read_around_every_view(smoke_run, target):
    out, _ = smoke_run
    meta = PairMetadata.read(out / f"{target}_ui.json")
    views = (*VIEWS, AIM_VIEW) if target.startswith("fasttrackml") else VIEWS
    assert set(meta.server_cpu_by_name) == {f"{view}@{size}" for view in views for size in SIZES}
    # one reading per view timed; every view made the server answer REST calls, which cost it CPU,
    # and no view can cost more than the whole pair
    assert all(len(seconds) == 1 for seconds in meta.server_cpu_by_name.values()), meta.server_cpu_by_name
    each = [s for seconds in meta.server_cpu_by_name.values() for s in seconds]
    assert all(s > 0 for s in each) and sum(each) < meta.server_cpu_seconds, (each, meta.server_cpu_seconds)


@pytest.mark.parametrize("target", BOTH)
def test_each_view_s_wait_for_the_server_is_part_of_its_time(smoke_run, target):
    """The time a request to the server was in flight, per view: some of it (the page itself and its
    REST calls), never more than the whole view, which also runs the UI's scripts."""
    out, _ = smoke_run
    pair = _pair(out, target)
    waits = {w["name"]: w["wait_ms"] for w in pair.waits}
    views = (*VIEWS, AIM_VIEW) if target.startswith("fasttrackml") else VIEWS
    assert set(waits) == {f"{view}@{size}" for view in views for size in SIZES}
    shown = pair.stats.set_index("name")["p50_ms"]
    for name, wait in waits.items():
        assert 0 < wait <= shown[name], (name, wait, shown[name])


def test_the_ui_page_shows_each_target_s_time_to_each_view(smoke_run):
    out, _ = smoke_run
    page = html.unescape((out.parent / "site" / "ui.html").read_text())
    for target in BOTH:
        label = re.escape(load_registry().targets[target].label)
        for view in VIEWS:
            assert re.search(rf"<td>{label}</td>\s*<td>{view}</td>\s*<td[^>]*>\d+ \(\d+\)</td>", page), (target, view)
    assert re.search(r"ExperimentPage at 50 runs: .* shows it first", page)
    assert "<code>runs/search</code>" in page
    for target in BOTH:  # the server's CPU per view, a table row per target and view
        label = re.escape(load_registry().targets[target].label)
        assert re.search(rf"<td>{label}</td>\s*<td>ExperimentPage</td>\s*<td[^>]*>\d+</td>", page), target
        # and where its time went: waiting for the server, against the view, and the browser's share
        assert re.search(rf"<td>{label}</td>\s*<td>MetricPage</td>\s*<td[^>]*>\d+ / \d+ ms \(\d+%\)</td>", page), target


def test_a_server_that_shows_half_of_its_runs_fails_the_experiment_page(tmp_path):
    with _fasttrackml(tmp_path) as server, proxy(server.url, rewrite=hide_half_of_the_runs) as url:
        result = run_cli(
            *("run", "--profile", "smoke", "--targets", "fasttrackml-sqlite", "--suites", "ui"),
            *("--server-url", url, "--out", str(tmp_path / "out"), "--no-report"),
        )
    assert result.returncode in (0, 1), result.stderr[-3000:]
    stats = _pair(tmp_path / "out", "fasttrackml-sqlite").stats.set_index("name")
    for size in SIZES:
        assert stats.loc[f"ExperimentPage@{size}", "errors"] == 1, stats
        # the metric page does not search runs: it is shown in full
        assert stats.loc[f"MetricPage@{size}", "errors"] == 0, stats
    log = (tmp_path / "out" / "fasttrackml-sqlite_ui.k6.log").read_text()
    assert re.search(r'ExperimentPage@5: shown \{[^}]*rows\\?":3[,}]', log), log[-2000:]  # of 6
