"""The site built from a real smoke run, opened in headless Debian chromium with Playwright."""

from __future__ import annotations

import functools
import http.server
import threading
from urllib.parse import urljoin, urlsplit

import pytest

from analysis.summarise import find_metadata
from services.registry import load_registry
from tests.conftest import REQUEST_NAMES, run_cli

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


def _open(browser, url: str, width: int = 1300):
    """A page at `url` once its charts are drawn (charts.js marks the body)."""
    page = browser.new_page(viewport={"width": width, "height": 1000})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    assert page.goto(url).ok
    page.wait_for_selector("body[data-charts=ready]", timeout=30000)
    return page, errors


OVERVIEW_BARS = "[...document.querySelector('.vega-chart').querySelectorAll('svg g.mark-rect.role-mark path')]"


def _bars(page) -> list[str]:
    """The overview chart's bars, as their ARIA labels (vega names each mark's fields)."""
    return page.evaluate(f"() => {OVERVIEW_BARS}.map(e => e.getAttribute('aria-label'))")


def test_the_overview_chart_is_interactive_and_filters_to_one_target(site, browser):
    url, out = site
    page, errors = _open(browser, url + "index.html")
    assert page.locator("img[data-spec]").count() >= 3 and page.locator(".vega-chart svg").count() >= 3
    every = _bars(page)
    measured = {m.target for m in find_metadata(out)[0] if m.status == "ok"}
    labels = [t.label for t in load_registry().default_targets if t.id in measured]
    assert {label for label in labels if any(b.startswith(f"label: {label};") for b in every)} == set(labels)
    page.select_option(".chart-filters select[name=target]", labels[0])
    page.wait_for_function(f"n => {OVERVIEW_BARS}.length < n", arg=len(every))
    one = _bars(page)
    assert one and all(b.startswith(f"label: {labels[0]};") for b in one)
    assert len(one) == sum(b.startswith(f"label: {labels[0]};") for b in every)
    page.select_option(".chart-filters select[name=target]", "all")
    page.wait_for_function(f"n => {OVERVIEW_BARS}.length == n", arg=len(every))
    assert errors == []


def test_a_trend_point_shows_its_commit_and_leads_to_its_run(site, browser):
    url, out = site
    metas, _ = find_metadata(out)
    run_id, commit = metas[0].run_id, metas[0].source.commit
    page, errors = _open(browser, url + "trends.html")
    point = page.locator("svg g.mark-symbol.role-mark path").first
    point.scroll_into_view_if_needed()
    point.hover(force=True)
    tooltip = page.locator("#vg-tooltip-element")
    tooltip.wait_for(state="visible")
    text = tooltip.inner_text()
    assert run_id in text and commit[:8] in text, text
    with page.expect_navigation():
        point.click(force=True)
    assert page.url.endswith(f"runs/{run_id}.html")
    assert page.locator("article h1").inner_text().startswith(f"Run {run_id}")
    # a run without a page of its own: what the history keeps of it, drawn from data/runs/<run id>.json
    kept, more_errors = _open(browser, url + f"history-run.html?run={run_id}")
    assert kept.locator("article h1").inner_text() == f"Run {run_id}"
    cells = kept.locator("article table").nth(1).inner_text()
    assert all(name in cells for name in REQUEST_NAMES["retrieval"]) and commit[:12] in kept.inner_text("article")
    assert errors == [] and more_errors == []


def _site_pages(url: str, browser) -> list[str]:
    """Every page of the site's navigation."""
    page = browser.new_page()
    page.goto(url + "index.html")
    hrefs = page.eval_on_selector_all("nav.md-nav--primary a.md-nav__link[href]", "els => els.map(e => e.href)")
    page.close()
    return sorted({h.split("#")[0] for h in hrefs if h.endswith(".html") or ".html#" in h})


@pytest.mark.parametrize("width", [1300, 400])
def test_no_table_is_wider_than_its_column(site, browser, width):
    url, _ = site
    pages = _site_pages(url, browser)
    assert len(pages) >= 8 and any("/runs/" in p for p in pages)
    too_wide = []
    for address in pages:
        page = browser.new_page(viewport={"width": width, "height": 1000})
        page.goto(address)
        widths = page.eval_on_selector_all(
            "article table",
            "ts => ts.map(t => [t.getBoundingClientRect().width, t.closest('article').clientWidth])",
        )
        too_wide += [(address, round(table), column) for table, column in widths if table > column + 1]
        page.close()
    assert too_wide == []
