"""`./run.sh bisect`: find the first of ordered builds where a request got slower, by paired A/Bs.

    ./run.sh bisect --builds SPEC SPEC ... --suite SUITE --request NAME [--good N] [--bad N] [-- AB OPTIONS]

The builds are given oldest first, as `./run.sh ab` takes a SPEC: a target of the registry at any
version (`fasttrackml-0.5.1-sqlite`), a local build (`fasttrackml-sqlite@/path/to/fml`) or a
server at a URL. `--good` and `--bad` (positions from 1; default the first and the last) bound the
search. Each step is a paired A/B of the suite (analysis/bisection.py says which), run as
`./run.sh ab` with the AB OPTIONS given after `--`, into OUT/step-<n>; each is printed as it ends
(one line each on stdout, whatever the terminal's width), and OUT/bisect.json keeps them all.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

from analysis import bisection
from cli.options import option
from core.errors import BadValue, InputError
from core.paths import ROOT, write_atomically
from core.records import Comparison, new_run_id
from services import processes
from services.registry import select_suites


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--builds", nargs="+", required=True, metavar="SPEC", help="the builds, oldest first")
    parser.add_argument("--suite", required=True, help="the suite whose request got slower")
    parser.add_argument("--request", required=True, metavar="NAME", help="the request name that got slower")
    parser.add_argument("--good", type=int, default=1, help="position of a build known good (default: 1)")
    parser.add_argument("--bad", type=int, help="position of a build known bad (default: the last)")
    parser.add_argument("--out", type=Path, help="output folder (default: bisect_outputs/<id>)")
    parser.add_argument("ab_options", nargs=argparse.REMAINDER, help="after --: options for each ./run.sh ab")


def main(args: argparse.Namespace) -> int:
    builds = list(args.builds)
    bad = len(builds) if args.bad is None else args.bad
    with option("--builds"):
        if len(builds) < 2:
            raise BadValue(f"needs at least two builds, got {len(builds)}")
    with option("--good"):
        if not 1 <= args.good < bad:
            raise BadValue(f"must be a position before the bad build ({bad}), got {args.good}")
    with option("--bad"):
        if not 1 < bad <= len(builds):
            raise BadValue(f"must be a position from 2 to {len(builds)}, got {bad}")
    with option("--suite"):
        select_suites(args.suite)
    out = args.out or Path("bisect_outputs") / new_run_id()
    ab_options = [o for o in args.ab_options if o != "--"]

    step_numbers = itertools.count(1)

    def judge(good: int, candidate: int) -> bisection.Step:
        folder = out / f"step-{next(step_numbers)}"
        step = _ab_step(builds, good, candidate, folder, args.suite, args.request, ab_options)
        _print(step, builds)
        return step

    outcome = bisection.search(args.good - 1, bad - 1, judge)
    _write(out / "bisect.json", builds, args, outcome)
    if outcome.first_bad is None:
        print(
            f"no regression of {args.request} between build {args.good} and build {bad}: nothing to bisect "
            f"({len(outcome.steps)} A/B; {out})",
            flush=True,
        )
        return 1
    print(
        f"first bad build: {outcome.first_bad + 1} ({builds[outcome.first_bad]}); last good: "
        f"{outcome.last_good + 1} ({builds[outcome.last_good]}); {len(outcome.steps)} A/Bs, in {out}",
        flush=True,
    )
    return 0


def _ab_step(
    builds: list[str], good: int, candidate: int, folder: Path, suite: str, request: str, options: list[str]
) -> bisection.Step:
    """One `./run.sh ab` of build `good` (A) against build `candidate` (B), and its verdict on `request`."""
    command = [sys.executable, "-m", "cli", "ab", "--baseline", builds[good], "--candidate", builds[candidate]]
    command += ["--suites", suite, "--out", str(folder), *options]
    log = folder.with_name(f"{folder.name}.log")
    child = processes.start(command, log, cwd=ROOT)
    try:
        code = child.wait()
    finally:
        processes.stop(child)  # on Ctrl-C, the A/B stops its own servers first
    comparison = folder / "comparison.json"
    if not comparison.exists():
        raise InputError(f"the A/B of build {good + 1} against build {candidate + 1} failed (exit {code}): see {log}")
    row = next((r for r in Comparison.read(comparison).rows if r.name == request), None)
    if row is None:
        raise InputError(f"--request: the {suite} suite has no request named {request!r} (see {comparison})")
    return bisection.Step(good, candidate, row.verdict, row.ratio, row.low, row.high, str(folder))


def _print(step: bisection.Step, builds: list[str]) -> None:
    verdict = "regression" if step.regressed else str(step.verdict)
    print(
        f"A/B: build {step.good + 1} ({builds[step.good]}) against build {step.candidate + 1} "
        f"({builds[step.candidate]}): ratio {step.ratio:.3f} [{step.low:.3f}, {step.high:.3f}], {verdict}",
        flush=True,
    )


def _write(path: Path, builds: list[str], args: argparse.Namespace, outcome: bisection.Outcome) -> None:
    data = {
        "builds": builds,
        "suite": args.suite,
        "request": args.request,
        "first_bad": None if outcome.first_bad is None else outcome.first_bad + 1,
        "last_good": outcome.last_good + 1,
        "steps": [
            {**vars(s), "good": s.good + 1, "candidate": s.candidate + 1, "verdict": str(s.verdict)}
            for s in outcome.steps
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2) + "\n"))
