"""Build the report site: generated pages + the hand-written ones in `docs/`, built by mkdocs-material.

Generated pages are written to `.cache/site-docs/` (never committed) together with a copy of
`docs/`; mkdocs then builds `site/`. Each page is rendered from a Jinja2 template in
`analysis/templates/`.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import jinja2
import pandas as pd

from analysis import capacity, compare, detect, draw, findings, history, original, scale
from analysis.summarise import STAT_COLUMNS, FolderSummary, PairSummary
from core.errors import InputError
from core.paths import BUILD_DOCS_DIR, DOCS_DIR, MKDOCS_CONFIG
from core.records import LOAD_GENERATOR_SHARE, ABMetadata, Comparison, HistoryRecord
from services.registry import Target, suites

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)
TEMPLATES.filters["times"] = findings.times
TEMPLATES.globals["share"] = LOAD_GENERATOR_SHARE


def prepare_docs() -> Path:
    """A fresh copy of the hand-written pages, to which the generated ones are added."""
    shutil.rmtree(BUILD_DOCS_DIR, ignore_errors=True)
    shutil.copytree(DOCS_DIR, BUILD_DOCS_DIR)
    return BUILD_DOCS_DIR


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
            cells.append(f"{row['p50_ms']:.2f} / {row['p95_ms']:.2f}{errors}")
        lines.append(f"| {suite} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n<small>p50 / p95 latency of successful requests, ms</small>\n"


def long_table(summary: pd.DataFrame) -> str:
    columns = ["target", "suite", "name", *STAT_COLUMNS]
    return summary[columns].sort_values(["target", "suite", "name"]).to_markdown(index=False, floatfmt=".4g")


def write_overview(result: FolderSummary, targets: list[Target], docs: Path) -> Path:
    files = docs / "files"
    files.mkdir(parents=True, exist_ok=True)
    result.summary.to_csv(files / "summary.csv", index=False, float_format="%.4f")
    result.quantiles.to_csv(files / "quantiles.csv", index=False, float_format="%.4f")
    # the scale and capacity suites measure along a size or a rate: each has its page, not the grid
    own_page = (scale.SUITE, capacity.SUITE)
    summary, quantiles = (frame[~frame["suite"].isin(own_page)] for frame in result.frames())
    unsupported = frozenset((p.target, p.suite) for p in result.pairs if p.status == "unsupported")
    draw.draw_all(summary, quantiles, targets, docs / "img", unsupported)
    run_ids = result.run_ids
    harness = findings.harness_share(result.pairs)
    cost = findings.resource_cost(result.pairs, targets)
    page = TEMPLATES.get_template("overview.md.j2").render(
        profile=result.profile,
        pairs=result.pairs,
        run_links=", ".join(f"run [{r}](runs/{r}.md)" for r in run_ids),
        head_to_head=[s for s in [findings.harness_sentence(harness)] if s]
        + findings.head_to_head(summary, targets)
        + findings.cost_sentences(cost),
        harness=harness,
        cost=cost,
        fastest=findings.fastest_per_name(summary, targets).to_dict("records"),
        problems=findings.problems(result.pairs, summary, targets, suites()) + result.warnings,
        table=wide_table(summary, targets, unsupported),
    )
    path = docs / "index.md"
    path.write_text(page)
    return path


def write_scale_page(result: FolderSummary, targets: list[Target], out: Path, docs: Path) -> Path:
    """The scale suite's page: latency against store size, the fitted exponents, the seeding."""
    labels = {t.id: t.label for t in targets}
    rows = scale.sized(result.summary)
    growth = scale.growth(result.summary)
    if not rows.empty:
        draw.save(draw.scale_chart(rows, targets), docs / "img", "scale")
    seeding = []
    for pair, csv_path in _raw_csvs(result, out, scale.SUITE):
        seeding += [{"target": pair.target, **row} for row in scale.seeding(csv_path).to_dict("records")]
    sizes = sorted(set(rows["size"])) if not rows.empty else []
    return _render(
        docs / "scale.md",
        growth=growth,
        sentences=scale.sentences(growth, labels),
        sizes=sizes,
        sizes_text=", ".join(str(s) for s in sizes) or "three sizes",
        seeding=seeding,
        labels=labels,
    )


