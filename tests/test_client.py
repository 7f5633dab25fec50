"""The client suite end to end: a training script logging through the real MLflow client against real
servers, its loops timed and checked, and every REST call it made counted per endpoint; and against
a server that says it stored metrics it dropped."""

from __future__ import annotations

import html
import re

import pytest

from analysis.summarise import summarise_pair
from core.records import PairMetadata
from services.registry import load_registry
from tests.conftest import metadata, run_cli
from tests.proxies import every_other, proxy
from tests.test_scale_capacity import _fasttrackml

pytestmark = pytest.mark.servers

BOTH = ("fasttrackml-sqlite", "mlflow-sqlite")
WAYS = {"TrainLogMetric", "TrainLogMetrics", "TrainLogAsync"}
# k6/profiles.json, smoke: 3 loops (one per way) of 3 epochs x 2 metrics
EPOCHS, METRICS = 3, 2


def _calls(out, target) -> dict[tuple[str, str], float]:
    stem = f"{target}_client"
    pair = summarise_pair(out / f"{stem}.csv", PairMetadata.read(out / f"{stem}.json"))
    assert all(call["errors"] == 0 for call in pair.calls), pair.calls
    return {(call["name"], call["endpoint"]): call["calls_per_operation"] for call in pair.calls}


@pytest.mark.parametrize("target", BOTH)
def test_every_way_of_logging_is_timed_once_per_loop_and_every_loop_kept_every_metric(smoke_run, target):
    out, _ = smoke_run
    meta = metadata(out, target, "client")
    assert meta["status"] == "ok", meta["error"]
    assert meta["settings"] == {"epochs": EPOCHS, "metrics": METRICS, "train_ms": 5}
    assert sorted(meta["counts"]["request_names"]) == sorted(WAYS)
    assert meta["counts"]["requests"] == 3 and meta["counts"]["errors"] == 0
    # the loop waits for its training at least: 3 epochs of 5 ms
    pair = summarise_pair(out / f"{target}_client.csv", PairMetadata.read(out / f"{target}_client.json"))
    assert (pair.stats["p50_ms"] >= EPOCHS * 5).all(), pair.stats


@pytest.mark.parametrize("target", BOTH)
def test_the_calls_each_way_makes_are_counted_per_endpoint(smoke_run, target):
    out, _ = smoke_run
    calls = _calls(out, target)
    for way in WAYS:
        assert calls[(way, "runs/create")] == 1 and calls[(way, "runs/update")] == 1, way
    assert calls[("TrainLogMetric", "runs/log-metric")] == EPOCHS * METRICS
    assert calls[("TrainLogMetric", "runs/log-batch")] == 1  # the params
    assert calls[("TrainLogMetrics", "runs/log-batch")] == EPOCHS + 1
    assert ("TrainLogMetrics", "runs/log-metric") not in calls
    # asynchronous: the client batches metrics as it sees fit, but never calls log-metric
    assert 2 <= calls[("TrainLogAsync", "runs/log-batch")] <= EPOCHS * METRICS + 1
    assert ("TrainLogAsync", "runs/log-metric") not in calls


def test_the_client_page_shows_each_target_s_logging_share_and_its_calls(smoke_run):
    out, _ = smoke_run
    page = html.unescape((out.parent / "site" / "client.html").read_text())
    for target in BOTH:
        label = re.escape(load_registry().targets[target].label)
        assert re.search(rf"<td>{label}</td>\s*<td>TrainLogMetric</td>\s*<td[^>]*>1</td>", page), target
        assert re.search(rf"logging took .*{label} \d+%", page), target
    assert "<code>runs/log-metric</code>" in page and "mlflow-skinny==2.22.5" in page


def test_a_server_that_drops_metrics_it_acknowledged_fails_the_loops_that_sent_them(tmp_path):
    """Every second log-metric is answered 200 and never stored: each TrainLogMetric loop (6 calls)
    lacks 3 points, so it is an error; the other ways never call log-metric and pass."""
    with _fasttrackml(tmp_path) as server, proxy(server.url, swallow=every_other("/runs/log-metric")) as url:
        result = run_cli(
            *("run", "--profile", "smoke", "--targets", "fasttrackml-sqlite", "--suites", "client"),
            *("--server-url", url, "--out", str(tmp_path / "out"), "--no-report"),
        )
    assert result.returncode in (0, 1), result.stderr[-3000:]
    stem = "fasttrackml-sqlite_client"
    pair = summarise_pair(tmp_path / "out" / f"{stem}.csv", PairMetadata.read(tmp_path / "out" / f"{stem}.json"))
    errors = dict(zip(pair.stats["name"], pair.stats["errors"], strict=True))
    assert errors == {"TrainLogMetric": 1, "TrainLogMetrics": 0, "TrainLogAsync": 0}
