"""The tables the verbs print: a run's (per target x suite and request name: requests, errors, p50
and how far its 95% interval reaches, p95) and a comparison's (per request name: A, B, B/A, its
interval and verdict)."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from analysis import precision
from analysis.summarise import PairSummary
from core.records import Comparison, Status, Verdict
from report.comparisons import number


def print_run_table(pairs: list[PairSummary], console: Console) -> None:
    table = Table(title="Results (latency of successful requests, ms)", show_lines=False)
    for column in ("target", "suite", "request", "requests", "errors", "p50", "±95%", "p95", "req/s"):
        table.add_column(column, justify="right" if column not in ("target", "suite", "request") else "left")
    for pair in pairs:
        problem = f"[red]{pair.status}: {escape(pair.meta.error or 'no timed samples')}"
        if pair.missing:
            table.add_row(pair.target, pair.suite, problem, "", "", "", "", "", "")
            table.add_section()
            continue
        for i, row in enumerate(pair.stats.to_dict("records")):
            label = (pair.target, pair.suite) if i == 0 else ("", "")
            errors = f"[red]{row['errors']}" if row["errors"] else "0"
            table.add_row(
                *label,
                str(row["name"]),
                str(int(row["count"])),
                errors,
                _ms(row["p50_ms"]),
                _reach(row),
                _ms(row["p95_ms"]),
                f"{row['throughput_rps']:.1f}",
            )
        if pair.status != Status.OK:
            table.add_row("", "", problem, "", "", "", "", "", "")
        table.add_section()
    console.print(table)


def _ms(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:.1f}"


def _reach(row: dict) -> str:
    """How far the p50's 95% interval reaches from it, as a share: '12%'."""
    width = precision.relative_half_width(row["p50_ms"], row["p50_low_ms"], row["p50_high_ms"])
    return "-" if not width < float("inf") else f"{width:.0%}"


def print_comparison_table(result: Comparison) -> None:
    table = Table(title=f"B = {result.candidate} against A = {result.baseline} (median latency, ms)")
    for column in ("target", "suite", "request", "A", "B", "B/A", "interval", "verdict"):
        table.add_column(column, justify="right" if column in ("A", "B", "B/A") else "left")
    colour = {
        Verdict.REGRESSION: "red",
        Verdict.IMPROVEMENT: "green",
        Verdict.NO_CHANGE: "white",
        Verdict.NO_VERDICT: "yellow",
    }
    for r in result.rows:
        table.add_row(
            r.target,
            r.where,
            r.name,
            number(r.median_a, ".2f"),
            number(r.median_b, ".2f"),
            number(r.ratio, ".3f"),
            f"{number(r.low, '.3f')} – {number(r.high, '.3f')}",
            Text(f"{r.verdict}" + (f": {r.reason}" if r.reason else ""), style=colour[r.verdict]),
        )
    Console(width=140).print(table)
