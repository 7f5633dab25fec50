"""Read the target registry (`services/targets.toml`) into small dataclasses.

Everything that needs to know which targets exist (the local runner, the CI matrix, the report's
labels and colours) asks this module; nothing else lists targets.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from core.errors import BadValue, InputError
from core.options import parse_pairs
from core.paths import K6_DIR, REGISTRY_FILE

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Database:
    kind: str
    label: str
    image: str = ""
    container_url: str = ""
    container_path: str = ""


@dataclass(frozen=True)
class Server:
    name: str
    label: str
    versions: tuple[str, ...]
    packages: tuple[str, ...]
    install_without_dependencies: bool
    executable: str
    command: tuple[str, ...]
    health_path: str
    start_timeout_seconds: float
    postgres_scheme: str
    sqlite_uri: str
    image: str
    container_port: int
    container_env: dict[str, str] = field(default_factory=dict)
    container_database_env: str = ""
    dockerfile: str = ""
    nightly_version: str = ""
    repository: str = ""  # the server's source on GitHub, to link a revision to its commit
    colours: dict[str, str] = field(default_factory=dict)
    # extra requirements for the versions that start with the key, e.g. {"2.": ("sqlalchemy<2.1",)}
    version_packages: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # the package whose version the server serves, when that is another project (MLflow-Go: mlflow)
    serves_package: str = ""
    # "<version> <database>" -> suite -> why that release cannot serve it on that database (found by
    # running it): such a pair is not run, and shows as unsupported with the reason
    unsupported: dict[str, dict[str, str]] = field(default_factory=dict)
    # links to make in the environment's site-packages after install: {link: what it points to}
    links: dict[str, str] = field(default_factory=dict)
    # the MLflow client a user of this server logs with ({version}: the server's): the client suite's
    client_packages: tuple[str, ...] = ()
    # where the server serves its MLflow web UI (the ui suite's pages), under its base URL
    ui_path: str = "/"
    # where it serves an Aim UI (FastTrackML), if it does: the ui suite times its metrics explorer too
    aim_path: str = ""

    @property
    def default_version(self) -> str:
        return self.versions[0]


@dataclass(frozen=True)
class Target:
    """One server at one version on one database: the unit that is launched and benchmarked."""

    id: str
    server: Server
    version: str
    database: Database

    @property
    def label(self) -> str:
        version = "" if self.is_default_version else f" {self.version}"
        return f"{self.server.label}{version} ({self.database.label})"

    @property
    def is_default_version(self) -> bool:
        return self.version == self.server.default_version

    @property
    def colour(self) -> str:
        return self.server.colours.get(self.database.kind, "#777777")

    @property
    def packages(self) -> list[str]:
        extra = [
            p for prefix, pins in self.server.version_packages.items() if self.version.startswith(prefix) for p in pins
        ]
        return [p.format(version=self.version) for p in self.server.packages] + extra

    @property
    def image(self) -> str:
        return self.server.image.format(version=self.version)

    @property
    def client_packages(self) -> list[str]:
        return [p.format(version=self.version) for p in self.server.client_packages]

    def unsupported(self, suite: str) -> str | None:
        """Why this target cannot serve `suite`, per the registry; None when it can."""
        return self.server.unsupported.get(f"{self.version} {self.database.kind}", {}).get(suite)

    @property
    def container_database_uri(self) -> str:
        """The database URI the server's CI container uses (PostgreSQL is the `postgres` service)."""
        if self.database.kind == "sqlite":
            return self.server.sqlite_uri.format(path=self.database.container_path)
        scheme, rest = self.database.container_url.split("://", 1)
        return f"{self.server.postgres_scheme}://{rest}"

    def as_dict(self) -> dict[str, object]:
        """The facts a CI job or a report needs about this target, as plain JSON values."""
        return {
            "target": self.id,
            "label": self.label,
            "server": self.server.name,
            "server_label": self.server.label,
            "version": self.version,
            "database": self.database.kind,
            "database_image": self.database.image,
            "image": self.image,
            "dockerfile": self.server.dockerfile,
            "packages": " ".join(self.packages),  # what the image installs, where its Dockerfile installs any
            "container_port": self.server.container_port,
            "container_env": self.server.container_env,
            "container_database_env": self.server.container_database_env,
            "container_database_uri": self.container_database_uri,
            "health_path": self.server.health_path,
            "colour": self.colour,
        }


