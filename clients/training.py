"""The client suite: a training script that logs through the real MLflow client, as users write it.

Run by the runner (`runner/client.py`) with the Python of the target's client environment (the MLflow
client its server supports, `client_packages` in the registry), so it imports nothing of this
project. Each loop is one training run: `mlflow.start_run()`, ten params, then EPOCHS epochs that
each "train" for TRAIN_MS (a sleep: the time a real model would take) and log METRICS metrics, then
the end of the run. The loops take the three ways of logging in turn:

- `TrainLogMetric`: `mlflow.log_metric` once per metric (one REST call each);
- `TrainLogMetrics`: `mlflow.log_metrics` once per epoch (one log-batch call);
- `TrainLogAsync`: `mlflow.log_metric(..., synchronous=False)`: the client queues the metrics and a
  thread of its own sends them in batches; the run's end waits until all are sent.

A loop is timed end to end in this process, from `start_run` to the return of its end. After it, and
untimed, the run is read back: it is an error unless every metric holds EPOCHS points and every param
is there, so that no server looks fast by keeping less.

Every REST call the client makes (its `requests` session) is recorded with its endpoint, status,
time and bytes, so that the report can say where a loop's time went.

Output: k6's CSV format (the columns the summary reads), one row per fact:
`operations` (one per loop, named by its way), `checks`, `successful_request_duration` (the loop's
milliseconds, when its check passed), `iterations` (the runner counts these for progress), and per
REST call `rest_call_duration` (ms) and `rest_call_bytes` (received), named by the loop's way, the
endpoint in `extra_tags`.

Environment: BASE_URL, CSV (the output file), ITERATIONS (loops in all), EPOCHS, METRICS, TRAIN_MS.
"""

from __future__ import annotations

import contextlib
import csv
import os
import sys
import threading
import time

import mlflow
import requests
from mlflow import MlflowClient

COLUMNS = ["metric_name", "timestamp", "metric_value", "check", "error", "error_code", "expected_response"]
COLUMNS += ["group", "method", "name", "scenario", "status", "extra_tags", "metadata"]
SCENARIO = "client"
API_PREFIX = "/api/2.0/mlflow/"
PARAMS = 10
WAYS = ("TrainLogMetric", "TrainLogMetrics", "TrainLogAsync")


class Calls:
    """Every REST call made through `requests` while recording, from any thread (the async logger's too)."""

    def __init__(self) -> None:
        self.recorded: list[dict] = []
        self.recording = False
        self.lock = threading.Lock()
        original = requests.Session.send

        def send(session, request, **kwargs):
            started, at = time.perf_counter(), time.time()
            response = original(session, request, **kwargs)
            if self.recording:
                self._add(request, response, (time.perf_counter() - started) * 1000, at)
            return response

        requests.Session.send = send

    def _add(self, request, response, ms: float, at: float) -> None:
        path = request.path_url.split("?")[0]
        endpoint = path.split(API_PREFIX, 1)[-1]
        call = {"at": at, "method": request.method, "endpoint": endpoint, "ms": ms}
        call |= {"status": response.status_code, "bytes": len(response.content)}
        with self.lock:
            self.recorded.append(call)

    def take(self) -> list[dict]:
        with self.lock:
            taken, self.recorded = self.recorded, []
        return taken


def train_loop(way: str, experiment_id: str, epochs: int, metrics: int, train_ms: float) -> str:
    """One training run logged the `way` given; its run id."""
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params({f"param_{i}": f"value_{i}" for i in range(PARAMS)})
        for epoch in range(epochs):
            time.sleep(train_ms / 1000)
            values = {f"metric_{k}": 1.0 / (1 + epoch + k) for k in range(metrics)}
            if way == "TrainLogMetrics":
                mlflow.log_metrics(values, step=epoch)
            else:
                for key, value in values.items():
                    if way == "TrainLogAsync":
                        mlflow.log_metric(key, value, step=epoch, synchronous=False)
                    else:
                        mlflow.log_metric(key, value, step=epoch)
    return run.info.run_id


def all_logged(client: MlflowClient, run_id: str, epochs: int, metrics: int) -> bool:
    """The run holds every param and, for every metric, one point per epoch."""
    run = client.get_run(run_id)
    if len(run.data.params) != PARAMS or len(run.data.metrics) != metrics:
        return False
    return all(len(client.get_metric_history(run_id, key)) == epochs for key in run.data.metrics)


def checked(client: MlflowClient, run_id: str, epochs: int, metrics: int) -> bool:
    try:
        return all_logged(client, run_id, epochs, metrics)
    except Exception as exc:
        print(f"reading run {run_id} back failed: {exc}", flush=True)
        return False


def end_quietly() -> None:
    """End the run a failed loop left active, so that the next loop can start its own."""
    with contextlib.suppress(Exception):
        mlflow.end_run(status="FAILED")


def rows_of_loop(way: str, at: float, ms: float, passed: bool, calls: list[dict]) -> list[dict]:
    def row(metric: str, value: float, when: float, **extra) -> dict:
        timestamp = int(when * 1000)
        return {"metric_name": metric, "timestamp": timestamp, "metric_value": f"{value:.6f}", "name": way} | extra

    scenario = {"scenario": SCENARIO}
    rows = [row("operations", 1, at, expected_response="true" if passed else "false", **scenario)]
    rows.append(row("checks", 1 if passed else 0, at, check="every metric and param logged", **scenario))
    if passed:
        rows.append(row("successful_request_duration", ms, at, expected_response="true", **scenario))
    for call in calls:
        tags = {"method": call["method"], "status": call["status"], "extra_tags": f"endpoint={call['endpoint']}"}
        tags |= {"expected_response": str(call["status"] == 200).lower(), **scenario}
        rows.append(row("rest_call_duration", call["ms"], call["at"], **tags))
        rows.append(row("rest_call_bytes", call["bytes"], call["at"], **tags))
    rows.append({"metric_name": "iterations", "timestamp": int(time.time() * 1000), "metric_value": "1", **scenario})
    return rows


def main() -> int:
    env = os.environ
    loops, epochs, metrics = int(env["ITERATIONS"]), int(env["EPOCHS"]), int(env["METRICS"])
    train_ms = float(env["TRAIN_MS"])
    mlflow.set_tracking_uri(env["BASE_URL"])
    client = MlflowClient()
    experiment_id = client.create_experiment(f"client-suite-{int(time.time() * 1000)}-{os.getpid()}")
    calls = Calls()
    with open(env["CSV"], "w", newline="") as out:
        writer = csv.DictWriter(out, COLUMNS)
        writer.writeheader()
        out.flush()
        for loop in range(loops):
            way = WAYS[loop % len(WAYS)]
            calls.take()
            calls.recording = True
            at, started = time.time(), time.perf_counter()
            try:
                run_id = train_loop(way, experiment_id, epochs, metrics, train_ms)
                failure = None
            except Exception as exc:  # a failed call fails this loop, not the suite
                run_id, failure = None, exc
                end_quietly()
            ms = (time.perf_counter() - started) * 1000
            calls.recording = False
            passed = run_id is not None and checked(client, run_id, epochs, metrics)
            if not passed:
                print(f"{way}: loop {loop} failed: {failure or 'not every metric or param was logged'}", flush=True)
            writer.writerows(rows_of_loop(way, at, ms, passed, calls.take()))
            out.flush()
            print(f"{way}: loop {loop + 1} of {loops}: {ms:.0f} ms", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
