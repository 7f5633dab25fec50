"""A process's CPU-accounting cgroup: found from /proc on real processes moved into real cgroups made
here (we are root, as CI is), and from constructed /proc files for the layouts this machine does not
have (cgroup v2 alone, GitHub's hosted runners, a joint `cpu,cpuacct` mount); metered by `run
--server-cgroup` on a real server; and found by `.github/scripts/container.sh` for a container, with
only the docker CLI stood in for (no Docker daemon here)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from core.errors import BadValue
from runner.cgroups import cpu_cgroup, v1_sibling
from runner.resources import CgroupMeter
from services import launcher
from services.environments import ensure_environment
from services.registry import load_registry
from tests.cgroups import RealCgroup, cgroup_maker
from tests.conftest import ROOT, metadata, run_cli

CONTAINER_SH = ROOT / ".github" / "scripts" / "container.sh"
# A child that waits for a line, then touches 32 MiB and burns SECONDS of CPU, says so and waits again.
BURNER = """
import sys, time
sys.stdin.readline()
keep = bytes(range(256)) * (1 << 17)
end = time.process_time() + float(sys.argv[1])
while time.process_time() < end:
    pass
print("done", flush=True)
sys.stdin.readline()
"""


# -- real cgroups --------------------------------------------------------------------------------


@pytest.fixture
def real_cgroup() -> Iterator[Callable[[], RealCgroup]]:
    """Makes new real cgroups on demand; each is emptied (its processes killed) and removed after the test."""
    with cgroup_maker() as make:
        yield make


@contextlib.contextmanager
def _burner(seconds: float) -> Iterator[subprocess.Popen]:
    child = subprocess.Popen(
        [sys.executable, "-c", BURNER, str(seconds)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        yield child
    finally:
        child.kill()
        child.wait()


@pytest.mark.process
def test_a_real_process_in_a_real_cgroup_is_found_and_metered(real_cgroup):
    group = real_cgroup()
    with _burner(0.8) as child:
        group.add(child.pid)
        assert cpu_cgroup(child.pid) == group.cpu
        meter = CgroupMeter(cpu_cgroup(child.pid))
        meter.begin()
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "done"
        cpu, memory = meter.end()
    assert 0.7 <= cpu < 1.5  # the child's burn, and not this process's or the machine's
    if any((leaf / "memory.usage_in_bytes").exists() or (leaf / "memory.current").exists() for leaf in group.leaves):
        assert memory is not None and memory >= 30  # the 32 MiB it touched after it was moved in


@pytest.mark.process
def test_the_verb_prints_a_real_process_cgroup_and_names_a_missing_pid(real_cgroup):
    group = real_cgroup()
    with _burner(0) as child:
        group.add(child.pid)
        result = run_cli("cgroup", str(child.pid))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(group.cpu)
    missing = _missing_pid()
    result = run_cli("cgroup", str(missing))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == f"error: pid {missing}: no such process (/proc/{missing}/cgroup does not exist)"


def _missing_pid() -> int:
    pid = int(Path("/proc/sys/kernel/pid_max").read_text()) - 1
    while psutil.pid_exists(pid):
        pid -= 1
    return pid


# -- constructed layouts -------------------------------------------------------------------------


def _proc(tmp_path: Path, cgroup_lines: list[str], mount_lines: list[str], pid: int = 4242) -> Path:
    """A /proc with `<pid>/cgroup` and `self/mountinfo` holding these lines."""
    proc = tmp_path / "proc"
    (proc / str(pid)).mkdir(parents=True)
    (proc / "self").mkdir()
    (proc / str(pid) / "cgroup").write_text("".join(f"{line}\n" for line in cgroup_lines))
    (proc / "self" / "mountinfo").write_text("".join(f"{line}\n" for line in mount_lines))
    return proc


def _mountinfo(number: int, root: str, point: Path, kind: str, options: str) -> str:
    """One line of mountinfo: a cgroup filesystem of `kind` showing `root` of its hierarchy at `point`."""
    return f"{number} 23 0:{number} {root} {point} rw,nosuid,relatime shared:{number} - {kind} {kind} {options}"


ROOT_FS = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/root rw"


def _one_line_error(call: Callable[[], object]) -> str:
    with pytest.raises(BadValue) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_hosted_runner_layout_v2_under_actions_job(tmp_path):
    """GitHub's hosted runners: cgroup v2 alone, Docker's cgroupfs driver, cgroup-parent /actions_job."""
    container = "3f" * 32
    fs = tmp_path / "cgroupfs"
    folder = fs / "actions_job" / container
    folder.mkdir(parents=True)
    (folder / "cpu.stat").write_text("usage_usec 1000\nuser_usec 600\nsystem_usec 400\n")
    mounts = [ROOT_FS, _mountinfo(30, "/", fs, "cgroup2", "rw,nsdelegate,memory_recursiveprot")]
    proc = _proc(tmp_path, [f"0::/actions_job/{container}"], mounts)
    assert cpu_cgroup(4242, proc) == folder
    (folder / "cpu.stat").unlink()
    message = _one_line_error(lambda: cpu_cgroup(4242, proc))
    assert message == f"pid 4242: {folder} has no cpu.stat, so no CPU account"


def test_v1_with_cpu_and_cpuacct_mounted_together_and_memory_apart(tmp_path):
    """Docker's v1 layout on many hosts: `cpu,cpuacct` one hierarchy, memory another, the same path in each."""
    cpu_fs, memory_fs = tmp_path / "cpu,cpuacct", tmp_path / "memory"
    folder = cpu_fs / "docker" / "abc"
    folder.mkdir(parents=True)
    (folder / "cpuacct.usage").write_text("123456789\n")
    (memory_fs / "docker" / "abc").mkdir(parents=True)
    mounts = [
        ROOT_FS,
        _mountinfo(31, "/", memory_fs, "cgroup", "rw,memory"),
        _mountinfo(32, "/", cpu_fs, "cgroup", "rw,cpu,cpuacct"),
        _mountinfo(33, "/", tmp_path / "unified", "cgroup2", "rw"),
    ]
    lines = ["12:memory:/docker/abc", "4:cpu,cpuacct:/docker/abc", "1:name=systemd:/docker/abc", "0::/"]
    proc = _proc(tmp_path, lines, mounts)
    assert cpu_cgroup(4242, proc) == folder  # hybrid: v1's cpuacct counts CPU, whatever v2 says
    assert v1_sibling(folder, "memory", proc) == memory_fs / "docker" / "abc"
    (tmp_path / "cpuacct").symlink_to(cpu_fs)  # as many hosts link the joint mount's controllers
    assert v1_sibling(tmp_path / "cpuacct" / "docker" / "abc", "memory", proc) == memory_fs / "docker" / "abc"
    assert v1_sibling(tmp_path / "elsewhere", "memory", proc) is None
    (folder / "cpuacct.usage").unlink()
    assert (
        _one_line_error(lambda: cpu_cgroup(4242, proc)) == f"pid 4242: {folder} has no cpuacct.usage, so no CPU account"
    )


