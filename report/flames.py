"""Where the servers spent their CPU, drawn: a differential flame graph and the table of what grew.

analysis/stacks.py computes each function's share of a side's samples and what grew from A to B;
this module draws B's stacks as a self-contained SVG, coloured by that growth, and words the table
the A/B's page shows under it.
"""

from __future__ import annotations

import html
from collections import Counter

from analysis.stacks import growth


def profile_section(a: Counter[str], b: Counter[str], suite: str, svg_name: str) -> str:
    """The markdown of what grew from A to B in `suite`, linking its flame graph `svg_name`."""
    grown = growth(a, b)
    lines = [
        f"**Where the CPU went, {suite}** ({sum(a.values())} samples of A, {sum(b.values())} of B; "
        f"[differential flame graph]({svg_name})): the functions whose share of the server's CPU grew most",
        "",
        "| function | share of A | share of B | grew (points) |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| `{r.function}` | {r.share_a:.1f}% | {r.share_b:.1f}% | {r.growth:+.1f} |" for r in grown.itertuples()
    ] or ["| (nothing grew) | | | |"]
    return "\n".join(lines) + "\n"


def flame_graph(a: Counter[str], b: Counter[str], title: str, width: int = 1200) -> str:
    """A differential flame graph as a self-contained SVG: B's stacks, each frame's width its share of
    B's samples, red where its share grew from A, blue where it shrank; hover shows both shares."""
    total_a, total_b = sum(a.values()) or 1, sum(b.values()) or 1
    tree_b, tree_a = _tree(b), _tree(a)
    height, row = 18, 17
    depth = max((path.count(";") + 1 for path in tree_b), default=0)
    rects = []
    for path, (x, count) in _layout(tree_b).items():
        level = path.count(";")
        w = count / total_b * width
        if w < 0.3:
            continue
        share_b, share_a = count / total_b, tree_a.get(path, 0) / total_a
        name = path.rsplit(";", 1)[-1]
        y = (depth - level) * height
        label = html.escape(name if len(name) * 7 < w else name[: max(int(w / 7) - 1, 0)])
        tip = html.escape(f"{name}: A {share_a:.1%}, B {share_b:.1%} ({(share_b - share_a) * 100:+.1f} points)")
        rects.append(
            f'<g><title>{tip}</title><rect x="{x / total_b * width:.1f}" y="{y}" width="{w:.1f}" '
            f'height="{row}" fill="{_colour(share_b - share_a)}"/>'
            f'<text x="{x / total_b * width + 2:.1f}" y="{y + 12}">{label}</text></g>'
        )
    total_height = (depth + 2) * height
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total_height}" '
        'font-family="monospace" font-size="11">'
        f'<text x="4" y="14" font-size="13">{html.escape(title)}</text>' + "".join(rects) + "</svg>\n"
    )


def _tree(stacks: Counter[str]) -> dict[str, int]:
    """Samples per frame path (`root;...;frame`), each path counting every stack that passes through it."""
    tree: Counter[str] = Counter()
    for stack, count in stacks.items():
        frames = stack.split(";")
        for depth in range(1, len(frames) + 1):
            tree[";".join(frames[:depth])] += count
    return dict(tree)


def _layout(tree: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Each path's left edge (in samples) and width: children side by side under their parent, by name."""
    placed: dict[str, tuple[int, int]] = {}
    children: dict[str, list[str]] = {}
    for path in sorted(tree):
        parent = path.rpartition(";")[0]
        children.setdefault(parent, []).append(path)
    pending = [("", 0)]
    while pending:
        parent, left = pending.pop()
        for path in children.get(parent, []):
            placed[path] = (left, tree[path])
            pending.append((path, left))
            left += tree[path]
    return placed


def _colour(difference: float) -> str:
    """Red for a share that grew, blue for one that shrank, paler the smaller the change (5 points: full)."""
    strength = min(abs(difference) / 0.05, 1.0)
    fade = int(230 - 160 * strength)
    return f"rgb(240,{fade},{fade})" if difference > 0 else f"rgb({fade},{fade},240)"
