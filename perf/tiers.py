"""How long each test tier takes on a fresh clone, installs included, and where the time went.

Clones this repository's HEAD into a new temporary folder, runs the tier as a newcomer or CI would
(`./run.sh test`, or `bash .ci/run` with CI=true for the full tier) and reports its wall time, each
stream's test time, and the slowest test files (from each stream's JUnit XML). It also says how
cold the machine was: which of the tests' Debian programs were already installed, and the size of
pip's cache (the clone itself starts with no environment, server, client or image). Not a test: run
it by hand, on a quiet machine.

    .venv/bin/python -m perf.tiers [--tier fast|full] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as etree
from collections import defaultdict
from pathlib import Path

from cli.testing import DEBIAN_PACKAGES, FAST, FULL, REPORTS_DIR

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {"fast": ["./run.sh", "test", "-q"], "full": ["bash", ".ci/run"]}
TIERS = {"fast": FAST, "full": FULL}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", choices=sorted(COMMANDS), default="fast")
    parser.add_argument("--keep", action="store_true", help="keep the clone (its .venv and caches) afterwards")
    args = parser.parse_args()
    print(f"machine: {coldness()}")
    clone = Path(tempfile.mkdtemp(prefix="tiers-"))
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    log = clone.with_suffix(".log")
    started = time.monotonic()
    with log.open("w") as out:
        done = subprocess.run(COMMANDS[args.tier], cwd=clone, stdout=out, stderr=subprocess.STDOUT,
                              env={**os.environ, "CI": "true"})  # fmt: skip
    took = time.monotonic() - started
    print(f"{args.tier} tier: exit {done.returncode}, {took / 60:.1f} min with installs (output: {log})")
    print(*log.read_text().strip().splitlines()[-2:], sep="\n")
    streams = [stream.name for phase in TIERS[args.tier].phases for stream in phase]
    report(clone / REPORTS_DIR.relative_to(ROOT), streams)
    if not args.keep:
        shutil.rmtree(clone, ignore_errors=True)
    return done.returncode


def coldness() -> str:
    installed = sorted(program for program in DEBIAN_PACKAGES if shutil.which(program))
    cache = Path.home() / ".cache" / "pip"
    size = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file()) / 2**20 if cache.exists() else 0
    return f"programs already installed: {', '.join(installed) or 'none'}; pip cache {size:.0f} MiB"


def report(folder: Path, streams: list[str]) -> None:
    """Each stream's test time and the ten slowest files, from the JUnit XML the tier wrote."""
    by_file: dict[str, float] = defaultdict(float)
    for junit in [folder / f"{name}.xml" for name in streams if (folder / f"{name}.xml").exists()]:
        cases = list(etree.parse(junit).getroot().iter("testcase"))
        print(f"  {junit.stem}: {len(cases)} tests, {sum(float(c.get('time', 0)) for c in cases):.0f} s of tests")
        for case in cases:  # a test function's class name is its module's (setup and teardown included)
            by_file[case.get("classname", "?")] += float(case.get("time", 0))
    for name, seconds in sorted(by_file.items(), key=lambda item: -item[1])[:10]:
        print(f"    {seconds:7.0f} s  {name}")


if __name__ == "__main__":
    sys.exit(main())
