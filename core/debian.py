"""Debian packages a command needs, installed with apt when missing and this is root on Debian."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from core.errors import SetupFailed


def ensure_programs(programs: dict[str, str], required: bool = True) -> None:
    """Install the package of each missing program ({program: Debian package}).

    When it cannot be installed here (not root, no apt), `required` makes that an error naming the
    packages; otherwise a note says which tests will fail."""
    missing = sorted({package for program, package in programs.items() if not shutil.which(program)})
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        message = f"{', '.join(missing)} missing and cannot be installed here (apt-get install {' '.join(missing)})"
        if required:
            raise SetupFailed(message)
        print(f"note: {message}; their tests will fail", file=sys.stderr)
        return
    print(f"Installing Debian's {', '.join(missing)} (once) ...", file=sys.stderr)
    quiet = {"stdout": subprocess.DEVNULL, "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}}
    subprocess.run(["apt-get", "update", "-qq"], check=True, **quiet)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, **quiet)