@dataclass(frozen=True)
class Spec:
    """One side of a paired A/B: a target served by its environment, by a local build of its server
    (`target@/path/to/binary`), or by a server already running at a URL (`target@http://host:port`)."""

    text: str
    target: Target
    executable: Path | None = None
    url: str | None = None

    @property
    def mode(self) -> str:
        return "external" if self.url else "local build" if self.executable else "native"


@dataclass(frozen=True)
class Registry:
    servers: dict[str, Server]
    databases: dict[str, Database]
    targets: dict[str, Target]

    @property
    def default_targets(self) -> list[Target]:
        """The targets `./run.sh` runs when none are named: each server's default version."""
        return [t for t in self.targets.values() if t.is_default_version]

    def select(self, names: str | None, versions: dict[str, str] | None = None) -> list[Target]:
        """Targets from a comma list (`all` or None: the defaults); an unknown name is a BadValue.

        `versions` ({server: version}) runs a server at a version the registry does not list, such
        as FastTrackML's nightly `main`; such a target's id names its version.
        """
        self.check_versions(versions)
        return [self.at_version(t, (versions or {}).get(t.server.name)) for t in self._select(names)]

    def check_versions(self, versions: dict[str, str] | None) -> None:
        unknown = sorted(set(versions or {}) - set(self.servers))
        if unknown:
            raise BadValue(f"unknown server {', '.join(unknown)}; valid: {', '.join(self.servers)}")

    def at_version(self, target: Target, version: str | None) -> Target:
        """The target with its server at `version` (itself when that is its version)."""
        if not version or version == target.version:
            return target
        return Target(f"{target.server.name}-{version}-{target.database.kind}", target.server, version, target.database)

    def target(self, name: str) -> Target:
        """A target by id, at any version: `fasttrackml-0.4.0-sqlite` works even when 0.4.0 is not listed."""
        if name in self.targets:
            return self.targets[name]
        # the longest server name first: `mlflow-go-0.2.2-sqlite` is mlflow-go 0.2.2, not mlflow "go-0.2.2"
        for server in sorted(self.servers.values(), key=lambda s: -len(s.name)):
            for database in self.databases.values():
                prefix, suffix = f"{server.name}-", f"-{database.kind}"
                version = name[len(prefix) : -len(suffix)] if name.startswith(prefix) and name.endswith(suffix) else ""
                if version and re.fullmatch(r"[\w.+-]+", version):
                    return Target(name, server, version, database)
        raise BadValue(
            f"unknown target {name!r}; valid: {', '.join(self.targets)} (any version: <server>-<version>-<database>)"
        )

    def spec(self, text: str) -> Spec:
        """Parse `target`, `target@/path/to/binary` or `target@http://host:port`."""
        name, _, where = text.partition("@")
        target = self.target(name.strip())
        if not where:
            return Spec(text, target)
        if where.startswith(("http://", "https://")):
            parts = urlsplit(where)
            if not parts.hostname or not parts.port:
                raise BadValue(f"{text!r}: expected a URL such as http://127.0.0.1:5000")
            return Spec(text, target, url=where.rstrip("/"))
        path = Path(where).expanduser()
        if not path.is_file() or not os.access(path, os.X_OK):
            raise BadValue(f"{text!r}: {where} is not an executable file (expected target@/path/to/server-binary)")
        return Spec(text, target, executable=path.resolve())

    def _select(self, names: str | None) -> list[Target]:
        if not names or names == "all":
            return self.default_targets
        chosen = [n.strip() for n in names.split(",") if n.strip()]
        found, unknown = [], []
        for name in dict.fromkeys(chosen):
            # any version by its id too (fasttrackml-0.6.0-sqlite): the same server twice, as two
            # targets, is how a run's intervals are checked (perf/run_precision.py)
            try:
                found.append(self.target(name))
            except BadValue:
                unknown.append(name)
        if unknown or not chosen:
            raise BadValue(f"unknown target {', '.join(unknown) or repr(names)}; valid: {', '.join(self.targets)}")
        return found


