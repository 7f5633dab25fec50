"""`./run.sh cgroup PID`: print the cgroup folder that holds a process's CPU account.

CI gives it a service container's main process (`docker inspect -f '{{.State.Pid}}'`) and passes
the folder to `run --server-cgroup` or `ab --baseline-cgroup`/`--candidate-cgroup`. The folder is
read from /proc/PID/cgroup and this process's mounts, never guessed (see runner/cgroups.py); a
process that does not exist, or whose cgroup has no CPU account, is a one-line error (exit 2).
"""

from __future__ import annotations

import argparse

from runner.cgroups import cpu_cgroup


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pid", type=int, metavar="PID", help="the process, e.g. a container's main process")


def main(args: argparse.Namespace) -> int:
    print(cpu_cgroup(args.pid))
    return 0