def _raw_csvs(result: FolderSummary, out: Path, suite: str) -> Iterator[tuple[PairSummary, Path]]:
    """The pairs of `suite` with timed samples, and their raw CSVs in `out`."""
    for pair in result.pairs:
        csv_path = out / f"{pair.meta.stem}.csv"
        if pair.suite == suite and not pair.missing and csv_path.exists():
            yield pair, csv_path


def _render(path: Path, **values: object) -> Path:
    """Write the page `path` from its template (`<page name>.md.j2`)."""
    path.write_text(TEMPLATES.get_template(f"{path.stem}.md.j2").render(**values))
    return path


def write_capacity_page(result: FolderSummary, targets: list[Target], out: Path, docs: Path, slo_ms: float) -> Path:
    """The capacity suite's page: the sustained rate per target, the curve, each step."""
    labels = {t.id: t.label for t in targets}
    results, rates, hold = [], [], 0
    for pair, csv_path in _raw_csvs(result, out, capacity.SUITE):
        rates, hold = list(pair.meta.settings.get("rates", [])), float(pair.meta.settings.get("hold", 0))
        steps = capacity.steps(csv_path, hold, pair.meta.k6_ceiling_rps)
        results.append(capacity.capacity(pair.meta, steps, rates, slo_ms))
    if results:
        sustained = {c.target: c.sustained_rps for c in results}
        step_columns = ["target", *(f.name for f in dataclasses.fields(capacity.Step))]
        rows = pd.DataFrame([{"target": c.target, **vars(s)} for c in results for s in c.steps], columns=step_columns)
        knees = rows[[rate == sustained.get(target) for target, rate in zip(rows["target"], rows["rate"], strict=True)]]
        draw.save(draw.capacity_chart(rows, knees, slo_ms, targets), docs / "img", "capacity")
    return _render(
        docs / "capacity.md",
        results=results,
        labels=labels,
        ceilings={c.target: c.ceiling_text for c in results},
        rates_text=", ".join(str(r) for r in rates) or "rising rates",
        hold=hold,
        slo_ms=slo_ms,
    )


def write_run_pages(result: FolderSummary, out: Path, docs: Path) -> list[Path]:
    """One page per run id: metadata, versions, machine, downloads of raw CSVs and the summary."""
    pages = []
    runs_dir = docs / "runs"
    summary = result.summary
    for run_id in result.run_ids:
        pairs = [p for p in result.pairs if p.meta.run_id == run_id]
        files = runs_dir / "files" / run_id
        files.mkdir(parents=True, exist_ok=True)
        of_run = summary[summary["run_id"] == run_id]
        of_run.to_csv(files / "summary.csv", index=False, float_format="%.4f")
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
        path.write_text(page.replace("](files/summary.csv)", f"](files/{run_id}/summary.csv)"))
        pages.append(path)
    return pages


def _with_downloads(pair: PairSummary, out: Path, files: Path, run_id: str) -> dict:
    """Copy a pair's raw files next to its run page (CSV gzipped) and list their links."""
    stem = pair.meta.stem
    downloads = []
    for suffix, label in (
        (".csv", "raw CSV (gz)"),
        (".json", "metadata"),
        (".dashboard.html", "k6 dashboard"),
        (".k6.log", "k6 log"),
        (".server.log", "server log"),
    ):
        source = out / f"{stem}{suffix}"
        if not source.exists():
            continue
        if suffix == ".csv":
            target = files / f"{stem}.csv.gz"
            with source.open("rb") as raw, gzip.open(target, "wb", compresslevel=6) as packed:
                shutil.copyfileobj(raw, packed)
        else:
            target = files / f"{stem}{suffix}"
            shutil.copyfile(source, target)
        downloads.append((label, f"files/{run_id}/{target.name}"))
    return {
        "target": pair.target,
        "suite": pair.suite,
        "status": pair.status,
        "metadata": pair.meta,
        "downloads": downloads,
    }


