"""mkdocs hooks of the report site (mkdocs.yml `hooks:`), run by mkdocs itself while it builds.

A site built from the smoke profile carries a banner on every page, hand-written ones included:
its numbers come from a handful of requests and say nothing of any server's speed. `report/site.py`
writes the banner beside the pages (a dotfile, which mkdocs never publishes) when it is wanted.
"""

from __future__ import annotations

from pathlib import Path

BANNER_FILE = ".banner.md"


def on_page_markdown(markdown: str, page: object, config: dict, files: object) -> str:
    banner = Path(config["docs_dir"]) / BANNER_FILE
    return f"{banner.read_text()}\n{markdown}" if banner.exists() else markdown
