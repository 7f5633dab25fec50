"""`./run.sh matrix`: the CI job matrix (targets x suites) as JSON, derived from the registry."""

from __future__ import annotations

import argparse
import json

from cli.main import option
from services.registry import load_registry, parse_versions, select_suites


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--targets", default="all", help="comma list of targets (default: all default-version targets)")
    parser.add_argument("--suites", default="all", help="comma list of suites (default: all)")
    parser.add_argument(
        "--server-version",
        action="append",
        default=[],
        metavar="NAME=VERSION",
        help="run a server at another version (repeatable), e.g. fasttrackml=main",
    )
    parser.add_argument("--nightly", action="store_true", help="each server at its nightly version where it has one")
    parser.add_argument("--image-prefix", default="", help="where CI's server images live, e.g. ghcr.io/OWNER/REPO")
    parser.add_argument("--images", action="store_true", help="print the matrix of server images to build instead")


def matrix(
    targets: str | None, suites: str | None, versions: dict[str, str] | None = None, image_prefix: str = ""
) -> dict:
    """`{"include": [...]}`: one entry per target x suite, with what its CI job needs."""
    registry = load_registry()
    with option("--targets"):
        listed_targets = registry.select(targets)
    with option("--suites"):
        chosen_suites = select_suites(suites)
    include = []
    for listed in listed_targets:
        target = registry.at_version(listed, (versions or {}).get(listed.server.name))
        job = target.as_dict() | {"registry_target": listed.id}
        if image_prefix:
            job["service_image"] = f"{image_prefix.rstrip('/')}/{target.server.name}:{target.version}"
        else:
            job["service_image"] = target.image
        include += [{**job, "suite": suite} for suite in chosen_suites]
    return {"include": include}


def images(jobs: dict) -> dict:
    """The server images those jobs need, each once: what CI's image job builds."""
    keys = ("server", "version", "dockerfile", "service_image")
    unique = {job["service_image"]: {k: job[k] for k in keys} for job in jobs["include"]}
    return {"include": list(unique.values())}


def main(args: argparse.Namespace) -> int:
    with option("--server-version"):
        versions = parse_versions(args.server_version)
        load_registry().check_versions(versions)
    if args.nightly:
        registry = load_registry()
        versions = {name: s.nightly_version for name, s in registry.servers.items() if s.nightly_version} | versions
    jobs = matrix(args.targets, args.suites, versions, args.image_prefix)
    print(json.dumps(images(jobs) if args.images else jobs, separators=(",", ":")))
    return 0
