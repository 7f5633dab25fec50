"""The site built from a real smoke run, opened in headless Debian chromium with Playwright."""

from __future__ import annotations

import functools
import http.server
import threading
from urllib.parse import urljoin, urlsplit

import pytest

from services.registry import load_registry
from tests.conftest import run_cli
from tests.test_end_to_end import REQUEST_NAMES

pytestmark = pytest.mark.servers

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def site(smoke_run, tmp_path_factory):
    out, _ = smoke_run
    site_dir = tmp_path_factory.mktemp("site")
    history = tmp_path_factory.mktemp("history")
    recorded = run_cli("record", "--out", str(out), "--history", str(history))
    assert recorded.returncode == 0, recorded.stderr
    result = run_cli("report", "--out", str(out), "--site", str(site_dir), "--history", str(history))
    assert result.returncode == 0, result.stderr
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", out
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_summary_csv_is_written_beside_the_raw_files(site):
    _, out = site
    header = (out / "summary.csv").read_text().splitlines()[0].split(",")
    for column in (
        "count",
        "errors",
        "error_rate",
        "mean_ms",
        "p50_ms",
        "p90_ms",
        "p95_ms",
        "p99_ms",
        "max_ms",
        "throughput_rps",
    ):
        assert column in header


def test_overview_shows_every_target_and_request_name_and_its_images_load(site, browser):
    url, _ = site
    page = browser.new_page()
    response = page.goto(url + "index.html")
    assert response.ok
    text = page.inner_text("article")
    for target in load_registry().default_targets:
        assert target.label in text
    for names in REQUEST_NAMES.values():
        for name in names:
            assert name in text
    images = page.eval_on_selector_all(
        "article img", "els => els.map(e => [e.getAttribute('src'), e.complete && e.naturalWidth])"
    )
    assert len(images) >= 3
    assert all(width and width > 100 for _, width in images), images


def test_no_internal_link_is_broken(site, browser):
    url, _ = site
    page = browser.new_page()
    seen, queue, broken = set(), [url + "index.html"], []
    while queue:
        current = queue.pop()
        if current in seen:
            continue
        seen.add(current)
        response = page.goto(current)
        if not response or not response.ok:
            broken.append(current)
            continue
        if not current.endswith(".html"):
            continue
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
            target = urljoin(current, href).split("#")[0]
            if urlsplit(target).netloc == urlsplit(url).netloc and target not in seen:
                if target.endswith((".gz", ".csv", ".json", ".log")):
                    status = page.request.get(target).status
                    seen.add(target)
                    if status != 200:
                        broken.append(target)
                else:
                    queue.append(target)
    assert broken == []
    for page in ("/runs/", "methodology", "trends", "regressions"):
        assert any(page in s for s in seen), page
