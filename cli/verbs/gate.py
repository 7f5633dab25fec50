"""`./run.sh gate FOLDER ...`: judge a change from its paired A/Bs; exit 1 when a regression stands.

Each FOLDER is the output of `./run.sh ab` (best with `--confirm`) or a folder of them, as CI
downloads its A/B jobs' artifacts. The gate reads every comparison (an A/B stopped before its
judge ran is judged from the rounds it stored, in this process: cli/ab_stages.py), and fails (exit status 1) on a
regression that stands or on a comparison without a verdict, unless `--acknowledge` says why the
regression is expected (a pull request's label, a caller's input): then it passes and says so. It
writes the short comment a pull request shows (`--comment`) and the outcome (`--json`, a Gate
record), which the nightly turns into an issue. The method is in analysis/gate.py.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from analysis import gate
from cli import ab_stages
from cli.options import option
from core.errors import BadValue
from core.layout import ABFiles, ab_folders
from core.records import ABMetadata, Comparison, ComparisonRow, Verdict


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "folders", nargs="+", type=Path, metavar="FOLDER", help="an A/B's output folder, or a folder of them"
    )
    parser.add_argument(
        "--acknowledge",
        default="",
        metavar="REASON",
        help="the change is expected to be slower, and why: a standing regression passes the gate, said so",
    )
    parser.add_argument("--comment", type=Path, help="write the pull request's comment (markdown) here")
    parser.add_argument("--json", type=Path, help="write the outcome here (a Gate record)")
    parser.add_argument(
        "--github-output", type=Path, metavar="FILE", help="append `outcome=...` here (GitHub's $GITHUB_OUTPUT)"
    )
    parser.add_argument(
        "--matrix",
        metavar="JSON",
        help="the A/B jobs that should have run (`./run.sh matrix --ab`): one that left no folder "
        "FOLDER/<target>-<suite> is a comparison without a verdict",
    )
    parser.add_argument("--details-url", default="", help="where the full comparisons are, linked from the comment")
    parser.add_argument(
        "--baseline-commit", default="", help="the baseline's commit (default: its revision label, if any)"
    )
    parser.add_argument(
        "--candidate-commit", default="", help="the candidate's commit (default: its revision label, if any)"
    )


def main(args: argparse.Namespace) -> int:
    folders = [folder for given in args.folders for folder in _ab_folders(given)]
    comparisons = [_comparison(folder) for folder in folders]
    with option("--matrix"):
        comparisons += [_no_verdict(t, t, s, "the A/B job left no output") for t, s in _missing(args, folders)]
    provenance = _provenance(folders)
    result = gate.judge(
        comparisons,
        args.acknowledge.strip(),
        baseline_commit=args.baseline_commit or provenance.get("baseline_revision", ""),
        candidate_commit=args.candidate_commit or provenance.get("candidate_revision", ""),
        details_url=args.details_url,
    )
    ab_stages.write_gate(result, args.comment, args.json)
    if args.github_output:
        with args.github_output.open("a") as output:
            output.write(f"outcome={result.outcome}\n")
    print(f"gate: {result.outcome}: {result.reason}")  # one line, never wrapped: CI's logs and scripts read it
    return 1 if result.outcome.fails else 0


def _ab_folders(given: Path) -> list[Path]:
    """The A/B folders in `given`: itself if it is one, else its sub-folders that are (none: CI's A/B
    jobs all failed before they wrote anything, which the gate reports as no verdict)."""
    with option("FOLDER"):
        if not given.is_dir():
            raise BadValue(f"{given} is not a folder")
    return [files.folder for files in ab_folders(given)]


def _comparison(folder: Path) -> Comparison:
    """The A/B's comparison (judged now when the A/B stopped before it judged its rounds); one that
    left no rounds is a comparison without a verdict, saying why."""
    files = ABFiles(folder)
    judged = ab_stages.judged(files)
    if judged is not None:
        return judged
    meta = ABMetadata.read(files.metadata)
    why = meta.error or f"the A/B ended {meta.status} without a comparison"
    return _no_verdict(meta.baseline.target, meta.candidate.target, ",".join(meta.suites), why)


def _no_verdict(baseline: str, candidate: str, suite: str, reason: str) -> Comparison:
    row = ComparisonRow(
        baseline, candidate, suite, "(every request)", *(math.nan,) * 5, Verdict.NO_VERDICT, reason=reason
    )
    return Comparison(baseline, candidate, 0.0, "paired A/B (did not finish)", (row,))


def _missing(args: argparse.Namespace, folders: list[Path]) -> list[tuple[str, str]]:
    """The planned (target, suite) A/B jobs whose folder is not among `folders`."""
    if not args.matrix:
        return []
    try:
        planned = [(job["target"], job["suite"]) for job in json.loads(args.matrix)["include"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise BadValue(f"not a matrix of `./run.sh matrix --ab` ({exc})") from exc
    found = {folder.name for folder in folders}
    return [(target, suite) for target, suite in planned if f"{target}-{suite}" not in found]


def _provenance(folders: list[Path]) -> dict[str, str]:
    """What CI recorded of the servers' origin (image digests, revisions), from the first A/B saying it."""
    for folder in folders:
        provenance = ABMetadata.read(ABFiles(folder).metadata).provenance
        if provenance:
            return provenance
    return {}
