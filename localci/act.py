"""The act command line that runs the workflows on the private daemon, as GitHub would run them.

- every `uses: actions/NAME@SHA` of the workflows (and of the stand-ins themselves) maps to the
  stand-in `.github/act/actions/NAME` (`--local-repository`); an action without one is an error;
- `runs-on: ubuntu-24.04` is the runner image built here (`-P`), and no image is pulled;
- the job containers see the host's processes and cgroups (`--pid=host`, `/sys/fs/cgroup`), as a
  GitHub runner sees its service containers, so a bench job meters its server's container;
- each job container mounts the run's folder at /act: `artifacts/` (what upload-artifact stores),
  `pages/` (what deploy-pages publishes) and `github-api.jsonl` (github-script's calls); the
  git folder of the repository, read only, at /act-repository.git (what checkout checks out: the
  commit, not the working tree); and the history's bare repository at /act-history.git, which the workflow's
  `BENCHMARK_HISTORY_REMOTE` variable names, so `record` pushes to it and `report` reads it.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from core.errors import SetupFailed
from core.paths import ROOT
from localci.dockerd import Daemon
from localci.images import RUNNER_IMAGE

WORKFLOWS_DIR = ROOT / ".github" / "workflows"
ACTIONS_DIR = ROOT / ".github" / "act" / "actions"
CALLERS_DIR = ROOT / ".github" / "act" / "workflows"  # callers of the reusable workflows
RUNS_ON = ("ubuntu-24.04", "ubuntu-latest")
LOCAL_REPOSITORY = "local/benchmark"  # github.repository when the clone's origin is not on GitHub
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(actions/[\w.-]+)@([0-9a-f]{40})", re.MULTILINE)


@dataclass(frozen=True)
class ActRun:
    """The folders of one act run, as the job containers mount them."""

    folder: Path  # artifacts/, pages/, github-api.jsonl
    history: Path  # a bare git repository: the data branch's remote

    @property
    def artifacts(self) -> Path:
        return self.folder / "artifacts"

    @property
    def pages(self) -> Path:
        return self.folder / "pages"

    @property
    def github_api(self) -> Path:
        return self.folder / "github-api.jsonl"

    def prepare(self) -> None:
        self.artifacts.mkdir(parents=True, exist_ok=True)
        self.pages.mkdir(exist_ok=True)
        self.github_api.touch()
        if not (self.history / "HEAD").exists():
            subprocess.run(["git", "init", "--quiet", "--bare", str(self.history)], check=True)


def stand_ins(workflows: list[Path]) -> list[str]:
    """`--local-repository` values: each action the workflows and the stand-ins use, to its stand-in."""
    sources = [*workflows, *ACTIONS_DIR.glob("*/action.yml"), *CALLERS_DIR.glob("*.yml")]
    mapping: dict[str, str] = {}
    for source in sources:
        for action, sha in USES.findall(source.read_text()):
            folder = ACTIONS_DIR / action.split("/", 1)[1]
            if not (folder / "action.yml").exists():
                raise SetupFailed(
                    f"{source.relative_to(ROOT)}: {action} has no stand-in under act (add {folder}/action.yml)"
                )
            mapping[f"{action}@{sha}"] = str(folder)
    return [f"{use}={folder}" for use, folder in sorted(mapping.items())]


def command(
    event: str, workflow: Path, run: ActRun, daemon: Daemon, *, worktree: bool = False, extra: tuple[str, ...] = ()
) -> list[str]:
    """The act command for `event` of `workflow` (and the workflows it calls); `worktree` checks out
    the working tree (act's own copy) instead of the commit."""
    workflows = sorted(WORKFLOWS_DIR.glob("*.yml"))
    mounts = (
        f"--pid=host -v /sys/fs/cgroup:/sys/fs/cgroup:ro -v {run.folder}:/act "
        f"-v {_git_dir()}:/act-repository.git:ro -v {run.history}:/act-history.git"
    )
    args = [
        "act", event, "--workflows", str(workflow), "--pull=false", "--no-cache-server",
        "--container-daemon-socket", daemon.host,
        "--container-options", mounts,
        "--env", "ACT_ARTIFACTS=/act/artifacts", "--env", "ACT_PAGES=/act/pages",
        "--env", "ACT_GITHUB_API=/act/github-api.jsonl", "--env", "ACT_REPOSITORY=/act-repository.git",
        "--var", "BENCHMARK_HISTORY_REMOTE=file:///act-history.git",
        # the containers have no route out: the site's chart scripts cannot come from npm there
        "--env", "BENCH_STATIC_CHARTS=1",
        "--env", f"GITHUB_REPOSITORY={repository()}", "--env", f"GITHUB_REPOSITORY_OWNER={repository().split('/')[0]}",
        # github.token: a value, since a service's credentials must interpolate; it opens nothing here
        "--secret", "GITHUB_TOKEN=act-has-no-token",
    ]  # fmt: skip
    for label in RUNS_ON:
        args += ["-P", f"{label}={RUNNER_IMAGE}"]
    for mapping in stand_ins(workflows):
        if worktree and mapping.startswith("actions/checkout@"):
            continue  # act copies the working tree at the checkout step itself
        args += ["--local-repository", mapping]
    if not worktree:
        args.append("--no-skip-checkout")
    return [*args, *extra]


def _git_dir() -> Path:
    """The repository's git folder (not the working tree, which holds the daemon's own data)."""
    done = subprocess.run(["git", "rev-parse", "--git-common-dir"], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SetupFailed(f"{ROOT.name} is not a git repository: act runs a commit of one")
    return (ROOT / done.stdout.strip()).resolve()


def remove_leftovers(daemon: Daemon, before: set[str]) -> list[str]:
    """Containers and networks act made (named act-...) and left behind, e.g. a failed job's in a
    called workflow; removed. Returns their names; what existed before the run is never touched."""
    left = []
    for line in daemon.docker("ps", "--all", "--format", "{{.ID}} {{.Names}}").stdout.splitlines():
        container, name = line.split(" ", 1)
        if container not in before and name.startswith("act-"):
            daemon.docker("rm", "--force", "--volumes", container, check=False)
            left.append(name)
    for line in daemon.docker("network", "ls", "--format", "{{.ID}} {{.Name}}").stdout.splitlines():
        network, name = line.split(" ", 1)
        if network not in before and name.startswith("act-"):
            daemon.docker("network", "rm", network, check=False)
            left.append(name)
    return left


def existing(daemon: Daemon) -> set[str]:
    """The (short) ids of every container and network on the daemon now."""
    containers = daemon.docker("ps", "--all", "--quiet").stdout.split()
    return {*containers, *daemon.docker("network", "ls", "--quiet").stdout.split()}


def repository() -> str:
    """owner/name of the origin remote when it is on GitHub, else `local/benchmark`: act would take a
    remote that is a path (a clone of a local folder) for the repository's name."""
    done = subprocess.run(["git", "remote", "get-url", "origin"], cwd=ROOT, capture_output=True, text=True)
    found = re.search(r"github\.com[:/]([\w.-]+)/([\w.-]+?)(?:\.git)?/?$", done.stdout.strip())
    return f"{found.group(1)}/{found.group(2)}" if found else LOCAL_REPOSITORY
