"""One isolated Python environment per server version, created on first use.

MLflow 2.x and 3.x, FastTrackML's Python client and their drivers pin different versions of mlflow
and SQLAlchemy; sharing one environment breaks them at import time, so each server version gets
its own under `.cache/servers/<server>-<version>/`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import venv
from pathlib import Path

from core.errors import SetupFailed
from core.paths import CLIENT_ENVIRONMENTS_DIR, ENVIRONMENTS_DIR, ROOT
from services.registry import Target, load_registry


def environment_dir(target: Target) -> Path:
    return ENVIRONMENTS_DIR / f"{target.server.name}-{target.version}"


def server_executable(target: Target) -> Path:
    return environment_dir(target) / "bin" / target.server.executable


def ensure_environment(target: Target, log=print) -> Path:
    """Create (or reuse) the environment for the target's server version; return its executable.

    A failed install raises SetupFailed naming the target and pip's log, `<environment>.pip.log`.
    """
    _ensure(environment_dir(target), target.packages, target.id, target.server.executable, log, target=target)
    return server_executable(target)


def client_python(target: Target, log=print) -> Path:
    """The Python of the environment that holds the MLflow client the target's server supports (the
    registry's `client_packages`), created on first use under `.cache/clients/`; the client suite
    runs its training script with it."""
    packages = target.client_packages
    env_dir = CLIENT_ENVIRONMENTS_DIR / re.sub(r"[^\w.=-]+", "_", "+".join(packages))
    _ensure(env_dir, packages, f"{target.id}'s client", "python", log)
    return env_dir / "bin" / "python"


def _ensure(env_dir: Path, packages: list[str], what: str, executable: str, log, target: Target | None = None) -> None:
    """Create `env_dir` with `packages` unless it already holds them; a failed install raises
    SetupFailed naming `what` and pip's log. `target`: its server's install options and links."""
    marker = env_dir / "installed.json"
    no_deps = bool(target and target.server.install_without_dependencies)
    wanted = {
        "packages": packages,
        "no_deps": no_deps,
        "links": target.server.links if target else {},
        # a venv's scripts name its interpreter by absolute path: a moved folder needs a new one
        "folder": str(env_dir.resolve()),
    }
    if marker.exists() and json.loads(marker.read_text()) == wanted and (env_dir / "bin" / executable).exists():
        return
    log(f"Installing {' '.join(packages)} into {env_dir.relative_to(ROOT)} (once) ...")
    home = env_dir.resolve()  # through no symlink: the scripts pip writes name this interpreter
    venv.EnvBuilder(with_pip=True, clear=True).create(home)
    pip = [str(home / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if no_deps:
        pip.append("--no-deps")
    pip_log = env_dir.with_name(env_dir.name + ".pip.log")
    with pip_log.open("w") as log_file:
        result = subprocess.run([*pip, *packages], stdout=log_file, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise SetupFailed(f"{what}: pip could not install {' '.join(packages)}; see {pip_log.relative_to(ROOT)}")
    if target:
        _make_links(target, env_dir)
    marker.write_text(json.dumps(wanted))


def _make_links(target: Target, env_dir: Path) -> None:
    """The registry's links, made in the environment's site-packages (a package that ships a file
    under the wrong name: MLflow-Go's Linux library)."""
    for site in env_dir.glob("lib/python*/site-packages"):
        for link, points_to in target.server.links.items():
            if not (site / points_to).exists():
                raise SetupFailed(f"{target.id}: the install has no {points_to} to link {link} to")
            (site / link).unlink(missing_ok=True)
            (site / link).symlink_to(site / points_to)


def installed_version(target: Target) -> str:
    """The version pip actually installed for the server's main package, with the version of the
    project it serves when that is another one: `0.2.2 (MLflow 2.22.5)` for MLflow-Go."""
    version = _package_version(target, target.packages[0].split("==")[0]) or target.version
    served = target.server.serves_package
    if served and (served_version := _package_version(target, served)):
        return f"{version} ({served_label(served)} {served_version})"
    return version


def served_label(package: str) -> str:
    """The registry's label of the server a package is (`mlflow` -> "MLflow"), else the package's name."""
    server = load_registry().servers.get(package)
    return server.label if server else package


def _package_version(target: Target, package: str) -> str | None:
    python = environment_dir(target) / "bin" / "python"
    code = f"import importlib.metadata as m; print(m.version({package!r}))"
    try:
        return subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


if __name__ == "__main__":  # `python -m services.environments TARGET...`: install ahead of time
    for target in load_registry().select(",".join(sys.argv[1:]) or None):
        print(ensure_environment(target))
