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

from core.records import Comparison
from services import launcher
from services.environments import ensure_environment
from services.registry import load_registry
from tests.conftest import ROOT

WORKFLOW = yaml.safe_load((ROOT / ".github/workflows/benchmark.yml").read_text())
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
    "cancelled": lambda: False,
    "success": lambda: True,
    "always": lambda: True,
    "failure": lambda: False,
}


def evaluate(expression: str, contexts: dict) -> object:
    """A GitHub Actions expression, the subset these workflows use, evaluated in Python: a property
    that does not exist is null, `&&` and `||` return an operand, as on GitHub."""
    python = []
    for literal, operator, name, number in TOKENS.findall(expression.strip()):
        if literal:
            python.append(repr(literal[1:-1].replace("''", "'")))
        elif operator:
            python.append({"&&": " and ", "||": " or ", "!": " not "}.get(operator, operator))
        elif name in FUNCTIONS:
            python.append(f"_f[{name!r}]")
        elif name in ("true", "false", "null"):
            python.append({"true": "True", "false": "False", "null": "None"}[name])
        elif name:
            python.append(f"_get({name!r})")
        else:
            python.append(number)
    return eval("".join(python), {"_f": FUNCTIONS, "_get": lambda path: _lookup(contexts, path)})  # noqa: S307


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
    text = step_or_job.get("if")
    if text is None:
        return True
    text = str(text).strip()
    text = text[3:-2] if text.startswith("${{") else text
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
    needs: dict = field(default_factory=dict)
    checkouts: list[dict] = field(default_factory=list)
    summaries: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = self.tmp / f"run-{self.run_number}"
        self.artifacts = self.root / "artifacts"
        self.artifacts.mkdir(parents=True)
        self.github = {
            "event_name": self.event,
            "repository": REPOSITORY,
            "run_id": str(1000 + self.run_number),
            "run_attempt": "1",
            "token": TOKEN,
            "actor": "someone",
            "server_url": "https://github.com",
            "ref": "refs/heads/main",
            "sha": f"{self.run_number:040x}",
            "event": {},
        } | self.github

    def contexts(self, **more: object) -> dict:
        return {"github": self.github, "inputs": self.inputs, "needs": self.needs, "env": WORKFLOW["env"]} | more

    def job(self, name: str, substitutes: dict | None = None, only: dict | None = None) -> list[dict]:
        """Run job `name` (each matrix entry whose values are those of `only`, or among them when a
        tuple); returns each run's outputs, records its result in `needs`."""
        job = WORKFLOW["jobs"][name]
        if not condition(job, self.contexts()):
            self.needs[name] = {"result": "skipped", "outputs": {}}
            return []
        entries = [{}]
        if "strategy" in job:
            entries = interpolate(job["strategy"]["matrix"], self.contexts())["include"]
            wanted = {k: v if isinstance(v, tuple) else (v,) for k, v in (only or {}).items()}
            entries = [e for e in entries if all(e.get(k) in v for k, v in wanted.items())]
        outputs = [self._run_job(name, job, entry, substitutes or {}) for entry in entries]
        self.needs[name] = {"result": "success", "outputs": outputs[0] if outputs else {}}
        return outputs

    def _run_job(self, name: str, job: dict, matrix: dict, substitutes: dict) -> dict:
        workspace = self.root / f"{name}-{len(list(self.root.glob(name + '-*')))}"
        steps: dict[str, dict] = {}
        with ExitStack() as stack:
            for step in job["steps"]:
                contexts = self.contexts(matrix=matrix, steps=steps)
                if not condition(step, contexts):
                    continue
                if "uses" in step:
                    self._action(step, contexts, workspace)
                elif step.get("id") in substitutes:
                    steps[step["id"]] = {"outputs": substitutes[step["id"]](stack, matrix)}
                else:
                    outputs = self._script(step, job, contexts, workspace)
                    if "id" in step:
                        steps[step["id"]] = {"outputs": outputs}
        contexts = self.contexts(matrix=matrix, steps=steps)
        return {key: _text(interpolate(value, contexts)) for key, value in job.get("outputs", {}).items()}

    def _action(self, step: dict, contexts: dict, workspace: Path) -> None:
        action = step["uses"].split("@")[0]
        options = {k: interpolate(v, contexts) for k, v in step.get("with", {}).items()}
        if action == "actions/checkout":
            self.checkouts.append(options)
            _symlink_checkout(workspace)
        elif action == "actions/upload-artifact":
            shutil.copytree(workspace / options["path"], self.artifacts / options["name"], dirs_exist_ok=True)
        elif action == "actions/download-artifact":
            for artifact in sorted(self.artifacts.iterdir()):
                if fnmatch.fnmatch(artifact.name, options.get("pattern") or options.get("name")):
                    target = workspace / options["path"]
                    target = target if options.get("merge-multiple") else target / artifact.name
                    shutil.copytree(artifact, target, dirs_exist_ok=True)
        elif action == "actions/upload-pages-artifact":
            assert (workspace / options["path"] / "index.html").exists()

    def _script(self, step: dict, job: dict, contexts: dict, workspace: Path) -> dict:
        output, summary = workspace / ".github_output", workspace / ".step_summary"
        output.write_text("")
        summary.write_text("")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "ACT"))}
        for scope in (WORKFLOW.get("env", {}), job.get("env", {}), step.get("env", {})):
            env |= {k: _text(interpolate(v, contexts)) for k, v in scope.items()}
        env |= self._runner_env(output, summary)
        script = workspace / ".step.sh"
        script.write_text(step["run"])
        shell = ["bash", "--noprofile", "--norc", "-eo", "pipefail"] if step.get("shell") == "bash" else ["bash", "-e"]
        done = subprocess.run([*shell, str(script)], cwd=workspace, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"step {step.get('name')!r} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        self.summaries[step.get("name", "")] = summary.read_text()
        return dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)

    def _runner_env(self, output: Path, summary: Path) -> dict[str, str]:
        """What GitHub's runner sets, and git pointed at the local stand-in for GitHub."""
        pull = self.github["event"].get("pull_request")
        return {
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_SHA": self.github["sha"],
            "GITHUB_REF_NAME": "main" if not pull else f"{pull['number']}/merge",
            "GITHUB_HEAD_REF": pull["head"]["ref"] if pull else "",
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"url.{self.remote.as_uri()}.insteadOf",
            "GIT_CONFIG_VALUE_0": f"https://x-access-token:{TOKEN}@github.com/{REPOSITORY}.git",
        }


