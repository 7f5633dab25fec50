"""The gate on a change: which regressions stand, whether the check fails, and the short comment.

A paired A/B run with `--confirm` measures the suites in which it called a regression a second
time, and a regression stands only when both measurements call it: a one-off slow stretch of a
shared runner is the commonest false alert of tools of this kind. The gate then reads every
comparison of the change (CI runs one per target x suite):

- a standing regression fails the check, unless the change is acknowledged as expected (a pull
  request's label or a caller's input, with its reason): then the check passes and says so;
- a comparison that did not complete fails the check too, since it cannot vouch for the change;
- anything else passes. A change of CPU per request name is shown, and never fails the check: it
  is what the change costs the server, not what its users wait, and an A/B of shared runners
  measures it with no second measurement to confirm it.

The comment is what a pull request shows: the changed rows only, the count of unchanged ones, the
request names whose CPU per request changed, each server's CPU per request, and a link to the full
comparisons. Nothing in it can notify anyone: an `@name` from a reason or a spec is broken with a
zero-width space.
"""

from __future__ import annotations

import dataclasses
import re

from analysis.compare import CONFIRMATION, VERDICT_LABEL, finite_or, number
from core.records import Comparison, ComparisonRow, Gate, Outcome, Verdict, now_iso

MARKER = "<!-- tracking-server-benchmark:gate -->"  # finds the comment again on the next push
HEADLINE = {
    Outcome.PASS: "✅ no regression",
    Outcome.REGRESSION: "🔴 regression",
    Outcome.ACKNOWLEDGED: "🟡 regression, acknowledged as expected",
    Outcome.NO_VERDICT: "⚠️ no verdict",
}


def _key(row: ComparisonRow) -> tuple[str, str, str, str]:
    return (row.target_a, row.target_b, row.suite, row.name)


def regressed_suites(comparison: Comparison) -> tuple[str, ...]:
    """The suites in which a regression was called: what a confirmation measures again."""
    return tuple(sorted({r.suite for r in comparison.rows if r.verdict == Verdict.REGRESSION}))


def confirm(first: Comparison, second: Comparison, confirmation_id: str) -> Comparison:
    """`first` with each of its regressions marked confirmed or not by `second`, a new measurement."""
    again = {_key(r) for r in second.rows if r.verdict == Verdict.REGRESSION}
    rows = tuple(
        dataclasses.replace(r, confirmed=_key(r) in again) if r.verdict == Verdict.REGRESSION else r for r in first.rows
    )
    return dataclasses.replace(first, rows=rows, confirmation=confirmation_id)


def judge(comparisons: list[Comparison], acknowledgement: str = "", **context: str) -> Gate:
    """The outcome over every comparison of a change; `context` fills the Gate's commits and link."""
    rows = [r for c in comparisons for r in c.rows]
    standing = [r for c in comparisons for r in c.regressions]
    missing = [r for r in rows if r.verdict == Verdict.NO_VERDICT]
    if not rows:
        outcome, reason = Outcome.NO_VERDICT, "no comparison was found: the A/B did not run"
    elif standing and not acknowledgement:
        outcome, reason = Outcome.REGRESSION, _regressions(standing)
    elif missing:  # an acknowledgement covers a regression, never a comparison that is not there
        first = missing[0]
        outcome = Outcome.NO_VERDICT
        reason = f"{len(missing)} request name(s) without a verdict, e.g. {first.target} {first.suite}: {first.reason}"
    elif standing:
        outcome, reason = Outcome.ACKNOWLEDGED, f"{_regressions(standing)}; acknowledged: {acknowledgement}"
    else:
        unconfirmed = sum(r.confirmed is False for r in rows)
        outcome = Outcome.PASS
        reason = f"{len(rows)} request names compared, none regressed" + (
            f" ({unconfirmed} called once and not confirmed by a second measurement)" if unconfirmed else ""
        )
    return Gate(outcome, reason, tuple(comparisons), acknowledgement=acknowledgement, created_at=now_iso(), **context)


def _regressions(standing: list[ComparisonRow]) -> str:
    confirmed = " (each called by both measurements)" if all(r.confirmed for r in standing) else ""
    names = ", ".join(f"{r.target} {r.suite}/{r.name} ×{r.ratio:.3f}" for r in standing)
    return f"{len(standing)} regression(s){confirmed}: {names}"


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
            f"| {r.target} | {r.suite} | {r.name} | {number(r.ratio, '.3f')} "
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
            f"| {_side(c)} | {x.suite} | {number(x.ratio, '.3f')} | {number(x.low, '.3f')} – {number(x.high, '.3f')} |"
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
