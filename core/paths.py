"""Where the project's own files live. Everything that is created goes under `.cache/` or an output folder."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
K6_DIR = ROOT / "k6"
DOCS_DIR = ROOT / "docs"
MKDOCS_CONFIG = ROOT / "mkdocs.yml"
CACHE_DIR = ROOT / ".cache"
WORK_DIR = CACHE_DIR / "work"  # per-run scratch (SQLite files, server working folders), removed after
ENVIRONMENTS_DIR = CACHE_DIR / "servers"  # one Python environment per server version
POSTGRES_DIR = CACHE_DIR / "postgres"  # the embedded PostgreSQL's data folder
BUILD_DOCS_DIR = CACHE_DIR / "site-docs"  # hand-written plus generated pages, the input of mkdocs
# BENCH_REGISTRY points at another registry file (the tests use it for deliberately broken targets).
REGISTRY_FILE = Path(os.environ.get("BENCH_REGISTRY", ROOT / "services" / "targets.toml"))
