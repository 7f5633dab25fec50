// The site's charts, made interactive. Each image with a `data-spec` attribute (a PNG drawn by
// altair) is replaced by its Vega-Lite chart, drawn by vega-embed: tooltips, points that link to
// their run, and the page's filter bar. Without JavaScript, or when vega is missing, the PNG stays.
(function () {
  "use strict";
  const filters = { target: "all", suite: "all", name: "all" };
  const views = [];

  async function embed(image) {
    const response = await fetch(new URL(image.dataset.spec, document.baseURI));
    if (!response.ok) return;
    const spec = await response.json();
    const holder = document.createElement("div");
    holder.className = "vega-chart";
    holder.setAttribute("role", "img");
    holder.setAttribute("aria-label", image.alt);
    image.after(holder);
    const options = { renderer: "svg", actions: { export: true, source: false, compiled: false, editor: false } };
    const result = await vegaEmbed(holder, spec, options);
    image.hidden = true;
    views.push(result.view);
    await setFilters(result.view);
  }

  async function setFilters(view) {
    for (const [field, value] of Object.entries(filters)) {
      try {
        view.signal(`${field}_filter`, value);
      } catch (missing) {
        // this chart has no such filter (a trend chart is one request name already)
      }
    }
    await view.runAsync();
  }

  // Sections that hold one suite or request name (data-suite, data-name) hide when filtered out.
  function hideSections() {
    for (const section of document.querySelectorAll("[data-suite], [data-name], [data-target]")) {
      section.hidden = Object.keys(filters).some(
        (field) => section.dataset[field] !== undefined && filters[field] !== "all" && section.dataset[field] !== filters[field],
      );
    }
  }

  function onFilter(event) {
    filters[event.target.name] = event.target.value;
    hideSections();
    document.body.dataset.filtered = Object.values(filters).some((v) => v !== "all") ? "yes" : "no";
    return Promise.all(views.map(setFilters));
  }

  // On a narrow screen a table becomes one card per row (site.css); each cell is named by its column.
  function labelCells() {
    for (const table of document.querySelectorAll("article table")) {
      const headers = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
      for (const row of table.querySelectorAll("tbody tr")) {
        [...row.children].forEach((cell, i) => cell.setAttribute("data-label", headers[i] || ""));
      }
    }
  }

  // history-run.html?run=ID: what data/runs/ID.json holds of a run, as two tables.
  function element(tag, text, children = []) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    node.append(...children);
    return node;
  }

  function table(headers, rows) {
    const head = element("thead", null, [element("tr", null, headers.map((h) => element("th", h)))]);
    const body = element("tbody", null, rows.map((cells) => element("tr", null, cells.map((c) => element("td", c)))));
    return element("table", null, [head, body]);
  }

  const ms = (value) => (value === null || value === undefined ? "–" : Number(value).toFixed(2));
  // a p50's interval, as the run pages give it; runs recorded before intervals were kept have none
  const interval = (r) => (r.p50_low_ms == null || r.p50_high_ms == null ? "–" : `${ms(r.p50_low_ms)} to ${ms(r.p50_high_ms)}`);

  async function showHistoryRun(holder) {
    const id = new URLSearchParams(location.search).get("run");
    if (!id) return;
    const response = await fetch(new URL(`${holder.dataset.source}${encodeURIComponent(id)}.json`, document.baseURI));
    if (!response.ok) {
      holder.replaceChildren(element("p", `The site holds no data of run ${id}: the trends link only the runs they show.`));
      return;
    }
    const run = await response.json();
    const title = document.querySelector("article h1");
    if (title) title.textContent = `Run ${run.run_id}`;
    holder.replaceChildren(
      element("p", `Profile ${run.profile}, started ${run.started_at}, this suite's commit ${(run.commit || "?").slice(0, 12)}` +
        ` on branch ${run.branch || "?"}${run.dirty ? " (uncommitted changes)" : ""}. Its raw k6 files stay with the run's artifacts.`),
      table(["target", "suite", "status", "server", "database", "machine"],
        run.pairs.map((p) => [p.target, p.suite, p.status, p.server, p.database, p.machine])),
      table(["suite", "request", "target", "requests", "errors", "p50 (ms)", "p50's 95% interval", "p95 (ms)", "p99 (ms)"],
        run.rows.map((r) => [r.suite, r.name, r.target, r.count, r.errors, ms(r.p50_ms), interval(r), ms(r.p95_ms), ms(r.p99_ms)])),
    );
  }

  async function start() {
    const historyRun = document.getElementById("history-run");
    if (historyRun) await showHistoryRun(historyRun);
    labelCells();
    for (const select of document.querySelectorAll(".chart-filters select")) {
      select.addEventListener("change", onFilter);
    }
    if (typeof vegaEmbed === "undefined") return;
    await Promise.all([...document.querySelectorAll("img[data-spec]")].map(embed));
    document.body.dataset.charts = "ready";
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
