"""Quality of the statistics on this machine: A/A false alarms, a real slowdown, run-to-run noise.

1. Runs the same targets `--repeats` times (profile quick) and compares every pair of runs with
   `./run.sh compare`: any regression called there is a false alarm.
2. Runs FastTrackML behind a proxy that delays each request by each of `--delay-ms` (default
   0,2,10; 0 shows the proxy's own cost) and compares it with the direct runs: a slowdown should be
   called. Also runs MLflow with 1 worker instead of 4 (a registry variant), a change whose effect
   on this machine is an open question.
3. Prints the coefficient of variation of each request name's p50 across the repeated runs.

Not a test: it takes a while and wants a quiet machine.

    .venv/bin/python -m perf.compare_quality [--repeats 4] [--work DIR]
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from analysis.summarise import summarise_folder
from services.registry import REGISTRY_FILE

ROOT = Path(__file__).resolve().parent.parent
TARGETS = "fasttrackml-sqlite,fasttrackml-postgres,mlflow-sqlite"


def bench(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


def one_worker_registry(folder: Path) -> Path:
    text = REGISTRY_FILE.read_text()
    mlflow = text[text.index("[servers.mlflow]") :]
    variant = mlflow.replace("[servers.mlflow]", "[servers.mlflow1w]").replace('"--workers", "4"', '"--workers", "1"')
    variant = variant.replace('label = "MLflow"', 'label = "MLflow 1 worker"')
    path = folder / "targets.toml"
    path.write_text(text + "\n" + variant)
    return path


def run_delayed(out: Path, delay_ms: float) -> None:
    """FastTrackML (SQLite) behind the delay proxy, benchmarked through --server-url."""
    from services import launcher
    from services.registry import load_registry

    target = load_registry().targets["fasttrackml-sqlite"]
    folder = out.with_name(out.name + "-server")
    shutil.rmtree(folder, ignore_errors=True)  # a fresh database for each delay
    uri = target.server.sqlite_uri.format(path=folder / "t.db")
    with launcher.launch(target, uri, folder, folder / "server.log") as server:
        port = server.url.rsplit(":", 1)[1]
        proxy = subprocess.Popen(
            [sys.executable, "-m", "perf.delay_proxy", port, str(delay_ms)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            proxy_url = f"http://127.0.0.1:{proxy.stdout.readline().strip()}"
            result = bench(
                "run",
                "--profile",
                "quick",
                "--targets",
                "fasttrackml-sqlite",
                "--server-url",
                proxy_url,
                "--out",
                str(out),
                "--no-report",
            )
            print(f"delayed run: exit {result.returncode}", flush=True)
        finally:
            proxy.terminate()
            proxy.wait()


def verdicts(a: Path, b: Path, mapping: list[str], work: Path) -> pd.Series:
    md = work / "c.md"
    args = ["compare", str(a), str(b), "--markdown", str(md)] + [x for m in mapping for x in ("--map", m)]
    result = bench(*args)
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    rows = [line for line in md.read_text().splitlines() if line.startswith("| ") and "verdict" not in line]
    return pd.Series([r.rsplit("|", 2)[-2].strip().split(" ", 1)[1] for r in rows]).value_counts()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--delay-ms", default="0,2,10", help="comma list of injected delays")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="compare-quality-"))
    runs = [repeat_run(work / f"aa{i}", i) for i in range(args.repeats)]
    total = pd.Series(dtype=int)
    for a, b in itertools.combinations(runs, 2):
        total = total.add(verdicts(a, b, [], work), fill_value=0)
    print("A/A verdicts over", len(runs) * (len(runs) - 1) // 2, "pairs of runs:", total.astype(int).to_dict())
    for delay in [float(d) for d in args.delay_ms.split(",")]:
        delayed = work / f"delayed-{delay:g}ms"
        if not delayed.exists():
            run_delayed(delayed, delay)
        against = [verdicts(r, delayed, ["fasttrackml-sqlite=fasttrackml-sqlite"], work) for r in runs]
        summed = pd.concat(against).groupby(level=0).sum().astype(int).to_dict()
        print(f"FastTrackML (SQLite) +{delay:g} ms per request, against each direct run:", summed)
        print(_rows(work / "c.md", "fasttrackml-sqlite"))
    slow = work / "one-worker"
    if not slow.exists():
        env = {"BENCH_REGISTRY": str(one_worker_registry(work))}
        args = ["run", "--profile", "quick", "--targets", "mlflow1w-sqlite", "--out", str(slow), "--no-report"]
        print(f"1-worker run: exit {bench(*args, env=env).returncode}", flush=True)
    slowdown = verdicts(runs[0], slow, ["mlflow-sqlite=mlflow1w-sqlite"], work)
    print("MLflow 1 worker against 4:", slowdown.astype(int).to_dict())
    print(_rows(work / "c.md", "mlflow-sqlite"))
    p50 = pd.concat([summarise_folder(r).summary.assign(run=i) for i, r in enumerate(runs)])
    cv = p50.groupby(["target", "suite", "name"])["p50_ms"].agg(lambda s: s.std() / s.mean())
    print("Coefficient of variation of p50 across runs:")
    print(cv.unstack("target").round(3).to_string())


def repeat_run(out: Path, i: int) -> Path:
    if not out.exists():  # a folder from an earlier call is reused
        result = bench("run", "--profile", "quick", "--targets", TARGETS, "--out", str(out), "--no-report")
        print(f"A/A run {i}: exit {result.returncode}", flush=True)
    return out


def _rows(markdown: Path, target: str) -> str:
    return "\n".join(line for line in markdown.read_text().splitlines() if line.startswith(f"| {target}"))


if __name__ == "__main__":
    main()
