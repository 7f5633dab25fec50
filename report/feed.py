"""feed.xml: an Atom feed (RFC 4287) of the open regressions, so that a feed reader announces a new one.

One entry per regression change point nobody has acknowledged (`./run.sh acknowledge`), newest
first. An entry's id is derived from the change point's id, so a reader shows each change once
however often the site is rebuilt; acknowledging it removes it from the feed. Written with the
standard library's ElementTree, which escapes every text: the project installs only wheels in CI's
images, and the feed libraries of PyPI are source distributions.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from analysis.detect import ChangePoint
from analysis.trends import AnalysedHistory
from core.layout import SiteFiles

ATOM = "http://www.w3.org/2005/Atom"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "tracking-server-benchmark/regressions")
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # a feed without entries still says when: never, in effect


def write_feed(history: AnalysedHistory, docs: Path, site_name: str) -> Path:
    points = history.open_regressions()
    ET.register_namespace("", ATOM)
    feed = ET.Element(_tag("feed"))
    _text(feed, "id", _urn("feed"))
    _text(feed, "title", f"{site_name}: open regressions")
    _text(feed, "subtitle", "Change points that made a request slower and that nobody has acknowledged yet")
    _text(feed, "updated", _stamp(max((_when(p) for p in points), default=_EPOCH)))
    _text(ET.SubElement(feed, _tag("author")), "name", site_name)
    ET.SubElement(feed, _tag("link"), href=SiteFiles.FEED, rel="self", type="application/atom+xml")
    ET.SubElement(feed, _tag("link"), href="regressions.html", rel="alternate", type="text/html")
    for point in points:
        _entry(ET.SubElement(feed, _tag("entry")), point)
    ET.indent(feed)
    path = SiteFiles(docs).feed
    ET.ElementTree(feed).write(path, encoding="utf-8", xml_declaration=True)
    return path


def _entry(entry: ET.Element, point: ChangePoint) -> None:
    _text(entry, "id", _urn(point.change_id))
    _text(entry, "title", f"{point.target} {point.name} ({point.suite}): {point.statistic} {point.magnitude:+.0%}")
    _text(entry, "updated", _stamp(_when(point)))
    ET.SubElement(entry, _tag("link"), href="regressions.html", rel="alternate", type="text/html")
    unit = "" if point.statistic == "A/B ratio" else " ms"
    summary = (
        f"{point.statistic} of {point.name} on {point.target} went from {point.before_ms:.2f}{unit} to "
        f"{point.after_ms:.2f}{unit} ({point.magnitude:+.1%}) between commits {point.commit_before[:8] or '?'} and "
        f"{point.commit_after[:8] or '?'}; first run after: {point.run_id}; profile {point.profile}"
        + (f", machine {point.machine}" if point.machine else "")
        + f". Expected? ./run.sh acknowledge {point.change_id} --reason '...' --link URL"
    )
    _text(entry, "content", summary).set("type", "text")


def _tag(name: str) -> str:
    return f"{{{ATOM}}}{name}"


def _text(parent: ET.Element, name: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, _tag(name))
    element.text = text
    return element


def _urn(name: str) -> str:
    return uuid.uuid5(_NAMESPACE, name).urn


def _when(point: ChangePoint) -> datetime:
    when = datetime.fromisoformat(str(point.started_at).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _stamp(when: datetime) -> str:
    """RFC 3339, as Atom wants its dates."""
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
