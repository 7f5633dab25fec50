"""End to end: the smoke profile with real servers, k6 and PostgreSQL, every default target on the
logging and retrieval suites, the others on the targets their tests read (see `smoke_pairs`). Their
own checks are in test_scale_capacity.py, test_ui.py and test_client.py."""

from __future__ import annotations

import gzip
import html
import json
import re

import pytest

from analysis import duration
from analysis.k6csv import read_samples
from analysis.summarise import summarise_file
from runner.k6 import profiles
from services.registry import PROGRAM_SUITES, load_registry, suites
from tests.conftest import BREADTH_SUITES, REQUEST_NAMES, metadata, smoke_pairs

pytestmark = pytest.mark.servers

TARGETS = [t.id for t in load_registry().default_targets]
REGISTRY = load_registry()
PAIRS = [(t, s) for t in TARGETS for s in REQUEST_NAMES if not REGISTRY.targets[t].unsupported(s)]
SMOKE_PAIRS = smoke_pairs()
NOT_SERVED = [(t, s) for t, s in SMOKE_PAIRS if REGISTRY.targets[t].unsupported(s)]
K6_SUITES = [s for s in suites() if s not in PROGRAM_SUITES]  # the client suite is a Python script


def test_smoke_run_exits_cleanly(smoke_run):
    out, result = smoke_run
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Warning" not in result.stdout + result.stderr  # no dependency's warning reaches the user
    said = " ".join((result.stdout + result.stderr).split())
    # how long, before it starts (a fresh history: the profile's figure), and where it is as it goes
    # the invocation that ran every default target
    smoke = profiles()["smoke"]
    runnable = [(t, s) for t in TARGETS for s in BREADTH_SUITES if not REGISTRY.targets[t].unsupported(s)]
    expected = duration.minutes(sum(smoke.for_suite(s).pair_seconds for _, s in runnable))  # each suite's own
    assert f"expected to take about {expected} (from the profile; the history will refine it)" in said
    total = len(TARGETS) * len(BREADTH_SUITES)
    # each pair announced as it starts: alone ('pair 7 of 36'), or with its group in rounds ('pairs 1-3 of 36')
    announced = {int(n) for n in re.findall(rf"pair (\d+) of {total}, about", said)}
    for first, last in re.findall(rf"pairs (\d+)-(\d+) of {total}, about", said):
        announced |= set(range(int(first), int(last) + 1))
    assert announced == set(range(1, total + 1))


@pytest.mark.parametrize(("target", "suite"), PAIRS)
def test_every_request_name_has_successful_samples_and_no_failed_check(smoke_run, target, suite):
    out, _ = smoke_run
    samples = read_samples(out / f"{target}_{suite}.csv").frame
    stats = summarise_file(out / f"{target}_{suite}.csv")
    assert set(stats.index) == REQUEST_NAMES[suite]
    # smoke: 2 VUs x 2 iterations, each iteration sends every request name once; in 2 rounds for the REST suites
    rounds = metadata(out, target, suite)["settings"].get("rounds", 1)
    assert rounds == (2 if suite in ("logging", "retrieval") else 1)
    assert (stats["count"] == 4 * rounds).all(), stats["count"]
    assert (stats["errors"] == 0).all(), stats["errors"]
    assert stats["p50_ms"].notna().all()
    checks = samples[samples["metric"] == "checks"]
    assert len(checks) > 0 and (checks["value"] == 1).all()


@pytest.mark.parametrize(("target", "suite"), PAIRS)
def test_metadata_is_complete(smoke_run, target, suite):
    out, _ = smoke_run
    meta = metadata(out, target, suite)
    assert meta["status"] == "ok" and meta["error"] is None
    assert meta["target"] == target and meta["suite"] == suite and meta["profile"] == "smoke"
    rounds = meta["settings"].get("rounds", 1)
    assert meta["iterations_done"] == meta["iterations_expected"] == 4 * rounds
    assert meta["counts"]["requests"] == 4 * rounds * len(REQUEST_NAMES[suite]) and meta["counts"]["errors"] == 0
    assert meta["server"]["version"].startswith(load_registry().targets[target].version)
    if target.startswith("mlflow-go"):  # which MLflow it serves, beside its own version
        assert meta["server"]["version"] == "0.2.2 (MLflow 3.17.2)"
    assert meta["k6_version"] == "1.1.0"
    assert meta["machine"]["cores"] >= 1 and meta["machine"]["cpu_model"]
    assert meta["started_at"] <= meta["ended_at"]
    assert meta["server_start_seconds"] > 0
    if target.endswith("postgres"):
        assert meta["database"]["version"].split(".")[0].isdigit() and meta["database"]["embedded"] is True


@pytest.mark.parametrize(("target", "suite"), NOT_SERVED)
def test_a_pair_the_registry_marks_unsupported_is_not_run_and_shown_with_its_reason(smoke_run, target, suite):
    out, result = smoke_run
    meta = metadata(out, target, suite)
    reason = REGISTRY.targets[target].unsupported(suite)
    assert meta["status"] == "unsupported" and meta["error"] == reason
    assert not (out / f"{target}_{suite}.csv").exists()
    overview = (out.parent / "site" / "index.html").read_text()
    assert f"{REGISTRY.targets[target].label} · {suite}: unsupported, not run: {reason}" in html.unescape(overview)


def test_all_pairs_belong_to_one_run(smoke_run):
    out, _ = smoke_run
    run_ids = {metadata(out, t, s)["run_id"] for t, s in SMOKE_PAIRS}
    assert len(run_ids) == 1
    [record] = (out.parent / "history").glob("runs/*/*/*.json.gz")  # the two invocations, one record
    assert len(json.loads(gzip.decompress(record.read_bytes()))["pairs"]) == len(SMOKE_PAIRS)
    assert not (out / ".staging").exists() or not any((out / ".staging").iterdir())


def test_the_run_records_its_history_and_builds_the_site(smoke_run):
    out, result = smoke_run
    assert len(list((out.parent / "history").glob("runs/*/*/*.json.gz"))) == 1
    pages = ("index.html", "methodology.html", "trends.html", "regressions.html", "scale.html", "capacity.html")
    pages += ("versus-original.html",)
    for page in (*pages, "img/performanceReport.png"):
        assert (out.parent / "site" / page).exists(), page
    assert (out / "summary.csv").exists()
    assert "Site built" in result.stderr


def test_k6_archive_bundles_each_suite(tmp_path):
    import subprocess
    import tarfile

    from runner.k6 import k6_binary, select_profile
    from tests.conftest import ROOT

    for suite in K6_SUITES:
        archive = tmp_path / f"{suite}.tar"
        resolved = select_profile("quick").for_suite(suite).script_env()
        env = [arg for key, value in resolved.items() for arg in ("-e", f"{key}={value}")]
        subprocess.run(
            [k6_binary(), "archive", str(ROOT / "k6" / f"{suite}.js"), *env, "-O", str(archive)],
            check=True,
            capture_output=True,
        )
        with tarfile.open(archive) as tar:
            names = tar.getnames()
            metadata = json.load(tar.extractfile("metadata.json"))
        assert any(n.endswith("k6/lib/mlflow.js") for n in names)
        assert metadata["env"]["VUS"] == resolved["VUS"]  # the archive carries the resolved profile


@pytest.mark.parametrize("profile", ["smoke", "standard"])
def test_k6_runs_each_suite_as_the_runner_resolved_its_profile(profile):
    """Python alone reads k6/profiles.json; k6 gets the resolved values and builds its scenarios from them."""
    import subprocess

    from runner.k6 import k6_binary, select_profile
    from tests.conftest import ROOT

    for suite in K6_SUITES:
        resolved = select_profile(profile).for_suite(suite)
        env = [arg for key, value in resolved.script_env().items() for arg in ("-e", f"{key}={value}")]
        inspected = subprocess.run(
            [k6_binary(), "inspect", str(ROOT / "k6" / f"{suite}.js"), *env], capture_output=True, text=True, check=True
        )
        scenarios = json.loads(inspected.stdout)["scenarios"]
        if resolved.open_model:  # capacity: a warm-up, then one arrival-rate scenario per rate, each held `hold` s
            rates = resolved.settings["rates"]
            assert scenarios.pop("warmup")["rate"] == rates[0], suite
            assert [s["rate"] for s in scenarios.values()] == rates, suite
            assert {s["duration"] for s in scenarios.values()} == {f"{resolved.settings['hold']}s"}, suite
        else:
            (scenario,) = scenarios.values()
            assert (scenario["vus"], scenario["iterations"]) == (resolved.vus, resolved.iterations), suite


def test_a_suite_run_by_hand_without_a_setting_it_needs_says_which():
    import subprocess

    from runner.k6 import k6_binary
    from tests.conftest import ROOT

    inspected = subprocess.run([k6_binary(), "inspect", str(ROOT / "k6" / "scale.js")], capture_output=True, text=True)
    assert inspected.returncode != 0 and "scale: SIZES is not set" in inspected.stdout + inspected.stderr
