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

from core.records import CONTENTION, PairMetadata

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


def round_files(workdir: Path, number: int) -> tuple[Path, Path]:
    """The raw CSV and k6 log of one round of a suite run in rounds, in its pair's work folder: they
    are joined into the pair's own CSV and k6 log afterwards (runner/rounds.py)."""
    return workdir / f"round-{number:02d}.csv", workdir / f"round-{number:02d}.k6.log"


def pair_files(folder: Path, meta: PairMetadata) -> PairFiles:
    """The files in `folder` of the pair `meta` describes."""
    return PairFiles(folder, meta.target, meta.suite)


def pair_metadata_paths(folder: Path) -> list[Path]:
    """Every pair's metadata in an output folder (`<target>_<suite>.json`)."""
    return sorted(folder.glob("*_*.json"))


def pair_csv_paths(folder: Path) -> list[Path]:
    """Every pair's raw CSV in an output folder (`<target>_<suite>.csv`)."""
    return sorted(folder.glob("*_*.csv"))


def metadata_beside(csv_path: Path) -> Path:
    """Where a raw CSV's metadata is: beside it, the same stem."""
    return csv_path.with_suffix(".json")


def k6_csv_paths(folder: Path) -> list[Path]:
    """Every CSV in a folder (what `report --import` takes for k6's)."""
    return sorted(folder.glob("*.csv"))


@dataclass(frozen=True)
class ProfileFiles:
    """A profiler's files, named from one stem: its folded stacks, perf's raw data, its log."""

    stem: Path

    @property
    def folded(self) -> Path:
        return self.stem.with_suffix(".folded")

    @property
    def perf_data(self) -> Path:
        """perf's own recording, deleted once folded."""
        return self.stem.with_suffix(".perf.data")

    @property
    def log(self) -> Path:
        return self.stem.with_suffix(".profiler.log")


@dataclass(frozen=True)
class ABFiles:
    """The files of one paired A/B, all in its folder."""

    folder: Path

    METADATA: ClassVar[str] = "ab.json"
    COMPARISON: ClassVar[str] = "comparison.json"

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
    def confirmation(self) -> Path:
        """The folder of the second measurement of its regressions (`ab --confirm`): an A/B of its own."""
        return self.folder / "confirmation"

    def server_log(self, side: str) -> Path:
        """The server log of one side (A or B)."""
        return self.folder / f"{side}.server.log"

    def profile(self, suite: str, side: str) -> ProfileFiles:
        """The sampled stacks of one side's server over the measured rounds of a suite (`--profile-servers`)."""
        return ProfileFiles(self.folder / suite / side)

    def round_files(self, suite: str, side: str, round_no: int, mode: str = "") -> tuple[Path, Path]:
        """The raw CSV and k6 log of one round (side AB: both sides interleaved in one k6); the rounds
        of the contention mode in a folder of their own in the suite's."""
        folder = self.folder / suite / (mode if mode == CONTENTION else "")
        stem = folder / f"{side}-{round_no:02d}"
        return stem.with_suffix(".csv"), stem.with_suffix(".k6.log")


def ab_folders(root: Path) -> list[ABFiles]:
    """The paired A/Bs in `root`: itself when it is one, else its sub-folders that are."""
    if not root.is_dir():
        return []
    if (root / ABFiles.METADATA).exists():
        return [ABFiles(root)]
    return [ABFiles(p.parent) for p in sorted(root.glob(f"*/{ABFiles.METADATA}"))]


def json_beside(markdown: Path) -> Path:
    """Where `compare` writes its comparison's record: beside its markdown, as `<stem>.json`."""
    return markdown.with_suffix(".json")


@dataclass(frozen=True)
class BisectFiles:
    """The files of one `bisect`: its record, and each step's A/B folder and log."""

    folder: Path

    @property
    def record(self) -> Path:
        return self.folder / "bisect.json"

    def step(self, number: int) -> Path:
        return self.folder / f"step-{number}"

    def step_log(self, number: int) -> Path:
        return self.folder / f"step-{number}.log"


@dataclass(frozen=True)
class HistoryFiles:
    """The files of a history: one gzipped record per run and per recorded paired A/B, filed by
    year and month of its id (which starts with its UTC start), and the acknowledgements."""

    folder: Path

    RECORD_GLOB: ClassVar[str] = "*/*/*.json.gz"

    def run(self, run_id: str) -> Path:
        return self.folder / "runs" / run_id[:4] / run_id[4:6] / f"{run_id}.json.gz"

    def ab(self, ab_id: str) -> Path:
        return self.folder / "ab" / ab_id[:4] / ab_id[4:6] / f"{ab_id}.json.gz"

    @property
    def runs_folder(self) -> Path:
        return self.folder / "runs"

    def runs(self) -> list[Path]:
        """Every run's record, oldest first."""
        return sorted(self.runs_folder.glob(self.RECORD_GLOB))

    def abs(self) -> list[Path]:
        """Every recorded A/B, oldest first."""
        return sorted((self.folder / "ab").glob(self.RECORD_GLOB))

    @property
    def acknowledged(self) -> Path:
        return self.folder / "acknowledged.json"


@dataclass(frozen=True)
class StreamFiles:
    """What one pytest stream of a test tier leaves (`./run.sh test`): its JUnit XML and, run beside
    another, its output."""

    folder: Path
    stream: str

    @property
    def junit(self) -> Path:
        return self.folder / f"{self.stream}.xml"

    @property
    def log(self) -> Path:
        return self.folder / f"{self.stream}.log"


def ceiling_files(folder: Path) -> tuple[Path, Path]:
    """The k6 ceiling probe's result and its k6 log, in the folder of the pair it ran before."""
    return folder / "ceiling.json", folder / "ceiling.k6.log"


def csv_beside(metadata: Path) -> Path:
    """Where a pair's raw CSV is: beside its metadata, the same stem."""
    return metadata.with_suffix(".csv")


def chart_files(folder: Path, name: str) -> tuple[Path, Path]:
    """A chart's image and its Vega-Lite spec (the page's script draws it interactive from the spec)."""
    return folder / f"{name}.png", folder / f"{name}.vl.json"


def gzipped(path: Path) -> str:
    """The name of `path`'s gzipped copy."""
    return f"{path.name}.gz"


@dataclass(frozen=True)
class SiteFiles:
    """The files the report writes among the site's pages (`docs`, the folder mkdocs builds), beside
    the pages themselves."""

    docs: Path

    FEED: ClassVar[str] = "feed.xml"
    CHANGE_POINTS: ClassVar[str] = "change-points.json"
    AB: ClassVar[str] = "ab.json"
    SCHEMA: ClassVar[str] = "schema.json"
    RUNS: ClassVar[str] = "runs"

    @property
    def feed(self) -> Path:
        return self.docs / self.FEED

    @property
    def data(self) -> Path:
        """data/: the site's numbers as JSON (report/data_api.py)."""
        return self.docs / "data"

    @property
    def data_index(self) -> Path:
        return self.data / "index.json"

    def data_series(self, profile: str) -> Path:
        return self.data / f"series-{profile}.json"

    def data_run(self, run_id: str) -> Path:
        return self.data / self.RUNS / f"{run_id}.json"

    def ab_profile(self, ab_name: str, suite: str) -> Path:
        """An A/B page's differential flame graph of one suite."""
        return self.docs / "ab" / f"{ab_name}-profile-{suite}.svg"

    @staticmethod
    def trend_links(image: str) -> tuple[str, str]:
        """A trend chart's image and spec, as links from the pages."""
        return f"img/trends/{image}.png", f"img/trends/{image}.vl.json"
