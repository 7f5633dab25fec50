"""The options of a paired A/B and the plan they make, shared by `./run.sh ab` and `./run.sh bisect`
(each of whose steps is an A/B): `add_arguments` declares them, `plan_from` checks them, one-line
errors naming the option, and resolves both sides.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from analysis import paired
from cli.options import option
from core.errors import BadValue
from core.layout import ABFiles
from core.options import parse_pairs
from core.records import ALONE, CONTENTION, ABMode, new_run_id
from runner import profiling
from runner.ab import ABPlan
from runner.k6 import profiles, select_profile
from runner.resources import CgroupMeter
from services.postgres import external
from services.registry import load_registry, select_suites, suites

DEFAULT_ROUNDS = 36  # what it calls, and in how long: docs/methodology.md, "How well it calls"
DEFAULT_ROUND_SECONDS = 4.0
DEFAULT_THRESHOLD = 0.03
DEFAULT_WARMUP = 0.0
DEFAULT_VUS = 1
DEFAULT_MODES = (ALONE, CONTENTION)
DEFAULT_CONTENTION_VUS = 2  # the load at which FastTrackML 0.6.0's slower small metric batches showed (methodology)
DEFAULT_CONTENTION_ROUNDS = 12
DEFAULT_RULE_OUT = 0.05  # the smallest change the A/B's quality goals want called (methodology)
DEFAULT_CONTENTION_RULE_OUT = 0.20  # contention's scatter is 2-5x alone's; the lock waits it is for are larger


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--baseline", required=True, metavar="SPEC", help="side A: target[@/path/to/binary|@URL]")
    parser.add_argument("--candidate", required=True, metavar="SPEC", help="side B: target[@/path/to/binary|@URL]")
    parser.add_argument(
        "--suites",
        default="all",
        help=f"comma list of suites (default: all it can pair = {', '.join(suites(paired=True))})",
    )
    parser.add_argument(
        "--rounds", type=int, default=DEFAULT_ROUNDS, help=f"rounds per side and suite (default: {DEFAULT_ROUNDS})"
    )
    parser.add_argument(
        "--round-seconds",
        type=float,
        default=DEFAULT_ROUND_SECONDS,
        help=f"how long a round lasts: its iterations are sized on the pace of the round before it (the "
        f"warm-up's, for the first), the same for both sides (default: {DEFAULT_ROUND_SECONDS})",
    )
    parser.add_argument(
        "--round-iterations", type=int, help="iterations per VU and side in each round, instead of --round-seconds"
    )
    parser.add_argument(
        "--profile",
        default="smoke",
        help=f"the k6 profile of each round, one of {', '.join(profiles())} (default: smoke; --vus sets its VUs)",
    )
    parser.add_argument(
        "--vus",
        type=int,
        default=DEFAULT_VUS,
        help=f"VUs in each round of the {ALONE} mode (default: {DEFAULT_VUS}: one request at a time, alternating A "
        "and B, the steadiest measure; with 2, FastTrackML's logging ratios scattered twice as much)",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help=f"smallest change called a regression or improvement (default: {DEFAULT_THRESHOLD}: the paired "
        "interval measures the noise, so a smaller change than compare's 10%% can be called)",
    )
    parser.add_argument(
        "--cpu-threshold",
        type=float,
        default=paired.DEFAULT_CPU_THRESHOLD,
        help=f"smallest change of the servers' CPU per request called, per request name of an isolated A/B "
        f"(default: {paired.DEFAULT_CPU_THRESHOLD})",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=DEFAULT_WARMUP,
        help=f"share of each round's time whose samples are discarded (default: {DEFAULT_WARMUP})",
    )
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="run k6 and the servers on separate cores (default: off)",
    )
    parser.add_argument(
        "--interleave",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run both sides in each round's one k6 process, alternating iteration by iteration (default: on; "
        "--no-interleave runs each side's round in a k6 process of its own, in the order A B, B A, ...)",
    )
    parser.add_argument(
        "--modes",
        default=",".join(DEFAULT_MODES),
        help=f"how the rounds load the servers, one mode after the other on each suite: {ALONE} (each request "
        f"name in a segment of its own, --vus at a time, its CPU metered per name) and {CONTENTION} (the suite's "
        f"mixed iteration at --contention-vus, so that requests wait on each other's work, as under a real "
        f"load); a comma list (default: {','.join(DEFAULT_MODES)})",
    )
    parser.add_argument(
        "--contention-vus",
        type=int,
        default=DEFAULT_CONTENTION_VUS,
        help=f"VUs of the {CONTENTION} mode's rounds (default: {DEFAULT_CONTENTION_VUS})",
    )
    parser.add_argument(
        "--contention-rounds",
        type=int,
        default=DEFAULT_CONTENTION_ROUNDS,
        help=f"rounds per side and suite of the {CONTENTION} mode, at most (default: {DEFAULT_CONTENTION_ROUNDS}: "
        "it is there to catch the large changes lock waits make)",
    )
    parser.add_argument(
        "--sequential",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="look at the rounds as they come and stop a suite's mode once every request name is settled: "
        "a change called, or one of --rule-out ruled out (default: on; --no-sequential runs every round)",
    )
    parser.add_argument(
        "--rule-out",
        type=float,
        default=DEFAULT_RULE_OUT,
        help=f"a sequential A/B settles a request name of the {ALONE} mode as no change once its interval rules "
        f"out a change this large either way (default: {DEFAULT_RULE_OUT})",
    )
    parser.add_argument(
        "--contention-rule-out",
        type=float,
        default=DEFAULT_CONTENTION_RULE_OUT,
        help=f"--rule-out of the {CONTENTION} mode (default: {DEFAULT_CONTENTION_RULE_OUT})",
    )
    parser.add_argument(
        "--profile-servers",
        action="store_true",
        help="sample where both servers spend their CPU over the measured rounds of the first mode (Linux perf for "
        "FastTrackML, "
        "py-spy for MLflow) and show on the A/B page the functions whose share grew, with a differential "
        "flame graph (default: off)",
    )
    parser.add_argument("--out", type=Path, help="output folder (default: ab_outputs/<comparison id>)")
    parser.add_argument("--markdown", type=Path, help="write the markdown here too (default: OUT/comparison.md only)")
    parser.add_argument("--postgres-url", help="use this PostgreSQL instead of the embedded one")
    parser.add_argument(
        "--confirm",
        action="store_true",
        help="measure each suite with a regression once more (a new A/B in OUT/confirmation) and keep only the "
        "regressions both measurements call: what CI's gate does before it fails a check",
    )
    parser.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit with status 1 when a regression stands (with --confirm: one called by both measurements)",
    )
    for role in ("baseline", "candidate"):
        parser.add_argument(
            f"--{role}-cgroup",
            type=Path,
            metavar="DIR",
            help=f"meter the {role}'s server as this cgroup (its container's, in CI) instead of a process tree "
            "(default: the process tree of a server launched here; none for a URL)",
        )
    parser.add_argument(
        "--provenance",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"where the servers came from, kept in {ABFiles.METADATA} (repeatable); CI records both image digests "
        "and the candidate's revision",
    )


def thresholds(args: argparse.Namespace) -> paired.Thresholds:
    return paired.Thresholds(args.threshold, args.cpu_threshold)


def plan_from(args: argparse.Namespace) -> ABPlan:
    registry = load_registry()
    with option("--baseline"):
        baseline = registry.spec(args.baseline)
    with option("--candidate"):
        candidate = registry.spec(args.candidate)
        if candidate.target.database.kind != baseline.target.database.kind:
            raise BadValue(
                f"{args.candidate!r} runs on {candidate.target.database.label}, the baseline on "
                f"{baseline.target.database.label}: an A/B compares two servers on the same kind of database"
            )
    with option("--suites"):
        chosen = select_suites(args.suites, paired=True)
    with option("--profile"):
        profile = select_profile(args.profile)
    if args.vus is not None:
        with option("--vus"):
            if args.vus < 1:
                raise BadValue(f"must be at least 1, got {args.vus}")
        profile = dataclasses.replace(profile, vus=args.vus)
    for name, fine, rule in (
        ("--rounds", args.rounds >= paired.MIN_PAIRS, f"at least {paired.MIN_PAIRS}"),
        ("--contention-rounds", args.contention_rounds >= paired.MIN_PAIRS, f"at least {paired.MIN_PAIRS}"),
        ("--contention-vus", args.contention_vus >= 1, "at least 1"),
        ("--rule-out", args.threshold < args.rule_out < 10, "a fraction larger than --threshold"),
        ("--contention-rule-out", args.threshold < args.contention_rule_out < 10, "a fraction larger than --threshold"),
        ("--round-iterations", args.round_iterations is None or args.round_iterations >= 1, "at least 1"),
        ("--round-seconds", 0.5 <= args.round_seconds <= 600, "from 0.5 to 600"),
        ("--threshold", 0 < args.threshold < 10, "a fraction such as 0.05"),
        ("--cpu-threshold", 0 < args.cpu_threshold < 10, "a fraction such as 0.02"),
        ("--warmup", 0 <= args.warmup < 0.9, "a share from 0 to 0.9"),
    ):
        if not fine:
            raise BadValue(f"{name}: must be {rule}, got {getattr(args, name[2:].replace('-', '_'))}")
    with option("--modes"):
        modes = _modes(args, profile.vus)
    with option("--provenance"):
        provenance = parse_pairs(args.provenance, "KEY=VALUE")
    cgroups = {}
    for side, role in (("A", "baseline"), ("B", "candidate")):
        path = getattr(args, f"{role}_cgroup")
        if path is not None:
            with option(f"--{role}-cgroup"):
                CgroupMeter(path)  # a folder that is no cgroup is a one-line error now, not mid-way
            cgroups[side] = path
    if args.postgres_url:
        with option("--postgres-url"):
            external(args.postgres_url)
    if args.profile_servers:
        with option("--profile-servers"):
            profiling.ensure_profilers()
    ab_id = new_run_id()
    out = args.out or Path("ab_outputs") / ab_id
    with option("--out"):
        if out.exists() and any(out.iterdir()):
            raise BadValue(f"{out} is not empty (an A/B never overwrites an earlier one)")
    out.mkdir(parents=True, exist_ok=True)
    return ABPlan(
        baseline=baseline,
        candidate=candidate,
        suites=tuple(chosen),
        profile=profile,
        rounds=args.rounds,
        round_iterations=args.round_iterations,
        warmup=args.warmup,
        pin=args.pin,
        out=out,
        ab_id=ab_id,
        postgres_url=args.postgres_url,
        interleave=args.interleave,
        isolate=modes[0].isolated,
        modes=modes,
        threshold=args.threshold,
        profile_servers=args.profile_servers,
        round_seconds=args.round_seconds,
        provenance=provenance,
        cgroups=cgroups,
    )


def _modes(args: argparse.Namespace, vus: int) -> tuple[ABMode, ...]:
    """The modes --modes names, in its order, each with its VUs and most rounds."""

    def rule_out(value: float) -> float | None:
        return value if args.sequential else None

    known = {
        ALONE: ABMode(ALONE, vus, args.rounds, rule_out(args.rule_out)),
        CONTENTION: ABMode(CONTENTION, args.contention_vus, args.contention_rounds, rule_out(args.contention_rule_out)),
    }
    names = [n.strip() for n in args.modes.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise BadValue(f"unknown mode {unknown[0] if unknown else '(none)'!r}: choose from {', '.join(known)}")
    return tuple(known[n] for n in dict.fromkeys(names))
