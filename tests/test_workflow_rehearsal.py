"""A rehearsal of the benchmark workflow on this machine, the way GitHub runs it, without Docker.

GitHub cannot be reached from here and containers cannot run, so the workflow's own `run:`
scripts are executed from the YAML, job by job in the order of `needs`, with the contexts they read
filled in (github, inputs, needs, matrix, steps, env) and their `if:` conditions evaluated. The
steps that look up a service container are replaced by natively launched servers; artifacts are
uploaded to and downloaded from a folder, merged the way download-artifact merges them; the
history's data branch is a local bare repository (git's `insteadOf`); the pull-request comment
script runs in node against a client that records its calls. What cannot be rehearsed here:
docker itself (image builds, service containers, `docker logs`), GitHub's artifact and Pages
services, and the real API behind the comment.
"""

from __future__ import annotations

import fnmatch
import gzip
import json
import os
import re
import shutil
import subprocess
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from core.records import ABMetadata, Comparison
from runner.cgroups import cpu_cgroup
from services import launcher
from services.environments import ensure_environment, server_executable
from services.registry import load_registry, suites
from tests.cgroups import cgroup_maker
from tests.conftest import ROOT
from tests.proxies import proxy

WORKFLOW = yaml.safe_load((ROOT / ".github/workflows/benchmark.yml").read_text())
AB_WORKFLOW = yaml.safe_load((ROOT / ".github/workflows/ab.yml").read_text())
OUTPUT_FOLDERS = {"benchmark_outputs", "history", "site", "ab_outputs", "comparison", ".git"}
REPOSITORY = "owner/suite"
TOKEN = "rehearsal-token"
REHEARSED_TARGET = "fasttrackml-sqlite"
# The bench jobs rehearsed: the workflow treats every suite alike, and the scale and capacity suites
# would add minutes to each of the four rehearsed runs.
REHEARSED_SUITES = ("logging", "retrieval")


# --- expressions ------------------------------------------------------------------------------

TOKENS = re.compile(r"\s*(?:('(?:[^']|'')*')|(&&|\|\||==|!=|!|\(|\)|,)|([A-Za-z_][\w.-]*)|(\d+))")
FUNCTIONS = {
    "format": lambda text, *args: re.sub(r"\{(\d+)\}", lambda m: str(args[int(m.group(1))]), text),
    "fromJSON": json.loads,
    "startsWith": lambda text, prefix: str(text or "").lower().startswith(str(prefix).lower()),
    "contains": lambda haystack, needle: needle in (haystack or ""),
    "cancelled": lambda: False,
    "always": lambda: True,
}
STATUS_FUNCTIONS = ("success()", "failure()", "always()", "cancelled()")


def evaluate(expression: str, contexts: dict) -> object:
    """A GitHub Actions expression, the subset these workflows use, evaluated in Python: a property
    that does not exist is null, `&&` and `||` return an operand, as on GitHub; success() and
    failure() answer for the steps of the job so far (`_failed` in the contexts)."""
    failed = bool(contexts.get("_failed"))
    functions = FUNCTIONS | {"success": lambda: not failed, "failure": lambda: failed}
    python = []
    for literal, operator, name, number in TOKENS.findall(expression.strip()):
        if literal:
            python.append(repr(literal[1:-1].replace("''", "'")))
        elif operator:
            python.append({"&&": " and ", "||": " or ", "!": " not "}.get(operator, operator))
        elif name in FUNCTIONS or name in ("success", "failure"):
            python.append(f"_f[{name!r}]")
        elif name in ("true", "false", "null"):
            python.append({"true": "True", "false": "False", "null": "None"}[name])
        elif name:
            python.append(f"_get({name!r})")
        else:
            python.append(number)
    return eval("".join(python), {"_f": functions, "_get": lambda path: _lookup(contexts, path)})  # noqa: S307


def _lookup(contexts: dict, path: str) -> object:
    value: object = contexts
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def interpolate(value: object, contexts: dict) -> object:
    """A workflow value with its `${{ }}` parts evaluated: one whole expression keeps its type."""
    if not isinstance(value, str):
        return value
    whole = re.fullmatch(r"\$\{\{(.*)\}\}", value.strip(), re.S)
    if whole and value.count("${{") == 1:
        return evaluate(whole.group(1), contexts)
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: _text(evaluate(m.group(1), contexts)), value)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else json.dumps(value)


def condition(step_or_job: dict, contexts: dict) -> bool:
    """The `if:` of a step or job; without a status function in it, GitHub adds `success() &&`."""
    text = str(step_or_job.get("if", "true")).strip()
    text = text[3:-2] if text.startswith("${{") else text
    if not any(function in text for function in STATUS_FUNCTIONS):
        text = f"success() && ({text})"
    return bool(evaluate(text, contexts))


# --- the runner -------------------------------------------------------------------------------


