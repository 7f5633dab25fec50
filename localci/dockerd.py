"""A private Docker daemon: Debian's `dockerd` (package docker.io) started as root with its own socket,
data and exec folders under `.cache/docker/`, changing as little of the host as it can.

No iptables rules, no masquerading, no IP forwarding, no default `docker0` bridge
(`--iptables=false --ip-masq=false --ip-forward=false --bridge=none`): containers run on networks
this daemon creates; the host reaches them at their bridge address, and they reach nothing beyond
each other and the host. No registry is reachable, so every image is built here (`localci.images`).

When it stops, every container and network it made is removed, the daemon is ended (SIGTERM, then
SIGKILL), the mounts it leaves under its folders (its network namespace's, `exec/netns/default`)
are undone, the run-time folders it made outside `.cache/` are removed, and the host's network is
compared with what it was before: an iptables rule, a link, a forwarding setting or a mount left
behind is an error naming it.
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

from core.errors import SetupFailed
from core.paths import CACHE_DIR

FOLDER = CACHE_DIR / "docker"
FLAGS = ("--iptables=false", "--ip-masq=false", "--ip-forward=false", "--bridge=none", "--storage-driver=overlay2")
# made by dockerd and its containerd outside their configured folders, removed if they were not there
RUNTIME_FOLDERS = (Path("/var/run/docker"), Path("/run/containerd"))
START_SECONDS = 60


class DockerFailed(SetupFailed):
    """A docker command failed: its message is the command and docker's last line."""


@dataclass(frozen=True)
class Daemon:
    """A running daemon: the docker CLI pointed at its socket."""

    socket: Path

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.host}

    def docker(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        done = subprocess.run(["docker", *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise DockerFailed(f"docker {' '.join(args[:3])} ...: {last_line(done.stderr)}")
        return done

    def build(self, tag: str, context: Path, *options: str) -> None:
        self.docker("build", "--quiet", "--tag", tag, *options, str(context))

    def label(self, image: str, key: str) -> str | None:
        """An image's label, or None when the image is not here."""
        done = self.docker("image", "inspect", "--format", f'{{{{index .Config.Labels "{key}"}}}}', image, check=False)
        return done.stdout.strip() if done.returncode == 0 else None


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
        raise SetupFailed("dockerd and docker are needed: Debian's docker.io (apt-get install docker.io)")
    if os.geteuid() != 0:
        raise SetupFailed("a private Docker daemon is started as root: run as root, or set DOCKER_HOST to a daemon")
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
        _unmount_under(folder)
        for path, was in existed.items():
            if not was and path.exists():
                _unmount_under(path)
                shutil.rmtree(path, ignore_errors=True)
    after = host_network()
    changed = [key for key in before if before[key] != after[key]]
    if changed:
        raise SetupFailed(f"the Docker daemon left the host changed: {', '.join(changed)} ({before} -> {after})")
    if mounts_under(folder):
        raise SetupFailed(f"the Docker daemon left mounts behind: {', '.join(map(str, mounts_under(folder)))}")


def _wait_until_up(running: Daemon, daemon: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise SetupFailed(f"dockerd exited with {daemon.returncode}: {last_line(log.read_text())} (log: {log})")
        if running.socket.exists() and running.docker("version", check=False, timeout=10).returncode == 0:
            return
        time.sleep(0.2)
    raise SetupFailed(f"dockerd did not answer within {START_SECONDS} s: {last_line(log.read_text())} (log: {log})")


def last_line(text: str) -> str:
    """What a failed command said last: its error, for a one-line message."""
    lines = text.strip().splitlines()
    return lines[-1] if lines else "(no message)"


def _stop(running: Daemon, daemon: subprocess.Popen) -> None:
    """Every container and network removed, then the daemon and its process group ended."""
    if daemon.poll() is None and running.socket.exists():
        containers = running.docker("ps", "--all", "--quiet", check=False).stdout.split()
        if containers:
            running.docker("rm", "--force", "--volumes", *containers, check=False)
        running.docker("network", "prune", "--force", check=False)
        running.docker("volume", "prune", "--force", check=False)
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


def mounts_under(folder: Path) -> list[Path]:
    """Mount points at or below `folder`, deepest first (from /proc/self/mountinfo)."""
    root = folder.resolve()
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = Path(line.split()[4].encode().decode("unicode_escape"))
        if point == root or root in point.parents:
            points.append(point)
    return sorted(points, key=lambda p: len(p.parts), reverse=True)


def _unmount_under(folder: Path) -> None:
    """The daemon leaves its network namespace's bind mount (exec/netns/default) when it stops: undo it."""
    for point in mounts_under(folder):
        if subprocess.run(["umount", str(point)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "--lazy", str(point)], capture_output=True)
