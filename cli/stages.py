"""The stages after a benchmark, as the verbs call them: summarise -> record -> report.

`run` calls all three with what it ran; `record` and `report` call theirs on existing folders.
Each prints what a user should see (warnings, what was recorded, where the site is). A comparison
(`compare`, `ab`) is stored here too: its record, and its markdown as report/ draws it.
"""

from __future__ import annotations

from pathlib import Path

from analysis import history
from analysis.summarise import FolderSummary, PairSummary, summarise_folder
from core.layout import SUMMARY_FILE
from core.paths import write_atomically
from core.records import Comparison
from report import comparisons, inputs
from report.inputs import ReportSettings
from runner.progress import console


def summarise(out: Path, fresh: list[PairSummary] | None = None) -> FolderSummary:
    """The folder's summary files, warnings shown: `fresh` pairs as the runner summarised them, the
    others from the summary files, and a raw CSV parsed only where both miss it or are stale."""
    result = summarise_folder(out, fresh)
    for warning in result.warnings:
        console.print(f"warning: {warning}", style="yellow", markup=False)
    return result


def record(summary: FolderSummary, history_dir: Path) -> None:
    for run_id, outcome in history.record(summary, history_dir):
        console.print(f"{run_id}: {outcome}", markup=False)


def build_report(
    summary: FolderSummary, *, out: Path, site_dir: Path, history_dir: Path, ab_outputs: Path, settings: ReportSettings
) -> None:
    """Charts and pages from the folder's summary, trends from the history, then the site."""
    from report import site  # altair and mkdocs: loaded only when a site is built, not for a comparison

    loaded = inputs.load(summary, out=out, history_dir=history_dir, ab_outputs=ab_outputs, settings=settings)
    for warning in loaded.history.warnings:
        console.print(f"warning: {warning}", style="yellow", markup=False)
    site.publish(loaded, site_dir)
    console.print(f"Summary: {out / SUMMARY_FILE}", markup=False)
    console.print(f"Site built: open {(site_dir / 'index.html').resolve()} or run ./run.sh serve", markup=False)


def write_comparison(result: Comparison, markdown: Path, record: Path) -> Path:
    """The comparison as its record (JSON) and as the markdown a pull request shows; returns the record."""
    write_atomically(markdown, lambda path: path.write_text(comparisons.markdown(result)))
    return result.write(record)
