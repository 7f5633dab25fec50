"""Real containers on a private Docker daemon (localci/dockerd.py): what CI's jobs do with their
service containers, done here. `.github/scripts/container.sh` finds a container by its label, with
its address, image and cgroup; a container with no address and a label no container has are one
`::error::` line each; and `./run.sh run --server-url --server-cgroup` benchmarks FastTrackML in a
container, metered through that container's real cgroup, as a bench job does.

The FastTrackML images are the act rig's stand-ins for the registry's (localci/images.py: the
`fml` of the PyPI wheel at the same version), labelled with a revision as FastTrackML's are. Marked `docker`
(`-m "not docker"` leaves them out)."""

from __future__ import annotations

import json
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from localci import images
from localci.dockerd import Daemon, private_daemon
from localci.images import base, base_image_of, server_base
from runner.cgroups import cpu_cgroup
from runner.resources import CgroupMeter
from services.registry import load_registry
from tests.conftest import ROOT, run_cli

pytestmark = [pytest.mark.docker, pytest.mark.servers]
CONTAINER_SH = ROOT / ".github" / "scripts" / "container.sh"
REVISION = "0" * 40  # what the image says it was built from, as FastTrackML's images do


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    with private_daemon() as running:
        yield running


def _image(daemon: Daemon, version: str, context: Path) -> str:
    """FastTrackML at `version` under the registry's image name, labelled with its revision."""
    target = load_registry().at_version(load_registry().targets["fasttrackml-sqlite"], version)
    base(daemon)
    image = server_base(daemon, base_image_of(target), [target])
    (context / "Dockerfile").write_text(f"FROM {image}\nLABEL org.opencontainers.image.revision={REVISION}\n")
    daemon.build(image, context)
    return image


@pytest.fixture(scope="module")
def fasttrackml(daemon: Daemon, tmp_path_factory) -> str:
    return _image(daemon, "0.6.0", tmp_path_factory.mktemp("fml-image"))


@pytest.fixture(scope="module")
def network(daemon: Daemon) -> str:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    daemon.docker("network", "create", name)
    return name


def _start(daemon: Daemon, image: str, network: str, *options: str) -> str:
    """A container like a job's service: a label to find it by, the database on its own file."""
    label = f"bench.container=test-{uuid.uuid4().hex[:12]}"
    daemon.docker(
        "run", "--detach", "--network", network, "--label", label, "--no-healthcheck",
        "--env", "FML_DATABASE_URI=sqlite:///tmp/tracking.db", *options, image,
    )  # fmt: skip
    return label