def build_site(site_dir: Path) -> Path:
    """Run mkdocs on the prepared pages; --strict turns a broken internal link into an error."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--quiet",
            "-f",
            str(MKDOCS_CONFIG),
            "-d",
            str(site_dir.resolve()),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise InputError(f"mkdocs could not build the site: {result.stderr.strip()[-800:]}")
    return site_dir


def ab_page(meta: ABMetadata, result: Comparison, image: str = "ab.png", profiles: str = "") -> str:
    """The site page of one paired A/B: its chart, its comparison table, where the CPU went (with
    --profile-servers), both sides and the machine."""
    body = compare.markdown(result).split("\n", 2)[2]  # without its own heading
    return TEMPLATES.get_template("ab.md.j2").render(
        meta=meta, markdown=body, image=image, title="ratio B/A per request name, one dot per round", profiles=profiles
    )


def write_ab_pages(ab_outputs: Path, docs: Path) -> list[Path]:
    """One page per paired A/B found under `ab_outputs` (each folder with an ab.md), and their index."""
    pages = []
    for page in sorted(ab_outputs.glob("*/ab.md")) if ab_outputs.is_dir() else []:
        folder = docs / "ab"
        folder.mkdir(parents=True, exist_ok=True)
        name = page.parent.name
        text = page.read_text().replace("](ab.png)", f"]({name}.png)")
        for svg in page.parent.glob("profile-*.svg"):  # flame graphs of --profile-servers
            text = text.replace(f"]({svg.name})", f"]({name}-{svg.name})")
            shutil.copyfile(svg, folder / f"{name}-{svg.name}")
        (folder / f"{name}.md").write_text(text)
        if (page.parent / "ab.png").exists():
            shutil.copyfile(page.parent / "ab.png", folder / f"{name}.png")
        pages.append(folder / f"{name}.md")
    lines = ["# A/B comparisons", ""]
    lines += [f"- [{p.stem}](ab/{p.name})" for p in reversed(pages)] or [
        "No paired A/B in this report yet: run `./run.sh ab`."
    ]
    (docs / "ab.md").write_text("\n".join(lines) + "\n")
    return pages


def write_history_pages(
    history_dir: Path, options: detect.Options, targets: list[Target], docs: Path, trend_runs: int
) -> list[str]:
    """Trends and regressions, each profile on its own (profiles differ in load, so their latencies
    are never drawn or tested as one series), the newest run's profile first; returns the history's
    warnings (unreadable files)."""
    store = history.load(history_dir)
    by_profile = []
    for profile in store.profiles():
        frame = store.frame(profile)
        by_profile.append((profile, frame, detect.detect(frame, options)))
    ab_records, ab_warnings = history.load_ab(history_dir)
    ab = history.ab_frame(ab_records)
    ab_points = detect.detect_ab(ab, options)
    repositories = {t.server.name: t.server.repository for t in targets}
    ab_sections = _ab_trends(ab, ab_points, repositories, docs)
    write_trends(by_profile, targets, docs, trend_runs, ab_sections)
    warnings = store.warnings + ab_warnings
    points = [_point_row(p) for _, _, found in by_profile for p in found]
    points += [_ab_point_row(p, ab, repositories) for p in ab_points]
    write_regressions(points, options, warnings, docs)
    return warnings


def write_versus_original(history_dir: Path, docs: Path) -> Path:
    """versus-original.md: the original suite's chart beside the latest standard-profile run."""
    store = history.load(history_dir)
    run = _latest(store, original.PROFILE)
    found = original.cells(run) if run else []
    compared = [c for c in found if c.agree is not None]
    meta = tomllib.loads(original.REFERENCE.read_text())
    page = TEMPLATES.get_template("versus-original.md.j2").render(
        cells=found,
        run_id=run.run_id if run else "",
        started_at=run.started_at if run else "",
        commit=run.commit if run else "",
        agree=sum(bool(c.agree) for c in compared),
        compared=len(compared),
        difference=original.DIFFERENCE,
        source=meta["source"],
        statistic=meta["statistic"],
    )
    path = docs / "versus-original.md"
    path.write_text(page)
    return path


def _latest(store: history.History, profile: str) -> HistoryRecord | None:
    try:
        return store.latest(profile=profile)
    except InputError:
        return None


