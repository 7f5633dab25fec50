"""How much narrower the paired A/B's interval is than `compare`'s, on the same samples (not a test).

    .venv/bin/python -m perf.ab_vs_compare AB_FOLDER [AB_FOLDER ...]

For each finished `./run.sh ab` folder, the samples of all its rounds are pooled per side and
judged by `compare`'s method, as if they were two runs (bootstrap interval widened by the default
run-to-run noise, which is what `compare` uses without history). Beside it, the A/B's own interval
from its paired rounds. Widths are on log scale: log(high / low).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import compare
from analysis.k6csv import read_samples
from analysis.summarise import successful_durations
from core.layout import ABFiles
from core.records import ABMetadata, Comparison


def pooled_samples(out: Path, meta: ABMetadata) -> dict[str, compare.Samples]:
    """Every round's successful latencies (the warm-up round left out), per side and request name."""
    frames = []
    for result in meta.results:
        csv_path, _ = ABFiles(out).round_files(result.suite, "AB" if meta.interleaved else result.side, result.round)
        if result.round == 0 or not csv_path.exists():
            continue
        samples = read_samples(csv_path).frame
        if meta.interleaved:
            samples = samples[samples["side"] == result.side]
        frames.append(successful_durations(samples).assign(side=result.side, suite=result.suite))
    pooled = pd.concat(frames).drop_duplicates()
    return {
        side: {
            ("target", suite, str(name)): group["value"].to_numpy(float)
            for (suite, name), group in of_side.groupby(["suite", "name"], observed=True)
        }
        for side, of_side in pooled.groupby("side")
    }


def widths(out: Path) -> pd.DataFrame:
    files = ABFiles(out)
    meta = ABMetadata.read(files.metadata)
    ab = Comparison.read(files.comparison)
    sides = pooled_samples(out, meta)
    judged = {(r.suite, r.name): r for r in compare.compare(sides["A"], sides["B"])}
    rows = []
    for r in ab.rows:
        c = judged.get((r.suite, r.name))
        if c is None or not np.isfinite(r.low):
            continue
        rows.append(
            {
                "suite": r.suite,
                "name": r.name,
                "ab_ratio": r.ratio,
                "ab_width": np.log(r.high / r.low),
                "ab_verdict": str(r.verdict),
                "compare_ratio": c.ratio,
                "compare_width": np.log(c.high / c.low),
                "compare_verdict": str(c.verdict),
            }
        )
    frame = pd.DataFrame(rows)
    frame["narrower"] = frame["compare_width"] / frame["ab_width"]
    return frame


def main() -> None:
    for folder in sys.argv[1:]:
        frame = widths(Path(folder))
        print(f"{folder}:")
        print(frame.round(3).to_string(index=False))
        print(
            f"median: A/B width {frame['ab_width'].median():.3f}, compare width {frame['compare_width'].median():.3f}, "
            f"{frame['narrower'].median():.1f}x narrower\n"
        )


if __name__ == "__main__":
    main()
