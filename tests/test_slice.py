"""The fast tier's real slice of the main path: `./run.sh` at the smoke profile on FastTrackML over
SQLite and the embedded PostgreSQL, with real k6, into a summary, a history record and a built site.
The full tier covers every target and suite (test_end_to_end.py); this is what a contributor's
`./run.sh test` runs in a minute."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from cli.testing import SLICE_TARGETS
from core.layout import SUMMARY_FILE
from tests.conftest import REQUEST_NAMES, metadata, postgres_processes, run_cli

pytestmark = [pytest.mark.servers, pytest.mark.slice]
TARGETS = SLICE_TARGETS  # the fast tier installs their environment


@pytest.fixture(scope="module")
def sliced(tmp_path_factory):
    folder = tmp_path_factory.mktemp("slice")
    done = run_cli(
        "run", "--profile", "smoke", "--targets", ",".join(TARGETS), "--suites", ",".join(REQUEST_NAMES),
        "--out", str(folder / "out"), "--history", str(folder / "history"), "--site", str(folder / "site"),
    )  # fmt: skip
    return folder, done


def test_the_run_measures_every_request_on_both_databases_and_stops_postgres(sliced):
    folder, done = sliced
    assert done.returncode == 0, done.stderr[-3000:]
    summary = pd.read_csv(folder / "out" / SUMMARY_FILE)
    for target in TARGETS:
        for suite, names in REQUEST_NAMES.items():
            rows = summary[(summary["target"] == target) & (summary["suite"] == suite)].set_index("name")
            assert set(rows.index) == names, (target, suite)
            meta = metadata(folder / "out", target, suite)
            # the smoke profile runs the REST suites in 2 rounds of 2 VUs x 2 iterations
            assert meta["settings"]["rounds"] == 2 and meta["iterations_done"] == 8
            assert (rows["count"] == 8).all() and (rows["errors"] == 0).all()
            assert (rows["p50_low_ms"] < rows["p50_ms"]).all() and (rows["p50_ms"] < rows["p50_high_ms"]).all()
            assert meta["status"] == "ok" and meta["server_cpu_seconds"] > 0
    assert metadata(folder / "out", "fasttrackml-postgres", "logging")["database"]["embedded"] is True
    assert postgres_processes() == []  # the embedded PostgreSQL is stopped with the run


def test_the_run_is_one_history_record_and_a_site_that_shows_it(sliced):
    folder, done = sliced
    [record_file] = (folder / "history").glob("runs/*/*/*.json.gz")
    record = json.loads(gzip.decompress(record_file.read_bytes()))
    assert {(p["target"], p["suite"]) for p in record["pairs"]} == {(t, s) for t in TARGETS for s in REQUEST_NAMES}
    overview = (folder / "site" / "index.html").read_text()
    assert "FastTrackML" in overview and "these numbers mean nothing" in overview  # the smoke banner
    assert next((folder / "site" / "runs").glob(f"{record['run_id']}*.html")).exists()
