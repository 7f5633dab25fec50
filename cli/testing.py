"""`./run.sh test [PYTEST ARGS]`: set up what the tests need, then run pytest.

The tests use the real servers, k6 and PostgreSQL, a real browser for the site (Debian's
chromium), node for the pull-request comment and nightly issue scripts, and a private Docker daemon
(Debian's docker.io) for real containers; Debian's packages are installed with apt when they are
missing and we may (root). Server environments are created here, before pytest
starts, so that no test pays for a first install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from core.errors import SetupFailed
from services.environments import ensure_environment
from services.registry import load_registry

# what the tests run, and the Debian package that provides it
DEBIAN_PACKAGES = {"chromium": "chromium", "node": "nodejs", "dockerd": "docker.io"}


def ensure_debian_packages() -> None:
    missing = [package for program, package in DEBIAN_PACKAGES.items() if not shutil.which(program)]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(
            f"note: {', '.join(missing)} missing and cannot be installed here; their tests will fail", file=sys.stderr
        )
        return
    print(f"Installing Debian's {', '.join(missing)} for the tests (once) ...", file=sys.stderr)
    quiet = {"stdout": subprocess.DEVNULL, "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}}
    subprocess.run(["apt-get", "update", "-qq"], check=True, **quiet)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, **quiet)


def main(argv: list[str]) -> int:
    try:
        for target in load_registry().targets.values():  # every version the registry lists
            ensure_environment(target, log=lambda message: print(message, file=sys.stderr))
    except SetupFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    ensure_debian_packages()
    import pytest

    code = pytest.main(argv)
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("error: no test was collected", file=sys.stderr)
        return 1
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
