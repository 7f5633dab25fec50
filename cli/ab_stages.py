"""The stages of a paired A/B, as the `ab` and `bisect` verbs call them: measure -> judge -> confirm -> store.

- measure: runner/ab.py runs the rounds and stores them as data, `ab.json` (both sides, every
  round's outcome) and `rounds.csv` (every round's statistics per side and request name);
- judge: analysis/paired.py's `judge` turns those two into a Comparison;
- confirm (`--confirm`): the suites with a regression are measured and judged once more, and a
  regression stands only when both call it (analysis/gate.py);
- store: `comparison.json`, and `comparison.md` as report/comparisons.py words it.

The A/B's page, its chart and its flame graphs are drawn when a site is built (report/ab_pages.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from analysis import gate, paired
from cli import ab_plan, stages
from core.layout import ABFiles
from core.paths import write_atomically
from core.records import ABMetadata, Comparison, Gate, Status, new_run_id
from report import comparisons
from runner.ab import ABPlan, run_ab
from runner.progress import console


def ab(plan: ABPlan, thresholds: paired.Thresholds, confirm: bool = False) -> tuple[ABMetadata, Comparison]:
    """Measure and judge the A/B of `plan`, and confirm its regressions when asked; both stored in `plan.out`."""
    meta = run_ab(plan)
    result = judge(ABFiles(plan.out), thresholds)
    if confirm and meta.status == Status.OK and gate.regressed_suites(result):
        result = _confirm(plan, result, thresholds)
    return meta, result


def judge(files: ABFiles, thresholds: paired.Thresholds) -> Comparison:
    """The comparison of a measured A/B, from its metadata and rounds table; stored beside them."""
    result = verdicts(files, thresholds)
    store(files, result)
    return result


def verdicts(files: ABFiles, thresholds: paired.Thresholds) -> Comparison:
    return paired.judge(ABMetadata.read(files.metadata), read_rounds(files.rounds), thresholds)


def judged(files: ABFiles) -> Comparison | None:
    """An A/B's comparison as its judge stored it; judged now from its rounds (at the default
    thresholds, nothing written) when it stopped before it was judged; None when it left no rounds."""
    if files.comparison.exists():
        return Comparison.read(files.comparison)
    if files.rounds.exists():
        return verdicts(files, paired.Thresholds(ab_plan.DEFAULT_THRESHOLD, paired.DEFAULT_CPU_THRESHOLD))
    return None


def read_rounds(path: Path) -> pd.DataFrame:
    """The rounds table as the runner wrote it (a round without samples has an empty request name)."""
    return pd.read_csv(path, dtype={"name": str}).fillna({"name": ""})


def _confirm(plan: ABPlan, first: Comparison, thresholds: paired.Thresholds) -> Comparison:
    """Measure the suites with a regression again, as a new A/B of the same sides in its confirmation
    folder, and mark each regression of `first` confirmed or not; the comparison is stored again."""
    suites = gate.regressed_suites(first)
    again = dataclasses.replace(plan, suites=suites, out=ABFiles(plan.out).confirmation, ab_id=new_run_id())
    again.out.mkdir()
    console.print(f"Regression(s) called in {', '.join(suites)}: measuring again to confirm ({again.ab_id})")
    second_meta = run_ab(again)
    second = judge(ABFiles(again.out), thresholds)
    if second_meta.status != Status.OK:  # no second verdict: the first one stands unconfirmed
        return first
    result = gate.confirm(first, second, again.ab_id)
    store(ABFiles(plan.out), result)
    return result


def store(files: ABFiles, result: Comparison) -> None:
    stages.write_comparison(result, files.markdown, files.comparison)


def write_gate(result: Gate, comment: Path | None, record: Path | None) -> None:
    """The gate's outcome as its record, and as the comment a pull request shows."""
    if comment:
        comment.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(comment, lambda path: path.write_text(comparisons.comment(result)))
    if record:
        record.parent.mkdir(parents=True, exist_ok=True)
        result.write(record)
