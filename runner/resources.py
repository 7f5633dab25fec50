"""What a server spends: CPU seconds and peak resident memory, of its process tree or its cgroup.

A server launched here is metered as its whole process tree (`TreeMeter`): MLflow serves from
worker processes under one parent, so the tree is what counts. CPU is read from each process's
own counters (user + system) before and after a round; a process that appears in between counts
from zero. A server in a container (CI's service containers) is metered as its cgroup
(`CgroupMeter`): the kernel's own account of every process in the container. Memory is sampled
while the round runs (the runner polls every quarter second) and the highest value is kept.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import psutil

from core.errors import BadValue


class TreeMeter:
    """CPU and memory of a process and all its descendants."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.start: dict[int, float] = {}
        self.peak_rss = 0

    def _tree(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _cpu(self) -> dict[int, float]:
        used = {}
        for process in self._tree():
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                times = process.cpu_times()
                used[process.pid] = times.user + times.system
        return used

    def begin(self) -> None:
        """Start a measurement: remember each process's CPU so far, reset the memory peak."""
        self.start = self._cpu()
        self.peak_rss = 0
        self.sample()

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
        now = self._cpu()
        cpu = sum(seconds - self.start.get(pid, 0.0) for pid, seconds in now.items())
        return max(cpu, 0.0), self.peak_rss / 2**20


class CgroupMeter:
    """CPU and memory of a cgroup: a container's, e.g. /sys/fs/cgroup/system.slice/docker-<id>.scope.

    Reads cgroup v2 (`cpu.stat` usage_usec, `memory.current`) or v1 (`cpuacct.usage` in ns,
    `memory.usage_in_bytes`, where v1 keeps memory in a sibling hierarchy of the same path)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if (self.path / "cpu.stat").exists():
            self._cpu_file, self._memory_file = self.path / "cpu.stat", self.path / "memory.current"
        elif (self.path / "cpuacct.usage").exists():
            self._cpu_file = self.path / "cpuacct.usage"
            self._memory_file = _v1_memory(self.path) / "memory.usage_in_bytes"
        else:
            raise BadValue(f"{self.path} is not a cgroup folder (no cpu.stat or cpuacct.usage in it)")
        self.start = 0.0
        self.peak = 0

    def _cpu(self) -> float:
        text = self._cpu_file.read_text()
        if self._cpu_file.name == "cpu.stat":
            usage = dict(line.split() for line in text.splitlines() if line.strip())
            return int(usage["usage_usec"]) / 1e6
        return int(text) / 1e9

    def begin(self) -> None:
        self.start = self._cpu()
        self.peak = 0
        self.sample()

    def sample(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.peak = max(self.peak, int(self._memory_file.read_text()))

    def end(self) -> tuple[float, float]:
        self.sample()
        return max(self._cpu() - self.start, 0.0), self.peak / 2**20


def _v1_memory(cpu_path: Path) -> Path:
    """cgroup v1 keeps each controller in its own tree: the memory folder of a cpuacct folder."""
    parts = cpu_path.parts
    for i, part in enumerate(parts):
        if part.startswith(("cpuacct", "cpu,cpuacct")):
            return Path(*parts[:i], "memory", *parts[i + 1 :])
    return cpu_path


def core_split() -> tuple[frozenset[int], frozenset[int]] | None:
    """Cores for k6 and cores for the servers (half each), or None on a single core."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None
    half = len(cores) // 2
    return frozenset(cores[:half]), frozenset(cores[half:])
