"""Start child processes so that every one of them can be stopped, with its whole tree.

Each child runs in a session of its own: Ctrl-C in the terminal reaches only the runner, which then
stops k6 first (so it writes its partial output) and the servers after. `stop_all` is the last line
of defence: the runner calls it on every exit path, and it stops anything still alive.

A child's descendants are found by its session as well as by parentage: when a server's main
process dies from outside (an OOM killer's SIGKILL), its workers lose their parent and are adopted
by init, where no walk from the dead process finds them; they keep its session id. MLflow killed so
left 13 processes running (uvicorn and its 4 workers, the job runner and 6 huey consumers, a
resource tracker), some of them deaf to SIGTERM; `stop` now ends each of them, with SIGKILL after
the grace time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import psutil

_started: list[psutil.Popen] = []


def start(
    command: list[str],
    log_path: Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    cpus: frozenset[int] | None = None,
) -> psutil.Popen:
    """Start `command` with stdout and stderr going to `log_path`, on the given `cpus` only (if any).

    The affinity is set in the child before it runs `command`, so every thread and process it
    starts inherits it (setting it afterwards would miss threads that already exist)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = psutil.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )
    _started.append(process)
    return process


def stop(process: psutil.Popen, first_signal: int = signal.SIGTERM, grace_seconds: float = 10) -> int | None:
    """Send `first_signal` to the process and everything of its session, kill what is left after the
    grace time.

    Returns the process's exit code (None if it could not be reaped).
    """
    tree = family(process)
    for p in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.send_signal(first_signal)
    _, alive = psutil.wait_procs(tree, timeout=grace_seconds)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(alive, timeout=5)
    if process in _started:
        _started.remove(process)
    try:
        return process.wait(timeout=1)
    except (psutil.TimeoutExpired, subprocess.TimeoutExpired):
        return None


def family(process: psutil.Popen) -> list[psutil.Process]:
    """The process, its descendants, and every process still in the session it leads: the orphans
    of a process that died (they are init's children now, and keep the session id)."""
    found = {process.pid: process}
    with contextlib.suppress(psutil.NoSuchProcess):
        found.update((child.pid, child) for child in process.children(recursive=True))
    try:
        born = process.create_time()  # cached by psutil: a later process that reuses the pid is no member
    except psutil.NoSuchProcess:
        born = 0.0
    for candidate in psutil.process_iter(["create_time"]):
        with contextlib.suppress(OSError):
            if os.getsid(candidate.pid) == process.pid and candidate.info["create_time"] >= born:
                found.setdefault(candidate.pid, candidate)
    return list(found.values())


def interrupt_on_sigterm() -> None:
    """Make SIGTERM raise KeyboardInterrupt, as Ctrl-C does, so that one cleanup path serves both."""
    signal.signal(signal.SIGTERM, _raise_interrupt)


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def stop_all() -> None:
    for process in reversed(list(_started)):
        stop(process, grace_seconds=5)


def log_tail(log_path: Path, lines: int = 15) -> str:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.strip().splitlines()[-lines:])
