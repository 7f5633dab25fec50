"""Run the client suite: the training script of `clients/training.py` in the client environment of
the target's server, against the server at `base_url`. It writes k6's CSV format, so the rest of the
pipeline (progress, summary, records, report) treats it like any k6 suite."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

from core.paths import CLIENT_SCRIPT
from runner.k6 import LoadResult, Profile, run_load
from services.environments import client_python
from services.registry import Target

SUITE = "client"


def run_client(
    target: Target,
    base_url: str,
    profile: Profile,
    csv_path: Path,
    log_path: Path,
    on_progress: Callable[[int], None] = lambda done: None,
    should_stop: Callable[[], str | None] = lambda: None,
    cpus: frozenset[int] | None = None,
) -> LoadResult:
    """The training loops of `profile` (ITERATIONS loops of EPOCHS x METRICS) through the target's client."""
    python = client_python(target)
    env = {**profile.script_env(), "BASE_URL": base_url, "CSV": str(csv_path), "PYTHONUNBUFFERED": "1"}
    command = [str(python), str(CLIENT_SCRIPT)]
    # SIGINT: the script stops between two calls and closes its CSV, whose every loop is complete
    return run_load(command, env, csv_path, log_path, on_progress, should_stop, cpus, signal.SIGINT)
