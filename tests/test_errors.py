"""Errors a user can fix: one line, naming the option or file, the right exit status; and the layers
below the command line never import it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from core.layout import PairFiles
from core.paths import ROOT, write_atomically
from runner import outputs
from services.registry import suites
from tests.conftest import output_folder, run_cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--profile", "huge"], "--profile: unknown profile 'huge'; valid: smoke, quick, rounds, standard"),
        (["--targets", "mlflow-oracle"], "--targets: unknown target mlflow-oracle; valid: fasttrackml-sqlite"),
        (["--suites", "training"], "--suites: unknown suite training; valid: " + ", ".join(suites())),
        (["--targets", "all", "--server-url", "http://127.0.0.1:9"], "--server-url: name exactly one target"),
        (["--server-url", "127.0.0.1:9"], "--server-url: expected http://host:port"),
        (["--server-cgroup", "/"], "--server-cgroup: goes with --server-url"),
        (
            ["--server-url", "http://127.0.0.1:9", "--server-cgroup", "/"],
            "--server-cgroup: / is not a cgroup folder (no cpu.stat or cpuacct.usage in it)",
        ),
        (["--server-url", "http://127.0.0.1:9", "--server-cgroup", ""], "--server-cgroup: is empty"),
        (["--postgres-url", "mysql://x"], "--postgres-url: expected postgresql://"),
        (
            ["--server-version", "oracle=1"],
            "--server-version: unknown server oracle; valid: fasttrackml, mlflow, mlflow-go",
        ),
        (["--server-version", "fasttrackml"], "--server-version: expected NAME=VERSION"),
        (["--window", "2"], "--window: must be at least 4, got 2"),
        (["--run-id", "../../etc"], "--run-id: expected a run id like 20261126T101500Z-gh123.1"),
        (["--provenance", "server_image"], "--provenance: expected KEY=VALUE, got 'server_image'"),
    ],
)
@pytest.mark.process
def test_bad_options_are_one_line_errors_with_exit_2(args, message, tmp_path):
    result = run_cli("run", "--out", str(tmp_path), "--targets", "fasttrackml-postgres", *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing was started or written


@pytest.mark.process
def test_a_bad_option_of_run_is_told_before_statistics_charts_or_the_site_load():
    """The tests call `./run.sh run` with a bad option dozens of times, and a user waits for each:
    scipy, otava and altair load only once the options are checked (3.4 s a call before, 1.3 s
    after, on a 2-core machine)."""
    code = (
        "import sys; from cli.main import main; main(['run', '--window', '2']); "
        "print(sorted(m for m in ('scipy', 'otava', 'altair', 'mkdocs') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "--window: must be at least 4" in done.stderr, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


@pytest.mark.process
def test_compare_names_its_bad_options(tmp_path):
    result = run_cli("compare", "a", "b", "--map", "x", "--markdown", str(tmp_path / "c.md"))
    assert result.returncode == 2 and result.stderr.strip() == "error: --map: expected A_TARGET=B_TARGET, got 'x'"
    b = output_folder(tmp_path / "b", "fasttrackml-sqlite_retrieval")
    result = run_cli("compare", str(tmp_path / "nope"), str(b), "--history", str(tmp_path))
    assert result.returncode == 2 and "error: A: " in result.stderr and "neither an output folder" in result.stderr


@pytest.mark.process
def test_a_failed_install_is_one_line_naming_the_target_and_its_log(tmp_path):
    registry = (ROOT / "services" / "targets.toml").read_text()
    section = registry[registry.index("[servers.fasttrackml]") : registry.index("[servers.mlflow]")]
    broken = section.replace("[servers.fasttrackml]", "[servers.uninstallable]")
    broken = broken.replace('packages = ["fasttrackml=={version}"]', 'packages = ["./no-such-package-{version}"]')
    assert broken != section.replace("[servers.fasttrackml]", "[servers.uninstallable]")
    (tmp_path / "targets.toml").write_text(registry + "\n" + broken)
    result = run_cli(
        "run",
        "--profile",
        "smoke",
        "--targets",
        "uninstallable-sqlite",
        "--suites",
        "logging",
        "--out",
        str(tmp_path / "out"),
        "--no-report",
        env={"BENCH_REGISTRY": str(tmp_path / "targets.toml")},
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "uninstallable-sqlite: pip could not install ./no-such-package-0.6.0; see .cache/servers/" in result.stderr
    failed = (tmp_path / "out" / "uninstallable-sqlite_logging.json").read_text()
    assert '"status": "failed"' in failed and "pip could not install" in failed


def _imports(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("core", {"services", "runner", "report", "analysis", "cli"}),
        ("services", {"runner", "report", "analysis", "cli"}),
        ("analysis", {"runner", "report", "cli"}),
        ("runner", {"report", "cli"}),
        ("report", {"runner", "cli"}),
        ("localci", {"runner", "report", "analysis", "cli"}),
    ],
)
def test_layers_import_only_the_layers_below(package, forbidden):
    assert _imports(package) & forbidden == set()


def _calls(path: Path) -> set[str]:
    """`module.function` for every call of an attribute of a name in the file."""
    return {
        f"{node.func.value.id}.{node.func.attr}"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
    }


def test_both_runners_serve_and_describe_a_target_one_way():
    """runner/serving.py alone launches or waits for a server; the pair runner and the A/B use it."""
    for name in ("pair.py", "ab.py"):
        calls = _calls(ROOT / "runner" / name)
        assert {"serving.serve", "serving.describe", "serving.meter"} <= calls, name
        assert not {c for c in calls if c.startswith(("launcher.", "environments."))}, name
        assert "ServerInfo(" not in (ROOT / "runner" / name).read_text(), name


def test_verbs_share_options_and_stages_and_never_import_each_other_or_the_entry_point():
    for path in (ROOT / "cli" / "verbs").glob("*.py"):
        modules = {
            node.module
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert not {m for m in modules if m.startswith("cli.verbs") or m == "cli.main"}, path.name


def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_scrap(tmp_path):
    path = write_atomically(tmp_path / "deep" / "summary.csv", lambda tmp: tmp.write_text("old\n"))

    def half_then_fail(tmp: Path) -> None:
        tmp.write_text("half of the n")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, half_then_fail)
    assert path.read_text() == "old\n" and sorted(p.name for p in path.parent.iterdir()) == ["summary.csv"]


def test_a_rerun_archives_the_earlier_files_and_loses_nothing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    contents = []
    for attempt, run_id in enumerate(["run-1", "run-2", "run-2", "run-3"]):
        staged = PairFiles(tmp_path / "staging" / str(attempt), "fasttrackml-sqlite", "logging")
        staged.folder.mkdir(parents=True)
        staged.metadata.write_text(f'{{"run_id": "{run_id}", "attempt": {attempt}}}')
        staged.csv.write_text(f"attempt {attempt}\n")
        outputs.publish(staged, out)
        contents.append((run_id, attempt))
    assert (out / "fasttrackml-sqlite_logging.csv").read_text() == "attempt 3\n"
    archived = sorted(p.relative_to(out / "archive").as_posix() for p in (out / "archive").rglob("*.csv"))
    # the second run-2 attempt does not overwrite the first: it goes to run-2.2
    assert archived == [
        "run-1/fasttrackml-sqlite_logging.csv",
        "run-2.2/fasttrackml-sqlite_logging.csv",
        "run-2/fasttrackml-sqlite_logging.csv",
    ]
    texts = sorted(Path(out / "archive" / a).read_text() for a in archived)
    assert texts == ["attempt 0\n", "attempt 1\n", "attempt 2\n"]
