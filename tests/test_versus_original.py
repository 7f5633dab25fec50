"""The "Versus the original suite" page: the original's chart values beside the default and standard runs."""

from __future__ import annotations

import shutil
from pathlib import Path

from analysis import detect, history, original, trends
from analysis.summarise import summarise_folder
from core.records import DEFAULT_PROFILE
from report import history_pages
from report.findings import times
from tests.conftest import FIXTURES, output_folder


def _history(tmp_path: Path, profile: str) -> Path:
    """A history holding one run of `profile`: the real retrieval fixture as FastTrackML and MLflow on SQLite."""
    out = output_folder(tmp_path / profile, "fasttrackml-sqlite_retrieval", "mlflow-sqlite_retrieval", profile=profile)
    history.record(summarise_folder(out), tmp_path / "history")
    return tmp_path / "history"


def test_without_a_default_or_standard_run_the_page_says_so_and_takes_no_other_profile(tmp_path):
    store = _history(tmp_path, "quick")
    docs = tmp_path / "docs"
    docs.mkdir()
    page = history_pages.write_versus_original(trends.analyse(store, detect.Options()), docs).read_text()
    assert "No run of the default or the standard profile is in the history yet" in page
    assert "| request |" not in page


def test_the_default_run_has_its_own_table_with_each_ratio_s_interval(tmp_path):
    store = _history(tmp_path, DEFAULT_PROFILE)
    run = history.load(store).latest(profile=DEFAULT_PROFILE)
    search = next(c for c in original.cells(run) if (c.name, c.database) == ("SearchRuns", "SQLite"))
    # the same samples stand for both servers: a ratio of 1 whose interval cannot tell them apart
    assert search.ours_low < 1.0 < search.ours_high and search.told_apart is False
    docs = tmp_path / "docs"
    docs.mkdir()
    page = history_pages.write_versus_original(trends.analyse(store, detect.Options()), docs).read_text()
    assert f"## The latest {DEFAULT_PROFILE} run" in page and "## The latest standard run" not in page
    assert (
        f"| SearchRuns | SQLite | 225× | 1.00× | {search.ours_low:.2f} to {search.ours_high:.2f} (not told apart) |"
        in page
    )


def test_each_cell_sets_both_ratios_side_by_side_with_reasons_where_they_differ(tmp_path):
    store = _history(tmp_path, "standard")
    run = history.load(store).latest(profile="standard")
    cells = {(c.name, c.database): c for c in original.cells(run)}
    assert len(cells) == 16  # 8 request names x 2 databases, as the original charted
    search = cells[("SearchRuns", "SQLite")]
    assert search.original == 450 / 2 and search.ours_p50 == 1.0  # the same samples stand for both servers
    assert search.agree is False and search.difference == 225
    assert any("grew while it was measured" in r for r in search.reasons)
    assert cells[("CreateRun", "SQLite")].ours_p50 is None  # no logging run here: no result, no reason
    docs = tmp_path / "docs"
    docs.mkdir()
    page = history_pages.write_versus_original(trends.analyse(store, detect.Options()), docs).read_text()
    assert "| SearchRuns | SQLite | 225× | 1.00× |" in page and "### SearchRuns on SQLite" in page


def test_a_real_standard_run_sets_every_cell_beside_the_original_and_explains_each_large_difference(tmp_path):
    """The history record of a real standard-profile run (FastTrackML and MLflow on both databases,
    both suites, this machine) is the fixture: every cell has our ratio, and every difference over
    2x has its reasons on the page."""
    runs = tmp_path / "history" / "runs" / "2026" / "11"
    runs.mkdir(parents=True)
    shutil.copy(FIXTURES / "history_standard.json.gz", runs)
    run = history.load(tmp_path / "history").latest(profile="standard")
    found = original.cells(run)
    assert len(found) == 16 and all(c.ours_p50 and c.ours_mean for c in found)
    different = [c for c in found if (c.difference or 0) > original.DIFFERENCE]
    assert different and all(c.reasons for c in different)
    docs = tmp_path / "docs"
    docs.mkdir()
    page = history_pages.write_versus_original(trends.analyse(tmp_path / "history", detect.Options()), docs).read_text()
    for c in found:
        row = f"| {c.name} | {c.database} | {times(c.original)} | {times(c.ours_p50)} |"
        assert row in page, row
    for c in different:
        assert f"### {c.name} on {c.database}" in page
