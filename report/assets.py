"""The site's scripts and styles: vega, vega-lite and vega-embed from npm (pinned in
`report/js/package.json`, installed once into `.cache/site-js/`), with `charts.js` and `site.css`.

The site serves them itself, so that it works offline and from any file server (no CDN). When npm
is missing and cannot be installed, or BENCH_STATIC_CHARTS=1 says not to try (act's containers,
which have no route to npm's registry), the charts stay PNG images: the site is built all the same.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from core.debian import ensure_programs
from core.errors import SetupFailed
from core.paths import CACHE_DIR

SOURCES = Path(__file__).with_name("js")
NPM_DIR = CACHE_DIR / "site-js"
BUNDLES = ("vega/build/vega.min.js", "vega-lite/build/vega-lite.min.js", "vega-embed/build/vega-embed.min.js")


def install_assets(docs: Path, log: Callable[[str], None]) -> bool:
    """Copy the scripts and styles into `docs/assets/`; False when vega could not be had (static charts)."""
    scripts, styles = docs / "assets" / "js", docs / "assets" / "css"
    scripts.mkdir(parents=True, exist_ok=True)
    styles.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SOURCES / "charts.js", scripts / "charts.js")
    shutil.copyfile(SOURCES / "site.css", styles / "site.css")
    if os.environ.get("BENCH_STATIC_CHARTS") == "1":
        log("note: BENCH_STATIC_CHARTS=1: the charts stay static images")
        return False
    try:
        modules = _npm_install()
    except (SetupFailed, subprocess.CalledProcessError, OSError) as exc:
        log(f"warning: the charts stay static images: {exc}")
        return False
    for bundle in BUNDLES:
        shutil.copyfile(modules / bundle, scripts / Path(bundle).name)
    return True


def _npm_install() -> Path:
    """node_modules with the pinned packages, installed once per content of package.json."""
    wanted = (SOURCES / "package.json").read_text()
    marker = NPM_DIR / "package.json.installed"
    modules = NPM_DIR / "node_modules"
    if marker.exists() and marker.read_text() == wanted and all((modules / b).exists() for b in BUNDLES):
        return modules
    ensure_programs({"npm": "npm"}, required=True)
    NPM_DIR.mkdir(parents=True, exist_ok=True)
    (NPM_DIR / "package.json").write_text(wanted)
    command = ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--omit=dev", "--no-package-lock"]
    done = subprocess.run(command, cwd=NPM_DIR, capture_output=True, text=True)
    if done.returncode != 0:
        raise SetupFailed(f"npm install in {NPM_DIR} failed: {done.stderr.strip()[-300:]}")
    marker.write_text(wanted)
    return modules
