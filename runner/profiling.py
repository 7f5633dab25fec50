"""Sample where a server spends its CPU while the rounds run (`ab --profile-servers`).

A Go server (FastTrackML) is sampled by Linux perf: `perf record -e cpu-clock` is a software
event, so it works in a VM or container without a hardware PMU, and Go keeps frame pointers, so
`--call-graph fp` gives whole stacks at low cost. A Python server (MLflow, MLflow-Go's Python
part) is sampled by py-spy, all its worker processes, without pausing them (`--nonblocking`). Each
sampler runs from the first measured round of a suite to its last and writes folded stacks,
`<side>.folded` beside the suite's rounds (core/layout.py names them); analysis/stacks.py compares the two sides.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from analysis.stacks import GoSymbols, fold_perf_script, write_folded
from core.debian import ensure_programs
from core.errors import SetupFailed
from core.layout import ProfileFiles

RATE = 499  # samples per second and thread: perf's and py-spy's; prime, so as not to beat with timers
GO_SERVERS = {"fasttrackml"}


def ensure_profilers() -> None:
    """perf (Debian's linux-perf) and py-spy (beside this Python), installed if missing."""
    ensure_programs({"perf": "linux-perf"})
    if not (Path(sys.executable).parent / "py-spy").exists():
        raise SetupFailed("py-spy not found beside this Python: ./run.sh installs it from requirements.txt")


@contextmanager
def sampling(servers: dict[str, tuple[str, int, ProfileFiles]]) -> Iterator[None]:
    """Sample each side's server ({side: (server name, pid, its files)}) while the block runs; the
    folded stacks are written when it ends."""
    with ExitStack() as stack:
        for server, pid, files in servers.values():
            files.stem.parent.mkdir(parents=True, exist_ok=True)
            stack.enter_context((_perf if server in GO_SERVERS else _py_spy)(pid, files))
        yield


@contextmanager
def _perf(pid: int, files: ProfileFiles) -> Iterator[None]:
    data = files.perf_data
    command = ["perf", "record", "-q", "-e", "cpu-clock", "-F", str(RATE), "--call-graph", "fp"]
    process = _start([*command, "-p", str(pid), "-o", str(data)], files.log)
    try:
        yield
    finally:
        _stop(process)
    if data.exists():
        script = subprocess.run(["perf", "script", "-i", str(data)], capture_output=True, text=True)
        symbols = None
        with contextlib.suppress(OSError, ValueError):  # without them, frames perf cannot name stay [unknown]
            symbols = GoSymbols(Path(f"/proc/{pid}/exe").resolve())
        write_folded(fold_perf_script(script.stdout, symbols), files.folded)
        data.unlink()


@contextmanager
def _py_spy(pid: int, files: ProfileFiles) -> Iterator[None]:
    py_spy = str(Path(sys.executable).parent / "py-spy")
    command = [py_spy, "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--nolineno"]
    process = _start([*command, "--rate", str(RATE), "--format", "raw", "-o", str(files.folded)], files.log)
    try:
        yield
    finally:
        _stop(process)


def _start(command: list[str], log_path: Path) -> subprocess.Popen:
    if not shutil.which(command[0]):
        raise SetupFailed(f"{command[0]} not found")
    with log_path.open("w") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen) -> None:
    """SIGINT: both samplers write their output on it."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
