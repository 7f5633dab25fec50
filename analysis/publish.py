"""Build the report site: generated pages + the hand-written ones in `docs/`, built by mkdocs-material.

Generated pages are written to `.cache/site-docs/` (never committed) together with a copy of
`docs/`; mkdocs then builds `site/`. Each page is rendered from a Jinja2 template in
`analysis/templates/`.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import jinja2
import pandas as pd

from analysis import draw, findings
from analysis.summarise import FolderSummary, Pair
from bench.errors import InputError
from services.registry import ROOT, Target, suites

DOCS_DIR = ROOT / "docs"
BUILD_DOCS_DIR = ROOT / ".cache" / "site-docs"
MKDOCS_CONFIG = ROOT / "mkdocs.yml"
TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)
TEMPLATES.filters["times"] = findings.times


def prepare_docs() -> Path:
    """A fresh copy of the hand-written pages, to which the generated ones are added."""
    shutil.rmtree(BUILD_DOCS_DIR, ignore_errors=True)
    shutil.copytree(DOCS_DIR, BUILD_DOCS_DIR)
    return BUILD_DOCS_DIR


def wide_table(summary: pd.DataFrame, targets: list[Target]) -> str:
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
                cells.append("missing")
                continue
            row = ok.loc[(suite, name, t.id)]
            errors = f" ({int(row['errors'])} err)" if row["errors"] else ""
            cells.append(f"{row['p50_ms']:.2f} / {row['p95_ms']:.2f}{errors}")
        lines.append(f"| {suite} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n<small>p50 / p95 latency of successful requests, ms</small>\n"


def long_table(summary: pd.DataFrame) -> str:
    columns = ["target", "suite", "name", "count", "errors", "mean_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms",
               "max_ms", "throughput_rps"]  # fmt: skip
    return summary[columns].sort_values(["target", "suite", "name"]).to_markdown(index=False, floatfmt=".2f")


def write_overview(result: FolderSummary, targets: list[Target], docs: Path) -> Path:
    draw.draw_all(result.summary, result.quantiles, targets, docs / "img")
    files = docs / "files"
    files.mkdir(parents=True, exist_ok=True)
    result.summary.to_csv(files / "summary.csv", index=False, float_format="%.4f")
    result.quantiles.to_csv(files / "quantiles.csv", index=False, float_format="%.4f")
    run_ids = sorted({p.metadata["run_id"] for p in result.pairs})
    page = TEMPLATES.get_template("overview.md.j2").render(
        profile=result.profile,
        pairs=result.pairs,
        run_links=", ".join(f"run [{r}](runs/{r}.md)" for r in run_ids),
        head_to_head=findings.head_to_head(result.summary, targets),
        fastest=findings.fastest_per_name(result.summary, targets).to_dict("records"),
        problems=findings.problems(result.pairs, result.summary, targets, suites()) + result.warnings,
        table=wide_table(result.summary, targets),
    )
    path = docs / "index.md"
    path.write_text(page)
    return path


def write_run_pages(result: FolderSummary, out: Path, docs: Path) -> list[Path]:
    """One page per run id: metadata, versions, machine, downloads of raw CSVs and the summary."""
    pages = []
    runs_dir = docs / "runs"
    for run_id in sorted({p.metadata["run_id"] for p in result.pairs}):
        pairs = [p for p in result.pairs if p.metadata["run_id"] == run_id]
        files = runs_dir / "files" / run_id
        files.mkdir(parents=True, exist_ok=True)
        summary = result.summary[result.summary["run_id"] == run_id]
        summary.to_csv(files / "summary.csv", index=False, float_format="%.4f")
        first = pairs[0].metadata
        page = TEMPLATES.get_template("run.md.j2").render(
            run_id=run_id,
            profile=first["profile"],
            source=first["source"],
            machine=first["machine"],
            started_at=min(p.metadata["started_at"] for p in pairs),
            pairs=[_with_downloads(p, out, files, run_id) for p in pairs],
            table=long_table(summary) if not summary.empty else "No usable samples in this run.",
        )
        path = runs_dir / f"{run_id}.md"
        path.write_text(page.replace("](files/summary.csv)", f"](files/{run_id}/summary.csv)"))
        pages.append(path)
    return pages


def _with_downloads(pair: Pair, out: Path, files: Path, run_id: str) -> dict:
    """Copy a pair's raw files next to its run page (CSV gzipped) and list their links."""
    stem = f"{pair.target}_{pair.suite}"
    downloads = []
    for suffix, label in ((".csv", "raw CSV (gz)"), (".json", "metadata"), (".dashboard.html", "k6 dashboard"),
                          (".k6.log", "k6 log"), (".server.log", "server log")):  # fmt: skip
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
    return {"target": pair.target, "suite": pair.suite, "status": pair.status, "metadata": pair.metadata,
            "downloads": downloads}  # fmt: skip


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
