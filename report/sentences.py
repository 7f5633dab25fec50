"""The scale, ui and client pages' findings in words, from what analysis/scale.py, ui.py and client.py computed."""

from __future__ import annotations

import pandas as pd

from analysis.client import Loop
from analysis.scale import Growth


def scale_sentences(found: list[Growth], labels: dict[str, str]) -> list[str]:
    """Per read, how it grows on each target: "SearchRuns grows ~linearly on MLflow (SQLite) (b = 0.97), ..."."""
    by_read: dict[str, list[Growth]] = {}
    for g in found:
        by_read.setdefault(g.read, []).append(g)
    out = []
    for read, group in sorted(by_read.items()):
        parts = [
            f"{g.shape} on {labels.get(g.target, g.target)} (b = {g.exponent:.2f})"
            for g in sorted(group, key=lambda g: g.exponent)
        ]
        out.append(f"{read} grows " + ", ".join(parts) + ".")
    return out


def ui_sentences(rows: pd.DataFrame, labels: dict[str, str]) -> list[str]:
    """Per view at the largest size every target reached: the fastest target, the others as multiples."""
    found = []
    for view, of_view in rows.groupby("read", sort=True):
        common = of_view.groupby("target")["size"].max().min()
        at = of_view[of_view["size"] == common].sort_values("p50_ms")
        if at.empty:
            continue
        best = at.iloc[0]
        others = "; ".join(
            f"{labels.get(r.target, r.target)} {r.p50_ms / 1000:.2f} s ({r.p50_ms / best.p50_ms:.2f}×)"
            for r in at.iloc[1:].itertuples()
        )
        found.append(
            f"{view} at {common:,} runs: {labels.get(best.target, best.target)} shows it first, in "
            f"{best.p50_ms / 1000:.2f} s (p50)" + (f"; {others}" if others else "")
        )
    return found


def client_sentences(found: list[Loop], labels: dict[str, str]) -> list[str]:
    """Per way, the targets from the least logging to the most, as shares of the loop."""
    result = []
    for way in sorted({loop.way for loop in found}):
        mine = sorted((loop for loop in found if loop.way == way), key=lambda loop: loop.logging_share)
        shares = ", ".join(f"{labels.get(loop.target, loop.target)} {loop.logging_share:.0%}" for loop in mine)
        result.append(f"{way}: logging took {shares} of the loop (p50)")
    return result
