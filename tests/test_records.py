"""The typed records: round trips, migration of files written by earlier versions, newer schemas refused."""

from __future__ import annotations

import dataclasses
import gzip
import json

import pytest

from analysis import history
from analysis.summarise import summarise_folder
from core.errors import InputError
from core.records import HistoryRecord, PairMetadata, Status
from tests.conftest import FIXTURE_METADATA, FIXTURES, output_folder

HISTORY_V1 = FIXTURES / "history_v1.json.gz"  # written by the history code of schema 1, from the fixture CSV


def test_pair_metadata_round_trips_and_keeps_every_field(tmp_path):
    meta = PairMetadata.read(FIXTURE_METADATA)
    assert meta.status is Status.OK and meta.counts.request_names[0] == "GetExperiment"
    assert meta.machine.cores == 2 and meta.server.version == "0.6.0" and meta.stem == "fasttrackml-sqlite_retrieval"
    assert PairMetadata.read(meta.write(tmp_path / "m.json")) == meta
    _assert_holds(json.loads((tmp_path / "m.json").read_text()), json.loads(FIXTURE_METADATA.read_text()))


def _assert_holds(new: dict, old: dict) -> None:
    """Every value of `old` is in `new` (which may add optional fields, as null)."""
    for key, value in old.items():
        if isinstance(value, dict):
            _assert_holds(new[key], value)
        else:
            assert new[key] == value, key


def test_history_record_round_trips(tmp_path):
    out = output_folder(tmp_path / "out", "fasttrackml-sqlite_retrieval", "mlflow-sqlite_retrieval")
    [record] = history.build_records(summarise_folder(out))
    assert HistoryRecord.from_json(json.loads(json.dumps(record.to_json()))) == record
    assert {p.target for p in record.pairs} == {"fasttrackml-sqlite", "mlflow-sqlite"}
    assert all(p.machine is not None and p.k6_version == "1.1.0" for p in record.pairs)


def test_a_schema_1_history_file_is_migrated(tmp_path):
    old = json.loads(gzip.decompress(HISTORY_V1.read_bytes()))
    assert old["schema_version"] == 1 and "machine" in old and "machine" not in old["pairs"][0]
    record = HistoryRecord.from_json(old, str(HISTORY_V1))
    [pair] = record.pairs
    assert pair.machine is not None and pair.machine.cpu_model == old["machine"]["cpu_model"]
    assert pair.k6_version == old["k6_version"] and pair.status is Status.OK
    assert pair.run_id == old["run_id"] and pair.source.commit == old["commit"] and pair.vus is None  # unknown in v1
    assert record.machine == pair.machine
    assert [r.p50_ms for r in record.rows] == [r["p50_ms"] for r in old["rows"]]
    # and the same run, recorded by today's code from the same CSV, says the same
    out = output_folder(tmp_path / "out", "fasttrackml-sqlite_retrieval")
    [today] = history.build_records(summarise_folder(out))
    # a p50's interval is new in today's rows; schema 1 had none, and its migration invents none
    assert all(r.p50_low_ms < r.p50_ms < r.p50_high_ms for r in today.rows)
    assert all(r.p50_low_ms is None and r.p50_high_ms is None for r in record.rows)
    rows = tuple(dataclasses.replace(r, p50_low_ms=None, p50_high_ms=None) for r in today.rows)
    assert dataclasses.replace(today, pairs=(), rows=rows) == dataclasses.replace(record, pairs=())


def test_a_store_mixing_schemas_loads_both(tmp_path):
    store = tmp_path / "history"
    target = history.run_path(store, "20261125T031318Z-dca48e")
    target.parent.mkdir(parents=True)
    target.write_bytes(HISTORY_V1.read_bytes())
    history.record(
        summarise_folder(output_folder(tmp_path / "out", "mlflow-sqlite_retrieval", run_id="20261126T000000Z-aaaaaa")),
        store,
    )
    loaded = history.load(store)
    assert loaded.warnings == [] and [r.run_id for r in loaded.records] == [
        "20261125T031318Z-dca48e",
        "20261126T000000Z-aaaaaa",
    ]
    assert set(loaded.frame()["target"]) == {"fasttrackml-sqlite", "mlflow-sqlite"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema_version": 3}, "run metadata of schema 3, written by a newer version of this suite"),
        ({"schema_version": None}, "not run metadata (no schema_version)"),
        ({"status": "exploded"}, "malformed run metadata: 'exploded' is not a valid Status"),
        ({"target": None, "suite": None}, None),
    ],
)
def test_unusable_metadata_is_a_one_line_error_naming_the_file(tmp_path, change, message):
    path = tmp_path / "m.json"
    data = json.loads(FIXTURE_METADATA.read_text()) | change
    if message is None:  # a required field missing
        del data["run_id"]
        message = "malformed run metadata: lacks field(s) 'run_id'"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError) as info:
        PairMetadata.read(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value) and "\n" not in str(info.value)
