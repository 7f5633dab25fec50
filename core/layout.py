"""Every file the suite writes, named in one place: an output folder of `run`, a folder of `ab`.

An output folder holds, per target x suite, `<target>_<suite>.csv` (k6's raw CSV), `.json` (the
pair's metadata), the k6 and server logs and k6's HTML dashboard; beside them the summary files
(`summary.csv`, `quantiles.csv`, `summary.pairs.json`); below them `.staging/` (a pair while it
runs) and `archive/<run id>/` (what a later attempt of the same pair replaced). A paired A/B's
folder holds `ab.json` (its metadata and rounds), `comparison.json` and `ab.md` (its verdicts),
`ab.png`, each side's server log and, per suite, every round's raw CSV and k6 log.
Files are written with `core.paths.write_atomically`: a failed writer leaves the old file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from core.records import PairMetadata

ARCHIVE_DIR = "archive"
STAGING_DIR = ".staging"
SUMMARY_FILE, QUANTILES_FILE, PAIRS_FILE = "summary.csv", "quantiles.csv", "summary.pairs.json"
# a pair's files, and how the run page offers each for download
PAIR_FILES = {
    ".csv": "raw CSV (gz)",
    ".json": "metadata",
    ".dashboard.html": "k6 dashboard",
    ".k6.log": "k6 log",
    ".server.log": "server log",
}


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
        return [self.path(s) for s in PAIR_FILES if self.path(s).exists()]


def pair_files(folder: Path, meta: PairMetadata) -> PairFiles:
    """The files in `folder` of the pair `meta` describes."""
    return PairFiles(folder, meta.target, meta.suite)


@dataclass(frozen=True)
class ABFiles:
    """The files of one paired A/B, all in its folder."""

    folder: Path

    METADATA: ClassVar[str] = "ab.json"
    COMPARISON: ClassVar[str] = "comparison.json"
    PAGE: ClassVar[str] = "ab.md"
    CHART: ClassVar[str] = "ab.png"

    @property
    def metadata(self) -> Path:
        return self.folder / self.METADATA

    @property
    def comparison(self) -> Path:
        return self.folder / self.COMPARISON

    @property
    def markdown(self) -> Path:
        """The comparison as GitHub-flavoured markdown (CI posts it)."""
        return self.folder / "comparison.md"

    @property
    def rounds(self) -> Path:
        """Every round's statistics per request name, as the comparison read them."""
        return self.folder / "rounds.csv"

    @property
    def page(self) -> Path:
        return self.folder / self.PAGE

    @property
    def chart(self) -> Path:
        return self.folder / self.CHART

    def server_log(self, side: str) -> Path:
        """The server log of one side (A or B)."""
        return self.folder / f"{side}.server.log"

    def round_files(self, suite: str, side: str, round_no: int) -> tuple[Path, Path]:
        """The raw CSV and k6 log of one round (side AB: both sides interleaved in one k6)."""
        stem = self.folder / suite / f"{side}-{round_no:02d}"
        return stem.with_suffix(".csv"), stem.with_suffix(".k6.log")


def ab_folders(root: Path) -> list[ABFiles]:
    """The paired A/Bs in `root`: itself when it is one, else its sub-folders that are."""
    if not root.is_dir():
        return []
    if (root / ABFiles.METADATA).exists():
        return [ABFiles(root)]
    return [ABFiles(p.parent) for p in sorted(root.glob(f"*/{ABFiles.METADATA}"))]
