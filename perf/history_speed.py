"""How fast the history stays when it is large: record one run, then build trends and regressions.

Generates a history of `--runs` runs (default 5,000) x 4 targets x 11 request names with a few
known steps, then times recording one more real run and writing the trends and regressions pages
(change-point detection and charts included). Not a test: run it by hand, on a quiet machine.

    .venv/bin/python -m perf.history_speed [--runs 5000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import tempfile
import time
from pathlib import Path
from statistics import median

import numpy as np
import pandas as pd

from analysis import detect, history
from analysis.summarise import STAT_COLUMNS, summarise_folder
from core.records import DatabaseInfo, HistoryRecord, Machine, PairMetadata, ServerInfo, Source, Status
from report import history_pages, inputs
from report.inputs import ReportSettings
from services.registry import load_registry

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


MACHINE = Machine("AMD EPYC", 2, 23.5, "Linux", "3.11", "0", False)


def generate(store: Path, runs: int) -> None:
    rng = np.random.default_rng(3)
    targets = [t.id for t in load_registry().default_targets]
    start = pd.Timestamp("2020-01-01", tz="UTC")
    for i in range(runs):
        when = start + pd.Timedelta(hours=6 * i)
        run_id = f"{when:%Y%m%dT%H%M%SZ}-{i:06x}"
        rows = []
        for t, target in enumerate(targets):
            for n, name in enumerate(NAMES):
                level = (1 + t) * (1 + n) * (1.3 if i > runs * 0.6 and n == 0 else 1.0)
                p50 = level * rng.lognormal(0, 0.05)
                stats = dict.fromkeys(STAT_COLUMNS, 0.0) | {
                    "count": 2000,
                    "errors": 0,
                    "p50_ms": p50,
                    "p95_ms": p50 * 2,
                }
                sketch = list(np.quantile(rng.lognormal(np.log(p50), 0.4, 200), history.SKETCH_QUANTILES))
                rows.append(
                    {
                        "target": target,
                        "suite": "logging" if n < 8 else "retrieval",
                        "name": name,
                        **stats,
                        "sketch_ms": [float(f"{v:.5g}") for v in sketch],
                    }
                )
        pairs = [_pair(run_id, when, t, s) for t in targets for s in ("logging", "retrieval")]
        record = {
            "schema_version": HistoryRecord.SCHEMA,
            "run_id": run_id,
            "commit": f"{i:040x}",
            "branch": "main",
            "started_at": when.isoformat(),
            "profile": "standard",
            "pairs": pairs,
            "rows": rows,
        }
        path = history.run_path(store, run_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(json.dumps(record, separators=(",", ":")).encode(), mtime=0))


def _pair(run_id: str, when: pd.Timestamp, target: str, suite: str) -> dict:
    """A complete pair's metadata, as `./run.sh` writes it."""
    server, _, database = target.partition("-")
    meta = PairMetadata(
        run_id=run_id,
        target=target,
        suite=suite,
        profile="standard",
        vus=20,
        iterations_per_vu=100,
        iterations_expected=2000,
        server=ServerInfo(server, server, "1"),
        database=DatabaseInfo(database, database),
        mode="native",
        k6_version="1.1.0",
        source=Source("0" * 40, "main"),
        machine=MACHINE,
        started_at=when.isoformat(),
        status=Status.OK,
    )
    return {k: v for k, v in meta.to_json().items() if k != "schema_version"}


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
        record_times, page_times = [], []
        for repeat in range(args.repeats):
            record_times.append(time_record(store, repeat))
            page_times.append(time_pages(store))
            print(f"record one run: {record_times[-1]:.2f} s; trends and regressions pages: {page_times[-1]:.1f} s")
        print(f"median of {args.repeats}: record {median(record_times):.2f} s, pages {median(page_times):.1f} s")
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
    loaded = inputs.load_history(store, detect.Options())
    history_pages.write_history_pages(loaded, load_registry().default_targets, docs, ReportSettings(trend_runs=200))
    seconds = time.perf_counter() - started
    shutil.rmtree(docs)
    return seconds


if __name__ == "__main__":
    main()
