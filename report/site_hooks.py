"""mkdocs hooks of the report site (mkdocs.yml `hooks:`), run by mkdocs itself while it builds.

Generated folders become navigation sections named after them ("ab" would read "Ab"): each is
given its title here. A site built from the smoke profile carries a banner on every page, hand-written ones included:
its numbers come from a handful of requests and say nothing of any server's speed. `report/site.py`
writes the banner beside the pages (a dotfile, which mkdocs never publishes) when it is wanted.
"""

from __future__ import annotations

from pathlib import Path

BANNER_FILE = ".banner.md"


def on_page_markdown(markdown: str, page: object, config: dict, files: object) -> str:
    """The banner below the page's heading (mkdocs takes a page's title from a leading heading)."""
    banner = Path(config["docs_dir"]) / BANNER_FILE
    if not banner.exists():
        return markdown
    heading, rest = markdown.split("\n", 1) if markdown.startswith("# ") else ("", markdown)
    return f"{heading}\n\n{banner.read_text()}\n{rest}"


SECTION_TITLES = {"Ab": "A/B comparisons"}  # mkdocs' title of a generated folder -> ours


def on_nav(nav: object, config: dict, files: object) -> object:
    for item in nav.items:  # type: ignore[attr-defined]
        if item.is_section and item.title in SECTION_TITLES:
            item.title = SECTION_TITLES[item.title]
    return nav