def test_a_mount_showing_a_subtree_and_paths_with_spaces(tmp_path):
    """A mount's root is the part of the hierarchy it shows; mountinfo writes a space as \\040."""
    point = tmp_path / "cg root"
    folder = point / "job" / "x"
    folder.mkdir(parents=True)
    (folder / "cpu.stat").write_text("usage_usec 1\n")
    escaped = str(point).replace(" ", "\\040")
    mount = f"30 23 0:30 /kubepods/pod1 {escaped} rw,relatime shared:30 - cgroup2 cgroup2 rw"
    proc = _proc(tmp_path, ["0::/kubepods/pod1/job/x"], [ROOT_FS, mount])
    assert cpu_cgroup(4242, proc) == folder
    proc_elsewhere = _proc(tmp_path / "b", ["0::/other/job"], [ROOT_FS, mount])
    message = _one_line_error(lambda: cpu_cgroup(4242, proc_elsewhere))
    assert message == "pid 4242: the cgroup v2 hierarchy is not mounted here with its cgroup /other/job in view"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["0::/"], "pid 4242: in the root cgroup of the cgroup v2 hierarchy, whose account is every process's"),
        (["0::/../../sibling"], "pid 4242: its cgroup /../../sibling is outside this process's cgroup namespace"),
        (["3:cpuacct:/"], "pid 4242: in the root cgroup of the cgroup v1 hierarchy with cpuacct"),
        (["3:cpuacct:/a"], "pid 4242: the cgroup v1 hierarchy with cpuacct is not mounted here"),
        (["1:name=systemd:/a"], "pid 4242: " + "{proc}/4242/cgroup lists neither cpuacct (v1) nor a 0:: line (v2)"),
    ],
)
def test_what_has_no_account_of_its_own_is_a_one_line_error(tmp_path, lines, message):
    fs = tmp_path / "fs"
    (fs / "a").mkdir(parents=True)
    (fs / "cpu.stat").write_text("usage_usec 1\n")
    proc = _proc(tmp_path, lines, [ROOT_FS, _mountinfo(30, "/", fs, "cgroup2", "rw")])
    assert _one_line_error(lambda: cpu_cgroup(4242, proc)).startswith(message.format(proc=proc))


def test_a_process_that_does_not_exist_is_a_one_line_error(tmp_path):
    proc = _proc(tmp_path, ["0::/a"], [ROOT_FS])
    assert _one_line_error(lambda: cpu_cgroup(99, proc)) == f"pid 99: no such process ({proc}/99/cgroup does not exist)"
    missing = _missing_pid()
    assert _one_line_error(lambda: cpu_cgroup(missing)).startswith(f"pid {missing}: no such process")


# -- run --server-cgroup on a real server --------------------------------------------------------