def parse_versions(items: list[str]) -> dict[str, str]:
    """`NAME=VERSION` items (the `--server-version` options) as a dict."""
    return parse_pairs(items, "NAME=VERSION such as fasttrackml=0.5.1")


# Suites that measure along something else than a fixed closed-model load: each has a page of its
# own, and none can run as a paired A/B (its rounds would not be alike).
UNPAIRED_SUITES = {
    "scale": "it grows its store size after size, so no two rounds would read the same data",
    "capacity": "it ramps an open-model load until the server breaks, so no two rounds would be alike",
    "client": "its load is one training script, not k6, which the A/B's rounds drive",
    "ui": "it grows its store size after size and times pages in a browser, so no two rounds would be alike",
}

# Suites that time what a user feels, their client's work included (the browser's, the MLflow
# client's): their load generator is part of what they measure, never a bound to warn of.
USER_SUITES = ("client", "ui")

# Suites that are not k6 scripts: the client suite is a training script run with the MLflow client.
PROGRAM_SUITES = ("client",)


def suites(paired: bool = False) -> list[str]:
    """The suites are the k6 scripts at the top of `k6/` (`k6/<suite>.js`) and the PROGRAM_SUITES;
    `paired`: those an A/B runs."""
    found = sorted([*(p.stem for p in K6_DIR.glob("*.js")), *PROGRAM_SUITES])
    return [s for s in found if s not in UNPAIRED_SUITES] if paired else found


def select_suites(names: str | None, paired: bool = False) -> list[str]:
    """Suites from a comma list (`all` or None: every suite, or every paired one); a BadValue names a bad one."""
    valid = suites(paired)
    if not names or names == "all":
        return valid
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    if paired and (unpaired := next((n for n in chosen if n in UNPAIRED_SUITES), None)):
        raise BadValue(f"{unpaired} cannot run as an A/B: {UNPAIRED_SUITES[unpaired]}; valid: {', '.join(valid)}")
    unknown = [n for n in chosen if n not in valid]
    if unknown or not chosen:
        raise BadValue(f"unknown suite {', '.join(unknown) or repr(names)}; valid: {', '.join(valid)}")
    return list(dict.fromkeys(chosen))


def load_registry(path: Path = REGISTRY_FILE) -> Registry:
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: cannot read the target registry: {exc}") from exc
    if raw.get("schema_version") != SCHEMA_VERSION:
        raise InputError(f"{path}: schema_version must be {SCHEMA_VERSION}")
    try:
        databases = {kind: Database(kind=kind, **spec) for kind, spec in raw["databases"].items()}
        servers = {name: _server(name, spec) for name, spec in raw["servers"].items()}
    except (KeyError, TypeError) as exc:
        raise InputError(f"{path}: malformed entry: {exc}") from exc
    targets: dict[str, Target] = {}
    for server in servers.values():
        for version in server.versions:
            for database in databases.values():
                middle = "" if version == server.default_version else f"-{version}"
                target_id = f"{server.name}{middle}-{database.kind}"
                targets[target_id] = Target(target_id, server, version, database)
    return Registry(servers=servers, databases=databases, targets=targets)


def _server(name: str, spec: dict) -> Server:
    spec = dict(spec)
    for key in ("versions", "packages", "command"):
        spec[key] = tuple(spec[key])
    spec["client_packages"] = tuple(spec.get("client_packages", ()))
    spec["version_packages"] = {prefix: tuple(pins) for prefix, pins in spec.get("version_packages", {}).items()}
    return Server(name=name, **spec)
