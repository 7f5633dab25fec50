"""The pages of one output folder: the overview (findings, charts, the grid of request names), one
page per run with its downloads, and the scale and capacity suites' own pages."""

from __future__ import annotations

import dataclasses
import gzip
import shutil
from pathlib import Path

import pandas as pd

from analysis import capacity, client, scale, ui
from analysis.summarise import STAT_COLUMNS, PairSummary
from core.layout import PAIR_FILES, QUANTILES_FILE, SUMMARY_FILE, gzipped, pair_files
from report import draw, findings, sentences
from report.inputs import ReportInputs
from report.templates import TEMPLATES, render
from services.registry import Target, suites


def wide_table(
    summary: pd.DataFrame, targets: list[Target], unsupported: frozenset[tuple[str, str]] = frozenset()
) -> str:
    """Markdown: one row per request name, one column per target with `p50 / p95 (errors)`."""
    labels = [t.label for t in targets]
    lines = ["| suite | request | " + " | ".join(labels) + " |", "|---|---|" + "---:|" * len(labels)]
    ok = summary[summary["status"] == "ok"].set_index(["suite", "name", "target"])
    for suite, name in (
        summary[["suite", "name"]].drop_duplicates().sort_values(["suite", "name"]).itertuples(index=False)
    ):
        cells = []
        for t in targets:
            if (suite, name, t.id) not in ok.index:
                cells.append("unsupported" if (t.id, suite) in unsupported else "missing")
                continue
            row = ok.loc[(suite, name, t.id)]
            errors = f" ({int(row['errors'])} err)" if row["errors"] else ""
            cells.append(f"{findings.interval_text(row)} / {row['p95_ms']:.2f}{errors}")
        lines.append(f"| {suite} | {name} | " + " | ".join(cells) + " |")
    return (
        "\n".join(lines) + "\n\n<small>p50 ±how far its 95% interval reaches / p95, latency of successful "
        "requests, ms</small>\n"
    )


def long_table(summary: pd.DataFrame) -> str:
    columns = ["target", "suite", "name", *STAT_COLUMNS]
    return summary[columns].sort_values(["target", "suite", "name"]).to_markdown(index=False, floatfmt=".4g")


def write_overview(inputs: ReportInputs, docs: Path) -> Path:
    result, targets = inputs.folder, inputs.targets
    files = docs / "files"
    files.mkdir(parents=True, exist_ok=True)
    result.summary.to_csv(files / SUMMARY_FILE, index=False, float_format="%.4f")
    result.quantiles.to_csv(files / QUANTILES_FILE, index=False, float_format="%.4f")
    # the scale and capacity suites measure along a size or a rate: each has its page, not the grid
    own_page = (scale.SUITE, capacity.SUITE)
    summary, quantiles = (frame[~frame["suite"].isin(own_page)] for frame in result.frames())
    unsupported = frozenset((p.target, p.suite) for p in result.pairs if p.status == "unsupported")
    draw.draw_all(summary, quantiles, targets, docs / "img", unsupported)
    run_ids = result.run_ids
    harness = findings.harness_share(result.pairs)
    cost = findings.resource_cost(result.pairs, targets)
    key_table = findings.key_table(summary, cost, targets)
    page = TEMPLATES.get_template("overview.md.j2").render(
        profile=result.profile,
        pairs=result.pairs,
        run_links=", ".join(f"run [{r}](runs/{r}.md)" for r in run_ids),
        key_sentences=findings.key_sentences(key_table, cost, harness, targets),
        key_table=key_table,
        harness=harness,
        cost=cost,
        fastest=findings.fastest_per_name(summary, targets).to_dict("records"),
        problems=findings.problems(result.pairs, summary, targets, suites()) + result.warnings,
        table=wide_table(summary, targets, unsupported),
        head_to_head=findings.head_to_head(summary, result.rounds, targets),
        how_sure=findings.how_sure(result.pairs),
        filters={
            "target": [t.label for t in targets],
            "suite": sorted(set(summary["suite"])),
            "name": sorted(set(summary["name"])),
        },
    )
    path = docs / "index.md"
    path.write_text(page)
    return path


def write_scale_page(inputs: ReportInputs, docs: Path) -> Path:
    """The scale suite's page: latency against store size, the fitted exponents, the seeding."""
    summary, targets = inputs.folder.summary, inputs.targets
    labels = {t.id: t.label for t in targets}
    rows = scale.sized(summary)
    growth = scale.growth(summary)
    if not rows.empty:
        draw.save(draw.scale_chart(rows, targets), docs / "img", "scale")
    seeding = [{"target": pair.target, **row} for pair in _measured(inputs, scale.SUITE) for row in pair.seeding]
    sizes = sorted(set(rows["size"])) if not rows.empty else []
    return render(
        docs / "scale.md",
        growth=growth,
        sentences=sentences.scale_sentences(growth, labels),
        sizes=sizes,
        sizes_text=", ".join(str(s) for s in sizes) or "three sizes",
        seeding=seeding,
        labels=labels,
    )


def _measured(inputs: ReportInputs, suite: str) -> list[PairSummary]:
    """The pairs of `suite` with timed samples."""
    return [pair for pair in inputs.folder.pairs if pair.suite == suite and not pair.missing]


