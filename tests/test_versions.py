"""Several versions of a server: each listed one runs, and two are compared (FastTrackML 0.5.1 against 0.6.0)."""

from __future__ import annotations

import pytest

from services.registry import load_registry
from tests.conftest import metadata, run_cli, run_smoke


def test_registry_lists_older_versions_as_their_own_targets():
    targets = load_registry().targets
    old = targets["fasttrackml-0.5.1-sqlite"]
    assert old.version == "0.5.1" and not old.is_default_version and old.packages == ["fasttrackml==0.5.1"]
    assert old.label == "FastTrackML 0.5.1 (SQLite)"
    assert "mlflow-2.22.5-postgres" in targets
    assert "fasttrackml-0.5.1-sqlite" not in [t.id for t in load_registry().default_targets]


def test_version_specific_packages_go_only_to_those_versions():
    targets = load_registry().targets
    assert "sqlalchemy<2.1" in targets["mlflow-2.22.5-sqlite"].packages
    assert not any(p.startswith("sqlalchemy") for p in targets["mlflow-sqlite"].packages)


@pytest.mark.servers
def test_every_listed_server_version_serves_the_suite(tmp_path):
    """The non-default versions are installed and run like the defaults: MLflow 2 here (FastTrackML 0.5.1 below)."""
    result = run_smoke(tmp_path, "mlflow-2.22.5-sqlite", "retrieval")
    assert result.returncode == 0, result.stderr[-2000:]
    meta = metadata(tmp_path, "mlflow-2.22.5-sqlite", "retrieval")
    assert meta["status"] == "ok" and meta["server"]["version"] == "2.22.5" and meta["counts"]["errors"] == 0


@pytest.mark.servers
def test_two_versions_of_fasttrackml_are_run_and_compared(smoke_run, tmp_path):
    new, _ = smoke_run
    old = tmp_path / "old"
    result = run_smoke(old, "fasttrackml-0.5.1-sqlite", "retrieval")
    assert result.returncode == 0, result.stderr[-2000:]
    meta = metadata(old, "fasttrackml-0.5.1-sqlite", "retrieval")
    assert meta["server"]["version"] == "0.5.1" and meta["counts"]["errors"] == 0
    markdown = tmp_path / "versions.md"
    compared = run_cli(
        "compare",
        str(old),
        str(new),
        "--map",
        "fasttrackml-0.5.1-sqlite=fasttrackml-sqlite",
        "--markdown",
        str(markdown),
    )
    assert compared.returncode == 0, compared.stderr
    text = markdown.read_text()
    assert "target `fasttrackml-0.5.1-sqlite → fasttrackml-sqlite`: 5 request names compared" in text
    rows = [line for line in text.splitlines() if line.startswith("| retrieval |")]
    assert len(rows) == 5
