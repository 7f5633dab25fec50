"""The pages' Jinja2 templates (`report/templates/<page>.md.j2`) and how a page is written from one."""

from __future__ import annotations

from pathlib import Path

import jinja2

from core.records import LOAD_GENERATOR_SHARE
from report import findings

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)
TEMPLATES.filters["times"] = findings.times
TEMPLATES.globals["share"] = LOAD_GENERATOR_SHARE


def render(path: Path, **values: object) -> Path:
    """Write the page `path` from its template (`<page name>.md.j2`)."""
    path.write_text(TEMPLATES.get_template(f"{path.stem}.md.j2").render(**values))
    return path
