"""`./run.sh matrix`: the CI job matrix (targets x suites) as JSON, derived from the registry.

CI's server images are keyed by their content: the tag is the server version plus a hash of what
builds the image (its Dockerfile and the files it copies), so an image is never overwritten by a
different build, and a pull request that edits a Dockerfile or bumps a version names an image of
its own, which CI builds, instead of silently measuring main's.
"""

from __future__ import annotations

import argparse
import hashlib
import json

from cli.main import option
from core.errors import BadValue
from core.paths import ROOT
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
    parser.add_argument(
        "--ab",
        metavar="SERVER",
        help="print the matrix of paired A/B jobs instead: SERVER's default targets x suites, two databases each",
    )


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
            tag = f"{target.version}-{content_key(target.server.dockerfile, job['packages'])}"
            job["service_image"] = f"{image_prefix.rstrip('/')}/{target.server.name}:{tag}"
        else:
            job["service_image"] = target.image
        include += [{**job, "suite": suite} for suite in chosen_suites]
    return {"include": include}


def content_key(dockerfile: str, packages: str = "") -> str:
    """12 hex digits of the SHA-256 of a Dockerfile, every file it COPYs (from its build context,
    `services/`) and the packages it is given: what the image is built from, besides the version."""
    path = ROOT / dockerfile
    digest = hashlib.sha256(path.read_bytes())
    digest.update(packages.encode())
    for line in path.read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"]:
            for source in words[1:-1]:
                digest.update((ROOT / "services" / source).read_bytes())
    return digest.hexdigest()[:12]


def ab_jobs(server: str, suites: str | None) -> dict:
    """`{"include": [...]}`: one paired A/B job per default target of `server` x suite. Each side
    gets its own database: the baseline the service `postgres`, the candidate `postgres-b`."""
    registry = load_registry()
    with option("--ab"):
        if server not in registry.servers:
            raise BadValue(f"unknown server {server}; valid: {', '.join(registry.servers)}")
    with option("--suites"):
        chosen_suites = select_suites(suites, paired=True)
    include = []
    for target in (t for t in registry.default_targets if t.server.name == server):
        job = target.as_dict()
        job["candidate_database_uri"] = target.container_database_uri.replace("@postgres:", "@postgres-b:")
        # the nightly's pair: the server's main build against its latest release (the registry's default)
        nightly = registry.at_version(target, target.server.nightly_version or target.version)
        job["nightly_image"] = nightly.image
        include += [{**job, "suite": suite} for suite in chosen_suites]
    return {"include": include}


def images(jobs: dict) -> dict:
    """The server images those jobs need, each once: what CI's image job builds."""
    keys = ("server", "version", "dockerfile", "packages", "service_image")
    unique = {job["service_image"]: {k: job[k] for k in keys} for job in jobs["include"]}
    return {"include": list(unique.values())}


def main(args: argparse.Namespace) -> int:
    with option("--server-version"):
        versions = parse_versions(args.server_version)
        load_registry().check_versions(versions)
    if args.nightly:
        registry = load_registry()
        versions = {name: s.nightly_version for name, s in registry.servers.items() if s.nightly_version} | versions
    if args.ab:
        print(json.dumps(ab_jobs(args.ab, args.suites), separators=(",", ":")))
        return 0
    jobs = matrix(args.targets, args.suites, versions, args.image_prefix)
    print(json.dumps(images(jobs) if args.images else jobs, separators=(",", ":")))
    return 0
