"""`./run.sh ab --baseline SPEC --candidate SPEC`: a paired A/B of two servers on this machine.

A SPEC is a target of the registry at any version (`fasttrackml-sqlite`, `mlflow-2.22.5-postgres`,
`fasttrackml-0.4.0-sqlite`), optionally served by a local build of its server
(`fasttrackml-sqlite@/path/to/fml`) or by a server already running at a URL
(`fasttrackml-sqlite@http://127.0.0.1:5001`). Both servers run at once, each on a fresh database,
and the suites run in short rounds in the order A B, B A, A B ...; the verdict per request name
comes from the spread of the per-round ratios (see analysis/paired.py).

The verb plans (options -> both sides), then hands the plan to the A/B's stages (cli/ab_stages.py):
measure -> judge -> confirm -> store. `./run.sh report` draws its page from what they stored.
"""

from __future__ import annotations

import argparse

from cli import ab_stages, stages
from cli.ab_plan import add_arguments, plan_from, thresholds
from cli.tables import print_comparison_table
from core.layout import json_beside
from core.records import Status
from runner.progress import console

__all__ = ["add_arguments", "main"]


def main(args: argparse.Namespace) -> int:
    plan = plan_from(args)
    console.print(
        f"A/B [bold]{plan.ab_id}[/]: A = {plan.baseline.text}, B = {plan.candidate.text}; "
        f"{len(plan.suites)} suite(s), each "
        + " then ".join(f"{m.describe()} for up to {m.rounds} rounds" for m in plan.measured_modes)
        + ", "
        + (f"{plan.round_iterations} iterations" if plan.round_iterations else f"~{plan.round_seconds:g} s")
        + " per round"
    )
    meta, result = ab_stages.ab(plan, thresholds(args), confirm=args.confirm)
    if args.markdown:
        stages.write_comparison(result, args.markdown, json_beside(args.markdown))
    print_comparison_table(result)
    console.print(f"Comparison written to {plan.out}", markup=False)
    if meta.status != Status.OK:
        console.print(f"[red]the comparison did not complete: {meta.error}", markup=True)
        return 1
    return 1 if args.fail_on_regression and result.regressions else 0
