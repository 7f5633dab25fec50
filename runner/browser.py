"""The browser the ui suite drives: Debian's chromium (or a Chrome on PATH, as on GitHub's runners),
installed with apt when it is missing and we may; k6's browser module is told where it is."""

from __future__ import annotations

import shutil

from core.debian import ensure_programs

UI_SUITE = "ui"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# headless in a container or as root: no sandbox; no GPU; no calls home while it is measured
ARGUMENTS = "no-sandbox,disable-gpu,disable-background-networking"


def browser_env() -> dict[str, str]:
    """The environment that points k6's browser module at a browser; SetupFailed when there is none."""
    found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if not found:
        ensure_programs({"chromium": "chromium"})
        found = shutil.which("chromium")
    return {"K6_BROWSER_EXECUTABLE_PATH": str(found), "K6_BROWSER_ARGS": ARGUMENTS}
