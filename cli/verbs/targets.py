"""`./run.sh targets`: list the targets of the registry and what each one runs."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from services.registry import load_registry, suites


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def main(args: argparse.Namespace) -> int:
    registry = load_registry()
    table = Table(title=f"Targets (suites: {', '.join(suites())})")
    for column in ("target", "server", "version", "database", "default", "packages", "image"):
        table.add_column(column)
    for t in registry.targets.values():
        table.add_row(
            t.id,
            t.server.label,
            t.version,
            t.database.label,
            "yes" if t.is_default_version else "",
            " ".join(t.packages),
            t.image,
        )
    Console(width=160).print(table)
    return 0
