"""act runs this repository's workflows end to end on a private Docker daemon (`./run.sh act`):
images built here from Debian, PyPI and npm under the workflows' own names, real service containers
(PostgreSQL 18 and the server), stand-ins for GitHub's actions, and the history pushed to a local
bare repository as `record` pushes the data branch on GitHub. Marked `docker`."""

from __future__ import annotations

import gzip
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from localci.dockerd import Daemon, private_daemon
from tests.conftest import ROOT, run_cli

pytestmark = [pytest.mark.docker, pytest.mark.servers]
PAIRS = {("fasttrackml-sqlite", "logging"), ("fasttrackml-postgres", "logging")}


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    with private_daemon() as running:
        yield running
    left = [p.pid for p in psutil.process_iter(["cmdline"]) if str(running.socket) in " ".join(p.info["cmdline"] or [])]
    assert left == [], f"the daemon's processes outlived it: {left}"


def _act(daemon: Daemon, out: Path, *args: str, exit_codes: tuple[int, ...] = (0,)) -> Path:
    """`./run.sh act` on the test's daemon; the run's artifacts folder."""
    done = run_cli("act", "--out", str(out), *args, env={"DOCKER_HOST": daemon.host}, timeout=1800)
    failures = [line for line in done.stdout.splitlines() if "❌" in line or "::error" in line or "Error" in line]
    assert done.returncode in exit_codes, "\n".join([*failures[-20:], done.stderr[-2000:]])
    (out / "exit-code").write_text(str(done.returncode))
    [run] = [folder for folder in out.iterdir() if folder.name not in ("history.git", "exit-code")]
    return run / "artifacts"


def _left_behind(daemon: Daemon) -> list[str]:
    """Containers, and networks beyond the daemon's own (host, none), that a run left."""
    containers = daemon.docker("ps", "--all", "--format", "{{.Names}}").stdout.split()
    networks = set(daemon.docker("network", "ls", "--format", "{{.Name}}").stdout.split()) - {"host", "none"}
    return containers + sorted(networks)


def _records(history: Path) -> list[dict]:
    files = subprocess.run(
        ["git", "-C", str(history), "ls-tree", "-r", "--name-only", "benchmark-data"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    shown = [
        subprocess.run(["git", "-C", str(history), "show", f"benchmark-data:{f}"], capture_output=True) for f in files
    ]
    return [json.loads(gzip.decompress(done.stdout)) for done in shown]


def _image_id(daemon: Daemon, reference: str) -> str:
    """`NAME@sha256:ID` as container.sh records an image built here: its local id stands in."""
    name, _, digest = reference.partition("@")
    assert daemon.docker("image", "inspect", "--format", "{{.Id}}", name).stdout.strip() == digest
    return name


def test_act_runs_the_benchmark_workflow_on_push_into_one_history_record_and_a_site(daemon, tmp_path):
    artifacts = _act(daemon, tmp_path, "--targets", "fasttrackml-sqlite,fasttrackml-postgres", "--suites", "logging",
                     "--profile", "smoke", "push")  # fmt: skip
    [record] = _records(tmp_path / "history.git")  # record pushed it as it pushes the data branch
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert record["commit"] == head and record["profile"] == "smoke"  # checkout's stand-in: the commit
    assert {(p["target"], p["suite"]) for p in record["pairs"]} == PAIRS
    for pair in record["pairs"]:
        assert pair["status"] == "ok" and pair["mode"] == "external"  # the server is a service container
        # measured through the container's cgroup: an external server has no other CPU account
        assert pair["server_cpu_seconds"] > 0 and pair["server_rss_peak_mib"] > 1
        server = _image_id(daemon, pair["provenance"]["server_image"])
        assert server.startswith("ghcr.io/") and "/fasttrackml:0.6.0-" in server  # the images job built it
    [postgres] = [p for p in record["pairs"] if p["target"] == "fasttrackml-postgres"]
    assert _image_id(daemon, postgres["provenance"]["postgres_image"]) == "postgres:18"
    assert "FastTrackML" in (artifacts / "site" / "index.html").read_text()  # report built and uploaded the site
    assert {p.name for p in artifacts.iterdir()} == {
        "bench-fasttrackml-sqlite-logging", "bench-fasttrackml-postgres-logging", "comparison", "site",
    }  # fmt: skip
    assert _left_behind(daemon) == []


def _verdicts(folder: Path, mode: str = "alone") -> dict[str, str]:
    rows = json.loads((folder / "comparison.json").read_text())["rows"]
    return {row["name"]: row["verdict"] for row in rows if row["mode"] == mode}


def test_act_runs_the_ab_workflow_on_two_real_containers_with_the_native_ab_s_verdicts(daemon, tmp_path):
    """ab.yml called as FastTrackML's pull request calls it, both sides as service containers
    (FastTrackML 0.5.1 against 0.6.0): its verdicts are those of the same A/B run natively."""
    rounds = ("--rounds", "20", "--round-seconds", "2")
    artifacts = _act(daemon, tmp_path / "act", "--workflow", ".github/act/workflows/ab.yml", "workflow_dispatch",
                     "--input", "rounds=20", "--input", "round_seconds=2", exit_codes=(0, 1))  # fmt: skip
    gate = json.loads((artifacts / "benchmark-verdict" / "gate.json").read_text())
    # the gate job fails the run exactly when a regression stands
    failed = (tmp_path / "act" / "exit-code").read_text() == "1"
    assert gate["outcome"] == ("regression" if failed else "pass"), gate["reason"]
    in_containers = artifacts / "ab-fasttrackml-sqlite-logging" / "fasttrackml-sqlite-logging"
    meta = json.loads((in_containers / "ab.json").read_text())
    assert meta["baseline"]["mode"] == meta["candidate"]["mode"] == "external" and meta["isolated"]
    comparison = json.loads((in_containers / "comparison.json").read_text())
    cost = comparison["resources"][0]
    assert cost["cpu_a"] > 0 and cost["cpu_b"] > 0  # each side metered through its container's cgroup
    # and per request name, from the cgroups' laps at the segments' barriers
    alone = [row for row in comparison["rows"] if row["mode"] == "alone"]
    assert alone and all(row["cpu"] and row["cpu"]["cpu_a"] > 0 for row in alone)
    native = run_cli("ab", "--baseline", "fasttrackml-0.5.1-sqlite", "--candidate", "fasttrackml-sqlite",
                     "--suites", "logging", *rounds, "--out", str(tmp_path / "native"), timeout=900)  # fmt: skip
    assert native.returncode == 0, native.stderr[-2000:]
    [native_folder] = [p.parent for p in (tmp_path / "native").rglob("comparison.json")]
    contained, served_here = _verdicts(in_containers), _verdicts(native_folder)
    # 0.6.0 updates a run holding a mixed iteration's data about 4x faster than 0.5.1
    assert contained["UpdateRun"] == served_here["UpdateRun"] == "improvement"
    assert _left_behind(daemon) == []
