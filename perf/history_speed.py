"""How fast the history stays when it is large: record one run, then build trends and regressions.

Generates a history of `--runs` runs (default 5,000) x the default targets x 11 request names with
a few known steps, then times recording one more real run, writing the history's share of the site
(the trends and regressions pages with change-point detection and charts, the pages of the runs
the trends show, the feed and the data/ files), and building the whole site as `./run.sh report`
does, mkdocs included. Not a test: run it by hand, on a quiet machine.

    .venv/bin/python -m perf.history_speed [--runs 5000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from statistics import median

from analysis import detect, history, trends
from analysis.summarise import summarise_folder
from report import data_api, feed, history_pages, inputs, site
from report.inputs import ReportSettings
from services.registry import load_registry
from tests.histories import write_history

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
NAMES = [
    "CreateRun",
    "LogMetricSingle",
    "LogMetricBatch10",
    "LogMetricBatch100",
    "LogMetricBatch500",
    "LogParamBatch10",
    "LogParamBatch100",
    "UpdateRun",
    "SearchRuns",
    "GetRun",
    "MetricHistory",
]


def generate(store: Path, runs: int) -> None:
    """4 targets x 11 request names; CreateRun 30% slower after 60% of the runs."""
    suites = {name: "logging" if n < 8 else "retrieval" for n, name in enumerate(NAMES)}
    targets = [t.id for t in load_registry().default_targets]

    def level(run: int, target: str, name: str) -> float:
        step = 1.3 if run > runs * 0.6 and name == NAMES[0] else 1.0
        return (1 + targets.index(target)) * (1 + NAMES.index(name)) * step

    write_history(store, runs, suites, targets, level)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3, help="measurements, reported with their median")
    args = parser.parse_args()
    store = Path(tempfile.mkdtemp(prefix="history-speed-"))
    try:
        started = time.perf_counter()
        generate(store, args.runs)
        size = sum(p.stat().st_size for p in store.rglob("*.gz")) / 2**20
        print(f"generated {args.runs} runs ({size:.0f} MiB) in {time.perf_counter() - started:.0f} s")
        record_times, page_times, site_times = [], [], []
        for repeat in range(args.repeats):
            record_times.append(time_record(store, repeat))
            page_times.append(time_pages(store))
            site_times.append(time_site(store))
            print(
                f"record one run: {record_times[-1]:.2f} s; the history's pages, feed and data: "
                f"{page_times[-1]:.1f} s; the whole site: {site_times[-1]:.1f} s"
            )
        print(
            f"median of {args.repeats}: record {median(record_times):.2f} s, pages {median(page_times):.1f} s, "
            f"site {median(site_times):.1f} s"
        )
    finally:
        shutil.rmtree(store)


def time_record(store: Path, repeat: int) -> float:
    """Seconds to record one new real run (its own run id each time, so nothing is skipped)."""
    folder = Path(tempfile.mkdtemp(prefix="history-speed-out-"))
    shutil.copy(FIXTURES / "k6_retrieval.csv", folder / "fasttrackml-sqlite_retrieval.csv")
    meta = json.loads((FIXTURES / "k6_retrieval.json").read_text())
    meta |= {"profile": "standard", "run_id": f"{meta['run_id']}-{repeat}"}
    (folder / "fasttrackml-sqlite_retrieval.json").write_text(json.dumps(meta))
    started = time.perf_counter()
    history.record(summarise_folder(folder), store)
    seconds = time.perf_counter() - started
    shutil.rmtree(folder)
    return seconds


def time_pages(store: Path) -> float:
    docs = Path(tempfile.mkdtemp(prefix="history-speed-docs-"))
    started = time.perf_counter()
    loaded = trends.analyse(store, detect.Options())
    settings = ReportSettings(trend_runs=200)
    shown = history_pages.write_history_pages(loaded, load_registry().default_targets, docs, settings)
    feed.write_feed(loaded, docs, "benchmark")
    data_api.write_data(loaded, [], docs, runs=shown)
    seconds = time.perf_counter() - started
    shutil.rmtree(docs)
    return seconds


def time_site(store: Path) -> float:
    """Seconds for `./run.sh report`'s whole site over this history, beside one real output folder:
    every page, chart, feed and data file, and mkdocs' build (the chart scripts already installed)."""
    folder = Path(tempfile.mkdtemp(prefix="history-speed-out-"))
    site_dir = Path(tempfile.mkdtemp(prefix="history-speed-site-"))
    shutil.copy(FIXTURES / "k6_retrieval.csv", folder / "fasttrackml-sqlite_retrieval.csv")
    shutil.copy(FIXTURES / "k6_retrieval.json", folder / "fasttrackml-sqlite_retrieval.json")
    result = summarise_folder(folder)
    started = time.perf_counter()
    loaded = inputs.load(result, out=folder, history_dir=store, ab_outputs=folder / "none", settings=ReportSettings())
    site.publish(loaded, site_dir)
    seconds = time.perf_counter() - started
    shutil.rmtree(folder)
    shutil.rmtree(site_dir)
    return seconds


if __name__ == "__main__":
    main()
