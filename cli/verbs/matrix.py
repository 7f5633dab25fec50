"""`./run.sh matrix`: the CI job matrix (targets x suites) as JSON, derived from the registry.

CI's server images are keyed by their content: the tag is the server version plus a hash of what
builds the image (its Dockerfile and the files it copies), so an image is never overwritten by a
different build, and a pull request that edits a Dockerfile or bumps a version names an image of
its own, which CI builds, instead of silently measuring main's. A moving version (`main`: a name,
not a release number) is built on an image that changes under the same tag, so its key also holds
that base image's digest (`--base-digest`, which CI's plan job looks up): a new build of `main` is
a new image, never the stale one measured forever.

Pairs the registry marks unsupported are left out of the matrix (`--unsupported` lists them by
target, for the job that writes their records without starting anything).
"""

from __future__ import annotations

import argparse
import hashlib
import json

from cli.options import option
from core.errors import BadValue
from core.options import parse_pairs
from core.paths import ROOT
from services.registry import Target, load_registry, parse_versions, select_suites


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
        "--base-digest",
        action="append",
        default=[],
        metavar="IMAGE=DIGEST",
        help="the digest of a moving version's base image (repeatable): part of its image's content key",
    )
    parser.add_argument(
        "--moving", action="store_true", help="print the base images of the moving versions chosen, one a line"
    )
    parser.add_argument(
        "--unsupported",
        action="store_true",
        help="print the pairs left out because the registry says they cannot run, as TARGET:SUITE words",
    )
    parser.add_argument(
        "--nightly-pair",
        metavar="SERVER",
        help="print the nightly A/B's images of SERVER, its latest release and its nightly build, as "
        "nightly_baseline=... and nightly_candidate=... lines",
    )
    parser.add_argument(
        "--ab",
        metavar="SERVER",
        help="print the matrix of paired A/B jobs instead: SERVER's default targets x suites, two databases each",
    )


def matrix(
    targets: str | None,
    suites: str | None,
    versions: dict[str, str] | None = None,
    image_prefix: str = "",
    base_digests: dict[str, str] | None = None,
) -> dict:
    """`{"include": [...]}`: one entry per target x suite the registry can run, with what its CI job needs."""
    include = []
    for target, listed, chosen_suites in _chosen(targets, suites, versions):
        job = target.as_dict() | {"registry_target": listed.id}
        if image_prefix:
            with option("--base-digest"):
                base = _base_digest(target, base_digests or {})
            tag = f"{target.version}-{content_key(target.server.dockerfile, job['packages'], base)}"
            job["service_image"] = f"{image_prefix.rstrip('/')}/{target.server.name}:{tag}"
        else:
            job["service_image"] = target.image
        include += [{**job, "suite": suite} for suite in chosen_suites if not target.unsupported(suite)]
    return {"include": include}


def _chosen(targets: str | None, suites: str | None, versions: dict[str, str] | None) -> list:
    """(target at its chosen version, the registry's target, the chosen suites) for each chosen target."""
    registry = load_registry()
    with option("--targets"):
        listed_targets = registry.select(targets)
    with option("--suites"):
        chosen_suites = select_suites(suites)
    return [
        (registry.at_version(listed, (versions or {}).get(listed.server.name)), listed, chosen_suites)
        for listed in listed_targets
    ]


def is_moving(version: str) -> bool:
    """A version named, not numbered (`main`, `latest`): its image changes under the same tag."""
    return not version[:1].isdigit()


def moving_bases(targets: str | None, versions: dict[str, str] | None) -> list[str]:
    """The base images of the chosen targets at moving versions, each once."""
    return sorted({t.image for t, _, _ in _chosen(targets, "all", versions) if is_moving(t.version)})


