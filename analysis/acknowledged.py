"""Change points marked as expected, kept in the history (`<history>/acknowledged.json`).

A release that trades speed for a feature makes a change point that is no news once a person has
looked at it. `./run.sh acknowledge ID --reason ... --link ...` records that; the regressions page
then shows the change as acknowledged, with its reason, and the feed of regressions leaves it out.

An acknowledgement names the series (profile, machine, target, suite, request name, statistic)
and the first run after the change. The detector may place the same change a run or two apart as
runs are added (E-divisive splits where the two sides differ most, which moves with new data), so
an acknowledgement covers a change point of its series within `SLACK_RUNS` runs of it.
"""

from __future__ import annotations

import getpass
from pathlib import Path

from analysis.detect import ChangePoint
from core.errors import InputError
from core.layout import HistoryFiles
from core.records import Acknowledgement, Acknowledgements, now_iso

SLACK_RUNS = 3


def load(history_dir: Path) -> Acknowledgements:
    """The history's acknowledgements; none when it has no file yet."""
    path = HistoryFiles(history_dir).acknowledged
    return Acknowledgements.read(path) if path.exists() else Acknowledgements()


def add(history_dir: Path, point: ChangePoint, reason: str, link: str = "") -> Acknowledgement:
    """Record `point` as expected and return the acknowledgement (the file is rewritten atomically)."""
    if not reason.strip():
        raise InputError("--reason: say why the change is expected")
    known = load(history_dir)
    entry = Acknowledgement(
        point.change_id, *point.series, point.run_id, reason.strip(), link, by=getpass.getuser(), at=now_iso()
    )
    Acknowledgements(known.entries + (entry,)).write(HistoryFiles(history_dir).acknowledged)
    return entry


def covering(
    point: ChangePoint, entries: tuple[Acknowledgement, ...], positions: dict[str, int]
) -> Acknowledgement | None:
    """The acknowledgement of `point`, if any: one of its series within SLACK_RUNS runs of it.
    `positions` gives each run's place in its profile's run order."""
    here = positions.get(point.run_id)
    for entry in entries:
        series = (entry.profile, entry.machine, entry.target, entry.suite, entry.name, entry.statistic)
        if series != point.series:
            continue
        there = positions.get(entry.run_id)
        if entry.run_id == point.run_id or (None not in (here, there) and abs(here - there) <= SLACK_RUNS):
            return entry
    return None
