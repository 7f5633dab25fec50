"""How long the summary takes on a standard-sized output folder, and how much memory it needs.

Generates about 1 GB of realistic k6 CSV (the rows of a real k6 run, repeated with later
timestamps) as 8 target x suite files, then times `summarise_folder` in a child process and reads
its peak resident memory. Not a test: run it by hand, on a quiet machine.

    .venv/bin/python -m perf.summary_speed [--gigabytes 1] [--repeats 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from core.layout import PAIRS_FILE, QUANTILES_FILE, SUMMARY_FILE

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "k6_retrieval.csv"
PAIRS = [
    (t, s)
    for t in ("fasttrackml-sqlite", "fasttrackml-postgres", "mlflow-sqlite", "mlflow-postgres")
    for s in ("logging", "retrieval")
]


def generate(folder: Path, total_bytes: int) -> None:
    header, *rows = FIXTURE.read_text().splitlines()
    timed = [r.split(",") for r in rows if r.split(",")[10]]  # rows with a scenario tag
    first = int(timed[0][1])
    span = int(timed[-1][1]) - first + 1
    per_file = total_bytes // len(PAIRS)
    meta = json.loads((ROOT / "tests" / "fixtures" / "k6_retrieval.json").read_text())
    for target, suite in PAIRS:
        path = folder / f"{target}_{suite}.csv"
        with path.open("w") as f:
            f.write(header + "\n")
            written, shift = 0, 0
            while written < per_file:
                block = "".join(",".join([r[0], str(int(r[1]) + shift), *r[2:]]) + "\n" for r in timed)
                f.write(block)
                written += len(block)
                shift += span
        (folder / f"{target}_{suite}.json").write_text(json.dumps(meta | {"target": target, "suite": suite}))


def measure(folder: Path, cached: bool = False) -> tuple[float, float]:
    """Seconds and peak GiB of one summary: from the raw CSVs, or (`cached`) from the summary files."""
    if not cached:
        for name in (SUMMARY_FILE, QUANTILES_FILE, PAIRS_FILE):
            (folder / name).unlink(missing_ok=True)
    code = (
        "import sys; from pathlib import Path; from analysis.summarise import summarise_folder; "
        "summarise_folder(Path(sys.argv[1]))"
    )
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(folder)], cwd=ROOT, check=True)
    seconds = time.perf_counter() - started
    peak_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    return seconds, peak_gib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3, help="measurements, reported with their median")
    parser.add_argument("--keep", type=Path, help="generate into (and keep) this folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="summary-speed-"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    generate(folder, int(args.gigabytes * 2**30))
    size = sum(p.stat().st_size for p in folder.glob("*.csv")) / 2**30
    print(f"generated {size:.2f} GiB of k6 CSV in {time.perf_counter() - started:.0f} s")
    results = [measure(folder) for _ in range(args.repeats)]
    for seconds, peak in results:
        print(f"summary: {seconds:.1f} s, peak memory {peak:.2f} GiB")
    seconds, peak = (median(column) for column in zip(*results, strict=True))
    print(f"median of {args.repeats}: {seconds:.1f} s, peak memory {peak:.2f} GiB")
    cached = [measure(folder, cached=True)[0] for _ in range(args.repeats)]
    print(f"from the summary files (what record and report do after a run): median {median(cached):.2f} s")
    if not args.keep:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
