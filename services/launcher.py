"""Launch a target's server natively on 127.0.0.1, on a fresh database, and wait until it really answers.

A green health check is not enough (MLflow exempts /health from its Host-header check), so the
launcher also makes one real API call before it hands the server over.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from core.errors import ServerFailed
from core.records import DatabaseInfo
from services import environments, processes
from services.postgres import Postgres, database_name
from services.registry import Target

HOST = "127.0.0.1"
PORT_ATTEMPTS = 3


@dataclass
class RunningServer:
    target: Target
    url: str
    process: psutil.Popen
    log_path: Path
    start_seconds: float

    def is_alive(self) -> bool:
        return self.process.is_running() and self.process.status() != psutil.STATUS_ZOMBIE


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def server_command(target: Target, port: int, database_uri: str, executable: Path | None = None) -> list[str]:
    """The registry's command line for the target, run by its environment's executable or `executable`."""
    values = {"host": HOST, "port": port, "database_uri": database_uri}
    program = executable or environments.server_executable(target)
    return [str(program), *(part.format(**values) for part in target.server.command)]


@contextmanager
def launch(
    target: Target,
    database_uri: str,
    workdir: Path,
    log_path: Path,
    executable: Path | None = None,
    cpus: frozenset[int] | None = None,
) -> Iterator[RunningServer]:
    """Start the server, yield it once it answers API calls, stop its whole process tree on exit.

    Raises ServerFailed with the log tail when it exits early or is not healthy within the
    registry's start timeout. A port taken between choosing and binding is retried on another.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, PORT_ATTEMPTS + 1):
        port = free_port()
        started = time.monotonic()
        command = server_command(target, port, database_uri, executable)
        # its environment's programs first on PATH, as if activated: MLflow-Go starts `mlflow` from it
        path = f"{Path(command[0]).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        process = processes.start(command, log_path, cwd=workdir, env={"PATH": path}, cpus=cpus)
        try:
            url = f"http://{HOST}:{port}"
            _wait_until_ready(target, url, process, log_path)
        except ServerFailed as exc:
            processes.stop(process)
            if "address already in use" in str(exc).lower() and attempt < PORT_ATTEMPTS:
                continue
            raise
        except BaseException:
            processes.stop(process)
            raise
        break
    try:
        yield RunningServer(target, url, process, log_path, time.monotonic() - started)
    finally:
        processes.stop(process)


def _wait_until_ready(target: Target, url: str, process: psutil.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + target.server.start_timeout_seconds
    health_url = url + target.server.health_path
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerFailed(
                f"{target.id}: server exited with code {process.returncode} while starting; "
                f"last lines of {log_path.name}:\n{processes.log_tail(log_path)}"
            )
        if _answers(health_url) and _api_works(url):
            return
        time.sleep(0.25)
    raise ServerFailed(
        f"{target.id}: not healthy within {target.server.start_timeout_seconds:.0f} s; "
        f"last lines of {log_path.name}:\n{processes.log_tail(log_path)}"
    )


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _api_works(url: str) -> bool:
    """One real read through the REST API: what a benchmark request will need."""
    request = urllib.request.Request(
        f"{url}/api/2.0/mlflow/experiments/search",
        data=json.dumps({"max_results": 1}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status == 200 and "experiments" in json.loads(response.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_for_external(url: str, health_path: str, timeout_seconds: float = 180) -> None:
    """Wait until an already running server answers, or raise ServerFailed. CI's containers run no
    health check (it would load the server during the measurement), so this is their only wait: it
    allows for a server still waiting for its database, then creating its schema."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if _answers(url + health_path) and _api_works(url):
            return
        time.sleep(0.5)
    raise ServerFailed(f"{url} did not answer {health_path} and a search request within {timeout_seconds:.0f} s")


@dataclass(frozen=True)
class Served:
    """A server ready for load: where it answers, whether it still runs, and what it runs on."""

    url: str
    is_alive: Callable[[], bool]
    database: DatabaseInfo
    server_version: str
    start_seconds: float | None = None
    pid: int | None = None  # the server's main process, when it runs here (for its CPU and memory)


@contextmanager
def serve(
    target: Target,
    label: str,
    workdir: Path,
    log_path: Path,
    pg: Postgres | None,
    executable: Path | None = None,
    cpus: frozenset[int] | None = None,
) -> Iterator[Served]:
    """The target's server on a fresh database of its own (a new SQLite file, or a new PostgreSQL
    database named after `label`), both removed again on exit. `executable` replaces the server
    program of the target's environment (a local build); `cpus` pins the server."""
    database = DatabaseInfo(target.database.kind, target.database.label, "bundled with the server")
    with ExitStack() as stack:
        if target.database.kind == "postgres":
            if pg is None:
                raise ServerFailed(f"{target.id}: needs PostgreSQL, and none was started")
            name = stack.enter_context(pg.fresh_database(database_name(label)))
            database_uri = pg.uri(name, target.server.postgres_scheme)
            database = DatabaseInfo(target.database.kind, target.database.label, pg.version(), pg.embedded)
        else:
            database_uri = target.server.sqlite_uri.format(path=(workdir / "tracking.db").resolve())
        server = stack.enter_context(launch(target, database_uri, workdir, log_path, executable, cpus))
        version = "local build" if executable else environments.installed_version(target)
        yield Served(server.url, server.is_alive, database, version, round(server.start_seconds, 2), server.process.pid)


def external(target: Target, url: str) -> Served:
    """An already running server at `url` (a CI service container): waited for, never stopped here."""
    wait_for_external(url, target.server.health_path)
    bundled = "bundled with the server" if target.database.kind == "sqlite" else None
    database = DatabaseInfo(target.database.kind, target.database.label, bundled)
    return Served(url.rstrip("/"), lambda: True, database, target.version)
