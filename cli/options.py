"""Options several verbs share, and how a lower layer's rejection names the option it was given to."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import BadValue

if TYPE_CHECKING:  # pandas, scipy and altair behind them: imported by the verbs that report, not by `matrix`
    from analysis import detect
    from report.inputs import ReportSettings


@contextmanager
def option(name: str) -> Iterator[None]:
    """Name the option whose value a lower layer rejected: `--profile: unknown profile 'huge'`."""
    try:
        yield
    except BadValue as exc:
        raise exc.for_option(name) from exc


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """The report's options (history, change points, capacity SLO, A/B pages), shared by `report` and `run`."""
    from analysis import capacity

    add_detection_arguments(parser)
    parser.add_argument("--trend-runs", default=200, type=int, help="runs shown in each trend chart (default: 200)")
    parser.add_argument(
        "--slo-ms",
        default=capacity.DEFAULT_SLO_MS,
        type=float,
        help=f"the capacity suite's latency objective: a step is sustained while its p95 is within it "
        f"(default: {capacity.DEFAULT_SLO_MS:g}; from 1 to 60000)",
    )
    parser.add_argument(
        "--ab-outputs",
        default="ab_outputs",
        type=Path,
        help="folder of paired A/B comparisons (./run.sh ab), one page each (default: ab_outputs)",
    )


def add_detection_arguments(parser: argparse.ArgumentParser) -> None:
    """The history and how its change points are found (the report, `acknowledge`)."""
    from analysis import detect

    defaults = detect.Options()
    parser.add_argument(
        "--history", default="history", type=Path, help="history folder for the trends (default: history)"
    )
    parser.add_argument(
        "--window", default=defaults.window, type=int, help=f"change-point window in runs (default: {defaults.window})"
    )
    parser.add_argument(
        "--max-pvalue",
        default=defaults.max_pvalue,
        type=float,
        help=f"change-point significance (default: {defaults.max_pvalue})",
    )
    parser.add_argument(
        "--min-magnitude",
        default=defaults.min_magnitude,
        type=float,
        help=f"smallest change worth a change point (default: {defaults.min_magnitude} = 10%%)",
    )
    parser.add_argument(
        "--min-runs",
        default=defaults.min_runs,
        type=int,
        help=f"runs a change must last on each side (default: {defaults.min_runs})",
    )


def report_settings(args: argparse.Namespace) -> ReportSettings:
    """The report's options, each checked: a one-line error names a bad one."""
    from report.inputs import ReportSettings

    options = detection_options(args)
    _check(args, REPORT_CHECKS)
    return ReportSettings(options=options, trend_runs=args.trend_runs, slo_ms=args.slo_ms)


def detection_options(args: argparse.Namespace) -> detect.Options:
    """How change points are found, each option checked."""
    from analysis import detect

    _check(args, DETECTION_CHECKS)
    return detect.Options(args.window, args.max_pvalue, args.min_magnitude, args.min_runs)


def check_report_arguments(args: argparse.Namespace) -> None:
    """The report's options checked before a benchmark starts, without loading what reports."""
    _check(args, [*DETECTION_CHECKS, *REPORT_CHECKS])


# (option, rule on the parsed arguments, the rule in words)
DETECTION_CHECKS = [
    ("--window", lambda a: a.window >= 4, "at least 4"),
    ("--max-pvalue", lambda a: 0 < a.max_pvalue < 1, "within (0, 1)"),
    ("--min-magnitude", lambda a: a.min_magnitude >= 0, "not negative"),
    ("--min-runs", lambda a: a.min_runs >= 1, "at least 1"),
]
REPORT_CHECKS = [
    ("--trend-runs", lambda a: a.trend_runs >= 1, "at least 1"),
    ("--slo-ms", lambda a: 1 <= a.slo_ms <= 60000, "from 1 to 60000"),
]


def _check(args: argparse.Namespace, checks: list[tuple[str, Callable[[argparse.Namespace], bool], str]]) -> None:
    for name, holds, rule in checks:
        if not holds(args):
            raise BadValue(f"{name}: must be {rule}, got {getattr(args, name[2:].replace('-', '_'))}")
