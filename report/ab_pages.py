"""The pages of paired A/B comparisons, drawn when the site is built: one per A/B, and their index.

Each page is drawn from what the A/B's stages stored (report/inputs.py loads it once): its chart of
the per-round ratios, its comparison as report/comparisons.py words it, with `--profile-servers`
where the CPU went (report/flames.py), both sides and the machine.
"""

from __future__ import annotations

from pathlib import Path

from core.layout import SiteFiles
from core.records import ABMetadata, Comparison
from report import comparisons, draw, flames
from report.inputs import ABResult
from report.templates import TEMPLATES

CHART_TITLE = "ratio B/A per request name, one dot per round"


def ab_page(meta: ABMetadata, result: Comparison, image: str, profiles: str = "") -> str:
    """The site page of one paired A/B: its chart, its comparison table, where the CPU went (with
    --profile-servers), both sides and the machine."""
    body = comparisons.markdown(result).split("\n", 2)[2]  # without its own heading
    return TEMPLATES.get_template("ab.md.j2").render(
        meta=meta, markdown=body, image=image, title=CHART_TITLE, profiles=profiles
    )


def write_ab_pages(results: list[ABResult], docs: Path) -> list[Path]:
    """One page per paired A/B, with its chart and flame graphs beside it in `ab/`, and their index."""
    folder = docs / "ab"
    pages = []
    with draw.Renderer() as renderer:
        for ab in results:
            folder.mkdir(parents=True, exist_ok=True)
            chart = renderer.save(draw.ab_chart(ab.comparison), folder, ab.name)
            page = ab_page(ab.meta, ab.comparison, image=chart.name, profiles=_profiles(ab, folder))
            pages.append(folder / f"{ab.name}.md")
            pages[-1].write_text(page)
    lines = ["# A/B comparisons", ""]
    lines += [f"- [{p.stem}](ab/{p.name})" for p in reversed(pages)] or [
        "No paired A/B in this report yet: run `./run.sh ab`."
    ]
    (docs / "ab.md").write_text("\n".join(lines) + "\n")
    return pages


def _profiles(ab: ABResult, folder: Path) -> str:
    """What grew from A to B in each profiled suite, its flame graph written beside the page."""
    sections = []
    for suite, (a, b) in ab.profiles.items():
        svg = SiteFiles(folder.parent).ab_profile(ab.name, suite)
        svg.write_text(flames.flame_graph(a, b, f"{suite}: B's CPU by stack; red grew from A, blue shrank"))
        sections.append(flames.profile_section(a, b, suite, svg.name))
    return "\n".join(sections)
