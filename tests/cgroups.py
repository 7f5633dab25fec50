"""Real cgroups made for a test (we are root, as CI is): a new cgroup at the same path in each
hierarchy that counts CPU or memory, as container runtimes make them, below the test process's own
cgroups so that no limit on it is escaped; emptied (its processes killed) and removed afterwards."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import psutil
import pytest

CONTROLLERS = ("cpuacct", "cpu", "memory")  # the v1 hierarchies a cgroup is made in, where mounted


@dataclass
class RealCgroup:
    """One new cgroup, at the same path in each hierarchy that counts CPU or memory (as container
    runtimes make them), below this test process's own cgroups, so no limit on it is escaped."""

    cpu: Path  # the folder that holds the CPU account (v1 cpuacct's, or v2's)
    leaves: list[Path]  # the new cgroup in each hierarchy
    created: list[Path] = field(default_factory=list)  # every folder made, parents first

    def add(self, pid: int) -> None:
        for leaf in self.leaves:
            (leaf / "cgroup.procs").write_text(f"{pid}\n")

    def remove(self) -> None:
        for leaf in self.leaves:
            with contextlib.suppress(OSError):
                for pid in (leaf / "cgroup.procs").read_text().split():
                    with contextlib.suppress(psutil.NoSuchProcess):
                        psutil.Process(int(pid)).kill()
        for folder in reversed(self.created):
            for _ in range(50):  # a killed process leaves its cgroup a moment later
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)


def _hierarchies() -> tuple[int, dict[Path, PurePosixPath]]:
    """The cgroup version that counts CPU here, and the mount point of each hierarchy to make a cgroup
    in with this process's cgroup in it; read from /proc/mounts, not by the module under test."""
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        number, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else ["" if number == "0" else "?"]:
            own[name] = PurePosixPath(path)
    mounts: dict[Path, PurePosixPath] = {}
    v2_mount = None
    for line in Path("/proc/mounts").read_text().splitlines():
        _, point, kind, options, *_ = line.split()
        if kind == "cgroup2":
            v2_mount = Path(point)
        elif kind == "cgroup":
            names = [n for n in options.split(",") if n in CONTROLLERS]
            if names and names[0] in own:
                mounts.setdefault(Path(point), own[names[0]])
    if "cpuacct" in own:
        version = 1
    elif v2_mount and "" in own:
        version, mounts = 2, {v2_mount: own[""]}
    else:
        pytest.fail("no cgroup hierarchy counts CPU on this machine (no v1 cpuacct, no cgroup2 mount)")
    for point, path in mounts.items():
        if not (point / path.relative_to("/")).is_dir():
            pytest.fail(f"{point} does not show this process's cgroup {path} (a mounted subtree?): no place to test")
    return version, mounts


@contextlib.contextmanager
def cgroup_maker() -> Iterator[Callable[[], RealCgroup]]:
    """Makes new real cgroups on demand; each is emptied (its processes killed) and removed at the end."""
    made: list[RealCgroup] = []

    def make() -> RealCgroup:
        version, mounts = _hierarchies()
        base = max(mounts.values(), key=lambda p: len(p.parts))
        if not all(base.is_relative_to(own) for own in mounts.values()):
            pytest.fail(f"this process's cgroups do not nest ({sorted(map(str, mounts.values()))}): no place to test")
        path = base / f"bench-test-{uuid.uuid4().hex[:12]}"
        group = RealCgroup(Path(), [])
        made.append(group)
        for point in mounts:
            folder = point / path.relative_to("/")
            missing = [p for p in [*reversed(folder.parents), folder] if p.is_relative_to(point) and not p.exists()]
            for new in missing:
                try:
                    new.mkdir()
                except OSError as exc:
                    pytest.fail(f"cannot make a cgroup at {new} ({exc.strerror}): these tests need root, as CI has")
                group.created.append(new)
            group.leaves.append(folder)
        cpu_file = "cpuacct.usage" if version == 1 else "cpu.stat"
        accounts = [leaf for leaf in group.leaves if (leaf / cpu_file).is_file()]
        if not accounts:
            pytest.fail(f"no new cgroup has {cpu_file}: {', '.join(map(str, group.leaves))}")
        group.cpu = accounts[0]
        return group

    try:
        yield make
    finally:
        for group in made:
            group.remove()
