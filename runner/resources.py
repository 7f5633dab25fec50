"""What a server spends: CPU seconds and peak resident memory of its whole process tree.

MLflow serves from worker processes under one parent, so the tree is what counts. CPU is read
from each process's own counters (user + system) before and after a round; a process that
appears in between counts from zero. Memory is sampled while the round runs (the runner polls
every quarter second) and the highest sum over the tree is kept.
"""

from __future__ import annotations

import contextlib

import psutil


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