def _symlink_checkout(workspace: Path) -> None:
    """A fresh checkout of the suite for a job: the repository's files, linked; outputs are the job's own."""
    workspace.mkdir(parents=True)
    for entry in ROOT.iterdir():
        if entry.name not in OUTPUT_FOLDERS:
            (workspace / entry.name).symlink_to(entry)


def native_server(stack: ExitStack, matrix: dict) -> dict:
    """In place of a service container: the target's server launched here, on a fresh database."""
    target = load_registry().targets[matrix["registry_target"]]
    ensure_environment(target)
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rehearsal-server-")))
    uri = target.server.sqlite_uri.format(path=folder / "t.db")
    server = stack.enter_context(launcher.launch(target, uri, folder, folder / "server.log"))
    return {"id": "", "url": server.url, "digest": "native@sha256:0", "revision": ""}


def rehearse(tmp: Path, remote: Path, number: int, event: str, **kwargs: object) -> Rehearsal:
    """One workflow run of `event`: plan, the bench jobs of the rehearsed target, record, report."""
    run = Rehearsal(event, tmp, remote, number, **kwargs)
    run.job("plan")
    run.needs["images"] = {"result": "success", "outputs": {}}  # docker builds cannot run here
    only = {"target": REHEARSED_TARGET, "suite": REHEARSED_SUITES}
    run.job("bench", substitutes={"server": native_server}, only=only)
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
    """Four workflow runs in a row: push (quick), dispatch (smoke), push (quick), pull request."""
    if shutil.which("node") is None:
        pytest.fail("node is needed for the pull-request comment script (apt-get install nodejs)")
    tmp = tmp_path_factory.mktemp("rehearsal")
    remote = tmp / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    runs = {"push-1": rehearse(tmp, remote, 1, "push")}
    dispatch = {"targets": REHEARSED_TARGET, "suites": "all", "profile": "smoke"}
    runs["dispatch"] = rehearse(tmp, remote, 2, "workflow_dispatch", inputs=dispatch)
    runs["push-2"] = rehearse(tmp, remote, 3, "push")
    pull = {"number": 7, "head": {"ref": "feature", "sha": "c" * 40}}
    runs["pr"] = rehearse(tmp, remote, 4, "pull_request", github={"event": {"pull_request": pull}})
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
def test_a_workflow_run_is_one_history_record_holding_every_pair(rehearsed):
    push = rehearsed["push-1"]
    planned = json.loads(push.needs["plan"]["outputs"]["matrix"])["include"]
    assert len({(j["target"], j["suite"]) for j in planned}) == len(planned) >= 8
    artifacts = sorted(p.name for p in push.artifacts.glob("bench-*"))
    assert artifacts == [f"bench-{REHEARSED_TARGET}-logging", f"bench-{REHEARSED_TARGET}-retrieval"]
    records = _history(rehearsed["push-2"])
    run_ids = [r["run_id"] for r in records]
    assert len(records) == 3 and len(set(run_ids)) == 3  # push, dispatch, push: the pull request records nothing
    first = records[0]
    assert first["run_id"] == _run_id(push) and first["run_id"].endswith("-gh1001.1")
    assert {(p["target"], p["suite"]) for p in first["pairs"]} == {
        (REHEARSED_TARGET, "logging"),
        (REHEARSED_TARGET, "retrieval"),
    }
    assert all(p["provenance"] == {"server_image": "native@sha256:0"} for p in first["pairs"])
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
        "no complete run of main with profile quick"
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
def test_only_the_suites_own_trusted_runs_write_history_and_pages(rehearsed):
    assert rehearsed["pr"].needs["record"]["result"] == "skipped"
    assert rehearsed["push-1"].needs["record"]["result"] == "success"
    deploy = WORKFLOW["jobs"]["deploy"]
    assert condition(
        deploy,
        rehearsed["push-1"].contexts() | {"needs": {**rehearsed["push-1"].needs, "report": {"result": "success"}}},
    )
    assert not condition(
        deploy, rehearsed["pr"].contexts() | {"needs": {**rehearsed["pr"].needs, "report": {"result": "success"}}}
    )