@dataclass
class Rehearsal:
    """One workflow run: its event, where its artifacts go, what each job left."""

    event: str
    tmp: Path
    remote: Path  # the bare repository standing in for GitHub's copy of the suite
    run_number: int
    inputs: dict = field(default_factory=dict)
    github: dict = field(default_factory=dict)
    vars: dict = field(default_factory=dict)  # the repository's variables
    needs: dict = field(default_factory=dict)
    checkouts: list[dict] = field(default_factory=list)
    summaries: dict[str, str] = field(default_factory=dict)
    workflow: dict = field(default_factory=lambda: WORKFLOW)
    # GitHub's API as `gh api PATH --jq ...` answers it: Pages set to deploy from Actions, no newer run
    api: dict[str, str] = field(
        default_factory=lambda: {
            f"repos/{REPOSITORY}/pages": "workflow",
            f"repos/{REPOSITORY}/actions/workflows/benchmark.yml/runs": "0",
        }
    )
    failures: dict[str, str] = field(default_factory=dict)  # job -> the output of its failed step
    served_run: int | None = None  # the run number of the site Pages serves (deployed-run.json); None: no site
    logs: dict[str, str] = field(default_factory=dict)  # step name -> what it printed, last run

    def __post_init__(self) -> None:
        self.root = self.tmp / f"run-{self.run_number}"
        self.artifacts = self.root / "artifacts"
        self.artifacts.mkdir(parents=True, exist_ok=True)
        called = self.workflow[True].get("workflow_call", {}).get("inputs", {})  # YAML reads `on` as True
        self.inputs = {name: spec.get("default", "") for name, spec in called.items()} | self.inputs
        self.github = {
            "event_name": self.event,
            "repository": REPOSITORY,
            "run_id": str(1000 + self.run_number),
            "run_attempt": "1",
            "run_number": str(self.run_number),
            "token": TOKEN,
            "actor": "someone",
            "server_url": "https://github.com",
            "ref": "refs/heads/main",
            "sha": f"{self.run_number:040x}",
            "event": {},
        } | self.github

    def contexts(self, **more: object) -> dict:
        contexts = {"github": self.github, "inputs": self.inputs, "needs": self.needs, "vars": self.vars}
        return contexts | {"env": self.workflow["env"]} | more

    def job(
        self, name: str, substitutes: dict | None = None, only: dict | None = None, may_fail: bool = False
    ) -> list[dict]:
        """Run job `name` (each matrix entry whose values are those of `only`, or among them when a
        tuple); returns each run's outputs, records its result in `needs`. A failed step fails the
        job (the steps after it run only if their `if:` says so); unless `may_fail`, it also fails
        the test with the step's output."""
        job = self.workflow["jobs"][name]
        if not condition(job, self.contexts()):
            self.needs[name] = {"result": "skipped", "outputs": {}}
            return []
        entries = [{}]
        if "strategy" in job:
            entries = interpolate(job["strategy"]["matrix"], self.contexts())["include"]
            wanted = {k: v if isinstance(v, tuple) else (v,) for k, v in (only or {}).items()}
            entries = [e for e in entries if all(e.get(k) in v for k, v in wanted.items())]
        self.failures.pop(name, None)
        outputs = [self._run_job(name, job, entry, substitutes or {}) for entry in entries]
        result = "failure" if name in self.failures else "success"
        self.needs[name] = {"result": result, "outputs": outputs[0] if outputs else {}}
        assert may_fail or result == "success", self.failures[name]
        return outputs

    def _run_job(self, name: str, job: dict, matrix: dict, substitutes: dict) -> dict:
        workspace = self.root / f"{name}-{len(list(self.root.glob(name + '-*')))}"
        steps: dict[str, dict] = {}
        failed = False
        with ExitStack() as stack:
            for step in job["steps"]:
                contexts = self.contexts(matrix=matrix, steps=steps, _failed=failed)
                if not condition(step, contexts):
                    continue
                if "uses" in step:
                    if error := self._action(step, contexts, workspace):
                        failed = True
                        self.failures.setdefault(name, error)
                elif step.get("id") in substitutes:
                    steps[step["id"]] = {"outputs": substitutes[step["id"]](stack, matrix)}
                else:
                    outputs, error = self._script(step, job, contexts, workspace)
                    if "id" in step:
                        steps[step["id"]] = {"outputs": outputs}
                    if error:
                        failed = True
                        self.failures.setdefault(name, error)
        contexts = self.contexts(matrix=matrix, steps=steps)
        return {key: _text(interpolate(value, contexts)) for key, value in job.get("outputs", {}).items()}

    def _action(self, step: dict, contexts: dict, workspace: Path) -> str:
        """What an action does, as its contract says; '' or why the step failed."""
        action = step["uses"].split("@")[0]
        options = {k: interpolate(v, contexts) for k, v in step.get("with", {}).items()}
        if action == "actions/checkout":
            self.checkouts.append(options)
            _symlink_checkout(workspace)
        elif action == "actions/upload-artifact":
            # upload-artifact v4: a name is uploaded once per workflow run, across its attempts,
            # unless the step says overwrite (a re-run job uploads its name again)
            artifact = self.artifacts / options["name"]
            if artifact.exists():
                assert options.get("overwrite"), f"409: an artifact named {options['name']} exists in this run"
                shutil.rmtree(artifact)
            source = workspace / options["path"]
            if not source.exists():
                return f"upload-artifact {options['name']}: no files at {options['path']}"
            if source.is_dir():
                shutil.copytree(source, artifact)
            else:
                artifact.mkdir()
                shutil.copy(source, artifact)
        elif action == "actions/download-artifact":
            if options.get("name"):  # one artifact, by name: its files straight into path; missing fails
                if not (self.artifacts / options["name"]).is_dir():
                    return f"download-artifact: no artifact named {options['name']} in this run"
                shutil.copytree(self.artifacts / options["name"], workspace / options["path"], dirs_exist_ok=True)
            for artifact in sorted(self.artifacts.iterdir()) if options.get("pattern") else []:
                if fnmatch.fnmatch(artifact.name, options["pattern"]):
                    target = workspace / options["path"]
                    target = target if options.get("merge-multiple") else target / artifact.name
                    shutil.copytree(artifact, target, dirs_exist_ok=True)
        elif action == "actions/upload-pages-artifact":
            # no overwrite: a second artifact of one name in a run makes deploy-pages fail on it
            artifact = self.artifacts / options.get("name", "github-pages")
            assert not artifact.exists(), f"deploy-pages would fail: two artifacts named {artifact.name} in this run"
            assert (workspace / options["path"] / "index.html").exists()
            shutil.copytree(workspace / options["path"], artifact)
        elif action == "actions/deploy-pages":
            name = options.get("artifact_name", "github-pages")
            if not (self.artifacts / name / "index.html").exists():
                return f"deploy-pages: no artifact named {name} in this run"
            self.served_run = json.loads((self.artifacts / name / "deployed-run.json").read_text())["run_number"]
        return ""

    def _script(self, step: dict, job: dict, contexts: dict, workspace: Path) -> tuple[dict, str]:
        """Run a `run:` step; its outputs, and its output text if it failed ('' if not)."""
        workspace.mkdir(parents=True, exist_ok=True)  # a job without a checkout (deploy) has an empty one
        output, summary = workspace / ".github_output", workspace / ".step_summary"
        output.write_text("")
        summary.write_text("")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "ACT"))}
        for scope in (self.workflow.get("env", {}), job.get("env", {}), step.get("env", {})):
            env |= {k: _text(interpolate(v, contexts)) for k, v in scope.items()}
        env |= self._runner_env(output, summary)
        script = workspace / ".step.sh"
        script.write_text(step["run"])
        shell = ["bash", "--noprofile", "--norc", "-eo", "pipefail"] if step.get("shell") == "bash" else ["bash", "-e"]
        done = subprocess.run([*shell, str(script)], cwd=workspace, env=env, capture_output=True, text=True)
        error = ""
        if done.returncode != 0:
            error = f"step {step.get('name')!r} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        self.summaries[step.get("name", "")] = summary.read_text()
        self.logs[step.get("name", "")] = done.stdout + done.stderr
        return dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line), error

    def _gh(self) -> Path:
        """A folder holding the `gh` stand-in for this run."""
        folder = self.root / "bin"
        folder.mkdir(exist_ok=True)
        (folder / "gh").write_text(GH_STAND_IN)
        (folder / "gh").chmod(0o755)
        (folder / "gh.json").write_text(json.dumps(self.api))
        served = f"echo '{{\"run_number\": {self.served_run}}}'" if self.served_run else "exit 22"
        (folder / "curl").write_text(f'#!/bin/sh\ncase "$*" in *deployed-run.json*) {served};; esac\nexit 22\n')
        (folder / "curl").chmod(0o755)
        return folder

    def _runner_env(self, output: Path, summary: Path) -> dict[str, str]:
        """What GitHub's runner sets, git pointed at the local stand-in for GitHub, and `gh` answering
        from `self.api` (path -> what `--jq` would print; a path it lacks is a 404)."""
        pull = self.github["event"].get("pull_request")
        return {
            "PATH": f"{self._gh()}:{os.environ['PATH']}",
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_SHA": self.github["sha"],
            "GITHUB_REF_NAME": "main" if not pull else f"{pull['number']}/merge",
            "GITHUB_HEAD_REF": pull["head"]["ref"] if pull else "",
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"url.{self.remote.as_uri()}.insteadOf",
            "GIT_CONFIG_VALUE_0": f"https://x-access-token:{TOKEN}@github.com/{REPOSITORY}.git",
        }