@pytest.mark.servers
def test_run_meters_a_server_at_a_url_as_its_cgroup(tmp_path, real_cgroup):
    target = load_registry().targets["fasttrackml-sqlite"]
    ensure_environment(target)
    uri = target.server.sqlite_uri.format(path=tmp_path / "t.db")
    group = real_cgroup()
    with launcher.launch(target, uri, tmp_path, tmp_path / "server.log") as server:
        for process in [server.process, *server.process.children(recursive=True)]:
            group.add(process.pid)
        folder = cpu_cgroup(server.process.pid)
        assert folder == group.cpu
        out = tmp_path / "out"
        result = run_cli(
            *("run", "--profile", "smoke", "--targets", "fasttrackml-sqlite", "--suites", "retrieval"),
            *("--server-url", server.url, "--server-cgroup", str(folder), "--out", str(out), "--no-report"),
        )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    meta = metadata(out, "fasttrackml-sqlite", "retrieval")
    assert meta["mode"] == "external" and meta["status"] == "ok"
    assert meta["server_cpu_seconds"] > 0 and meta["server_rss_peak_mib"] > 0


# -- .github/scripts/container.sh against a stand-in docker CLI ----------------------------------

# It answers exactly the calls container.sh makes, from files beside it: `ps` lists the container
# with the label, `inspect` renders its formats for that container only, `image inspect` its image's.
FAKE_DOCKER = r"""#!/bin/sh
here=$(dirname "$0")
state() { cat "$here/$1"; }
case "$1 $2" in
"ps --quiet")
  [ "$4" = "label=$(state label)" ] && state id
  exit 0 ;;
"inspect --format")
  [ "$4" = "$(state id)" ] || { echo "Error: No such object: $4" >&2; exit 1; }
  case "$3" in
  "{{.State.Pid}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}") echo "$(state pid) $(state address) " ;;
  "{{.State.Pid}}") state pid ;;
  "{{.Config.Image}}") state image ;;
  *) echo "fake docker: no answer for the format $3" >&2; exit 2 ;;
  esac ;;
"image inspect")
  [ "$5" = "$(state image)" ] || { echo "Error: No such image: $5" >&2; exit 1; }
  case "$4" in
  '{{join .RepoDigests " "}}') state digest ;;
  '{{index .Config.Labels "org.opencontainers.image.revision"}}') state revision ;;
  "{{.Id}}") echo "sha256:$(state id)" ;;
  *) echo "fake docker: no answer for the format $4" >&2; exit 2 ;;
  esac ;;
*) echo "fake docker: no answer for $*" >&2; exit 2 ;;
esac
"""
LABEL = "bench.container=20261126T000000Z-gh1.1-fasttrackml-sqlite-retrieval-server"


def _container_sh(tmp_path: Path, wait_seconds: int = 60, **state: str) -> subprocess.CompletedProcess:
    """container.sh LABEL 5000 with the stand-in docker first on PATH, its container's state `state`."""
    bin_dir = tmp_path / "fake-docker"
    bin_dir.mkdir(exist_ok=True)
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    defaults = {
        "label": LABEL,
        "id": "0123456789ab",
        "image": "gresearch/fasttrackml:0.6.0",
        "digest": "gresearch/fasttrackml@sha256:" + "ab" * 32,
        "revision": "<no value>",
    }
    for name, value in (defaults | state).items():
        (bin_dir / name).write_text(f"{value}\n")
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "CONTAINER_WAIT_SECONDS": str(wait_seconds),
    }
    return subprocess.run(
        ["bash", str(CONTAINER_SH), LABEL, "5000"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1 and result.stdout == "", result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("::error::")
    return line


@pytest.mark.process
def test_container_sh_prints_the_address_and_the_cgroup_of_the_containers_process(tmp_path, real_cgroup):
    group = real_cgroup()
    with _burner(0) as child:
        group.add(child.pid)
        result = _container_sh(tmp_path, pid=str(child.pid), address="172.18.0.2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "id=0123456789ab",
        "url=http://172.18.0.2:5000",
        "digest=gresearch/fasttrackml@sha256:" + "ab" * 32,
        "revision=",
        f"cgroup={group.cpu}",
    ]


@pytest.mark.process
def test_container_sh_waits_for_a_restarting_container_then_names_it(tmp_path):
    started = time.monotonic()
    result = _container_sh(tmp_path, wait_seconds=2, pid="0", address="")  # as docker shows a restarting one
    assert time.monotonic() - started >= 2
    line = _one_error_line(result)
    assert LABEL in line and "no network address and running process after 2 s" in line


@pytest.mark.process
def test_container_sh_names_a_label_no_container_has(tmp_path):
    result = _container_sh(tmp_path, label="some.other=label", pid="1", address="172.18.0.2")
    assert LABEL in _one_error_line(result) and "no running service container is labelled" in result.stderr


@pytest.mark.process
def test_container_sh_never_prints_a_cgroup_it_could_not_find(tmp_path):
    missing = _missing_pid()  # a main process gone for good: its container has no account to read
    result = _container_sh(tmp_path, pid=str(missing), address="172.18.0.2")
    line = _one_error_line(result)
    assert LABEL in line and f"has no CPU account: error: pid {missing}: no such process" in line
