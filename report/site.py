"""Build the report site: generated pages + the hand-written ones in `docs/`, built by mkdocs-material.

Generated pages are written to `.cache/site-docs/` (never committed) together with a copy of
`docs/`, the chart scripts (`report.assets`), the Atom feed of open regressions (`report.feed`) and
the data files (`report.data_api`); mkdocs then builds `site/`. Every page is built from the same
inputs, loaded once (`report.inputs`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from core.errors import InputError
from core.paths import BUILD_DOCS_DIR, DOCS_DIR, MKDOCS_CONFIG
from report import ab_pages, assets, data_api, feed, history_pages, pages, site_hooks
from report.inputs import ReportInputs

SMOKE = "smoke"
SMOKE_BANNER = """!!! warning "Built from the smoke profile: these numbers mean nothing"
    A smoke run sends a handful of requests to check that every one works; its latencies and rates
    say nothing of any server's speed. Run `./run.sh --profile quick` or `./run.sh` (standard) for figures.
"""


def publish(inputs: ReportInputs, site_dir: Path) -> Path:
    """Every page from `inputs`, then the site."""
    docs = prepare_docs()
    assets.install_assets(docs, log=lambda message: print(message, file=sys.stderr))
    if inputs.folder.profile == SMOKE:
        (docs / site_hooks.BANNER_FILE).write_text(SMOKE_BANNER)
    pages.write_overview(inputs, docs)
    pages.write_run_pages(inputs, docs)
    pages.write_scale_page(inputs, docs)
    pages.write_capacity_page(inputs, docs)
    pages.write_client_page(inputs, docs)
    pages.write_ui_page(inputs, docs)
    ab_pages.write_ab_pages(inputs.ab, docs)
    shown = history_pages.write_history_pages(inputs.history, inputs.targets, docs, inputs.settings)
    history_pages.write_versus_original(inputs.history, docs)
    feed.write_feed(inputs.history, docs, site_name())
    data_api.write_data(inputs.history, inputs.ab, docs, runs=shown)
    return build_site(site_dir)


def site_name() -> str:
    return yaml.safe_load(MKDOCS_CONFIG.read_text())["site_name"]


def prepare_docs() -> Path:
    """A fresh copy of the hand-written pages, to which the generated ones are added."""
    shutil.rmtree(BUILD_DOCS_DIR, ignore_errors=True)
    shutil.copytree(DOCS_DIR, BUILD_DOCS_DIR)
    return BUILD_DOCS_DIR


def build_site(site_dir: Path) -> Path:
    """Run mkdocs on the prepared pages; --strict turns a broken internal link into an error."""
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet"]
    command += ["-f", str(MKDOCS_CONFIG), "-d", str(site_dir.resolve())]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise InputError(f"mkdocs could not build the site: {result.stderr.strip()[-800:]}")
    return site_dir
