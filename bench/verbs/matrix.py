"""`./run.sh matrix`: the CI job matrix (targets x suites) as JSON, derived from the registry."""

from __future__ import annotations

import argparse
import json

from services.registry import load_registry, select_suites


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--targets", default="all", help="comma list of targets (default: all default-version targets)")
    parser.add_argument("--suites", default="all", help="comma list of suites (default: all)")


def matrix(targets: str | None, suites: str | None) -> dict:
    """`{"include": [...]}`: one entry per target x suite, with what its CI job needs."""
    chosen = load_registry().select(targets)
    return {"include": [{**t.as_dict(), "suite": s} for t in chosen for s in select_suites(suites)]}


def main(args: argparse.Namespace) -> int:
    print(json.dumps(matrix(args.targets, args.suites), separators=(",", ":")))
    return 0