def _ab_trends(ab: pd.DataFrame, points: list, repositories: dict[str, str], docs: Path) -> list[dict]:
    """Per series of the nightly paired A/B (pair of targets, suite, request name): its chart and its
    last nights, each linked to the candidate's commit."""
    if ab.empty:
        return []
    sections = []
    for i, ((series, suite, name), rows) in enumerate(ab.groupby(["series", "suite", "name"], sort=True)):
        marks = [p for p in points if (p.target, p.suite, p.name) == (series, suite, name)]
        image = f"ab-{i:02d}-{suite}-{name}"
        draw.save(draw.ab_trend_chart(rows, marks, f"{name} ({suite}): {series}"), docs / "img" / "trends", image)
        nights = [
            {
                "date": str(r.started_at)[:10],
                "revision": _revision_link(repositories.get(r.server, ""), r.revision),
                "ratio": r.ratio,
                "low": r.low,
                "high": r.high,
                "verdict": r.verdict,
            }
            for r in rows.tail(10).iloc[::-1].itertuples()
        ]
        sections.append(
            {"series": series, "suite": suite, "name": name, "image": f"img/trends/{image}.png", "nights": nights}
        )
    return sections


def _revision_link(repository: str, revision: str) -> str:
    if not revision:
        return "?"
    return f"[`{revision[:8]}`]({repository}/commit/{revision})" if repository else f"`{revision[:8]}`"


def _ab_point_row(p, ab: pd.DataFrame, repositories: dict[str, str]) -> dict:
    server = ab.loc[ab["ab_id"] == p.run_id, "server"].iloc[0]
    row = p.as_dict()
    repository = repositories.get(server, "")
    text = f"`{p.commit_before[:8] or '?'}..{p.commit_after[:8] or '?'}`"
    good = repository and p.commit_before and p.commit_after
    row["commit_range"] = f"[{text}]({repository}/compare/{p.commit_before}...{p.commit_after})" if good else text
    return row


def write_trends(
    by_profile: list[tuple[str, pd.DataFrame, list]],
    targets: list[Target],
    docs: Path,
    max_runs: int,
    ab_sections: list[dict] | None = None,
) -> Path:
    """trends.md: per profile, one chart per request name over its last `max_runs` runs, change
    points marked; then the nightly paired A/B's ratios."""
    profiles = [
        _profile_trends(profile, frame, points, targets, docs, max_runs) for profile, frame, points in by_profile
    ]
    path = docs / "trends.md"
    path.write_text(TEMPLATES.get_template("trends.md.j2").render(profiles=profiles, ab_sections=ab_sections or []))
    return path


def _profile_trends(
    profile: str, frame: pd.DataFrame, points: list, targets: list[Target], docs: Path, max_runs: int
) -> dict:
    if frame.empty:  # runs of this profile recorded, none with a measured request
        return {"profile": profile, "sections": [], "runs": 0, "total_runs": 0}
    recent_runs = frame["run_id"].drop_duplicates().iloc[-max_runs:]
    recent = frame[frame["run_id"].isin(recent_runs) & (frame["status"] == "ok")]
    sections = []
    for (suite, name), series in recent.groupby(["suite", "name"], sort=True):
        marks = [p for p in points if p.suite == suite and p.name == name and p.run_id in set(recent_runs)]
        image = f"{suite}-{name}"
        draw.save(
            draw.trend_chart(series, marks, targets, f"{name} ({suite}, {profile})"),
            docs / "img" / "trends" / profile,
            image,
        )
        sections.append(
            {
                "suite": suite,
                "name": name,
                "image": f"img/trends/{profile}/{image}.png",
                "points": [_point_row(p) for p in marks],
            }
        )
    return {"profile": profile, "sections": sections, "runs": len(recent_runs), "total_runs": frame["run_id"].nunique()}


def write_regressions(points: list[dict], options, warnings: list[str], docs: Path) -> Path:
    """regressions.md: every change point (as rows), newest first."""
    page = TEMPLATES.get_template("regressions.md.j2").render(
        points=sorted(points, key=lambda p: p["started_at"], reverse=True),
        options=options,
        warnings=warnings,
    )
    path = docs / "regressions.md"
    path.write_text(page)
    return path


def _point_row(p) -> dict:
    return p.as_dict() | {"commit_range": _commit_link(p.commit_before, p.commit_after)}


def _commit_link(before: str, after: str) -> str:
    """A link to the commits between two runs where the repository is known (in GitHub Actions)."""
    server, repository = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    text = f"`{before[:8] or '?'}..{after[:8] or '?'}`"
    if server and repository and before and after:
        return f"[{text}]({server}/{repository}/compare/{before}...{after})"
    return text
