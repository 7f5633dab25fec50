"""Where the kernel counts a process's CPU: its cgroup folder, read from the kernel's own files.

Method. `/proc/<pid>/cgroup` names the process's cgroup in each hierarchy, one line each:
`hierarchy-id:controllers:path`, where cgroup v2's single hierarchy is the line `0::/path` and a
cgroup v1 hierarchy lists its controllers (`cpu,cpuacct` mounted together, or `cpuacct` alone).
`/proc/self/mountinfo` says where each hierarchy is mounted for this process: a `cgroup2` mount,
or a `cgroup` (v1) mount whose super options name its controllers, and the mount's root, the part
of the hierarchy it shows (`/`, unless a subtree is mounted). The folder is the mount point joined
with the process's path below that root. Nothing is guessed from a container runtime's naming
(`docker-<id>.scope`, `docker/<id>`, `actions_job/<id>` ...): the same method finds them all.

Which hierarchy holds the CPU account: where the process lists the v1 `cpuacct` controller (cgroup
v1 alone, or hybrid, v1 controllers beside a v2 tree), the v1 hierarchy holding it, since that is
where the kernel counts its CPU; a hybrid host's v2 tree only tracks processes, and a container
need not have a group of its own there. Only where no v1 hierarchy has `cpuacct` (cgroup v2
alone), the `0::` line.

Nothing silently wrong: the folder must hold its CPU account (`cpuacct.usage` for v1, `cpu.stat`
for v2); it is never a hierarchy's root as this process sees it (`/`), whose account is every
process's beneath it; and a path outside this process's cgroup namespace (`/../...`) has no
folder here. Each of these is a one-line `BadValue` naming the pid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from core.errors import BadValue

PROC = Path("/proc")
CPU_FILES = {1: "cpuacct.usage", 2: "cpu.stat"}  # per cgroup version: the file of its CPU account


@dataclass(frozen=True)
class Mount:
    """A cgroup hierarchy as mounted here: which version, which controllers (v1), what it shows and where."""

    version: int
    controllers: frozenset[str]  # v1: the mount's super options, its controllers among them; v2: none
    root: PurePosixPath  # the part of the hierarchy the mount shows
    point: Path  # where it is mounted

    def folder(self, path: PurePosixPath) -> Path | None:
        """The folder of cgroup `path` of this hierarchy, or None if the mount does not show it."""
        try:
            return self.point / path.relative_to(self.root)
        except ValueError:
            return None


@dataclass(frozen=True)
class Membership:
    """One line of /proc/<pid>/cgroup: the process's cgroup `path` in a hierarchy."""

    version: int
    controllers: frozenset[str]
    path: PurePosixPath


def cpu_cgroup(pid: int, proc: Path = PROC) -> Path:
    """The cgroup folder that holds process `pid`'s CPU account (see the module's docstring).

    Raises BadValue, one line naming the pid, when the process does not exist or has no such folder."""
    memberships = read_memberships(pid, proc)
    try:
        mounts = read_mounts(proc)
    except BadValue as exc:
        raise BadValue(f"pid {pid}: {exc}") from None
    v1 = [m for m in memberships if m.version == 1 and "cpuacct" in m.controllers]
    if v1:
        membership, candidates = v1[0], [m for m in mounts if m.version == 1 and "cpuacct" in m.controllers]
        hierarchy = "the cgroup v1 hierarchy with cpuacct"
    else:
        v2 = [m for m in memberships if m.version == 2]
        if not v2:
            raise BadValue(f"pid {pid}: {proc / str(pid) / 'cgroup'} lists neither cpuacct (v1) nor a 0:: line (v2)")
        membership, candidates = v2[0], [m for m in mounts if m.version == 2]
        hierarchy = "the cgroup v2 hierarchy"
    path = membership.path
    if ".." in path.parts:
        raise BadValue(f"pid {pid}: its cgroup {path} is outside this process's cgroup namespace")
    if path == PurePosixPath("/"):
        raise BadValue(f"pid {pid}: in the root cgroup of {hierarchy}, whose account is every process's, not its own")
    folders = [f for f in (m.folder(path) for m in candidates) if f is not None]
    if not folders:
        raise BadValue(f"pid {pid}: {hierarchy} is not mounted here with its cgroup {path} in view")
    cpu_file = CPU_FILES[membership.version]
    for folder in folders:
        if (folder / cpu_file).is_file():
            return folder
    raise BadValue(f"pid {pid}: {folders[0]} has no {cpu_file}, so no CPU account")


def v1_sibling(folder: Path, controller: str, proc: Path = PROC) -> Path | None:
    """The folder of the same cgroup in the v1 hierarchy of `controller` (cgroup v1 keeps each
    controller's tree apart; container runtimes give a container the same path in each), or None
    when `folder` is in no v1 hierarchy mounted here or `controller`'s hierarchy does not show it.
    Symbolic links are followed first (`/sys/fs/cgroup/cpuacct` is often one to `cpu,cpuacct`)."""
    folder = folder.resolve()
    mounts = [m for m in read_mounts(proc) if m.version == 1]
    holding = [m for m in mounts if folder.is_relative_to(m.point)]
    if not holding:
        return None
    mount = max(holding, key=lambda m: len(m.point.parts))
    path = mount.root / folder.relative_to(mount.point)
    for other in mounts:
        if controller in other.controllers and (sibling := other.folder(path)) is not None:
            return sibling
    return None


def read_memberships(pid: int, proc: Path = PROC) -> list[Membership]:
    """The lines of /proc/<pid>/cgroup; BadValue if the process does not exist."""
    path = proc / str(pid) / "cgroup"
    try:
        text = path.read_text()
    except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
        raise BadValue(f"pid {pid}: no such process ({path} does not exist)") from None
    except OSError as exc:
        raise BadValue(f"pid {pid}: cannot read {path}: {exc.strerror or exc}") from None
    memberships = []
    for line in text.splitlines():
        fields = line.split(":", 2)
        if len(fields) != 3:
            raise BadValue(f"pid {pid}: {path} has a line that is not hierarchy:controllers:path: {line!r}")
        number, controllers, cgroup = fields
        version = 2 if number == "0" and not controllers else 1
        memberships.append(Membership(version, frozenset(controllers.split(",")) - {""}, PurePosixPath(cgroup)))
    return memberships


def read_mounts(proc: Path = PROC) -> list[Mount]:
    """The cgroup mounts listed in /proc/self/mountinfo, in its order.

    A line: `id parent major:minor root point options [optional fields] - fstype source super-options`,
    its paths with space, tab, newline and backslash written in octal (`\\040`)."""
    path = proc / "self" / "mountinfo"
    try:
        text = path.read_text()
    except OSError as exc:
        raise BadValue(f"cannot read {path}: {exc.strerror or exc}") from None
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if "-" not in fields[6:]:
            continue
        dash = fields.index("-", 6)
        if len(fields) < dash + 4 or fields[dash + 1] not in ("cgroup", "cgroup2"):
            continue
        version = 2 if fields[dash + 1] == "cgroup2" else 1
        controllers = frozenset(fields[dash + 3].split(",")) if version == 1 else frozenset()
        mounts.append(Mount(version, controllers, PurePosixPath(_unescape(fields[3])), Path(_unescape(fields[4]))))
    return mounts


def _unescape(text: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match[1], 8)), text)
