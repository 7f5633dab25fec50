"""Histories built in place, as many runs as a test needs, in the form `./run.sh record` writes them.

Each run holds, per target and request name, its p50 (from `level(run, target, name)`, times a
little log-normal noise), its p95 (twice that) and a 21-quantile sketch, and for each target x
suite a complete pair's metadata with the machine `machine(run)` names.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import history
from analysis.summarise import STAT_COLUMNS
from core.records import DatabaseInfo, HistoryRecord, Machine, PairMetadata, ServerInfo, Source, Status

MACHINE = Machine("AMD EPYC", 2, 23.5, "Linux", "3.11", "0", False)


def write_history(
    store: Path,
    runs: int,
    names: dict[str, str],  # request name -> suite
    targets: list[str],
    level: Callable[[int, str, str], float] = lambda run, target, name: 1.0,
    machine: Callable[[int], Machine] = lambda run: MACHINE,
    noise: float = 0.05,
    profile: str = "standard",
) -> list[str]:
    """Write `runs` runs six hours apart from 2020-01-01; returns their run ids, oldest first."""
    rng = np.random.default_rng(3)
    start = pd.Timestamp("2020-01-01", tz="UTC")
    run_ids = []
    for i in range(runs):
        when = start + pd.Timedelta(hours=6 * i)
        run_id = f"{when:%Y%m%dT%H%M%SZ}-{i:06x}"
        rows = [
            _row(rng, target, suite, name, level(i, target, name), noise)
            for target in targets
            for name, suite in names.items()
        ]
        suites = sorted(set(names.values()))
        record = {
            "schema_version": HistoryRecord.SCHEMA,
            "run_id": run_id,
            "commit": f"{i:040x}",
            "branch": "main",
            "started_at": when.isoformat(),
            "profile": profile,
            "pairs": [_pair(run_id, when, t, s, profile, machine(i)) for t in targets for s in suites],
            "rows": rows,
        }
        path = history.run_path(store, run_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(json.dumps(record, separators=(",", ":")).encode(), mtime=0))
        run_ids.append(run_id)
    return run_ids


def _row(rng: np.random.Generator, target: str, suite: str, name: str, level: float, noise: float) -> dict:
    p50 = level * rng.lognormal(0, noise)
    stats = dict.fromkeys(STAT_COLUMNS, 0.0) | {"count": 2000, "errors": 0, "p50_ms": p50, "p95_ms": p50 * 2}
    sketch = np.quantile(rng.lognormal(np.log(p50), 0.4, 200), history.SKETCH_QUANTILES)
    return {"target": target, "suite": suite, "name": name, **stats, "sketch_ms": [float(f"{v:.5g}") for v in sketch]}


def _pair(run_id: str, when: pd.Timestamp, target: str, suite: str, profile: str, machine: Machine) -> dict:
    """A complete pair's metadata, as `./run.sh` writes it."""
    server, _, database = target.partition("-")
    meta = PairMetadata(
        run_id=run_id,
        target=target,
        suite=suite,
        profile=profile,
        vus=20,
        iterations_per_vu=100,
        iterations_expected=2000,
        server=ServerInfo(server, server, "1"),
        database=DatabaseInfo(database, database),
        mode="native",
        k6_version="1.1.0",
        source=Source("0" * 40, "main"),
        machine=machine,
        started_at=when.isoformat(),
        status=Status.OK,
    )
    return {k: v for k, v in meta.to_json().items() if k != "schema_version"}
