"""Import k6 CSVs this suite did not make: a user's own scripts, the original suite's.

Each CSV is copied, untouched, into the output folder as `<target>_<suite>.csv`, beside metadata
marked `imported`: mode and profile "imported", server version, k6 version and machine unknown,
the start and end read from the CSV's own timestamps. `report` then summarises and draws it like
any other pair. The target and suite come from a `<target>_<suite>.csv` name, or from the options.
An imported pair never enters the history (`analysis/history.py` skips it): the history holds only
what this suite measured, the way it measures.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from analysis.k6csv import read_samples
from core.errors import BadValue, InputError
from core.layout import QUANTILES_FILE, SUMMARY_FILE, k6_csv_paths, pair_files
from core.records import IMPORTED, Counts, DatabaseInfo, Machine, PairMetadata, ServerInfo, Source, Status
from services.registry import load_registry

UNKNOWN = "unknown"


def import_csvs(source: Path, out: Path, target: str | None = None, suite: str | None = None) -> list[Path]:
    """Copy the k6 CSVs of `source` (a file or a folder) into `out` with imported metadata; returns
    the metadata files written. An existing file in `out` is never overwritten."""
    csvs = [source] if source.is_file() else [p for p in k6_csv_paths(source) if p.name not in _OURS]
    if not csvs:
        raise InputError(f"{source}: no k6 CSV to import")
    if (target or suite) and len(csvs) > 1:
        raise BadValue(f"--target and --suite name one CSV, and {source} holds {len(csvs)}")
    out.mkdir(parents=True, exist_ok=True)
    return [_import(csv, out, target, suite) for csv in csvs]


_OURS = {SUMMARY_FILE, QUANTILES_FILE}


def _import(csv: Path, out: Path, target_name: str | None, suite: str | None) -> Path:
    target_name, suite = _names(csv, target_name, suite)
    target = load_registry().target(target_name)
    samples = read_samples(csv)  # a file that is not k6's CSV: the one-line error `report` gives
    times = samples.frame["timestamp"]
    meta = PairMetadata(
        run_id=f"{_iso(times.min()):%Y%m%dT%H%M%SZ}-{IMPORTED}",
        target=target.id,
        suite=suite,
        profile=IMPORTED,
        vus=None,
        iterations_per_vu=None,
        iterations_expected=None,
        server=ServerInfo(target.server.name, target.server.label, UNKNOWN),
        database=DatabaseInfo(target.database.kind, target.database.label),
        mode=IMPORTED,
        k6_version=UNKNOWN,
        source=Source(UNKNOWN, UNKNOWN),
        machine=Machine(UNKNOWN, 0, 0.0, UNKNOWN, UNKNOWN, "", False),
        started_at=_iso(times.min()).isoformat(timespec="seconds"),
        ended_at=_iso(times.max()).isoformat(timespec="seconds"),
        status=Status.OK,
        counts=Counts(),
        provenance={"imported_from": csv.name},
    )
    files = pair_files(out, meta)
    copy, written = files.csv, files.metadata
    for path in (copy, written):
        if path.exists():
            raise InputError(f"{path} exists: import into another --out folder (nothing is overwritten)")
    shutil.copyfile(csv, copy)
    meta.write(written)
    return written


def _names(csv: Path, target: str | None, suite: str | None) -> tuple[str, str]:
    """The target and suite of a CSV: the options, else a `<target>_<suite>.csv` name."""
    named_target, _, named_suite = csv.stem.rpartition("_")
    target, suite = target or named_target, suite or named_suite
    if not target or not suite:
        raise BadValue(
            f"{csv}: cannot tell its target and suite; name it <target>_<suite>.csv or pass --target and --suite"
        )
    return target, suite


def _iso(milliseconds: float) -> datetime:
    return datetime.fromtimestamp(float(milliseconds) / 1000, UTC)
