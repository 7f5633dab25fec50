"""What a server spends: CPU seconds and peak resident memory, of its process tree or its cgroup.

A server launched here is metered as its whole process tree (`TreeMeter`): MLflow serves from
worker processes under one parent, so the tree is what counts. CPU is read per thread from the
scheduler's own account, `/proc/<pid>/task/<tid>/schedstat` (nanoseconds on a CPU), before and after
a round; a thread that appears in between counts from zero. The usual counters (`/proc/<pid>/stat`,
psutil's `cpu_times`) count in clock ticks of 10 ms: a segment of a round in which FastTrackML
spends 20 ms would be measured to within 50%. Where schedstat cannot be read, those are used.
A server in a container (CI's service containers) is metered as its cgroup
(`CgroupMeter`): the kernel's own account of every process in the container. Memory is sampled
while the round runs (the runner polls every quarter second) and the highest value is kept.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import psutil

from core.errors import BadValue
from runner.cgroups import v1_sibling

IDLE_WINDOW_SECONDS = 0.02  # a meter that used less than IDLE_SHARE of a core over this long is idle
IDLE_SHARE = 0.1
IDLE_MOST_SECONDS = 0.5  # a server that never settles (a poller) holds the next turn no longer


def wait_until_idle(meters: list) -> None:
    """Return once every meter's process tree (or cgroup) has been idle for IDLE_WINDOW_SECONDS, or
    after IDLE_MOST_SECONDS: what one server still does after its last answer (a WAL checkpoint, a
    garbage collection, a background job) should not land in the next server's turn."""
    for meter in meters:
        meter.lap()
    deadline = time.monotonic() + IDLE_MOST_SECONDS
    while time.monotonic() < deadline:
        time.sleep(IDLE_WINDOW_SECONDS)
        if all(meter.lap() < IDLE_SHARE * IDLE_WINDOW_SECONDS for meter in meters):
            return


class TreeMeter:
    """CPU and memory of a process and all its descendants."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.start: dict[tuple[int, int], float] = {}
        self.last: dict[tuple[int, int], float] = {}
        self.peak_rss = 0

    def _tree(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _cpu(self) -> dict[tuple[int, int], float]:
        """CPU seconds so far of every thread of the tree, by (pid, thread id)."""
        used = {}
        for process in self._tree():
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                used.update(_thread_seconds(process))
        return used

    def begin(self) -> None:
        """Start a measurement: remember each thread's CPU so far, reset the memory peak."""
        self.start = self.last = self._cpu()
        self.peak_rss = 0
        self.sample()

    def lap(self) -> float:
        """CPU seconds the tree used since the last lap (or `begin`)."""
        now = self._cpu()
        used = _since(self.last, now)
        self.last = now
        return used

    def sample(self) -> None:
        """Look at the tree's memory now (call it often while the load runs)."""
        rss = 0
        for process in self._tree():
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                rss += process.memory_info().rss
        self.peak_rss = max(self.peak_rss, rss)

    def end(self) -> tuple[float, float]:
        """CPU seconds the tree used since `begin`, and its peak resident memory in MiB."""
        self.sample()
        return _since(self.start, self._cpu()), self.peak_rss / 2**20


def _since(before: dict[tuple[int, int], float], now: dict[tuple[int, int], float]) -> float:
    return max(sum(seconds - before.get(key, 0.0) for key, seconds in now.items()), 0.0)


def _thread_seconds(process: psutil.Process) -> dict[tuple[int, int], float]:
    """Each thread's time on a CPU from schedstat (ns); the process's tick counters when unreadable."""
    used = {}
    try:
        for tid in os.listdir(f"/proc/{process.pid}/task"):
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # a thread that just ended
                text = Path(f"/proc/{process.pid}/task/{tid}/schedstat").read_text()
                used[(process.pid, int(tid))] = int(text.split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        times = process.cpu_times()
        return {(process.pid, 0): times.user + times.system}
    return used


class CgroupMeter:
    """CPU and memory of a cgroup: a container's, as `./run.sh cgroup PID` finds it (runner/cgroups.py).

    Reads cgroup v2 (`cpu.stat` usage_usec, `memory.current`) or v1 (`cpuacct.usage` in ns, and
    `memory.usage_in_bytes` of the same cgroup in the hierarchy holding the memory controller, found
    from this process's mounts). Memory is None when the cgroup has no memory account to read."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._memory_file: Path | None
        if (self.path / "cpu.stat").is_file():
            self._cpu_file, self._memory_file = self.path / "cpu.stat", self.path / "memory.current"
        elif (self.path / "cpuacct.usage").is_file():
            self._cpu_file = self.path / "cpuacct.usage"
            memory = v1_sibling(self.path, "memory")
            self._memory_file = memory / "memory.usage_in_bytes" if memory else None
        else:
            raise BadValue(f"{self.path} is not a cgroup folder (no cpu.stat or cpuacct.usage in it)")
        self.start = self.last = 0.0
        self.peak: int | None = None

    def _cpu(self) -> float:
        text = self._cpu_file.read_text()
        if self._cpu_file.name == "cpu.stat":
            usage = dict(line.split() for line in text.splitlines() if line.strip())
            return int(usage["usage_usec"]) / 1e6
        return int(text) / 1e9

    def begin(self) -> None:
        self.start = self.last = self._cpu()
        self.peak = None
        self.sample()

    def lap(self) -> float:
        """CPU seconds the cgroup used since the last lap (or `begin`)."""
        now = self._cpu()
        used, self.last = max(now - self.last, 0.0), now
        return used

    def sample(self) -> None:
        if self._memory_file is None:
            return
        with contextlib.suppress(OSError, ValueError):
            memory = int(self._memory_file.read_text())
            self.peak = memory if self.peak is None else max(self.peak, memory)

    def end(self) -> tuple[float, float | None]:
        """CPU seconds the cgroup used since `begin`, and its peak memory in MiB (None if unreadable)."""
        self.sample()
        return max(self._cpu() - self.start, 0.0), None if self.peak is None else self.peak / 2**20


def core_split() -> tuple[frozenset[int], frozenset[int]] | None:
    """Cores for k6 and cores for the servers (half each), or None on a single core."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None
    half = len(cores) // 2
    return frozenset(cores[:half]), frozenset(cores[half:])
