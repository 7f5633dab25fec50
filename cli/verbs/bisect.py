"""`./run.sh bisect`: find the first of ordered builds where a request got slower, by paired A/Bs.

    ./run.sh bisect --builds SPEC SPEC ... --suite SUITE --request NAME [--mode MODE] [--good N] [--bad N]
                    [-- AB OPTIONS]

The builds are given oldest first, as `./run.sh ab` takes a SPEC: a target of the registry at any
version (`fasttrackml-0.5.1-sqlite`), a local build (`fasttrackml-sqlite@/path/to/fml`) or a server
at a URL. `--good` and `--bad` (positions from 1; default the first and the last) bound the search.
Each step is a paired A/B of the suite in the one mode `--mode` names (alone by default)
(analysis/bisection.py says which), run in this process by the A/B's own stages with the AB OPTIONS
given after `--`, as `./run.sh ab` takes them, into OUT/step-<n> (its output in OUT/step-<n>.log);
each is printed as it ends (one line each on stdout, whatever the terminal's width), and
OUT/bisect.json keeps them all.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

from analysis import bisection
from cli import ab_plan, ab_stages
from cli.options import option
from core.errors import BadValue, InputError
from core.layout import BisectFiles
from core.paths import write_atomically
from core.records import ALONE, CONTENTION, new_run_id
from runner.progress import console_to
from services.registry import select_suites


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--builds", nargs="+", required=True, metavar="SPEC", help="the builds, oldest first")
    parser.add_argument("--suite", required=True, help="the suite whose request got slower")
    parser.add_argument("--request", required=True, metavar="NAME", help="the request name that got slower")
    parser.add_argument(
        "--mode",
        choices=(ALONE, CONTENTION),
        default=ALONE,
        help=f"where it got slower: {ALONE} or under {CONTENTION}; each step's A/B measures this mode only "
        f"(default: {ALONE})",
    )
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
    files = BisectFiles(args.out or Path("bisect_outputs") / new_run_id())
    out = files.folder
    ab_options = [o for o in args.ab_options if o != "--"]
    with option("AB OPTIONS"):
        _ab_arguments(builds[0], builds[-1], args, out, ab_options)  # a bad one fails now, not after an A/B

    step_numbers = itertools.count(1)

    def judge(good: int, candidate: int) -> bisection.Step:
        step = _ab_step(builds, good, candidate, files, next(step_numbers), args, ab_options)
        _print(step, builds)
        return step

    outcome = bisection.search(args.good - 1, bad - 1, judge)
    _write(files.record, builds, args, outcome)
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


def _ab_arguments(
    baseline: str, candidate: str, args: argparse.Namespace, folder: Path, options: list[str]
) -> argparse.Namespace:
    """The options of one step's A/B, as `./run.sh ab` parses them: the bisected suite, in the bisected mode."""
    parser = argparse.ArgumentParser(prog="./run.sh ab", exit_on_error=False)
    ab_plan.add_arguments(parser)
    command = ["--baseline", baseline, "--candidate", candidate, "--suites", args.suite, "--modes", args.mode]
    command += ["--out", str(folder), *options]
    try:
        return parser.parse_args(command)
    except argparse.ArgumentError as exc:
        raise BadValue(f"not an option of ./run.sh ab: {exc}") from exc


def _ab_step(
    builds: list[str],
    good: int,
    candidate: int,
    files: BisectFiles,
    number: int,
    args: argparse.Namespace,
    options: list[str],
) -> bisection.Step:
    """The paired A/B of build `good` (A) against build `candidate` (B), and its verdict on the request."""
    folder = files.step(number)
    ab_args = _ab_arguments(builds[good], builds[candidate], args, folder, options)
    with console_to(files.step_log(number)):
        _, comparison = ab_stages.ab(ab_plan.plan_from(ab_args), ab_plan.thresholds(ab_args), confirm=ab_args.confirm)
    row = next((r for r in comparison.rows if r.name == args.request and r.mode == args.mode), None)
    if row is None:
        raise InputError(f"--request: the {args.suite} suite has no request named {args.request!r} (see {folder})")
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