def write_capacity_page(inputs: ReportInputs, docs: Path) -> Path:
    """The capacity suite's page: the sustained rate per target, the curve, each step."""
    targets, slo_ms = inputs.targets, inputs.settings.slo_ms
    labels = {t.id: t.label for t in targets}
    results, rates, hold = [], [], 0
    for pair in _measured(inputs, capacity.SUITE):
        rates, hold = list(pair.meta.settings.get("rates", [])), float(pair.meta.settings.get("hold", 0))
        results.append(capacity.capacity(pair.meta, list(pair.steps), rates, slo_ms))
    if results:
        sustained = {c.target: c.sustained_rps for c in results}
        step_columns = ["target", *(f.name for f in dataclasses.fields(capacity.Step))]
        rows = pd.DataFrame([{"target": c.target, **vars(s)} for c in results for s in c.steps], columns=step_columns)
        knees = rows[[rate == sustained.get(target) for target, rate in zip(rows["target"], rows["rate"], strict=True)]]
        draw.save(draw.capacity_chart(rows, knees, slo_ms, targets), docs / "img", "capacity")
    return render(
        docs / "capacity.md",
        results=results,
        labels=labels,
        ceilings={c.target: c.ceiling_text for c in results},
        rates_text=", ".join(str(r) for r in rates) or "rising rates",
        hold=hold,
        slo_ms=slo_ms,
    )


def write_ui_page(inputs: ReportInputs, docs: Path) -> Path:
    """The ui suite's page: the time to each view of each server's UI against store size, and the
    requests behind each view."""
    summary, targets = inputs.folder.summary, inputs.targets
    labels = {t.id: t.label for t in targets}
    rows = ui.views(summary)
    if not rows.empty:
        draw.save(
            draw.scale_chart(rows, targets, "one view", "Time to each view against store size"), docs / "img", "ui"
        )
    measured = _measured(inputs, ui.SUITE)
    sizes = sorted(set(rows["size"])) if not rows.empty else []
    return render(
        docs / "ui.md",
        growth=scale.growth(summary, ui.SUITE),
        p95={(r.target, r.read, r.size): r.p95_ms for r in rows.itertuples()},
        sentences=sentences.ui_sentences(rows, labels),
        sizes=sizes,
        sizes_text=", ".join(f"{s:,}" for s in sizes) or "growing sizes",
        requests=ui.requests(measured),
        cpu=ui.server_cpu(measured),
        waits=ui.server_wait(measured),
        paths={t.id: t.server.ui_path for t in targets if any(p.target == t.id for p in measured)},
        labels=labels,
    )


def write_client_page(inputs: ReportInputs, docs: Path) -> Path:
    """The client suite's page: each target's training loop, the share of it that is logging, and
    the REST calls behind it."""
    labels = {t.id: t.label for t in inputs.targets}
    measured = _measured(inputs, client.SUITE)
    settings = measured[0].meta.settings if measured else {}
    rows = client.loops(measured)
    return render(
        docs / "client.md",
        rows=rows,
        sentences=sentences.client_sentences(rows, labels),
        endpoints={pair.target: list(pair.calls) for pair in measured},
        clients={t.id: " ".join(t.client_packages) for t in inputs.targets if any(p.target == t.id for p in measured)},
        labels=labels,
        epochs=settings.get("epochs", "EPOCHS"),
        metrics=settings.get("metrics", "METRICS"),
        train_ms=settings.get("train_ms", "TRAIN_MS"),
    )


def write_run_pages(inputs: ReportInputs, docs: Path) -> list[Path]:
    """One page per run id: metadata, versions, machine, downloads of raw CSVs and the summary."""
    result, out = inputs.folder, inputs.out
    pages = []
    runs_dir = docs / "runs"
    summary = result.summary
    for run_id in result.run_ids:
        pairs = [p for p in result.pairs if p.meta.run_id == run_id]
        files = runs_dir / "files" / run_id
        files.mkdir(parents=True, exist_ok=True)
        of_run = summary[summary["run_id"] == run_id]
        of_run.to_csv(files / SUMMARY_FILE, index=False, float_format="%.4f")
        first = pairs[0].meta
        page = TEMPLATES.get_template("run.md.j2").render(
            run_id=run_id,
            profile=first.profile,
            source=first.source,
            machine=first.machine,
            started_at=min(p.meta.started_at for p in pairs),
            pairs=[_with_downloads(p, out, files, run_id) for p in pairs],
            harness=findings.harness_share(pairs),
            table=long_table(of_run) if not of_run.empty else "No usable samples in this run.",
        )
        path = runs_dir / f"{run_id}.md"
        path.write_text(page.replace(f"](files/{SUMMARY_FILE})", f"](files/{run_id}/{SUMMARY_FILE})"))
        pages.append(path)
    return pages


def _with_downloads(pair: PairSummary, out: Path, files: Path, run_id: str) -> dict:
    """Copy a pair's raw files next to its run page (CSV gzipped) and list their links."""
    mine = pair_files(out, pair.meta)
    downloads = []
    for suffix, label in PAIR_FILES.items():
        source = mine.path(suffix)
        if not source.exists():
            continue
        if source == mine.csv:
            target = files / gzipped(source)
            with source.open("rb") as raw, gzip.open(target, "wb", compresslevel=6) as packed:
                shutil.copyfileobj(raw, packed)
        else:
            target = files / source.name
            shutil.copyfile(source, target)
        downloads.append((label, f"files/{run_id}/{target.name}"))
    return {
        "target": pair.target,
        "suite": pair.suite,
        "status": pair.status,
        "metadata": pair.meta,
        "downloads": downloads,
    }