def test_a_call_from_another_repository_checks_out_this_suite_and_writes_nothing(tmp_path):
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    caller = {"repository": "fasttrackml/fasttrackml", "event_name": "pull_request", "ref": "refs/pull/5/merge"}
    inputs = {
        "suite_repository": REPOSITORY,
        "suite_ref": "v2",
        "candidate_image": "ghcr.io/fasttrackml/fasttrackml:pr-5",
        "baseline_image": "gresearch/fasttrackml:main",
        "suites": "all",
    }
    run = Rehearsal("pull_request", tmp_path, remote, 1, inputs=inputs, github=caller)
    plan = run.job("plan")[0]
    assert run.checkouts == [{"repository": REPOSITORY, "ref": "v2", "persist-credentials": False}]
    assert plan["own"] == "false" and json.loads(plan["matrix"]) == {"include": []}
    ab_jobs = json.loads(plan["ab_matrix"])["include"]
    assert {(j["target"], j["suite"]) for j in ab_jobs} == {
        (t, s) for t in ("fasttrackml-sqlite", "fasttrackml-postgres") for s in ("logging", "retrieval")
    }
    assert plan["candidate_image"] == inputs["candidate_image"] and plan["baseline_image"] == inputs["baseline_image"]
    for name in ("images", "bench"):
        assert not condition(WORKFLOW["jobs"][name], run.contexts()), name
    run.needs |= {"bench": {"result": "skipped"}, "report": {"result": "success"}}
    for name in ("record", "report", "deploy"):
        assert not condition(WORKFLOW["jobs"][name], run.contexts()), name
    assert condition(WORKFLOW["jobs"]["ab"], run.contexts())
    services = WORKFLOW["jobs"]["ab"]["services"]
    contexts = run.contexts(matrix=ab_jobs[0])
    assert interpolate(services["candidate"]["image"], contexts) == inputs["candidate_image"]
    assert interpolate(services["baseline"]["image"], contexts) == inputs["baseline_image"]


def test_the_plan_step_fails_with_the_commands_one_line_error(tmp_path):
    remote = tmp_path / "remote.git"
    run = Rehearsal("workflow_dispatch", tmp_path, remote, 1, inputs={"targets": "oracle-sqlite"})
    with pytest.raises(AssertionError, match="error: --targets: unknown target oracle-sqlite; valid: "):
        run.job("plan")


def test_the_nightly_pairs_fasttrackml_main_with_its_latest_release(tmp_path):
    run = Rehearsal("schedule", tmp_path, tmp_path / "remote.git", 1)
    plan = run.job("plan")[0]
    assert plan["profile"] == "standard" and json.loads(plan["matrix"])["include"]
    ab_jobs = json.loads(plan["ab_matrix"])["include"]
    services = WORKFLOW["jobs"]["ab"]["services"]
    release = load_registry().targets["fasttrackml-sqlite"].version
    for job in ab_jobs:
        contexts = run.contexts(matrix=job)
        assert interpolate(services["candidate"]["image"], contexts) == "gresearch/fasttrackml:main"
        assert interpolate(services["baseline"]["image"], contexts) == f"gresearch/fasttrackml:{release}"
