"""The gate on a change: which regressions stand, and whether the check fails.

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

The pull request's comment that words the outcome is drawn by report/comparisons.py.
"""

from __future__ import annotations

import dataclasses

from core.records import Comparison, ComparisonRow, Gate, Outcome, Verdict, now_iso


def _key(row: ComparisonRow) -> tuple[str, str, str, str, str]:
    return (row.target_a, row.target_b, row.suite, row.mode, row.name)


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
        reason = f"{len(missing)} request name(s) without a verdict, e.g. {first.target} {first.where}: {first.reason}"
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
    names = ", ".join(f"{r.target} {r.where}/{r.name} ×{r.ratio:.3f}" for r in standing)
    return f"{len(standing)} regression(s){confirmed}: {names}"
