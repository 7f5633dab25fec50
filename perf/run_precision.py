"""How long the default run takes and how honest its intervals are, measured on real servers (not a test).

    .venv/bin/python -m perf.run_precision identical [--repeats 3] [--targets fasttrackml-sqlite] [-- RUN OPTIONS]
    .venv/bin/python -m perf.run_precision default [--repeats 1] [-- RUN OPTIONS]

`identical` runs each target twice in one run, as two targets (the registry's id and the same server
at its version named, e.g. fasttrackml-sqlite and fasttrackml-0.6.0-sqlite): their true ratio is 1, so
the share of request names whose head-to-head interval (analysis/precision.py) covers 1 is the
intervals' coverage, which should be at least their 95%. It reports, per repeat and over all, that
share, the paired and the combined (one-pass) ratios apart, the intervals' median half-width, and
the wall time. `default` runs `./run.sh` as a newcomer does (every target and suite, the default
profile) and reports its wall time, each suite's share of it, and how sure its p50s are (the median
and largest half-width of their intervals, per suite). RUN OPTIONS go to `./run.sh run` as they are
(--suites, --profile ...). Run it on a quiet machine: nothing else heavy beside it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import precision
from analysis.summarise import summarise_folder
from core.paths import ROOT
from services.registry import load_registry


def run(out: Path, options: list[str]) -> float:
    """One `./run.sh run --no-report` into `out`; its wall time in seconds (installs excepted: run once before)."""
    started = time.monotonic()
    command = [sys.executable, "-m", "cli", "run", "--out", str(out), "--no-report", *options]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"./run.sh run failed ({done.returncode}): {done.stderr[-2000:]}")
    return time.monotonic() - started


def twin(target_id: str) -> str:
    """The same server as `target_id`, as another target: its version named in its id."""
    target = load_registry().target(target_id)
    return f"{target.server.name}-{target.version}-{target.database.kind}"


def identical(args: argparse.Namespace) -> None:
    rows, seconds = [], []
    pairs = [(t, twin(t)) for t in args.targets.split(",")]
    targets = ",".join(t for pair in pairs for t in pair)
    for repeat in range(1, args.repeats + 1):
        with tempfile.TemporaryDirectory() as folder:
            seconds.append(run(Path(folder), ["--targets", targets, *args.run_options]))
            summary = summarise_folder(Path(folder))
            for reference, other in pairs:
                for h in precision.head_to_head(summary.summary, summary.rounds, reference, other):
                    rows.append({"repeat": repeat, "suite": h.suite, "name": h.name, "target": reference, **vars(h)})
        found = pd.DataFrame(rows)
        mine = found[found["repeat"] == repeat]
        print(f"repeat {repeat}: {_coverage(mine)}; {seconds[-1]:.0f} s", flush=True)
    found = pd.DataFrame(rows)
    print(f"over {args.repeats} repeat(s): {_coverage(found)}; wall time median {np.median(seconds):.0f} s")
    for kind, part in (
        ("paired over rounds", found[found["paired_rounds"] > 0]),
        ("one pass", found[found["paired_rounds"] == 0]),
    ):
        if not part.empty:
            print(f"  {kind}: {_coverage(part)}")
    for suite, part in found.groupby("suite"):
        print(f"  {suite}: {_coverage(part)}")
    # a server instance's own offset: the twins' ratio, its median over a suite's request names
    offsets = found.groupby(["repeat", "target", "suite"])["ratio"].median()
    print(f"  twins' median ratio per repeat, target and suite: {', '.join(f'{v:.3f}' for v in offsets)}")
    print(f"  their log sd: {np.log(offsets).std(ddof=1):.3f} (one server instance's: that over sqrt 2)")
    missed = found[(found["low"] > 1) | (found["high"] < 1)]
    if not missed.empty:
        print("  not covering 1:")
        print(
            missed[["repeat", "target", "suite", "name", "ratio", "low", "high", "paired_rounds"]].to_string(
                index=False
            )
        )


def _coverage(found: pd.DataFrame) -> str:
    covered = ((found["low"] <= 1) & (found["high"] >= 1)).sum()
    half = np.log(found["high"] / found["ratio"]).median()
    share = covered / max(len(found), 1)
    return f"{covered} of {len(found)} ratio intervals cover 1 ({share:.0%}), median ±{np.expm1(half):.0%}"


def default(args: argparse.Namespace) -> None:
    for repeat in range(1, args.repeats + 1):
        with tempfile.TemporaryDirectory() as folder:
            seconds = run(Path(folder), args.run_options)
            summary = summarise_folder(Path(folder))
            print(f"repeat {repeat}: {seconds / 60:.1f} min in all")
            for pair in summary.pairs:
                meta = pair.meta
                took = _seconds(meta.started_at, meta.ended_at) if meta.ended_at else float("nan")
                print(f"  {meta.target:28} {meta.suite:10} {meta.status:12} {took:6.0f} s")
            ok = summary.summary[summary.summary["status"] == "ok"]
            width = np.maximum(ok["p50_high_ms"] / ok["p50_ms"], ok["p50_ms"] / ok["p50_low_ms"]) - 1
            table = ok.assign(width=width).groupby("suite")["width"].agg(["median", "max", "count"])
            print("  how sure each p50 is (±, share of the p50):")
            print(table.map(lambda v: f"{v:.0%}" if isinstance(v, float) else v).to_string())
            print(json.dumps({"minutes": round(seconds / 60, 1)}))


def _seconds(start: str, end: str) -> float:
    return (pd.Timestamp(end) - pd.Timestamp(start)).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["identical", "default"])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--targets", default="fasttrackml-sqlite", help="identical: the targets to run twice")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    args.run_options = argv[cut + 1 :]
    {"identical": identical, "default": default}[args.what](args)


if __name__ == "__main__":
    main()
