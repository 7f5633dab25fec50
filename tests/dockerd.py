"""A private Docker daemon for the tests that run real containers (marked `docker`).

Debian's `dockerd` (package docker.io, which `./run.sh test` installs) is started as root with its
own socket, data and exec folders under `.cache/docker/`, and told to change as little of the host
as it can: no iptables rules, no masquerading, no IP forwarding, no default `docker0` bridge
(`--iptables=false --ip-masq=false --ip-forward=false --bridge=none`). Containers run on networks
this daemon creates; the host reaches them at their bridge address, and they reach nothing beyond
each other and the host. Images are built here from files on this machine (no registry is
reachable), e.g. FastTrackML's statically linked `fml` from its PyPI wheel on `FROM scratch`.

When it stops, every container and network it made is removed, the daemon is ended (SIGTERM, then
SIGKILL), the run-time folders it made outside `.cache/` are removed, and the host's network is
compared with what it was before: an iptables rule, a link or a forwarding setting left behind is
an error naming it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

FOLDER = ROOT / ".cache" / "docker"
FLAGS = ("--iptables=false", "--ip-masq=false", "--ip-forward=false", "--bridge=none", "--storage-driver=overlay2")
# made by dockerd and its containerd outside their configured folders, removed if they were not there
RUNTIME_FOLDERS = (Path("/var/run/docker"), Path("/run/containerd"))


@dataclass(frozen=True)
class Daemon:
    """A running private daemon: the docker CLI pointed at its socket."""

    socket: Path

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": f"unix://{self.socket}"}

    def docker(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        done = subprocess.run(["docker", *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            pytest.fail(f"docker {' '.join(args)}: {done.stderr.strip()}")
        return done

    def build(self, tag: str, context: Path) -> None:
        self.docker("build", "--quiet", "--tag", tag, str(context))


def host_network() -> dict[str, object]:
    """What a daemon could change on the host: iptables rules (filter and nat), links, IP forwarding."""

    def command(*args: str) -> str:
        done = subprocess.run(args, capture_output=True, text=True)
        return done.stdout if done.returncode == 0 else f"({args[0]} failed: {done.stderr.strip()})"

    return {
        "iptables": command("iptables", "-S"),
        "iptables nat": command("iptables", "-t", "nat", "-S"),
        "links": sorted(line.split(":")[1].strip().split("@")[0] for line in command("ip", "-o", "link").splitlines()),
        "ip_forward": Path("/proc/sys/net/ipv4/ip_forward").read_text().strip(),
    }


@contextlib.contextmanager
def private_daemon(folder: Path = FOLDER) -> Iterator[Daemon]:
    """A daemon of its own for the block; the host left as it was found, or an error saying what changed."""
    if not shutil.which("dockerd") or not shutil.which("docker"):
        pytest.fail("dockerd and docker are needed (Debian's docker.io; ./run.sh test installs it)")
    before = host_network()
    existed = {path: path.exists() for path in RUNTIME_FOLDERS}
    folder.mkdir(parents=True, exist_ok=True)
    socket = folder / "docker.sock"
    log = (folder / "dockerd.log").open("w")
    daemon = subprocess.Popen(
        ["dockerd", "--host", f"unix://{socket}", "--data-root", str(folder / "data"),
         "--exec-root", str(folder / "exec"), "--pidfile", str(folder / "dockerd.pid"), *FLAGS],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    running = Daemon(socket)
    try:
        _wait_until_up(running, daemon, folder / "dockerd.log")
        yield running
    finally:
        _stop(running, daemon)
        log.close()
        for path, was in existed.items():
            if not was and path.exists():
                shutil.rmtree(path, ignore_errors=True)
    after = host_network()
    changed = [key for key in before if before[key] != after[key]]
    assert not changed, f"the daemon left the host changed: {', '.join(changed)} ({before} -> {after})"


def _wait_until_up(running: Daemon, daemon: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            pytest.fail(f"dockerd exited with {daemon.returncode}: {log.read_text()[-2000:]}")
        if running.socket.exists() and running.docker("version", check=False, timeout=10).returncode == 0:
            return
        time.sleep(0.2)
    pytest.fail(f"dockerd did not answer within 60 s: {log.read_text()[-2000:]}")


def _stop(running: Daemon, daemon: subprocess.Popen) -> None:
    """Every container and network removed, then the daemon and its process group ended."""
    if daemon.poll() is None and running.socket.exists():
        containers = running.docker("ps", "--all", "--quiet", check=False).stdout.split()
        if containers:
            running.docker("rm", "--force", "--volumes", *containers, check=False)
        running.docker("network", "prune", "--force", check=False)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(daemon.pid, signal.SIGTERM)
    try:
        daemon.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(daemon.pid, signal.SIGKILL)
        daemon.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(daemon.pid, signal.SIGKILL)  # its containerd and shims, if any outlived it
