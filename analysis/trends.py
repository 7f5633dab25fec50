"""The history analysed: its runs per profile, the change points in each series and in the nightly
paired A/B, and which of them are acknowledged as expected.

`analyse` reads the history once; the report's pages, its feed and data files, and the
`acknowledge` verb all take what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import acknowledged, detect, history
from core.errors import InputError
from core.records import Acknowledgement, HistoryRecord


@dataclass(frozen=True)
class ProfileHistory:
    """The runs of one profile (profiles differ in load, so they are never one series) and their change points."""

    profile: str
    frame: pd.DataFrame  # history.History.frame(profile)
    points: list[detect.ChangePoint]


@dataclass(frozen=True)
class AnalysedHistory:
    """The history with its change points: what the trends, regressions and versus-original pages show."""

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


def analyse(history_dir: Path, options: detect.Options) -> AnalysedHistory:
    """Read the history once and find its change points, per profile and in the nightly A/B."""
    store = history.load(history_dir)
    frames = {profile: store.frame(profile) for profile in store.profiles()}
    profiles = [ProfileHistory(profile, frame, detect.detect(frame, options)) for profile, frame in frames.items()]
    ab_records, ab_warnings = history.load_ab(history_dir)
    ab = history.ab_frame(ab_records)
    inputs = AnalysedHistory(store, profiles, ab, detect.detect_ab(ab, options), store.warnings + ab_warnings)
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