def unsupported_pairs(targets: str | None, suites: str | None, versions: dict[str, str] | None) -> list[str]:
    """`TARGET:SUITE,SUITE` for each chosen target with pairs the registry says cannot run, naming
    those suites (registry target ids): one `./run.sh run` per target writes all their records."""
    return [
        f"{listed.id}:{','.join(names)}"
        for t, listed, chosen in _chosen(targets, suites, versions)
        if (names := [s for s in chosen if t.unsupported(s)])
    ]


def _base_digest(target: Target, digests: dict[str, str]) -> str:
    if not is_moving(target.version):
        return ""
    if target.image not in digests:
        raise BadValue(
            f"{target.server.name} {target.version} is a moving version: give the digest of {target.image} "
            f"(docker buildx imagetools inspect {target.image})"
        )
    return digests[target.image]


def content_key(dockerfile: str, packages: str = "", base_digest: str = "") -> str:
    """12 hex digits of the SHA-256 of a Dockerfile, every file it COPYs (from its build context,
    `services/`), the packages it is given and, for a moving version, its base image's digest: what
    the image is built from, besides the version."""
    path = ROOT / dockerfile
    digest = hashlib.sha256(path.read_bytes())
    digest.update(packages.encode())
    digest.update(base_digest.encode())
    for line in path.read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"]:
            for source in words[1:-1]:
                digest.update((ROOT / "services" / source).read_bytes())
    return digest.hexdigest()[:12]


def ab_jobs(server: str, suites: str | None, targets: str | None = "all") -> dict:
    """`{"include": [...]}`: one paired A/B job per default target of `server` (those of `targets`)
    x suite. Each side gets its own database: the baseline the service `postgres`, the candidate
    `postgres-b`."""
    registry = load_registry()
    with option("--ab"):
        if server not in registry.servers:
            raise BadValue(f"unknown server {server}; valid: {', '.join(registry.servers)}")
    with option("--suites"):
        chosen_suites = select_suites(suites, paired=True)
    with option("--targets"):
        chosen = {t.id for t in registry.select(targets)}
        if not any(t.server.name == server for t in registry.default_targets if t.id in chosen):
            raise BadValue(f"none of {targets} is a target of {server}")
    include = []
    for target in (t for t in registry.default_targets if t.server.name == server and t.id in chosen):
        job = target.as_dict()
        job["candidate_database_uri"] = target.container_database_uri.replace("@postgres:", "@postgres-b:")
        # the nightly's pair: the server's main build against its latest release (the registry's default)
        nightly = registry.at_version(target, target.server.nightly_version or target.version)
        job["nightly_image"] = nightly.image
        include += [{**job, "suite": suite} for suite in chosen_suites]
    return {"include": include}


def nightly_pair(server: str) -> tuple[str, str]:
    """The images of the nightly A/B of `server`: its latest release (the registry's default version)
    and its nightly build."""
    registry = load_registry()
    with option("--nightly-pair"):
        if server not in registry.servers or not registry.servers[server].nightly_version:
            nightly = [name for name, s in registry.servers.items() if s.nightly_version]
            raise BadValue(f"{server} has no nightly build in the registry; servers that have: {', '.join(nightly)}")
    release = next(t for t in registry.default_targets if t.server.name == server)
    return release.image, registry.at_version(release, release.server.nightly_version).image


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
        print(json.dumps(ab_jobs(args.ab, args.suites, args.targets), separators=(",", ":")))
        return 0
    if args.nightly_pair:
        baseline, candidate = nightly_pair(args.nightly_pair)
        print(f"nightly_baseline={baseline}\nnightly_candidate={candidate}")
        return 0
    if args.moving:
        print("\n".join(moving_bases(args.targets, versions)))
        return 0
    if args.unsupported:
        print(" ".join(unsupported_pairs(args.targets, args.suites, versions)))
        return 0
    with option("--base-digest"):
        digests = parse_pairs(args.base_digest, "IMAGE=DIGEST")
    jobs = matrix(args.targets, args.suites, versions, args.image_prefix, digests)
    print(json.dumps(images(jobs) if args.images else jobs, separators=(",", ":")))
    return 0
