"""The pages of paired A/B comparisons: one per comparison (`./run.sh ab` writes its ab.md), and their index."""

from __future__ import annotations

import shutil
from pathlib import Path

from analysis import compare
from core.layout import ab_folders
from core.records import ABMetadata, Comparison
from report.templates import TEMPLATES


def ab_page(meta: ABMetadata, result: Comparison, image: str, profiles: str = "") -> str:
    """The site page of one paired A/B: its chart, its comparison table, where the CPU went (with
    --profile-servers), both sides and the machine."""
    body = compare.markdown(result).split("\n", 2)[2]  # without its own heading
    return TEMPLATES.get_template("ab.md.j2").render(
        meta=meta, markdown=body, image=image, title="ratio B/A per request name, one dot per round", profiles=profiles
    )


def write_ab_pages(ab_outputs: Path, docs: Path) -> list[Path]:
    """One page per paired A/B found under `ab_outputs` (each folder with an ab.md), and their index."""
    pages = []
    for files in [f for f in ab_folders(ab_outputs) if f.page.exists() and f.folder != ab_outputs]:
        folder = docs / "ab"
        folder.mkdir(parents=True, exist_ok=True)
        name = files.folder.name
        text = files.page.read_text().replace(f"]({files.chart.name})", f"]({name}.png)")
        for svg in files.folder.glob("profile-*.svg"):  # flame graphs of --profile-servers
            text = text.replace(f"]({svg.name})", f"]({name}-{svg.name})")
            shutil.copyfile(svg, folder / f"{name}-{svg.name}")
        (folder / f"{name}.md").write_text(text)
        if files.chart.exists():
            shutil.copyfile(files.chart, folder / f"{name}.png")
        pages.append(folder / f"{name}.md")
    lines = ["# A/B comparisons", ""]
    lines += [f"- [{p.stem}](ab/{p.name})" for p in reversed(pages)] or [
        "No paired A/B in this report yet: run `./run.sh ab`."
    ]
    (docs / "ab.md").write_text("\n".join(lines) + "\n")
    return pages
