"""Everything the report's pages are built from, loaded once and handed to every page builder.

An output folder's summary (the pairs as the runner or `record` summarised them, the capacity
suite's steps and the scale suite's seeding included), the history with its change points, and
the folder of paired A/B comparisons. Nothing here reads a raw k6 CSV: the report's inputs are
the summary files and the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import acknowledged, capacity, detect, history
from analysis.summarise import FolderSummary
from core.errors import InputError
from core.records import Acknowledgement, HistoryRecord
from services.registry import Target, load_registry


@dataclass(frozen=True)
class ProfileHistory:
    """The runs of one profile (profiles differ in load, so they are never one series) and their change points."""

    profile: str
    frame: pd.DataFrame  # history.History.frame(profile)
    points: list[detect.ChangePoint]


@dataclass(frozen=True)
class HistoryInputs:
    """The history as the trends, regressions and versus-original pages read it."""

    store: history.History
    profiles: list[ProfileHistory]  # the newest run's profile first
    ab: pd.DataFrame  # the nightly paired A/B, history.ab_frame
    ab_points: list[detect.ChangePoint]
    warnings: list[str]  # unreadable history files
    acknowledged: dict[str, Acknowledgement] = field(default_factory=dict)  # change id -> why it is expected

    def all_points(self) -> list[detect.ChangePoint]:
        """Every change point, of every profile and of the nightly A/B, newest first."""
        points = [p for trend in self.profiles for p in trend.points] + self.ab_points
        return sorted(points, key=lambda p: p.started_at, reverse=True)

    def open_regressions(self) -> list[detect.ChangePoint]:
        """The regressions nobody has acknowledged yet, newest first: what the feed announces."""
        return [p for p in self.all_points() if p.kind == "regression" and p.change_id not in self.acknowledged]

    def latest(self, profile: str) -> HistoryRecord | None:
        try:
            return self.store.latest(profile=profile)
        except InputError:
            return None


@dataclass(frozen=True)
class ReportSettings:
    """The report's options (./run.sh report and run)."""

    options: detect.Options = detect.Options()
    trend_runs: int = 200  # runs shown in each trend chart
    slo_ms: float = capacity.DEFAULT_SLO_MS  # the capacity suite's latency objective


@dataclass(frozen=True)
class ReportInputs:
    out: Path  # the output folder: its raw files are linked from the run pages, never parsed
    folder: FolderSummary
    targets: list[Target]
    history: HistoryInputs
    ab_outputs: Path  # folders of paired A/B comparisons, one page each
    settings: ReportSettings


def load_history(history_dir: Path, options: detect.Options) -> HistoryInputs:
    """Read the history once and find its change points, per profile and in the nightly A/B."""
    store = history.load(history_dir)
    frames = {profile: store.frame(profile) for profile in store.profiles()}
    profiles = [ProfileHistory(profile, frame, detect.detect(frame, options)) for profile, frame in frames.items()]
    ab_records, ab_warnings = history.load_ab(history_dir)
    ab = history.ab_frame(ab_records)
    inputs = HistoryInputs(store, profiles, ab, detect.detect_ab(ab, options), store.warnings + ab_warnings)
    try:
        entries = acknowledged.load(history_dir).entries
    except InputError as exc:
        inputs.warnings.append(f"{exc}; no change point is shown as acknowledged")
        entries = ()
    positions = _positions([*frames.values(), ab.rename(columns={"ab_id": "run_id"})])
    for point in inputs.all_points():
        entry = acknowledged.covering(point, entries, positions)
        if entry is not None:
            inputs.acknowledged[point.change_id] = entry
    return inputs


def _positions(frames: list[pd.DataFrame]) -> dict[str, int]:
    """Each run's place in the run order of its frame (a profile's runs, or the nightly A/Bs)."""
    positions = {}
    for frame in frames:
        if not frame.empty:
            positions.update({run_id: i for i, run_id in enumerate(frame["run_id"].drop_duplicates())})
    return positions


def load(
    folder: FolderSummary, *, out: Path, history_dir: Path, ab_outputs: Path, settings: ReportSettings
) -> ReportInputs:
    return ReportInputs(
        out=out,
        folder=folder,
        targets=report_targets(folder),
        history=load_history(history_dir, settings.options),
        ab_outputs=ab_outputs,
        settings=settings,
    )


def report_targets(folder: FolderSummary) -> list[Target]:
    """The default targets, plus any other version that has outputs here, in registry order."""
    present = {p.target for p in folder.pairs}
    return [t for t in load_registry().targets.values() if t.is_default_version or t.id in present]
