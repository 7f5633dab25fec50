"""`./run.sh test [PYTEST ARGS]`: set up what the tests need, then run pytest.

The tests use the real servers, k6 and PostgreSQL, a real browser for the site (Debian's
chromium), node for the pull-request comment and nightly issue scripts, and a private Docker daemon
(Debian's docker.io) for real containers; Debian's packages are installed with apt when they are
missing and we may (root). Server environments are created here, before pytest
starts, so that no test pays for a first install.
"""

from __future__ import annotations

import sys

from core.debian import ensure_programs
from core.errors import SetupFailed
from localci.images import RIG_PROGRAMS
from services.environments import ensure_environment
from services.registry import load_registry

# programs the tests use, and their Debian packages (the act rig's included: see localci/); npm
# fetches the site's chart scripts (report/assets.py)
DEBIAN_PACKAGES = {"chromium": "chromium", "node": "nodejs", "npm": "npm", **RIG_PROGRAMS}


def main(argv: list[str]) -> int:
    try:
        for target in load_registry().targets.values():  # every version the registry lists
            ensure_environment(target, log=lambda message: print(message, file=sys.stderr))
    except SetupFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    ensure_programs(DEBIAN_PACKAGES, required=False)
    import pytest

    code = pytest.main(argv)
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("error: no test was collected", file=sys.stderr)
        return 1
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
