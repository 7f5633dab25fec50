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

  async function start() {
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
