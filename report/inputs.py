"""Everything the report's pages are built from, loaded once and handed to every page builder.

An output folder's summary (the pairs as the runner or `record` summarised them, the capacity
suite's steps and the scale suite's seeding included), the history analysed with its change points
(analysis/trends.py), and the paired A/Bs as their stages stored them: metadata, comparison and the
servers' sampled stacks. Nothing here reads a raw k6 CSV.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from analysis import capacity, detect, stacks, trends
from analysis.summarise import FolderSummary
from analysis.trends import AnalysedHistory
from core.layout import ABFiles, ab_folders
from core.records import ABMetadata, Comparison
from services.registry import Target, load_registry


@dataclass(frozen=True)
class ReportSettings:
    """The report's options (./run.sh report and run)."""

    options: detect.Options = detect.Options()
    trend_runs: int = 200  # runs shown in each trend chart
    slo_ms: float = capacity.DEFAULT_SLO_MS  # the capacity suite's latency objective


@dataclass(frozen=True)
class ABResult:
    """A paired A/B as its stages stored it: where it is, what ran, its verdicts, and per suite the
    servers' sampled stacks of A and B (`ab --profile-servers`)."""

    files: ABFiles
    meta: ABMetadata
    comparison: Comparison
    profiles: dict[str, tuple[Counter[str], Counter[str]]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.files.folder.name


def load_ab(ab_outputs: Path) -> list[ABResult]:
    """The judged paired A/Bs in `ab_outputs` (an A/B that was never judged has no page)."""
    results = []
    for files in ab_folders(ab_outputs):
        if not files.comparison.exists():
            continue
        meta = ABMetadata.read(files.metadata)
        profiles = {}
        for suite in meta.suites:
            folded = [files.profile(suite, side).folded for side in ("A", "B")]
            if all(path.exists() for path in folded):
                profiles[suite] = tuple(stacks.read_folded(path) for path in folded)
        results.append(ABResult(files, meta, Comparison.read(files.comparison), profiles))
    return results


@dataclass(frozen=True)
class ReportInputs:
    out: Path  # the output folder: its raw files are linked from the run pages, never parsed
    folder: FolderSummary
    targets: list[Target]
    history: AnalysedHistory
    ab: list[ABResult]  # the paired A/Bs, one page each
    settings: ReportSettings


def load(
    folder: FolderSummary, *, out: Path, history_dir: Path, ab_outputs: Path, settings: ReportSettings
) -> ReportInputs:
    return ReportInputs(
        out=out,
        folder=folder,
        targets=report_targets(folder),
        history=trends.analyse(history_dir, settings.options),
        ab=load_ab(ab_outputs),
        settings=settings,
    )


def report_targets(folder: FolderSummary) -> list[Target]:
    """The default targets, plus any other version that has outputs here, in registry order."""
    present = {p.target for p in folder.pairs}
    return [t for t in load_registry().targets.values() if t.is_default_version or t.id in present]