def _container_sh(daemon: Daemon, label: str, wait_seconds: int = 30) -> subprocess.CompletedProcess:
    env = daemon.env | {"CONTAINER_WAIT_SECONDS": str(wait_seconds)}
    return subprocess.run(
        [str(CONTAINER_SH), label, "5000"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def _outputs(done: subprocess.CompletedProcess) -> dict[str, str]:
    assert done.returncode == 0, done.stderr
    return dict(line.split("=", 1) for line in done.stdout.splitlines())


def _healthy(url: str, attempts: int = 100) -> bool:
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                return answer.read() == b"OK"
        except OSError:
            subprocess.run(["sleep", "0.1"], check=True)
    return False


def test_container_sh_finds_a_real_container_its_address_image_and_cgroup(daemon, fasttrackml, network):
    label = _start(daemon, fasttrackml, network)
    found = _outputs(_container_sh(daemon, label))
    assert set(found) == {"id", "url", "digest", "revision", "cgroup"}
    assert found["url"].startswith("http://") and found["url"].endswith(":5000") and _healthy(found["url"])
    image_id = daemon.docker("image", "inspect", "--format", "{{.Id}}", fasttrackml).stdout.strip()
    assert found["digest"] == f"{fasttrackml}@{image_id}"  # built here: its local id stands in for a digest
    assert found["revision"] == REVISION
    pid = int(daemon.docker("inspect", "--format", "{{.State.Pid}}", found["id"]).stdout)
    assert Path(found["cgroup"]) == cpu_cgroup(pid) and found["id"][:12] in found["cgroup"]
    meter = CgroupMeter(Path(found["cgroup"]))  # the kernel's account of the container, as the runner reads it
    meter.begin()
    assert _healthy(found["url"])
    cpu, memory = meter.end()
    assert cpu >= 0 and memory is not None and memory > 1


def test_container_sh_fails_in_one_line_for_a_container_without_address_or_without_a_container(
    daemon, fasttrackml, network
):
    alone = _start(daemon, fasttrackml, "none")  # running, but on no network: no address, ever
    waited = _container_sh(daemon, alone, wait_seconds=3)
    assert waited.returncode == 1 and waited.stdout == ""
    assert waited.stderr.strip().splitlines() == [
        f"::error::the container labelled {alone} has no network address and running process after 3 s "
        "(restarting? see the job's service logs)"
    ]
    gone = _start(daemon, fasttrackml, network, "--entrypoint", "fml")  # prints its usage and exits
    daemon.docker("wait", daemon.docker("ps", "--all", "--quiet", "--filter", f"label={gone}").stdout.strip())
    missing = _container_sh(daemon, gone)  # it exited: no running container has the label
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.strip() == (
        f"::error::no running service container is labelled {gone} (did it exit? see the job's service logs)"
    )


def test_container_sh_finds_a_server_that_restarts_until_its_database_is_up(daemon, fasttrackml, network):
    """As ab.yml starts a published image: no wait for its database, restarted by Docker until it is
    up. Its address and cgroup are the container's, the same across restarts, so what container.sh
    finds while it restarts is where the server answers, and is metered, once its database is up."""
    database = f"db-{uuid.uuid4().hex[:8]}"
    label = f"bench.container=test-{uuid.uuid4().hex[:12]}"
    daemon.docker(
        "run", "--detach", "--network", network, "--label", label, "--no-healthcheck", "--restart", "on-failure:30",
        "--env", f"FML_DATABASE_URI=postgres://postgres:bench@{database}:5432/bench?sslmode=disable", fasttrackml,
    )  # fmt: skip
    container = daemon.docker("ps", "--all", "--quiet", "--filter", f"label={label}").stdout.strip()
    for _ in range(150):  # the server exits without its database, and Docker starts it again
        if int(daemon.docker("inspect", "--format", "{{.RestartCount}}", container).stdout) > 0:
            break
        subprocess.run(["sleep", "0.2"], check=True)
    found = _outputs(_container_sh(daemon, label, wait_seconds=120))
    images.postgres(daemon, "postgres:18")
    daemon.docker("run", "--detach", "--network", network, "--network-alias", database,
                  "--env", "POSTGRES_PASSWORD=bench", "--env", "POSTGRES_DB=bench", "postgres:18")  # fmt: skip
    assert _healthy(found["url"], attempts=600)  # Docker's restart back-off grows: up to a minute
    assert int(daemon.docker("inspect", "--format", "{{.RestartCount}}", container).stdout) > 0
    pid = int(daemon.docker("inspect", "--format", "{{.State.Pid}}", container).stdout)
    assert Path(found["cgroup"]) == cpu_cgroup(pid)  # the running server's account, after its restarts


def test_a_bench_job_measures_a_container_through_its_cgroup(daemon, fasttrackml, network, tmp_path):
    found = _outputs(_container_sh(daemon, _start(daemon, fasttrackml, network)))
    result = run_cli(
        "run", "--targets", "fasttrackml-sqlite", "--suites", "retrieval", "--profile", "smoke",
        "--server-url", found["url"], "--server-cgroup", found["cgroup"], "--out", str(tmp_path),
        "--no-report", "--provenance", f"server_image={found['digest']}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    meta = json.loads((tmp_path / "fasttrackml-sqlite_retrieval.json").read_text())
    assert meta["status"] == "ok" and meta["mode"] == "external"
    assert meta["server_cpu_seconds"] > 0 and meta["server_rss_peak_mib"] > 1  # the container's own account
    assert meta["provenance"]["server_image"] == found["digest"]


def test_the_ab_job_runs_on_two_real_containers_as_the_workflow_finds_them(
    daemon, fasttrackml, network, tmp_path, tmp_path_factory, monkeypatch
):
    """ab.yml's A/B job with both sides as images, FastTrackML 0.5.1 against 0.6.0: the containers are
    started under the labels the workflow gives its services, and the job's own steps (container.sh,
    then ./run.sh ab --confirm) find and measure them, each metered through its container's cgroup."""
    from tests.test_workflow_rehearsal import AB_WORKFLOW, REPOSITORY, Rehearsal

    older = _image(daemon, "0.5.1", tmp_path_factory.mktemp("fml-0.5.1"))
    inputs = {
        "suite_repository": REPOSITORY,
        "baseline_image": older,
        "candidate_image": fasttrackml,
        "targets": "fasttrackml-sqlite",
        "suites": "retrieval",
        "rounds": 3,
        "round_seconds": 1,
    }
    run = Rehearsal("schedule", tmp_path, tmp_path / "remote.git", 1, inputs=inputs, workflow=AB_WORKFLOW)
    prefix = f"bench.container={run.github['run_id']}-{run.github['run_attempt']}-fasttrackml-sqlite-retrieval"
    for side, image in (("baseline", older), ("candidate", fasttrackml)):
        daemon.docker("run", "--detach", "--network", network, "--label", f"{prefix}-{side}", "--no-healthcheck",
                      "--env", "FML_DATABASE_URI=sqlite:///tmp/tracking.db", image)  # fmt: skip
    monkeypatch.setenv("DOCKER_HOST", daemon.env["DOCKER_HOST"])  # the job's steps talk to this daemon
    run.job("plan")
    run.job("ab")
    folder = run.artifacts / "ab-fasttrackml-sqlite-retrieval" / "fasttrackml-sqlite-retrieval"
    meta = json.loads((folder / "ab.json").read_text())
    assert meta["status"] == "ok" and meta["baseline"]["mode"] == meta["candidate"]["mode"] == "external"
    assert meta["provenance"]["baseline_image"].startswith(f"{older}@sha256:")
    assert meta["provenance"]["candidate_revision"] == REVISION
    cost = json.loads((folder / "comparison.json").read_text())["resources"][0]
    assert cost["cpu_a"] > 0 and cost["cpu_b"] > 0 and cost["rss_a_mib"] > 1  # each container's own account
    assert (folder / "baseline.container.log").read_text()  # the job kept both servers' logs


@pytest.mark.parametrize("target_id", ["mlflow-sqlite", "mlflow-go-sqlite"])
def test_a_python_server_s_image_builds_on_its_stand_in_base_and_serves(daemon, network, target_id):
    """MLflow's and MLflow-Go's service images, built by the images job's own command from
    services/SERVER/Dockerfile on the rig's stand-in of its base (their packages from PyPI wheels),
    answer once started, and container.sh finds them."""
    target = load_registry().targets[target_id]
    base(daemon)
    server_base(daemon, base_image_of(target), [target])
    image = f"bench-test/{target.server.name}:{target.version}"
    daemon.docker(
        "build", "--quiet", "--file", str(ROOT / target.server.dockerfile), "--tag", image,
        "--build-arg", f"VERSION={target.version}", "--build-arg", f"PACKAGES={' '.join(target.packages)}",
        str(ROOT / "services"),
    )  # fmt: skip
    label = f"bench.container=test-{uuid.uuid4().hex[:12]}"
    daemon.docker("run", "--detach", "--network", network, "--label", label, "--no-healthcheck",
                  "--env", f"MLFLOW_BACKEND_STORE_URI={target.container_database_uri}", image)  # fmt: skip
    found = _outputs(_container_sh(daemon, label))
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"{found['url']}{target.server.health_path}", timeout=2) as answer:
                assert answer.status == 200
                break
        except OSError:
            subprocess.run(["sleep", "0.2"], check=True)
    else:
        pytest.fail(f"{image} did not answer: {daemon.docker('logs', found['id'], check=False).stderr[-2000:]}")
