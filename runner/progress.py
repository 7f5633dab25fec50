"""How far a pair has come: a live bar on a terminal, a plain line every N seconds anywhere else.

In CI and other logs a rich bar would print nothing until the end (or escape codes), so when
standard error is not a terminal each pair prints one plain line per interval instead:
target, suite, iterations done of expected, elapsed time and time left.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

PLAIN_INTERVAL_SECONDS = 30.0
console = Console(stderr=True, highlight=False, width=None if Console(stderr=True).is_terminal else 120)


class PairProgress:
    """Progress of one target x suite: `update(done)` as iterations finish."""

    def __init__(self, label: str, total: int, interval_seconds: float = PLAIN_INTERVAL_SECONDS) -> None:
        self.label, self.total, self.interval = label, total, interval_seconds
        self.started = self.last_line = time.monotonic()
        self.done = 0
        self.bar: Progress | None = None

    def __enter__(self) -> PairProgress:
        if console.is_terminal:
            self.bar = Progress(
                TextColumn(self.label),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("iterations"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=console,
            )
            self.bar.__enter__()
            self.task = self.bar.add_task("k6", total=self.total)
        return self

    def update(self, done: int) -> None:
        self.done = min(done, self.total)
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done)
        elif time.monotonic() - self.last_line >= self.interval:
            self.last_line = time.monotonic()
            console.print(self.plain_line(), markup=False)

    def plain_line(self) -> str:
        elapsed = time.monotonic() - self.started
        left = f"{elapsed / self.done * (self.total - self.done):.0f} s left" if self.done else "time left unknown"
        return f"{self.label}: {self.done}/{self.total} iterations, {elapsed:.0f} s elapsed, {left}"

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.bar is not None:
            self.bar.__exit__(kind, error, trace)


@contextmanager
def console_to(path: Path) -> Iterator[None]:
    """What the console prints while the block runs goes to the file `path` instead (bisect's step logs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = console.file
    with path.open("w") as file:
        console.file = file
        try:
            yield
        finally:
            console.file = previous
