"""The table printed at the end of a run: per target x suite and request name, requests, errors, p50, p95."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from analysis.summarise import PairSummary
from core.records import Status


def print_run_table(pairs: list[PairSummary], console: Console) -> None:
    table = Table(title="Results (latency of successful requests, ms)", show_lines=False)
    for column in ("target", "suite", "request", "requests", "errors", "p50", "p95", "req/s"):
        table.add_column(column, justify="right" if column not in ("target", "suite", "request") else "left")
    for pair in pairs:
        problem = f"[red]{pair.status}: {escape(pair.meta.error or 'no timed samples')}"
        if pair.missing:
            table.add_row(pair.target, pair.suite, problem, "", "", "", "", "")
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
                _ms(row["p95_ms"]),
                f"{row['throughput_rps']:.1f}",
            )
        if pair.status != Status.OK:
            table.add_row("", "", problem, "", "", "", "", "")
        table.add_section()
    console.print(table)


def _ms(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:.1f}"
