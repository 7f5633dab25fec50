"""`./run.sh acknowledge [ID --reason TEXT [--link URL]]`: mark a change point of the history as expected.

Without ID, lists the history's change points with their ids, the acknowledged ones with their
reason. With ID, records the acknowledgement in the history (`acknowledged.json`): the regressions
page then shows the change as expected and the feed of regressions leaves it out. The change points
are found with the report's options (--window, --max-pvalue ...), so give the same ones as to
`./run.sh report` when they are not the defaults.
"""

from __future__ import annotations

import argparse

from analysis import acknowledged
from analysis.trends import AnalysedHistory, analyse
from cli.options import add_detection_arguments, detection_options
from core.errors import BadValue, InputError
from core.layout import HistoryFiles
from runner.progress import console


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("change_id", nargs="?", metavar="ID", help="the change point's id (listed without ID)")
    parser.add_argument("--reason", default="", help="why the change is expected (required with ID)")
    parser.add_argument("--link", default="", help="where it is explained, e.g. the pull request that made it")
    add_detection_arguments(parser)


def main(args: argparse.Namespace) -> int:
    options = detection_options(args)
    if not HistoryFiles(args.history).runs_folder.is_dir():
        raise BadValue(f"--history: {args.history} holds no recorded run")
    inputs = analyse(args.history, options)
    if args.change_id is None:
        _list(inputs)
        return 0
    point = next((p for p in inputs.all_points() if p.change_id == args.change_id), None)
    if point is None:
        raise InputError(f"ID: the history has no change point {args.change_id!r} (./run.sh acknowledge lists them)")
    if point.change_id in inputs.acknowledged:
        console.print(f"{point.change_id} is already acknowledged: {inputs.acknowledged[point.change_id].reason}")
        return 0
    entry = acknowledged.add(args.history, point, args.reason, args.link)
    console.print(
        f"acknowledged {entry.change_id} ({point.kind} of {point.target} {point.name} {point.statistic}, "
        f"{point.magnitude:+.0%}): {entry.reason}",
        markup=False,
    )
    return 0


def _list(inputs: AnalysedHistory) -> None:
    points = inputs.all_points()
    if not points:
        print("the history holds no change point")
    for p in points:
        entry = inputs.acknowledged.get(p.change_id)
        state = f"acknowledged: {entry.reason}" if entry else "open"
        print(  # one line per change point, whatever the terminal's width: it is read by scripts too
            f"{p.change_id}  {p.started_at[:10]}  {p.kind:<11} {p.magnitude:+6.0%}  {p.profile} {p.target} "
            f"{p.suite} {p.name} {p.statistic}  [{state}]"
        )
