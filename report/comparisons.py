"""The text of comparisons and gates: the markdown `compare` and `ab` write, and a pull request's comment.

What a comparison or a gate says is computed in analysis (analysis/compare.py, paired.py,
gate.py); this module only words it. The comment is what a pull request shows: the changed rows only, the
count of unchanged ones, the request names whose CPU per request changed, each server's CPU per
request, and a link to the full comparisons. Nothing in it can notify anyone: an `@name` from a
reason or a spec is broken with a zero-width space.
"""

from __future__ import annotations

import re

import numpy as np

from core.records import Comparison, ComparisonRow, Gate, Outcome, Verdict

MARKER = "<!-- tracking-server-benchmark:gate -->"  # finds the comment again on the next push
HEADLINE = {
    Outcome.PASS: "✅ no regression",
    Outcome.REGRESSION: "🔴 regression",
    Outcome.ACKNOWLEDGED: "🟡 regression, acknowledged as expected",
    Outcome.NO_VERDICT: "⚠️ no verdict",
}

VERDICT_LABEL = {
    Verdict.REGRESSION: "🔴 regression",
    Verdict.IMPROVEMENT: "🟢 improvement",
    Verdict.NO_CHANGE: "⚪ no change",
    Verdict.NO_VERDICT: "⚠️ no verdict",
}
CONFIRMATION = {True: " (confirmed)", False: " (not confirmed by a second measurement)"}


def markdown(result: Comparison) -> str:
    """GitHub-flavoured markdown: the text CI posts on a pull request (`compare` and `ab` alike)."""
    no_verdict = result.count(Verdict.NO_VERDICT)
    # one target (or one pair of targets, as in a paired A/B) is named once, above the table
    shared = {r.target for r in result.rows}
    one_target = len(shared) == 1
    lines = [
        "## Benchmark comparison",
        "",
        f"**A** = `{result.baseline}`, **B** = `{result.candidate}`"
        + (f", target `{next(iter(shared))}`" if one_target else "")
        + f": {len(result.rows)} {'request names' if one_target else 'target × request names'} "
        f"compared, **{result.count(Verdict.REGRESSION)} regression(s)**, {result.count(Verdict.IMPROVEMENT)} "
        f"improvement(s){f', {no_verdict} without a verdict' if no_verdict else ''} "
        f"({result.method}; threshold {result.threshold:.0%}).",
        "",
        ("" if one_target else "| target ")
        + "| suite | request | median A (ms) | median B (ms) | B/A | interval | verdict |",
        ("" if one_target else "|---") + "|---|---|---:|---:|---:|---|---|",
    ]
    order = {Verdict.REGRESSION: 0, Verdict.IMPROVEMENT: 1, Verdict.NO_CHANGE: 2, Verdict.NO_VERDICT: 3}
    for r in sorted(result.rows, key=lambda r: (order[r.verdict], -finite_or(r.ratio, 0))):
        because = f": {r.reason}" if r.reason else CONFIRMATION.get(r.confirmed, "")
        lines.append(
            ("" if one_target else f"| {r.target} ")
            + f"| {r.where} | {r.name} | {number(r.median_a, '.2f')} | {number(r.median_b, '.2f')} "
            f"| {number(r.ratio, '.3f')} | {number(r.low, '.3f')} – {number(r.high, '.3f')} "
            f"| {VERDICT_LABEL[r.verdict]}{because} |"
        )
    cpu = [r for r in result.rows if r.cpu is not None]
    if cpu:
        lines += [
            "",
            f"Server CPU per request, each request name measured on its own segment of every round (CPU ms per "
            f"request = CPU seconds per 1000 requests; threshold {result.cpu_threshold:.0%}):",
            "",
            "| suite | request | CPU A (ms) | CPU B (ms) | B/A | interval | verdict |",
            "|---|---|---:|---:|---:|---|---|",
        ]
        for r in sorted(cpu, key=lambda r: (order[r.cpu.verdict], -finite_or(r.cpu.ratio, 0))):
            c = r.cpu
            lines.append(
                f"| {r.suite} | {r.name} | {number(c.cpu_a, '.3f')} | {number(c.cpu_b, '.3f')} "
                f"| {number(c.ratio, '.3f')} | {number(c.low, '.3f')} – {number(c.high, '.3f')} "
                f"| {VERDICT_LABEL[c.verdict]}{f': {c.reason}' if c.reason else ''} |"
            )
    if result.resources:
        lines += [
            "",
            "Server cost (CPU seconds per 1000 requests, paired by round; peak resident memory of the process tree):",
            "",
            "| suite | CPU A | CPU B | B/A | 95% interval | memory A (MiB) | memory B (MiB) |",
            "|---|---:|---:|---:|---|---:|---:|",
        ]
        for c in result.resources:
            lines.append(
                f"| {c.where} | {number(c.cpu_a, '.2f')} | {number(c.cpu_b, '.2f')} | {number(c.ratio, '.3f')} "
                f"| {number(c.low, '.3f')} – {number(c.high, '.3f')} | {number(c.rss_a_mib, '.0f')} "
                f"| {number(c.rss_b_mib, '.0f')} |"
            )
    return "\n".join(lines) + "\n"