GH_STAND_IN = """#!/usr/bin/env python3
import json, sys
api = json.load(open(sys.argv[0] + ".json"))
path = sys.argv[2].split("?")[0] if sys.argv[1] == "api" else ""
if path not in api:
    print("gh: Not Found (HTTP 404)", file=sys.stderr)
    sys.exit(1)
print(api[path])
"""


def _symlink_checkout(workspace: Path) -> None:
    """A fresh checkout of the suite for a job: the repository's files, linked; outputs are the job's own."""
    workspace.mkdir(parents=True)
    for entry in ROOT.iterdir():
        if entry.name not in OUTPUT_FOLDERS:
            (workspace / entry.name).symlink_to(entry)


def native_server(stack: ExitStack, matrix: dict, delay: float = 0.0) -> dict:
    """In place of a service container: the target's server launched here, on a fresh database, in a
    real cgroup of its own (found as container.sh finds a container's: `./run.sh cgroup PID`); with
    `delay`, behind a proxy that answers each request that many seconds late."""
    target = load_registry().targets[matrix.get("registry_target", matrix["target"])]
    ensure_environment(target)
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rehearsal-server-")))
    uri = target.server.sqlite_uri.format(path=folder / "t.db")
    server = stack.enter_context(launcher.launch(target, uri, folder, folder / "server.log"))
    group = stack.enter_context(cgroup_maker())()
    for process in [server.process, *server.process.children(recursive=True)]:
        group.add(process.pid)
    url = stack.enter_context(proxy(server.url, delay=delay)) if delay else server.url
    return {
        "id": "",
        "url": url,
        "digest": "native@sha256:0",
        "revision": "",
        "cgroup": str(cpu_cgroup(server.process.pid)),
    }


