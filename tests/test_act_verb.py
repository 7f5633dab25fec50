"""`./run.sh act` with no DOCKER_HOST starts a private Docker daemon of its own for the run, and stops
it afterwards: no daemon process is left, and the host's network is as it was. Marked `docker`."""

from __future__ import annotations

import os
import subprocess
import sys

import psutil
import pytest

from localci.dockerd import FOLDER, host_network, mounts_under
from tests.conftest import ROOT

pytestmark = [pytest.mark.docker, pytest.mark.servers]


def test_act_starts_its_own_daemon_runs_the_plan_job_and_stops_the_daemon(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "DOCKER_HOST"}
    before = host_network()
    done = subprocess.run(
        [sys.executable, "-m", "cli", "act", "--out", str(tmp_path), "--suites", "logging", "--profile", "smoke",
         "push", "-j", "plan"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-2000:])
    assert "[benchmark/plan] 🏁  Job succeeded" in done.stdout
    assert '"target":"fasttrackml-postgres"' in done.stdout  # the matrix the variables asked for
    socket = str(FOLDER / "docker.sock")
    left = [p.pid for p in psutil.process_iter(["cmdline"]) if socket in " ".join(p.info["cmdline"] or [])]
    assert left == [] and not (FOLDER / "docker.sock").exists()
    assert host_network() == before and mounts_under(FOLDER) == []  # dockerd itself leaves its netns mounted
