"""The ui suite's figures: how long each view of a server's web UI takes to show its data, at each
store size, and the requests behind it.

The ui suite names each view `<view>@<size>`, as the scale suite names its reads, so the same
`scale.sized` splits them; every view is one navigation, so its time is its p50. The server's CPU
in each view is read by the runner at a barrier around it (runner/segments.py) and kept in the pair's
metadata; its median per view is what the view costs the server.
"""

from __future__ import annotations

import pandas as pd

from analysis import scale
from analysis.summarise import PairSummary

SUITE = "ui"
STATIC = "static files"


def views(summary: pd.DataFrame) -> pd.DataFrame:
    """target, read (the view), size, p50_ms, p95_ms, read_ms ... of the ui suite's complete rows."""
    return scale.sized(summary, SUITE)


def requests(pairs: list[PairSummary]) -> dict[str, list[dict]]:
    """Per target, the requests each view made until it was shown: one row per view x endpoint, the
    REST calls first, the UI's own files last."""
    found = {}
    for pair in pairs:
        if pair.suite != SUITE or pair.missing:
            continue
        rows = sorted(pair.calls, key=lambda c: (_order(c["name"]), c["endpoint"] == STATIC, c["endpoint"]))
        found[pair.target] = rows
    return found


def server_cpu(pairs: list[PairSummary]) -> dict[tuple[str, str, int], float]:
    """(target, view, size) -> the server's median CPU ms in that view."""
    found = {}
    for pair in pairs:
        if pair.suite != SUITE:
            continue
        for name, seconds in pair.meta.server_cpu_by_name.items():
            view, size = _order(name)
            found[(pair.target, view, size)] = float(pd.Series(seconds).median()) * 1000
    return found


def server_wait(pairs: list[PairSummary]) -> dict[tuple[str, str, int], float]:
    """(target, view, size) -> the median ms until the view was shown during which a request to the
    server was in flight: what a server change can shorten; the rest of the view is the browser's."""
    found = {}
    for pair in pairs:
        if pair.suite != SUITE:
            continue
        for row in pair.waits:
            view, size = _order(row["name"])
            found[(pair.target, view, size)] = float(row["wait_ms"])
    return found


def _order(name: str) -> tuple[str, int]:
    view, _, size = name.partition("@")
    return view, int(size) if size.isdigit() else 0