def rehearse(tmp: Path, remote: Path, number: int, event: str, **kwargs: object) -> Rehearsal:
    """One workflow run of `event`: plan, the bench jobs of the rehearsed target, record, report."""
    run = Rehearsal(event, tmp, remote, number, **kwargs)
    # what a pull request changes is this repository's last commit here, whatever it is: the
    # rehearsed one changes something measured (tests/test_workflows.py checks the step itself)
    run.job("plan", substitutes={"changes": lambda stack, matrix: {"measured": "true"}})
    run.needs["images"] = {"result": "success", "outputs": {}}  # docker builds cannot run here
    only = {"target": REHEARSED_TARGET, "suite": REHEARSED_SUITES}
    run.job("bench", substitutes={"server": native_server}, only=only)
    run.job("unsupported")
    run.job("record")
    run.job("report")
    return run


def comment(run: Rehearsal, pulls: list[dict], head_sha: str, artifact: bool = True) -> dict:
    """The pr-comment workflow's script on this run's comparison artifact (or none, as after a
    failed run), its API calls recorded."""
    workspace = run.root / f"pr-comment-{len(list(run.root.glob('pr-comment-*')))}"
    workspace.mkdir()
    if artifact:
        shutil.copytree(run.artifacts / "comparison", workspace / "comparison")
    harness = f"""
    const post = require({json.dumps(str(ROOT / ".github/scripts/pr-comment.js"))});
    const pulls = {json.dumps(pulls)};
    const calls = [];
    const github = {{
      paginate: async (method, params) => method(params),
      rest: {{
        pulls: {{ list: async (p) => {{ calls.push(['pulls.list', p]);
          return pulls.filter((x) => `${{x.head.repo.owner.login}}:${{x.head.ref}}` === p.head); }} }},
        issues: {{
          listComments: async (p) => {{ calls.push(['issues.listComments', p]); return []; }},
          createComment: async (p) => {{ calls.push(['issues.createComment', p]); }},
          updateComment: async (p) => {{ calls.push(['issues.updateComment', p]); }},
        }},
      }},
    }};
    const context = {{ repo: {{ owner: 'owner', repo: 'suite' }}, payload: {{ workflow_run: {{
      head_sha: {json.dumps(head_sha)}, head_branch: 'feature',
      head_repository: {{ owner: {{ login: 'contributor' }} }} }} }} }};
    const core = {{ notice: (m) => calls.push(['notice', m]) }};
    post({{ github, context, core, fs: require('fs') }}).then((number) =>
      console.log(JSON.stringify({{ number, calls }})));
    """
    done = subprocess.run(["node", "-e", harness], cwd=workspace, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _pull(number: int, sha: str) -> dict:
    return {"number": number, "head": {"sha": sha, "ref": "feature", "repo": {"owner": {"login": "contributor"}}}}


# --- the rehearsal ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory) -> dict[str, Rehearsal]:
    """Four workflow runs in a row: push, dispatch (at another profile), push, pull request. The
    repository's BENCHMARK_PROFILE variable sets its pushes and pull requests to smoke (each bench
    job takes seconds, not a minute); the dispatch asks for quick, and one suite."""
    if shutil.which("node") is None:
        pytest.fail("node is needed for the pull-request comment script (apt-get install nodejs)")
    tmp = tmp_path_factory.mktemp("rehearsal")
    remote = tmp / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    smoke = {"BENCHMARK_PROFILE": "smoke"}
    runs = {"push-1": rehearse(tmp, remote, 1, "push", vars=smoke)}
    dispatch = {"targets": REHEARSED_TARGET, "suites": "retrieval", "profile": "quick"}
    runs["dispatch"] = rehearse(tmp, remote, 2, "workflow_dispatch", inputs=dispatch, vars=smoke)
    runs["push-2"] = rehearse(tmp, remote, 3, "push", vars=smoke)
    pull = {"number": 7, "head": {"ref": "feature", "sha": "c" * 40}}
    runs["pr"] = rehearse(tmp, remote, 4, "pull_request", github={"event": {"pull_request": pull}}, vars=smoke)
    return runs


def _history(run: Rehearsal) -> list[dict]:
    """The records on the data branch after this run (read from the bare repository)."""
    clone = run.root / "history-check"
    subprocess.run(["git", "clone", "--quiet", "--branch", "benchmark-data", str(run.remote), str(clone)], check=True)
    return [json.loads(gzip.decompress(p.read_bytes())) for p in sorted(clone.glob("runs/*/*/*.json.gz"))]


def _run_id(run: Rehearsal) -> str:
    return run.needs["plan"]["outputs"]["run_id"]


def _comparison(run: Rehearsal) -> Comparison | None:
    path = run.artifacts / "comparison" / "comparison.json"
    return Comparison.read(path) if path.exists() else None


@pytest.mark.servers
def test_a_rerun_of_a_failed_bench_job_records_reports_and_deploys_again(tmp_path):
    """GitHub's "Re-run failed jobs": the failed pair and every job after it run again in the same
    workflow run (attempt 2), beside the artifacts of attempt 1; the site is deployed once more."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    run = Rehearsal("push", tmp_path, remote, 5, vars={"BENCHMARK_PROFILE": "smoke"})
    run.job("plan")
    run.needs["images"] = {"result": "success", "outputs": {}}
    dead = {"id": "", "url": "http://127.0.0.1:9", "digest": "native@sha256:0", "revision": "", "cgroup": ""}

    def retrieval_down(stack: ExitStack, matrix: dict) -> dict:
        return dead if matrix["suite"] == "retrieval" else native_server(stack, matrix)

    both = {"target": REHEARSED_TARGET, "suite": ("logging", "retrieval")}
    run.job("bench", substitutes={"server": retrieval_down}, only=both, may_fail=True)
    assert run.needs["bench"]["result"] == "failure"
    only = {"target": REHEARSED_TARGET, "suite": "retrieval"}
    for job in ("unsupported", "record", "report", "deploy"):
        run.job(job)
    assert run.served_run == 5 and (run.artifacts / "github-pages-1").is_dir()
    run.github["run_attempt"] = "2"  # the failed job and its dependents, again
    run.job("bench", substitutes={"server": native_server}, only=only)
    for job in ("record", "report", "deploy"):
        run.job(job)
    assert (run.artifacts / "github-pages-2" / "index.html").exists() and run.served_run == 5
    [record] = _history(run)
    mine = {p["suite"]: p["status"] for p in record["pairs"] if p["target"] == REHEARSED_TARGET}
    assert mine == {"logging": "ok", "retrieval": "ok"}  # the re-run pair replaced its failed attempt
    run.served_run = 6  # a newer run of main has deployed since: this run's site is not published
    run.job("deploy")
    assert run.served_run == 6 and run.logs["Publish only if no newer run of main has published"].startswith("run 6")


def test_the_repository_variables_set_pushes_and_pull_requests_never_the_nightly():
    plan = next(s for s in WORKFLOW["jobs"]["plan"]["steps"] if s.get("id") == "plan")
    small = {"BENCHMARK_TARGETS": "fasttrackml-sqlite", "BENCHMARK_SUITES": "logging", "BENCHMARK_PROFILE": "smoke"}
    for event, chosen in (
        ("push", ("fasttrackml-sqlite", "logging", "smoke")),
        ("pull_request", ("fasttrackml-sqlite", "logging", "smoke")),
        ("schedule", ("all", "all", "standard")),
    ):
        contexts = {"github": {"event_name": event}, "inputs": {}, "vars": small}
        assert tuple(interpolate(plan["env"][k], contexts) for k in ("TARGETS", "SUITES", "PROFILE")) == chosen, event
    unset = {"github": {"event_name": "push"}, "inputs": {}, "vars": {}}
    assert tuple(interpolate(plan["env"][k], unset) for k in ("TARGETS", "SUITES", "PROFILE")) == (
        "all",
        "all",
        "quick",
    )
    asked = {"github": {"event_name": "workflow_dispatch"}, "inputs": {"profile": "standard"}, "vars": small}
    assert interpolate(plan["env"]["PROFILE"], asked) == "standard"


@pytest.mark.servers
def test_a_workflow_run_is_one_history_record_holding_every_pair(rehearsed):
    push = rehearsed["push-1"]
    planned = json.loads(push.needs["plan"]["outputs"]["matrix"])["include"]
    assert len({(j["target"], j["suite"]) for j in planned}) == len(planned) >= 8
    artifacts = sorted(p.name for p in push.artifacts.glob("bench-*"))
    assert artifacts == [
        f"bench-{REHEARSED_TARGET}-logging",
        f"bench-{REHEARSED_TARGET}-retrieval",
        "bench-unsupported",
    ]
    records = _history(rehearsed["push-2"])
    run_ids = [r["run_id"] for r in records]
    assert len(records) == 3 and len(set(run_ids)) == 3  # push, dispatch, push: the pull request records nothing
    first = records[0]
    assert first["run_id"] == _run_id(push) and first["run_id"].endswith("-gh1001.1")
    unsupported = {(t.id, s) for t in load_registry().default_targets for s in suites() if t.unsupported(s)}
    assert {(p["target"], p["suite"]) for p in first["pairs"]} == {
        (REHEARSED_TARGET, "logging"),
        (REHEARSED_TARGET, "retrieval"),
    } | unsupported  # unsupported pairs ran no job: their records come from the registry
    measured = [p for p in first["pairs"] if p["status"] == "ok"]
    assert len(measured) == 2 and all(p["provenance"] == {"server_image": "native@sha256:0"} for p in measured)
    assert all(p["server_cpu_seconds"] > 0 and p["server_rss_peak_mib"] > 0 for p in measured)  # its real cgroup
    assert all(p["status"] == "unsupported" and p["error"] for p in first["pairs"] if p not in measured)
    run_page = next((push.root / "report-0" / "site" / "runs").glob(f"{first['run_id']}*.html")).read_text()
    assert "server_image" in run_page and "native@sha256:0" in run_page
    assert len(_history(rehearsed["pr"])) == 3


@pytest.mark.servers
def test_the_baseline_is_the_previous_main_run_of_the_same_profile_never_itself(rehearsed):
    first, dispatch, second = (
        rehearsed[k].needs["plan"]["outputs"]["run_id"] for k in ("push-1", "dispatch", "push-2")
    )
    assert _comparison(rehearsed["push-1"]) is None  # nothing to compare with yet, and not with itself
    assert (
        "no complete run of main with profile smoke"
        in rehearsed["push-1"].summaries["Compare with the baseline run of main"]
    )
    assert _comparison(rehearsed["dispatch"]) is None  # the only earlier run is of another profile
    compared = _comparison(rehearsed["push-2"])
    assert compared.baseline == f"latest:main (run {first})" and second not in compared.baseline
    assert dispatch not in compared.baseline
    assert _comparison(rehearsed["pr"]).baseline == f"latest:main (run {second})"


@pytest.mark.servers
def test_the_comment_goes_to_the_pull_request_of_the_event(rehearsed):
    head = "c" * 40
    posted = comment(rehearsed["pr"], [_pull(9, "d" * 40), _pull(7, head)], head)
    assert posted["number"] == 7
    created = [c for c in posted["calls"] if c[0] == "issues.createComment"]
    assert len(created) == 1 and created[0][1]["issue_number"] == 7
    assert "## Benchmark comparison" in created[0][1]["body"]
    stale = comment(rehearsed["pr"], [_pull(7, "e" * 40)], head)  # the PR moved on since: no comment
    assert stale["number"] is None and not [c for c in stale["calls"] if c[0].startswith("issues.")]
    failed = comment(rehearsed["pr"], [_pull(7, head)], head, artifact=False)  # the run left no comparison
    assert (
        failed["number"] is None
        and ["notice", "the benchmark run left no comparison: nothing to comment"] in failed["calls"]
    )


@pytest.mark.servers
def test_only_runs_of_main_write_history_and_pages(rehearsed):
    assert rehearsed["pr"].needs["record"]["result"] == "skipped"
    assert rehearsed["push-1"].needs["record"]["result"] == "success"
    assert rehearsed["push-1"].needs["plan"]["outputs"]["pages"] == "true"
    assert rehearsed["pr"].needs["plan"]["outputs"]["pages"] == "false"
    deploy = WORKFLOW["jobs"]["deploy"]
    for name, deploys in (("push-1", True), ("pr", False)):
        run = rehearsed[name]
        assert condition(deploy, run.contexts(needs={**run.needs, "report": {"result": "success"}})) == deploys


@pytest.mark.process
def test_a_fork_without_pages_set_is_told_in_one_line_and_does_not_deploy(tmp_path):
    run = Rehearsal("push", tmp_path, tmp_path / "remote.git", 1, api={})  # GET .../pages: 404
    plan = run.job("plan")[0]
    assert plan["pages"] == "false"
    warning = (
        "::warning::the site is not deployed: set Settings > Pages > Source to 'GitHub Actions' once (see docs/ci.md)"
    )
    assert (
        warning in run.summaries.get("Plan the run from the registry", "") + run.logs["Plan the run from the registry"]
    )
    assert not condition(WORKFLOW["jobs"]["deploy"], run.contexts(needs={**run.needs, "report": {"result": "success"}}))


def test_a_dispatch_from_another_branch_is_not_recorded(tmp_path):
    run = Rehearsal("workflow_dispatch", tmp_path, tmp_path / "remote.git", 1, github={"ref": "refs/heads/try"})
    run.needs = {"plan": {"result": "success", "outputs": {}}, "bench": {"result": "success"}}
    assert not condition(WORKFLOW["jobs"]["record"], run.contexts())


@pytest.mark.process
def test_a_call_checks_out_the_suite_and_plans_the_ab_jobs(tmp_path):
    caller = {"repository": "fasttrackml/fasttrackml", "event_name": "pull_request", "ref": "refs/pull/5/merge"}
    inputs = {
        "suite_repository": REPOSITORY,
        "suite_ref": "v2",
        "candidate_image": "ghcr.io/fasttrackml/fasttrackml:pr-5",
        "baseline_image": "gresearch/fasttrackml:0.6.0",
    }
    run = Rehearsal(
        "pull_request", tmp_path, tmp_path / "remote.git", 1, inputs=inputs, github=caller, workflow=AB_WORKFLOW
    )
    plan = run.job("plan")[0]
    assert run.checkouts == [{"repository": REPOSITORY, "ref": "v2", "persist-credentials": False}]
    ab_jobs = json.loads(plan["ab_matrix"])["include"]
    assert {(j["target"], j["suite"]) for j in ab_jobs} == {
        (t, s) for t in ("fasttrackml-sqlite", "fasttrackml-postgres") for s in ("logging", "retrieval")
    }
    services = AB_WORKFLOW["jobs"]["ab"]["services"]
    contexts = run.contexts(matrix=next(j for j in ab_jobs if j["database"] == "postgres"))
    assert interpolate(services["candidate"]["image"], contexts) == inputs["candidate_image"]
    assert (
        interpolate(services["candidate"]["credentials"]["username"], contexts) == "someone"
    )  # ghcr: the caller's token
    assert interpolate(services["baseline"]["credentials"]["username"], contexts) == ""  # Docker Hub: no ghcr login
    assert interpolate(services["postgres-b"]["image"], contexts) == "postgres:18"
    # a side given as the caller's binary has no container, and no PostgreSQL container either
    run.inputs |= {"baseline_image": "", "baseline_artifact": "fml-baseline"}
    assert interpolate(services["baseline"]["image"], contexts) == ""
    assert interpolate(services["postgres"]["image"], contexts) == ""
    one_side = Rehearsal("pull_request", tmp_path, tmp_path / "remote.git", 2, workflow=AB_WORKFLOW,
                         inputs={"suite_repository": REPOSITORY, "candidate_image": "x"}, github=caller)  # fmt: skip
    with pytest.raises(AssertionError, match="::error::name both sides: baseline_image or baseline_artifact"):
        one_side.job("plan")


@pytest.mark.process
def test_the_plan_step_fails_with_the_commands_one_line_error(tmp_path):
    remote = tmp_path / "remote.git"
    run = Rehearsal("workflow_dispatch", tmp_path, remote, 1, inputs={"targets": "oracle-sqlite"})
    with pytest.raises(AssertionError, match="error: --targets: unknown target oracle-sqlite; valid: "):
        run.job("plan")


@pytest.mark.process
def test_the_nightly_pairs_fasttrackml_main_with_its_latest_release(tmp_path):
    run = Rehearsal("schedule", tmp_path, tmp_path / "remote.git", 1)
    plan = run.job("plan")[0]
    assert plan["profile"] == "standard" and json.loads(plan["matrix"])["include"]
    nightly = WORKFLOW["jobs"]["nightly"]
    assert nightly["uses"].startswith("./.github/workflows/ab.yml") and condition(nightly, run.contexts())
    given = {key: interpolate(value, run.contexts()) for key, value in nightly["with"].items()}
    release = load_registry().targets["fasttrackml-sqlite"].version
    assert given["baseline_image"] == f"gresearch/fasttrackml:{release}"
    assert given["candidate_image"] == "gresearch/fasttrackml:main"
    assert given["suite_repository"] == REPOSITORY and given["suite_ref"] == run.github["sha"]


# --- the pull request's A/B and its gate (ab.yml), and the nightly's alert ---------------------------

PULL = {"number": 5, "head": {"ref": "feature", "sha": "b" * 40, "repo": {"full_name": "fasttrackml/fasttrackml"}}}
CALLER = {"repository": "fasttrackml/fasttrackml", "event_name": "pull_request", "event": {"pull_request": PULL}}


def _node(script: str, cwd: Path) -> dict:
    done = subprocess.run(["node", "-e", script], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


RECORDING_CLIENT = """
const calls = [];
const store = JSON.parse(process.env.EXISTING || '[]');
const github = {
  paginate: async (method, params) => method(params),
  rest: { issues: {
    listComments: async (p) => { calls.push(['issues.listComments', p]); return store; },
    listForRepo: async (p) => { calls.push(['issues.listForRepo', p]); return store; },
    createComment: async (p) => { calls.push(['issues.createComment', p]); },
    updateComment: async (p) => { calls.push(['issues.updateComment', p]); },
    create: async (p) => { calls.push(['issues.create', p]); return { data: { number: 77 } }; },
    update: async (p) => { calls.push(['issues.update', p]); },
    addLabels: async (p) => {
      calls.push(['issues.addLabels', p]);
      if (process.env.LABELS_REFUSED) throw new Error('Resource not accessible by integration');
    },
  } },
};
const context = { repo: { owner: 'owner', repo: 'repo' }, issue: { number: 5 } };
const core = { notice: (m) => calls.push(['notice', m]), warning: (m) => calls.push(['warning', m]) };
"""


def _post_documented_comment(workspace: Path, existing: list[dict]) -> list:
    """The comment job of the caller in docs/ci.md, its github-script run in node with a recording client."""
    from tests.test_workflows import _documented_caller

    steps = _documented_caller()["jobs"]["comment"]["steps"]
    script = next(s["with"]["script"] for s in steps if s.get("uses", "").startswith("actions/github-script@"))
    harness = (
        f"{RECORDING_CLIENT}\n(async () => {{ {script} }})().then(() => console.log(JSON.stringify({{ calls }})));"
    )
    done = subprocess.run(["node", "-e", harness], cwd=workspace, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "EXISTING": json.dumps(existing)})  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["calls"]


@pytest.mark.servers
@pytest.mark.timing
def test_the_gate_fails_a_confirmed_regression_then_passes_it_acknowledged(tmp_path):
    """ab.yml as a FastTrackML pull request calls it: the baseline is the caller's binary (an artifact
    of the run), the candidate a 'container' (a native server in a real cgroup) behind a proxy that
    answers 30 ms late: a regression the A/B calls twice, so the gate fails the check; with the
    acknowledgement it passes and says so; the caller's comment job posts the short comment."""
    target = load_registry().targets["fasttrackml-sqlite"]
    ensure_environment(target)
    inputs = {
        "suite_repository": REPOSITORY,
        "baseline_artifact": "fml-baseline",
        "candidate_image": "ghcr.io/fasttrackml/fasttrackml:pr-5",
        "baseline_commit": "a" * 40,
        "candidate_commit": "b" * 40,
        "targets": "fasttrackml-sqlite",
        "suites": "retrieval",
        "rounds": 3,
        "round_seconds": 1,
    }
    run = Rehearsal(
        "pull_request", tmp_path, tmp_path / "remote.git", 1, inputs=inputs, github=CALLER, workflow=AB_WORKFLOW
    )
    build = run.artifacts / "fml-baseline"  # what the caller's build job uploaded (artifacts keep no exec bit)
    build.mkdir()
    shutil.copy(server_executable(target), build / "fml")
    (build / "fml").chmod(0o644)
    run.job("plan")
    run.job("ab", substitutes={"candidate": lambda stack, matrix: native_server(stack, matrix, delay=0.03)})

    folder = run.artifacts / "ab-fasttrackml-sqlite-retrieval" / "fasttrackml-sqlite-retrieval"
    meta = ABMetadata.read(folder / "ab.json")
    assert meta.baseline.mode == "local build" and meta.candidate.mode == "external"
    assert meta.provenance["baseline_revision"] == "a" * 40 and meta.provenance["candidate_image"] == "native@sha256:0"
    compared = Comparison.read(folder / "comparison.json")
    assert compared.confirmation and (folder / "confirmation" / "comparison.json").exists()
    assert compared.regressions and all(r.confirmed for r in compared.regressions)
    assert compared.resources[0].cpu_a > 0 and compared.resources[0].cpu_b > 0  # tree and cgroup metered

    run.job("gate", may_fail=True)
    assert run.needs["gate"]["result"] == "failure" and run.needs["gate"]["outputs"]["outcome"] == "regression"
    comment_md = (run.artifacts / "benchmark-verdict" / "comment.md").read_text()
    assert "### Performance: 🔴 regression" in comment_md and "(confirmed)" in comment_md
    assert "`aaaaaaaaaaaa` (baseline) → `bbbbbbbbbbbb` (candidate)" in comment_md
    assert "[Full comparison](https://github.com/fasttrackml/fasttrackml/actions/runs/1001)" in comment_md
    assert comment_md in run.summaries["Show the verdict in the job summary"]

    run.inputs["acknowledge"] = "the pull request is labelled performance-expected"
    run.job("gate")  # the same run's gate again: its artifact is replaced, as on a re-run
    assert run.needs["gate"]["outputs"]["outcome"] == "acknowledged"
    acknowledged = (run.artifacts / "benchmark-verdict" / "comment.md").read_text()
    assert "acknowledged: the pull request is labelled performance-expected" in acknowledged

    workspace = tmp_path / "comment-job"
    shutil.copytree(run.artifacts / "benchmark-verdict", workspace / "verdict")
    first = _post_documented_comment(workspace, existing=[])
    assert [c[0] for c in first] == ["issues.listComments", "issues.createComment"]
    assert first[1][1]["issue_number"] == 5 and first[1][1]["body"] == acknowledged
    again = _post_documented_comment(workspace, existing=[{"id": 9, "body": acknowledged}])
    assert [c[0] for c in again] == ["issues.listComments", "issues.updateComment"] and again[1][1]["comment_id"] == 9


