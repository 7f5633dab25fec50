"""The act rig's stand-ins for GitHub's actions (.github/act/actions/), run here by bash as act's
composite steps run them: each keeps the real action's documented contract on local folders. And
every action the workflows use has a stand-in, which the act command line maps."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from localci.act import ACTIONS_DIR, WORKFLOWS_DIR, ActRun, command, stand_ins
from localci.dockerd import Daemon
from tests.conftest import run_cli

INPUT = re.compile(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}")


def _action(name: str) -> dict:
    return yaml.safe_load((ACTIONS_DIR / name / "action.yml").read_text())


def run_action(name: str, tmp_path: Path, inputs: dict[str, str], **env: str) -> subprocess.CompletedProcess:
    """The action's `run:` steps with its inputs (defaults filled in) in their `env:`, as act runs them."""
    action = _action(name)
    values = {key: str(spec.get("default", "")) for key, spec in action["inputs"].items()} | inputs
    output = tmp_path / "github_output"
    base = {"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output), "GITHUB_WORKSPACE": str(tmp_path), **env}
    for step in action["runs"]["steps"]:
        step_env = {
            key: INPUT.sub(lambda m: values[m.group(1)], str(value)) for key, value in step.get("env", {}).items()
        }
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step["run"]],
            cwd=tmp_path, env=base | step_env, capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            return done
    return done


@pytest.mark.parametrize("name", sorted(p.parent.name for p in ACTIONS_DIR.glob("*/action.yml")))
@pytest.mark.process
def test_every_stand_in_step_is_valid_bash(name):
    for step in _action(name)["runs"]["steps"]:
        if "run" in step:
            done = subprocess.run(["bash", "-n", "-c", step["run"]], capture_output=True, text=True)
            assert done.returncode == 0, f"{name}: {done.stderr}"


@pytest.mark.process
def test_every_action_the_workflows_use_has_a_stand_in_and_the_act_command_maps_it(tmp_path):
    used = set(
        re.findall(
            r"uses:\s*(actions/[\w-]+@[0-9a-f]{40})", "".join(p.read_text() for p in WORKFLOWS_DIR.glob("*.yml"))
        )
    )
    mapped = dict(line.split("=", 1) for line in stand_ins(sorted(WORKFLOWS_DIR.glob("*.yml"))))
    assert used <= set(mapped) and all((Path(folder) / "action.yml").exists() for folder in mapped.values())
    args = command(
        "push", WORKFLOWS_DIR / "benchmark.yml", ActRun(tmp_path / "run", tmp_path / "h.git"), Daemon(tmp_path / "s")
    )
    options = args[args.index("--container-options") + 1]
    assert "--pid=host" in options and "/sys/fs/cgroup:/sys/fs/cgroup:ro" in options  # the runner sees its services
    assert "--pull=false" in args and "--no-skip-checkout" in args
    assert args.count("--local-repository") == len(mapped)


@pytest.mark.process
def test_upload_artifact_stores_a_folder_by_its_contents_and_refuses_a_second_upload_without_overwrite(tmp_path):
    store = tmp_path / "artifacts"
    store.mkdir()
    (tmp_path / "out" / "sub").mkdir(parents=True)
    (tmp_path / "out" / "a.csv").write_text("1")
    (tmp_path / "out" / "sub" / "b.json").write_text("2")
    (tmp_path / "out" / ".hidden").write_text("3")
    first = run_action("upload-artifact", tmp_path, {"name": "bench-x", "path": "out/"}, ACT_ARTIFACTS=str(store))
    assert first.returncode == 0, first.stderr
    assert sorted(p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file()) == [
        "bench-x/a.csv", "bench-x/sub/b.json",
    ]  # fmt: skip
    again = run_action("upload-artifact", tmp_path, {"name": "bench-x", "path": "out/"}, ACT_ARTIFACTS=str(store))
    assert again.returncode == 1 and "already uploaded in this run" in again.stdout
    (tmp_path / "out" / "a.csv").write_text("new")
    replaced = run_action("upload-artifact", tmp_path, {"name": "bench-x", "path": "out/", "overwrite": "true"},
                          ACT_ARTIFACTS=str(store))  # fmt: skip
    assert replaced.returncode == 0 and (store / "bench-x" / "a.csv").read_text() == "new"
    none = run_action("upload-artifact", tmp_path, {"name": "y", "path": "missing/", "if-no-files-found": "error"},
                      ACT_ARTIFACTS=str(store))  # fmt: skip
    assert none.returncode == 1 and "::error::upload-artifact: no files were found" in none.stdout


@pytest.mark.process
def test_download_artifact_by_name_by_pattern_and_merged(tmp_path):
    store = tmp_path / "artifacts"
    for name, file in (("bench-a", "a.csv"), ("bench-b", "b.csv"), ("site", "index.html")):
        (store / name).mkdir(parents=True)
        (store / name / file).write_text(name)
    merged = run_action("download-artifact", tmp_path, {"pattern": "bench-*", "merge-multiple": "true", "path": "m"},
                        ACT_ARTIFACTS=str(store))  # fmt: skip
    assert merged.returncode == 0 and sorted(p.name for p in (tmp_path / "m").iterdir()) == ["a.csv", "b.csv"]
    apart = run_action("download-artifact", tmp_path, {"pattern": "bench-*", "path": "s"}, ACT_ARTIFACTS=str(store))
    assert apart.returncode == 0 and sorted(p.name for p in (tmp_path / "s").iterdir()) == ["bench-a", "bench-b"]
    nothing = run_action("download-artifact", tmp_path, {"pattern": "ab-*", "path": "n"}, ACT_ARTIFACTS=str(store))
    assert nothing.returncode == 0 and list((tmp_path / "n").iterdir()) == []  # as v4: no match, no error
    missing = run_action("download-artifact", tmp_path, {"name": "benchmark-verdict"}, ACT_ARTIFACTS=str(store))
    assert missing.returncode == 1 and "Artifact not found for name: benchmark-verdict" in missing.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--workflow", "nope.yml"), "error: --workflow: no file nope.yml (a name in .github/workflows, or a path)"),
        (("--targets", "nope"), "error: --targets: unknown target nope; valid: fasttrackml-sqlite"),
    ],
)
@pytest.mark.process
def test_act_refuses_a_workflow_or_target_it_cannot_run_in_one_line(args, message):
    done = run_cli("act", *args)
    assert done.returncode == 2 and done.stderr.strip().splitlines()[0].startswith(message)
    assert len(done.stderr.strip().splitlines()) == 1
