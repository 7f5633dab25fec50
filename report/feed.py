"""feed.xml: an Atom feed (RFC 4287) of the open regressions, so that a feed reader announces a new one.

One entry per regression change point nobody has acknowledged (`./run.sh acknowledge`), newest
first. An entry's id is derived from the change point's id, so a reader shows each change once
however often the site is rebuilt; acknowledging it removes it from the feed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from feedgen.feed import FeedGenerator

from analysis.detect import ChangePoint
from report.inputs import HistoryInputs

FEED_FILE = "feed.xml"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "tracking-server-benchmark/regressions")


def write_feed(history: HistoryInputs, docs: Path, site_name: str) -> Path:
    points = history.open_regressions()
    feed = FeedGenerator()
    feed.id(_urn("feed"))
    feed.title(f"{site_name}: open regressions")
    feed.subtitle("Change points that made a request slower and that nobody has acknowledged yet")
    feed.author({"name": site_name})
    feed.link(href=FEED_FILE, rel="self")
    feed.link(href="regressions.html", rel="alternate")
    feed.updated(max((_when(p) for p in points), default=datetime(2000, 1, 1, tzinfo=UTC)))
    for point in reversed(points):  # feedgen puts the entry added last first
        _entry(feed.add_entry(), point)
    path = docs / FEED_FILE
    feed.atom_file(str(path), pretty=True)
    return path


def _entry(entry, point: ChangePoint) -> None:
    entry.id(_urn(point.change_id))
    entry.title(f"{point.target} {point.name} ({point.suite}): {point.statistic} {point.magnitude:+.0%}")
    entry.updated(_when(point))
    entry.link(href="regressions.html", rel="alternate")
    unit = "" if point.statistic == "A/B ratio" else " ms"
    entry.content(
        f"{point.statistic} of {point.name} on {point.target} went from {point.before_ms:.2f}{unit} to "
        f"{point.after_ms:.2f}{unit} ({point.magnitude:+.1%}) between commits {point.commit_before[:8] or '?'} and "
        f"{point.commit_after[:8] or '?'}; first run after: {point.run_id}; profile {point.profile}"
        + (f", machine {point.machine}" if point.machine else "")
        + f". Expected? ./run.sh acknowledge {point.change_id} --reason '...' --link URL",
        type="text",
    )


def _urn(name: str) -> str:
    return uuid.uuid5(_NAMESPACE, name).urn


def _when(point: ChangePoint) -> datetime:
    when = datetime.fromisoformat(str(point.started_at).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)
