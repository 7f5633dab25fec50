"""What many paired A/Bs called, recomputed from their rounds at other error rates (not a test).

    .venv/bin/python -m perf.ab_summary FOLDER [FOLDER ...]   (folders holding comparison.json, searched)

For every comparison found: the request names it called at the suite's settings, and how many it
would call if the whole comparison's error were 0.05 (the default), 0.01 or 0.001, recomputed from
the per-round ratios it kept. Run on A/A outputs, every call is a false one; on injected
slowdowns, every missed one is a miss.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from analysis.compare import verdict
from analysis.paired import paired_interval
from core.layout import ABFiles
from core.records import Comparison, Verdict

FAMILY_ERRORS = (0.05, 0.01, 0.001)


def calls(comparison: Comparison, family_error: float) -> list[str]:
    """The request names called (regression or improvement) at `family_error` over the comparison."""
    rows = [r for r in comparison.rows if len(r.rounds) >= 3]
    confidence = 1 - family_error / max(len(rows), 1)
    called = []
    for r in rows:
        ratios = np.asarray(r.rounds)
        ratio, low, high = paired_interval(np.ones_like(ratios), ratios, confidence)
        if verdict(ratio, low, high, comparison.threshold) in (Verdict.REGRESSION, Verdict.IMPROVEMENT):
            called.append(f"{r.suite}/{r.name}")
    return called


def main() -> None:
    paths = sorted(p for folder in sys.argv[1:] for p in Path(folder).rglob(ABFiles.COMPARISON))
    totals = dict.fromkeys(FAMILY_ERRORS, 0)
    for path in paths:
        comparison = Comparison.read(path)
        found = {error: calls(comparison, error) for error in FAMILY_ERRORS}
        for error, names in found.items():
            totals[error] += bool(names)
        print(f"{path.parent}: {len(comparison.rows)} names; " + "; ".join(f"{e}: {found[e] or '-'}" for e in found))
    print(f"{len(paths)} comparisons; comparisons with any call: " + ", ".join(f"{e}: {n}" for e, n in totals.items()))


if __name__ == "__main__":
    main()