@pytest.mark.process
def test_the_nightly_opens_one_issue_on_a_regression_naming_the_commit_range(tmp_path):
    from analysis import gate as gate_module
    from report import comparisons
    from tests.test_gate import FIRST, SECOND

    verdict = tmp_path / "verdict"
    verdict.mkdir()
    regression = gate_module.judge(
        [gate_module.confirm(FIRST, SECOND, "x")], baseline_commit="1" * 40, candidate_commit="2" * 40
    )
    regression.write(verdict / "gate.json")
    (verdict / "comment.md").write_text(comparisons.comment(regression))
    script = ROOT / ".github" / "scripts" / "nightly-issue.js"
    call = f"""{RECORDING_CLIENT}
    require({json.dumps(str(script))})({{ github, context, core, fs: require('fs'), runUrl: 'https://run/1' }})
      .then((number) => console.log(JSON.stringify({{ number, calls }})));"""
    opened = _node(call, tmp_path)
    created = [c for c in opened["calls"] if c[0] == "issues.create"]
    assert opened["number"] == 77 and len(created) == 1 and "labels" not in created[0][1]  # see the script
    labelled = [c[1] for c in opened["calls"] if c[0] == "issues.addLabels"]
    assert labelled == [{"owner": "owner", "repo": "repo", "issue_number": 77, "labels": ["performance-regression"]}]
    body = created[0][1]["body"]
    range_link = f"https://github.com/G-Research/fasttrackml/compare/{'1' * 40}...{'2' * 40}"
    assert f"[`111111111111...222222222222`]({range_link})" in body and "Run: https://run/1" in body
    title = created[0][1]["title"]
    # found by its title, among every open issue: its label may have been dropped when it was opened
    listed = next(c for c in opened["calls"] if c[0] == "issues.listForRepo")[1]
    assert "labels" not in listed and listed["state"] == "open"
    existing = json.dumps([{"number": 3, "title": "another issue"}, {"number": 12, "title": title, "labels": []}])
    updated = subprocess.run(
        ["node", "-e", call], cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "EXISTING": existing}
    )
    calls = json.loads(updated.stdout)["calls"]
    assert [c[0] for c in calls] == ["issues.listForRepo", "issues.update"] and calls[1][1]["issue_number"] == 12
    refused = subprocess.run(
        ["node", "-e", call], cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "LABELS_REFUSED": "1"}
    )
    kept = json.loads(refused.stdout)  # a label the token may not set costs a warning, never the alert
    assert kept["number"] == 77 and kept["calls"][-1][0] == "warning" and "without its label" in kept["calls"][-1][1]
    gate_module.judge([SECOND], "expected").write(verdict / "gate.json")  # acknowledged: no issue
    quiet = _node(call, tmp_path)
    assert quiet["number"] is None and not [c for c in quiet["calls"] if c[0].startswith("issues.")]
    shutil.rmtree(verdict)  # the A/B never ran: no verdict to download, and the alert does not fail
    absent = _node(call, tmp_path)
    assert absent["number"] is None and [c[0] for c in absent["calls"]] == ["warning"]
    alert = WORKFLOW["jobs"]["alert"]["steps"]
    assert next(s for s in alert if s.get("uses", "").startswith("actions/download-artifact@"))["continue-on-error"]


@pytest.mark.process
def test_the_comment_from_a_pull_requests_run_notifies_no_one(tmp_path):
    """The comparison is the pull request's own output: an @name in it is broken before it is posted."""
    from types import SimpleNamespace

    run = SimpleNamespace(root=tmp_path, artifacts=tmp_path / "artifacts")
    (run.artifacts / "comparison").mkdir(parents=True)
    (run.artifacts / "comparison" / "comparison.md").write_text("## Benchmark comparison\ncc @maintainer, @org/team\n")
    head = "c" * 40
    posted = comment(run, [_pull(7, head)], head)
    body = next(c for c in posted["calls"] if c[0] == "issues.createComment")[1]["body"]
    assert "@maintainer" not in body and "@\u200bmaintainer" in body and "@\u200borg/team" in body
