"""One way to serve a target for measuring, used by both runners (a pair of `run`, a side of `ab`).

A `Spec` says how: the target's own environment, a local build of its server, or a server already
running at a URL. `describe` names the server and database for the records before anything starts,
`serve` starts the server on a fresh database (or waits for the one at the URL) and stops it with
every process it started, and `meter` finds what measures its CPU and memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.records import DatabaseInfo, ServerInfo
from runner.progress import console
from runner.resources import CgroupMeter, TreeMeter
from services import environments, launcher
from services.postgres import Postgres
from services.registry import Spec, Target


def describe(target: Target) -> tuple[ServerInfo, DatabaseInfo]:
    """The server and database as the records name them before the server starts."""
    server = ServerInfo(target.server.name, target.server.label, target.version)
    return server, DatabaseInfo(target.database.kind, target.database.label)


@contextmanager
def serve(
    spec: Spec,
    *,
    label: str,
    workdir: Path,
    log: Path,
    pg: Postgres | None,
    cpus: frozenset[int] | None = None,
    who: str = "",
) -> Iterator[launcher.Served]:
    """The server to measure: the one at `spec.url`, or launched here on a fresh database named
    after `label` (its environment installed first, unless a local build serves it)."""
    if spec.url:
        yield launcher.external(spec.target, spec.url)
        return
    if not spec.executable:
        environments.ensure_environment(spec.target, log=console.print)
    with launcher.serve(spec.target, label, workdir, log, pg, spec.executable, cpus) as served:
        console.print(f"{who}server up in {served.start_seconds:.1f} s at {served.url}")
        yield served


def started(server: ServerInfo, served: launcher.Served) -> ServerInfo:
    """The record's server once it runs: with the version it reports."""
    return ServerInfo(server.name, server.label, served.server_version)


def meter(served: launcher.Served, cgroup: Path | None) -> CgroupMeter | TreeMeter | None:
    """The server's cgroup when given (a container), else the tree of a server launched here, else none."""
    if cgroup:
        return CgroupMeter(cgroup)
    return TreeMeter(served.pid) if served.pid else None
