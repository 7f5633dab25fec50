"""The output folder of a benchmark: file names, run metadata, and never losing an earlier result.

For each target x suite a run writes `<target>_<suite>.csv` (k6's raw CSV), `<target>_<suite>.json`
(the run metadata), the k6 and server logs and k6's HTML dashboard. Files are written in a staging
folder first; when a pair is done, the files an earlier run left for that same pair move to
`archive/<their run id>/` and the new ones take their place. So the top of the folder always holds
the latest attempt of each pair, and nothing is deleted or overwritten.
"""

from __future__ import annotations

import getpass
import json
import os
import platform
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil

from bench.errors import InputError
from services.registry import ROOT

METADATA_SCHEMA = 1
ARCHIVE_DIR = "archive"
STAGING_DIR = ".staging"
SUFFIXES = (".csv", ".json", ".k6.log", ".server.log", ".dashboard.html")


@dataclass(frozen=True)
class PairFiles:
    """The files of one target x suite inside a folder."""

    folder: Path
    target: str
    suite: str

    @property
    def stem(self) -> str:
        return f"{self.target}_{self.suite}"

    def path(self, suffix: str) -> Path:
        return self.folder / f"{self.stem}{suffix}"

    @property
    def csv(self) -> Path:
        return self.path(".csv")

    @property
    def metadata(self) -> Path:
        return self.path(".json")

    @property
    def k6_log(self) -> Path:
        return self.path(".k6.log")

    @property
    def server_log(self) -> Path:
        return self.path(".server.log")

    @property
    def dashboard(self) -> Path:
        return self.path(".dashboard.html")

    def existing(self) -> list[Path]:
        return [self.path(s) for s in SUFFIXES if self.path(s).exists()]


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: UTC time of the start plus a random suffix."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def publish(staged: PairFiles, out: Path) -> PairFiles:
    """Move a finished pair from staging to `out`, archiving what an earlier run left there."""
    final = PairFiles(out, staged.target, staged.suite)
    previous = final.existing()
    if previous:
        old_run = _run_id_of(final.metadata) or "unknown-" + uuid.uuid4().hex[:6]
        archive = out / ARCHIVE_DIR / old_run
        archive.mkdir(parents=True, exist_ok=True)
        for path in previous:
            shutil.move(path, archive / path.name)
    for path in staged.existing():
        shutil.move(path, final.folder / path.name)
    return final


def _run_id_of(metadata_path: Path) -> str | None:
    try:
        return str(json.loads(metadata_path.read_text())["run_id"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_metadata(path: Path, metadata: dict) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def read_metadata(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise InputError(f"{path}: metadata missing (every CSV needs the JSON the runner writes beside it)") from exc
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable metadata: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema_version") != METADATA_SCHEMA:
        raise InputError(f"{path}: not run metadata of schema version {METADATA_SCHEMA}")
    return data


def machine() -> dict:
    """What the numbers were measured on."""
    return {
        "cpu_model": _cpu_model(),
        "cores": psutil.cpu_count(logical=True),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "hostname_hash": uuid.uuid5(uuid.NAMESPACE_DNS, platform.node() + getpass.getuser()).hex[:8],
        "ci": bool(os.environ.get("CI")),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def source() -> dict:
    """The commit of this repository that ran the benchmark (GitHub's variables win in CI)."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    return {
        "commit": os.environ.get("GITHUB_SHA") or git("rev-parse", "HEAD"),
        "branch": os.environ.get("GITHUB_HEAD_REF")
        or os.environ.get("GITHUB_REF_NAME")
        or git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }
