"""History per machine, and what follows a change point: acknowledging it, the feed, the data files."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as etree
from pathlib import Path

import feedparser
import jsonschema
import pytest
import vl_convert

from analysis import detect, trends
from core.records import Machine
from report import data_api, draw, feed, history_pages
from report.inputs import ReportSettings
from services.registry import load_registry
from tests.conftest import output_folder, run_cli
from tests.histories import MACHINE, write_history

OTHER_MACHINE = Machine("Intel Xeon Platinum 8370C", 4, 15.6, "Linux", "3.11", "1", True, "ubuntu24 20261117.1")
TARGET = "fasttrackml-sqlite"
ATOM = "{http://www.w3.org/2005/Atom}"


def _two_machines(store: Path) -> list[str]:
    """80 runs of one request name: the first 40 on one machine, the rest on one 50% slower."""
    return write_history(
        store,
        80,
        {"CreateRun": "logging"},
        [TARGET],
        level=lambda run, target, name: 1.0 if run < 40 else 1.5,
        machine=lambda run: MACHINE if run < 40 else OTHER_MACHINE,
        noise=0.02,
    )


def _line_paths(chart) -> int:
    """How many lines the chart draws, counted in its rendered SVG."""
    svg = vl_convert.vegalite_to_svg(chart.to_dict())
    groups = re.findall(r'<g class="mark-line role-mark[^"]*"[^>]*>(.*?)</g>', svg, flags=re.S)
    return sum(group.count("<path") for group in groups)


def test_a_switch_of_machine_is_two_trend_lines_and_no_change_point(tmp_path):
    store = tmp_path / "history"
    _two_machines(store)
    loaded = trends.analyse(store, detect.Options())
    (trend,) = loaded.profiles
    assert set(trend.frame["machine"]) == {MACHINE.key, OTHER_MACHINE.key}
    assert OTHER_MACHINE.key == "Intel Xeon Platinum 8370C, 4 cores, ubuntu24"  # the image's version is left out
    assert trend.points == []
    # the same runs as one series would show the switch as a change: the test can fail
    merged = detect.detect(trend.frame.drop(columns="machine"), detect.Options(), statistics=("p50_ms",))
    assert [p.run_id for p in merged] == [trend.frame["run_id"].unique()[40]]
    targets = list(load_registry().targets.values())
    one_machine = trend.frame[trend.frame["machine"] == MACHINE.key]
    assert _line_paths(draw.trend_chart(one_machine, [], targets, "one machine")) == 2  # p50 and p95
    assert _line_paths(draw.trend_chart(trend.frame, [], targets, "two machines")) == 4


@pytest.mark.process
def test_compare_refuses_runs_of_different_machines_unless_asked_and_then_widens(tmp_path):
    here = output_folder(tmp_path / "a", f"{TARGET}_retrieval")
    there = output_folder(tmp_path / "b", f"{TARGET}_retrieval", machine=vars(OTHER_MACHINE))
    markdown = tmp_path / "c.md"
    refused = run_cli("compare", str(here), str(there), "--markdown", str(markdown))
    assert refused.returncode == 1 and not markdown.exists()
    assert f"A's {TARGET} retrieval ran on AMD EPYC, 2 cores and B's on {OTHER_MACHINE.key}" in refused.stderr
    assert "--across-machines" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    same = run_cli("compare", str(here), str(here), "--markdown", str(tmp_path / "same.md"))
    across = run_cli("compare", str(here), str(there), "--markdown", str(markdown), "--across-machines")
    assert same.returncode == 0 and across.returncode == 0, across.stderr
    widths = {}
    for name, path in (("same", tmp_path / "same.json"), ("across", tmp_path / "c.json")):
        rows = json.loads(path.read_text())["rows"]
        widths[name] = [r["high"] / r["low"] for r in rows]
        assert all(("different machines" in r["reason"]) == (name == "across") for r in rows)
    assert all(w_across > w_same for w_across, w_same in zip(widths["across"], widths["same"], strict=True))


def _stepped(store: Path, runs: int = 100) -> list[str]:
    """`runs` runs of two request names on one machine, each 30% slower from its own run on."""
    steps = {"CreateRun": 60, "UpdateRun": 70}
    return write_history(
        store,
        runs,
        {"CreateRun": "logging", "UpdateRun": "logging"},
        [TARGET],
        level=lambda run, target, name: 1.3 if run >= steps[name] else 1.0,
        noise=0.02,
    )


def _site_parts(store: Path, docs: Path) -> trends.AnalysedHistory:
    loaded = trends.analyse(store, detect.Options())
    (docs / "img").mkdir(parents=True, exist_ok=True)
    shown = history_pages.write_history_pages(loaded, list(load_registry().targets.values()), docs, ReportSettings())
    feed.write_feed(loaded, docs, "Tracking-server benchmark")
    data_api.write_data(loaded, [], docs, runs=shown)
    return loaded


@pytest.mark.process
def test_an_acknowledged_change_point_is_shown_so_and_leaves_the_feed(tmp_path):
    store = tmp_path / "history"
    runs = _stepped(store)
    listed = run_cli("acknowledge", "--history", str(store))
    assert listed.returncode == 0, listed.stderr
    lines = [line for line in listed.stdout.splitlines() if "CreateRun p50_ms" in line]
    assert len(lines) == 1 and lines[0].endswith("[open]") and "regression" in lines[0]
    change_id = lines[0].split()[0]
    missing = run_cli("acknowledge", "--history", str(store), change_id)
    assert missing.returncode == 1 and "--reason: say why the change is expected" in missing.stderr
    unknown = run_cli("acknowledge", "--history", str(store), "0000dead", "--reason", "x")
    assert unknown.returncode == 1 and "no change point '0000dead'" in unknown.stderr
    link = "https://github.com/G-Research/fasttrackml/pull/1"
    done = run_cli("acknowledge", "--history", str(store), change_id, "--reason", "checks each run", "--link", link)
    assert done.returncode == 0 and f"acknowledged {change_id}" in done.stderr, done.stderr
    again = run_cli("acknowledge", "--history", str(store))
    assert f"{change_id}" in again.stdout and "[acknowledged: checks each run]" in again.stdout

    docs = tmp_path / "docs"
    loaded = _site_parts(store, docs)
    assert change_id in loaded.acknowledged
    page = (docs / "regressions.md").read_text()
    row = next(line for line in page.splitlines() if change_id in line)
    assert f"✔ acknowledged: checks each run ([link]({link}))" in row
    others = [line for line in page.splitlines() if line.startswith("| `") and change_id not in line]
    assert others and all(line.rstrip().endswith("| open |") for line in others)
    parsed = feedparser.parse(str(docs / "feed.xml"))
    titles = [e.title for e in parsed.entries]
    assert titles and not any("CreateRun" in t and "p50" in t for t in titles)
    assert any("UpdateRun" in t for t in titles)
    # ten more runs: the acknowledgement still covers its change, wherever the detector now puts it
    assert len(_stepped(store, runs=110)) == len(runs) + 10
    assert change_id in trends.analyse(store, detect.Options()).acknowledged


def test_the_feed_is_atom(tmp_path):
    store = tmp_path / "history"
    _stepped(store)
    docs = tmp_path / "docs"
    loaded = _site_parts(store, docs)
    open_points = loaded.open_regressions()
    assert len(open_points) == 4  # two names x p50 and p95
    parsed = feedparser.parse(str(docs / "feed.xml"))
    assert not parsed.bozo and parsed.version == "atom10"
    root = etree.parse(str(docs / "feed.xml")).getroot()
    assert root.tag == f"{ATOM}feed"
    for element in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{element}") is not None, element
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == len(open_points)
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == len(ids) and all(i.startswith("urn:uuid:") for i in ids)
    for entry in entries:
        assert entry.findtext(f"{ATOM}title") and entry.find(f"{ATOM}link").get("href") == "regressions.html"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d|Z)", entry.findtext(f"{ATOM}updated"))
        assert "./run.sh acknowledge" in entry.findtext(f"{ATOM}content")
    # rebuilt, the feed keeps each change's id, so that a reader shows it once
    _site_parts(store, tmp_path / "again")
    again = etree.parse(str(tmp_path / "again" / "feed.xml")).getroot()
    assert [e.findtext(f"{ATOM}id") for e in again.findall(f"{ATOM}entry")] == ids


def test_the_data_files_follow_their_schema_and_hold_every_run(tmp_path):
    store = tmp_path / "history"
    runs = _two_machines(store)
    docs = tmp_path / "docs"
    _site_parts(store, docs)
    schema = json.loads((docs / "data" / "schema.json").read_text())
    index = json.loads((docs / "data" / "index.json").read_text())
    files = {"index": index}
    files["series"] = json.loads((docs / "data" / index["files"]["series"]["standard"]).read_text())
    files["change_points"] = json.loads((docs / "data" / index["files"]["change_points"]).read_text())
    files["ab"] = json.loads((docs / "data" / index["files"]["ab"]).read_text())
    files["run"] = json.loads((docs / "data" / "runs" / f"{runs[-1]}.json").read_text())
    for name, data in files.items():
        jsonschema.validate(data, schema | {"$ref": f"#/$defs/{name}"})
    assert len(list((docs / "data" / "runs").glob("*.json"))) == len(runs)  # every run the trends show
    assert {p["machine"] for p in files["run"]["pairs"]} == {OTHER_MACHINE.key}
    assert [r["name"] for r in files["run"]["rows"]] == ["CreateRun"]
    series = files["series"]
    assert [r["run_id"] for r in series["runs"]] == runs
    by_machine = {(s["machine"], s["statistic"]): s["points"] for s in series["series"]}
    assert {m for m, _ in by_machine} == {MACHINE.key, OTHER_MACHINE.key}
    assert [p[0] for p in by_machine[(MACHINE.key, "p50_ms")]] == list(range(40))
    assert [p[0] for p in by_machine[(OTHER_MACHINE.key, "p50_ms")]] == list(range(40, 80))
    broken = files["series"] | {"series": [{"target": TARGET}]}
    try:
        jsonschema.validate(broken, schema | {"$ref": "#/$defs/series"})
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("the schema let a series without its points through")
