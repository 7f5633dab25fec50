"""Benchmark every target x suite of a plan: suite by suite, sharing one PostgreSQL.

A suite that runs in rounds (its profile entry has `rounds`) is run on the targets of each database
together, in interleaved rounds (runner/rounds.py); any other suite, and a pair the registry says
cannot run, one target at a time (runner/pair.py).
"""

from __future__ import annotations

import shutil
from contextlib import nullcontext

from analysis import duration
from analysis.summarise import PairSummary
from core.paths import WORK_DIR
from runner.pair import RunPlan, run_pair
from runner.progress import console
from runner.rounds import run_group
from services.postgres import postgres
from services.registry import Target


def steps(plan: RunPlan) -> list[tuple[str, list[Target]]]:
    """(suite, targets) in the order they run: the runnable targets of one database together where
    the suite runs in rounds, else one target at a time."""
    result: list[tuple[str, list[Target]]] = []
    for suite in plan.suites:
        in_rounds = plan.profile_for(suite).rounds is not None
        groups: dict[str, list[Target]] = {}
        for target in plan.targets:
            runnable = plan.executable or not target.unsupported(suite)
            if in_rounds and runnable:
                groups.setdefault(target.database.kind, []).append(target)
            else:
                result.append((suite, [target]))
        result += [(suite, group) for group in groups.values()]
    return result


def run_all(plan: RunPlan) -> list[PairSummary]:
    """Every pair of the plan, sharing one PostgreSQL (a fresh database each)."""
    results: list[PairSummary] = []
    try:
        with postgres(plan.postgres_url) if plan.needs_postgres else nullcontext() as pg:
            for suite, targets in steps(plan):
                names = ", ".join(t.id for t in targets)
                if plan.profile_for(suite).rounds is not None and _runnable(plan, targets, suite):
                    console.rule(f"{names} · {suite} in rounds  [dim]{_overall(plan, results, len(targets))}")
                    results += run_group(plan, targets, suite, pg)
                else:
                    console.rule(f"{names} · {suite}  [dim]{_overall(plan, results, 1)}")
                    results.append(run_pair(plan, targets[0], suite, pg))
    finally:
        shutil.rmtree(WORK_DIR / plan.run_id, ignore_errors=True)
    return results


def _runnable(plan: RunPlan, targets: list[Target], suite: str) -> bool:
    return bool(plan.executable) or not any(t.unsupported(suite) for t in targets)


def _overall(plan: RunPlan, done: list[PairSummary], pairs: int) -> str:
    """'pair 3 of 24, about 41 min left', or 'pairs 3-5 of 24 ...' for a group (its pairs included)."""
    first = len(done) + 1
    where = (
        f"pair {first} of {len(plan.pairs)}"
        if pairs == 1
        else f"pairs {first}-{first + pairs - 1} of {len(plan.pairs)}"
    )
    if plan.estimate is None:
        return where
    finished = [(p.target, p.suite) for p in done]
    return f"{where}, about {duration.minutes(plan.estimate.remaining(finished))} left"
