"""The table printed at the end of a run: per target x suite and request name, requests, errors, p50, p95."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table


def print_run_table(results: list[dict], tables: dict[tuple[str, str], pd.DataFrame | None], console: Console) -> None:
    table = Table(title="Results (latency of successful requests, ms)", show_lines=False)
    for column in ("target", "suite", "request", "requests", "errors", "p50", "p95", "req/s"):
        table.add_column(column, justify="right" if column not in ("target", "suite", "request") else "left")
    for meta in results:
        stats = tables.get((meta["target"], meta["suite"]))
        if stats is None or stats.empty:
            table.add_row(
                meta["target"],
                meta["suite"],
                f"[red]{meta['status']}: {meta.get('error') or 'no data'}",
                "",
                "",
                "",
                "",
                "",
            )
            table.add_section()
            continue
        for i, (name, row) in enumerate(stats.iterrows()):
            label = (meta["target"], meta["suite"]) if i == 0 else ("", "")
            errors = f"[red]{row['errors']}" if row["errors"] else "0"
            table.add_row(
                *label,
                str(name),
                str(int(row["count"])),
                errors,
                _ms(row["p50_ms"]),
                _ms(row["p95_ms"]),
                f"{row['throughput_rps']:.1f}",
            )
        if meta["status"] != "ok":
            table.add_row("", "", f"[red]{meta['status']}: {meta.get('error')}", "", "", "", "", "")
        table.add_section()
    console.print(table)


def _ms(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:.1f}"
