"""The GitHub Actions workflows: linted statically (no Docker here), and every command they run
is a project command whose options parse and which works on real inputs."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cli.main import parser
from cli.verbs.matrix import matrix
from services import launcher
from services.environments import ensure_environment
from services.registry import load_registry, suites
from tests.conftest import ROOT, metadata, run_cli

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
# Values for the shell variables the run steps use, so their ./run.sh lines can be parsed.
VARIABLES = {
    "TARGETS": "all",
    "SUITES": "all",
    "PROFILE": "smoke",
    "REPOSITORY,,": "owner/repo",
    "TARGET": "fasttrackml-sqlite",
    "SUITE": "retrieval",
    "SERVER": "fasttrackml",
    "VERSION": "0.6.0",
    "FASTTRACKML_VERSION": "0.6.0",
}
ALLOWED_COMMANDS = {
    "./run.sh",
    "docker",
    "git",
    "echo",
    "cat",
    "mkdir",
    "if",
    "then",
    "else",
    "fi",
    "args=(",
    "args+=(",
    "{",
    "}",
    "url=",
    "exit",
}


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _run_steps() -> list[tuple[str, str, str]]:
    steps = []
    for path in WORKFLOWS:
        for job_name, job in _load(path)["jobs"].items():
            for step in job.get("steps", []):
                if "run" in step:
                    steps.append((path.name, job_name, step["run"]))
    return steps


def _expand(line: str) -> list[str]:
    for name, value in VARIABLES.items():
        line = line.replace("${" + name + "}", value).replace("$" + name, value)
    line = line.replace('"${args[@]}"', "--targets all")
    return shlex.split(line)


@pytest.mark.parametrize("tool", ["actionlint", "check-jsonschema", "zizmor"])
def test_workflows_pass_the_linters(tool):
    files = [str(p) for p in WORKFLOWS]
    command = {
        "actionlint": [str(BIN / "actionlint"), *files],
        "check-jsonschema": [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files],
        "zizmor": [str(BIN / "zizmor"), "--offline", "--no-progress", *files],
    }[tool]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    if tool == "zizmor":
        assert "No findings to report" in result.stdout + result.stderr


def test_triggers_permissions_and_pins():
    benchmark = _load(ROOT / ".github/workflows/benchmark.yml")
    triggers = benchmark[True]  # YAML reads the key `on` as True
    assert {"push", "pull_request", "workflow_dispatch", "schedule", "workflow_call"} <= set(triggers)
    assert {"targets", "suites", "profile", "fasttrackml_version", "mlflow_version"} <= set(
        triggers["workflow_dispatch"]["inputs"]
    )
    for path in WORKFLOWS:
        text = path.read_text()
        assert "pull_request_target" not in text
        assert _load(path)["permissions"] == {}
        for use in re.findall(r"uses:\s*(\S+)", text):
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", use), f"{path.name}: {use} is not pinned by commit SHA"
    record = benchmark["jobs"]["record"]
    assert record["concurrency"]["group"] == "benchmark-history" and "pull_request" in record["if"]
    assert record["permissions"] == {"contents": "write"}


def test_k6_version_matches_the_local_pin():
    pinned = re.search(r"^k6==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert _load(ROOT / ".github/workflows/benchmark.yml")["env"]["K6_VERSION"] == pinned


def test_plan_matrix_equals_the_registry_targets_times_suites():
    result = run_cli("matrix")
    assert result.returncode == 0, result.stderr
    jobs = json.loads(result.stdout)["include"]
    expected = {(t.id, s) for t in load_registry().default_targets for s in suites()}
    assert {(j["target"], j["suite"]) for j in jobs} == expected and len(jobs) == len(expected)
    plan = _load(ROOT / ".github/workflows/benchmark.yml")["jobs"]["plan"]["steps"][-1]["run"]
    assert "./run.sh matrix" in plan


def test_nightly_matrix_runs_fasttrackml_main():
    jobs = matrix("fasttrackml-postgres", "logging", {"fasttrackml": "main"}, "ghcr.io/o/r")["include"]
    assert jobs[0]["target"] == "fasttrackml-main-postgres" and jobs[0]["registry_target"] == "fasttrackml-postgres"
    assert jobs[0]["service_image"] == "ghcr.io/o/r/fasttrackml:main"


def test_server_service_env_covers_every_target():
    server = _load(ROOT / ".github/workflows/benchmark.yml")["jobs"]["bench"]["services"]["server"]
    for target in load_registry().targets.values():
        assert set(target.server.container_env) <= set(server["env"])
        assert target.server.container_database_env in server["env"]
        assert (ROOT / target.server.dockerfile).exists()


@pytest.mark.parametrize(("workflow", "job", "script"), _run_steps(), ids=lambda v: v if len(str(v)) < 30 else "")
def test_every_run_step_calls_project_commands_whose_options_parse(workflow, job, script):
    for line in script.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        first = line.split()[0]
        assert any(first.startswith(c) for c in ALLOWED_COMMANDS), f"{workflow}/{job}: unexpected command {line!r}"
        for call in re.findall(r"\./run\.sh [^;|&)]*", line):
            argv = _expand(call.strip())[1:]
            if argv and argv[0] == "test":
                continue
            try:
                parser().parse_args(argv)
            except SystemExit as exc:
                pytest.fail(f"{workflow}/{job}: options do not parse: {call!r} ({exc})")


def _bench_command(url: str, out: Path) -> list[str]:
    step = next(
        s
        for s in _load(ROOT / ".github/workflows/benchmark.yml")["jobs"]["bench"]["steps"]
        if s.get("name") == "Benchmark the service container"
    )
    argv = _expand(step["run"].strip())[1:]
    argv = [url if a == "http://127.0.0.1:5000" else a for a in argv]
    return [str(out) if a == "benchmark_outputs" else a for a in argv]


@pytest.mark.servers
def test_bench_job_command_works_against_a_running_server(tmp_path):
    target = load_registry().targets["fasttrackml-sqlite"]
    ensure_environment(target)
    uri = target.server.sqlite_uri.format(path=tmp_path / "t.db")
    with launcher.launch(target, uri, tmp_path, tmp_path / "server.log") as server:
        out = tmp_path / "benchmark_outputs"
        result = run_cli(*_bench_command(server.url, out))
    assert result.returncode == 0, result.stderr[-2000:]
    meta = metadata(out, "fasttrackml-sqlite", "retrieval")
    assert meta["mode"] == "external" and meta["status"] == "ok" and meta["counts"]["errors"] == 0


@pytest.mark.servers
def test_report_job_commands_work_on_downloaded_artifacts(smoke_run, tmp_path):
    out, _ = smoke_run
    downloaded = tmp_path / "benchmark_outputs"  # download-artifact merges bench-* into one folder
    downloaded.mkdir()
    for path in out.glob("*_*.*"):
        shutil.copy(path, downloaded / path.name)
    history = tmp_path / "history"
    jobs = _load(ROOT / ".github/workflows/benchmark.yml")["jobs"]
    commands = [
        line.strip()
        for job in ("record", "report")
        for step in jobs[job]["steps"]
        if "run" in step
        for line in step["run"].splitlines()
        if "./run.sh" in line
    ]
    for call in commands:
        call = re.search(r"\./run\.sh [^;|&)]*", call).group(0)
        argv = [
            {
                "benchmark_outputs": str(downloaded),
                "history": str(history),
                "site": str(tmp_path / "site"),
                "comparison/comparison.md": str(tmp_path / "comparison.md"),
            }.get(a, a)
            for a in _expand(call)[1:]
        ]
        if argv[0] == "compare":
            argv[1] = "latest"  # the smoke run's branch depends on how this checkout was made
        result = run_cli(*argv)
        assert result.returncode == 0, f"{call}: {result.stderr[-2000:]}"
    assert (tmp_path / "site" / "index.html").exists() and (tmp_path / "site" / "trends.html").exists()
    assert "## Benchmark comparison" in (tmp_path / "comparison.md").read_text()
    assert list(history.glob("runs/*/*/*.json.gz"))