def number(value: float | None, fmt: str) -> str:
    """A value for a table: formatted, or a dash when it is missing or not finite."""
    return "–" if value is None or not np.isfinite(value) else format(value, fmt)


def finite_or(value: float | None, default: float) -> float:
    """The value, or `default` when it is missing or not finite (for sorting)."""
    return default if value is None or not np.isfinite(value) else value


def comment(gate: Gate) -> str:
    """The short markdown a pull request shows: changed rows, unchanged count, server cost, link."""
    rows = [r for c in gate.comparisons for r in c.rows]
    changed = [r for r in rows if r.verdict != Verdict.NO_CHANGE]
    commits = ""
    if gate.baseline_commit or gate.candidate_commit:
        commits = (
            f"`{gate.baseline_commit[:12] or '?'}` (baseline) → `{gate.candidate_commit[:12] or '?'}` (candidate) · "
        )
    threshold = f"threshold {gate.comparisons[0].threshold:.0%}" if gate.comparisons else ""
    lines = [
        f"### Performance: {HEADLINE[gate.outcome]}",
        "",
        f"{commits}paired A/B on one machine, {threshold}",
        "",
        gate.reason + ".",
    ]
    if changed:
        lines += ["", "| target | suite | request | B/A | interval | verdict |", "|---|---|---|---:|---|---|"]
        lines += [
            f"| {r.target} | {r.where} | {r.name} | {number(r.ratio, '.3f')} "
            f"| {number(r.low, '.3f')} – {number(r.high, '.3f')} "
            f"| {VERDICT_LABEL[r.verdict]}{f': {r.reason}' if r.reason else CONFIRMATION.get(r.confirmed, '')} |"
            for r in sorted(changed, key=lambda r: (r.verdict != Verdict.REGRESSION, -finite_or(r.ratio, 0.0)))
        ]
    lines += ["", f"{len(rows) - len(changed)} request name(s) unchanged."]
    lines += _cpu_changes(rows)
    cost = [(c, x) for c in gate.comparisons for x in c.resources if x.ratio is not None]
    if cost:
        lines += ["", "| server CPU per request | suite | B/A | interval |", "|---|---|---:|---|"]
        lines += [
            f"| {_side(c)} | {x.where} | {number(x.ratio, '.3f')} | {number(x.low, '.3f')} – {number(x.high, '.3f')} |"
            for c, x in cost
        ]
    body = neutralise_mentions("\n".join(lines))
    link = f"\n\n[Full comparison]({gate.details_url})" if gate.details_url else ""
    return f"{MARKER}\n{body}{link}\n"


def _cpu_changes(rows: list[ComparisonRow]) -> list[str]:
    """The request names whose CPU per request changed (isolated A/Bs): shown, never gating."""
    changed = [r for r in rows if r.cpu is not None and r.cpu.verdict in (Verdict.REGRESSION, Verdict.IMPROVEMENT)]
    if not changed:
        return []
    lines = ["", "| CPU per request (not gated) | suite | request | B/A | interval |", "|---|---|---|---:|---|"]
    return lines + [
        f"| {r.target} | {r.suite} | {r.name} | {number(r.cpu.ratio, '.3f')} "
        f"| {number(r.cpu.low, '.3f')} – {number(r.cpu.high, '.3f')} |"
        for r in sorted(changed, key=lambda r: -finite_or(r.cpu.ratio, 0.0))
    ]


def neutralise_mentions(text: str) -> str:
    """`@name` as text that notifies no one: a zero-width space after the `@`."""
    return re.sub(r"@(?=[\w-])", "@\u200b", text)


def _side(comparison: Comparison) -> str:
    return comparison.rows[0].target if comparison.rows else comparison.candidate
