"""The registry: every target carries what the launcher and a CI job need."""

from __future__ import annotations

import re

import pytest

from core.errors import BadValue
from services.registry import load_registry, select_suites, suites

REGISTRY = load_registry()


def test_the_six_default_targets_exist():
    assert [t.id for t in REGISTRY.default_targets] == [
        "fasttrackml-sqlite",
        "fasttrackml-postgres",
        "mlflow-sqlite",
        "mlflow-postgres",
        "mlflow-go-sqlite",
        "mlflow-go-postgres",
    ]
    assert suites() == ["capacity", "client", "logging", "retrieval", "scale", "ui"]
    assert suites(paired=True) == ["logging", "retrieval"]


@pytest.mark.parametrize("target", REGISTRY.targets.values(), ids=lambda t: t.id)
def test_target_has_what_the_launcher_needs(target):
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+((==|>=|<=|<|>|!=|~=)[\w.]+)?", p) for p in target.packages), (
        target.packages
    )
    assert target.version in target.packages[0]
    command = " ".join(target.server.command)
    for placeholder in ("{host}", "{port}", "{database_uri}"):
        assert placeholder in command
    assert target.server.health_path.startswith("/")
    assert target.server.start_timeout_seconds > 0
    assert "{path}" in target.server.sqlite_uri and target.server.postgres_scheme.startswith("postgres")


@pytest.mark.parametrize("target", REGISTRY.targets.values(), ids=lambda t: t.id)
def test_target_has_what_a_ci_job_needs(target):
    job = target.as_dict()
    assert re.fullmatch(r"[\w.\-/]+(:[\w.\-]+)?", job["image"]) and target.version in job["image"]
    assert 0 < job["container_port"] < 65536
    assert job["container_database_env"]
    assert re.fullmatch(r"#[0-9a-f]{6}", job["colour"])
    if target.database.kind == "postgres":
        assert job["database_image"].startswith("postgres:")


def test_colours_tell_targets_apart():
    colours = [t.colour for t in REGISTRY.default_targets]
    assert len(set(colours)) == len(colours)


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(BadValue, match="valid: fasttrackml-sqlite"):
        REGISTRY.select("nope")
    with pytest.raises(BadValue, match="valid: capacity, client, logging, retrieval, scale, ui"):
        select_suites("logging,nope")
    with pytest.raises(BadValue, match="scale cannot run as an A/B: it grows its store"):
        select_suites("logging,scale", paired=True)
    assert [t.id for t in REGISTRY.select("mlflow-sqlite, fasttrackml-sqlite")] == [
        "mlflow-sqlite",
        "fasttrackml-sqlite",
    ]


def test_a_server_whose_name_extends_another_is_parsed_by_the_longer_name():
    target = REGISTRY.target("mlflow-go-0.2.1-sqlite")
    assert (target.server.name, target.version, target.database.kind) == ("mlflow-go", "0.2.1", "sqlite")
    assert REGISTRY.target("mlflow-2.22.5-postgres").server.name == "mlflow"
    assert REGISTRY.targets["mlflow-go-sqlite"].server.serves_package == "mlflow"
