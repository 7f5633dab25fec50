"""Values of command-line options that several verbs share the form of."""

from __future__ import annotations

from core.errors import BadValue


def parse_pairs(items: list[str], form: str) -> dict[str, str]:
    """Repeated `KEY=VALUE` options as a dict; `form` shows the expected shape in the error."""
    pairs = {}
    for item in items:
        key, _, value = item.partition("=")
        if not key.strip() or not value.strip():
            raise BadValue(f"expected {form}, got {item!r}")
        pairs[key.strip()] = value.strip()
    return pairs
