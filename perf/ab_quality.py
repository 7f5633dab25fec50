"""How well the paired A/B tells a change from noise, measured on real servers (not a test).

    .venv/bin/python -m perf.ab_quality aa --target fasttrackml-sqlite [--repeats 3] [-- AB OPTIONS]
    .venv/bin/python -m perf.ab_quality slowdown --target fasttrackml-sqlite [--factors 0.05,0.1,0.2] [-- AB OPTIONS]
    .venv/bin/python -m perf.ab_quality cpu --target fasttrackml-sqlite [--factors 0.03] [-- AB OPTIONS]
    .venv/bin/python -m perf.ab_quality throttle --target fasttrackml-sqlite [--factors 0.7,0.5] [-- AB OPTIONS]
    .venv/bin/python -m perf.ab_quality profile --target fasttrackml-sqlite [-- AB OPTIONS]

`aa` compares a target with itself: every call is a false one, and the interval's half-width
(log scale, median over request names) is the noise the verdict must beat. `slowdown` puts a
proxy in front of each of two fresh servers of the target (perf/delay_proxy.py). A first A/B
through both proxies at zero strength measures each request name's median on this path; then, for
each factor f, the candidate's proxy delays every answer of a name by f times that median more than
the baseline's (its p50 slows by f; both wait a common base, so that a sleep's lateness is on both
sides), and the share of comparisons that called a regression is reported per request name, with
the ratio measured. `throttle` holds the candidate
server to a share of one core (`--factors 0.7,0.5`: CFS quotas, as a container's --cpus; root
only): a slower server that must never be called faster. `cpu` does the same as `slowdown` with CPU
instead of time: each side's server runs under
perf/cpu_wrapper.py, whose proxy is metered with it, and the candidate's spends f times each
name's CPU per request more (measured by a first A/B at zero strength); the share of CPU verdicts
that called a regression is reported per request name. `profile` samples the candidate server
with `ab --profile-servers`'s own sampler (runner/profiling.py) and not the baseline: the ratio is
what sampling costs a server's answers. AB OPTIONS go
to `./run.sh ab` as they are (--rounds, --round-iterations, --vus, --pin, --warmup, --confirm ...).
With --confirm, `stands` is the share of comparisons whose regression a second measurement
confirmed: what fails CI's gate. Run it on a quiet machine: nothing else heavy beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from core.layout import ABFiles, ProfileFiles
from core.paths import ROOT
from core.records import CONTENTION, where
from perf.delay_proxy import slowed_servers
from runner.profiling import ensure_profilers, sampling
from services import launcher, processes
from services.environments import ensure_environment, server_executable
from services.registry import load_registry


def run_ab(out: Path, baseline: str, candidate: str, options: list[str]) -> tuple[pd.DataFrame, float]:
    """One `./run.sh ab`: its comparison rows and its wall time in seconds. The requests name
    themselves in a header (BENCH_NAME_HEADER), which the delay proxies read."""
    started = time.monotonic()
    command = [sys.executable, "-m", "cli", "ab", "--baseline", baseline, "--candidate", candidate, "--out", str(out)]
    log = out.parent / "ab.log"
    ab = processes.start([*command, *options], log, cwd=ROOT, env={"BENCH_NAME_HEADER": "1"})
    try:
        code = ab.wait()
    finally:
        processes.stop(ab)  # on Ctrl-C or SIGTERM, `ab` stops its own servers first
    seconds = time.monotonic() - started
    comparison = ABFiles(out).comparison
    if not comparison.exists():
        raise SystemExit(f"ab failed (exit {code}): {processes.log_tail(log)}")
    return comparison_rows(comparison), seconds


def comparison_rows(path: Path) -> pd.DataFrame:
    """A comparison's rows, with the standard error of its log ratio from the rounds themselves
    (sd / sqrt(n) of the per-round log ratios): the noise, whatever the interval's confidence."""
    rows = pd.DataFrame(json.loads(path.read_text())["rows"])
    rows["half_width"] = np.log(rows["high"] / rows["low"]) / 2
    cpu = pd.DataFrame([c or {} for c in rows.get("cpu", [None] * len(rows))], index=rows.index)
    for column in ("cpu_a", "cpu_b", "ratio", "verdict"):
        rows[column if column.startswith("cpu") else f"cpu_{column}"] = cpu.get(column, np.nan)
    rows["se"] = [np.std(np.log(r), ddof=1) / np.sqrt(len(r)) if len(r) > 1 else np.nan for r in rows["rounds"]]
    rows["suite"] = [
        where(suite, mode)
        for suite, mode in zip(rows["suite"], rows.get("mode", pd.Series("", index=rows.index)), strict=True)
    ]
    return rows


BASE_DELAY_MS = 0.2  # what both proxies wait on every answer, on top of which B waits its share


@contextmanager
def slowed_pair(target_id: str, extra: dict[str, float], work: Path):
    """Two fresh servers of the target behind proxies: A waits the base on every answer, B the base
    plus `extra` (ms per request name)."""
    base = {"*": BASE_DELAY_MS}
    slowed = base | {name: BASE_DELAY_MS + ms for name, ms in extra.items()}
    with slowed_servers(target_id, [base, slowed], work) as specs:
        yield specs


@contextmanager
def burning_pair(target_id: str, extra: dict[str, float], work: Path):
    """Two specs of the target served through perf/cpu_wrapper.py: B spends `extra` ms of CPU per
    request name more than A, metered with its server."""
    target = load_registry().targets[target_id]
    ensure_environment(target)
    real = server_executable(target)
    specs = []
    for side, burns in (("A", {}), ("B", extra)):
        folder = work / side
        folder.mkdir(parents=True)
        (folder / "burn.json").write_text(json.dumps(burns))
        script = folder / "server"
        wrapper = f"{sys.executable} -m perf.cpu_wrapper {real} {folder / 'burn.json'}"
        script.write_text(f'#!/bin/sh\nPYTHONPATH={ROOT} exec {wrapper} "$@"\n')
        script.chmod(0o755)
        specs.append(f"{target_id}@{script}")
    yield specs


CPU_CGROUPS = Path("/sys/fs/cgroup/cpu")  # cgroup v1's cpu controller (root only)


@contextmanager
def throttled_pair(target_id: str, quota: float, work: Path, baseline_grouped: bool = True):
    """Two fresh servers of the target, B's held to `quota` of one core by a CFS bandwidth limit (a
    cgroup v1 `cpu` group of its own: cfs_quota_us per 100 ms period), as a container's --cpus does.
    A gets a group of its own too, without a limit: the scheduler shares the CPU first between
    groups, so a server alone in a group outweighs everything left in the root (A, k6) whenever the
    cores are contended. `baseline_grouped=False` leaves A in the root, to show that bias."""
    target = load_registry().targets[target_id]
    ensure_environment(target)
    quotas = {"A": -1, "B": int(quota * 100000)} if baseline_grouped else {"B": int(quota * 100000)}
    with ExitStack() as stack:
        urls = []
        for side in "AB":
            served = stack.enter_context(_serve(target, side, work))
            if side in quotas:
                group = stack.enter_context(_cpu_group(f"bench-throttle-{os.getpid()}-{side}", quotas[side]))
                for pid in [served.pid, *(c.pid for c in psutil.Process(served.pid).children(recursive=True))]:
                    (group / "cgroup.procs").write_text(str(pid))
            urls.append(f"{target_id}@{served.url}")
        yield urls


@contextmanager
def _cpu_group(name: str, quota_us: int):
    """A cgroup v1 `cpu` group with a CFS quota per 100 ms (-1: none), removed on exit after its
    processes are moved back to the root group."""
    group = CPU_CGROUPS / name
    group.mkdir()
    try:
        (group / "cpu.cfs_period_us").write_text("100000")
        (group / "cpu.cfs_quota_us").write_text(str(quota_us))
        yield group
        stat = dict(line.split() for line in (group / "cpu.stat").read_text().splitlines())
        print(f"{name}: throttled in {stat['nr_throttled']} of {stat['nr_periods']} periods", flush=True)
    finally:
        for pid in (group / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):
                (CPU_CGROUPS / "cgroup.procs").write_text(pid)
        group.rmdir()


@contextmanager
def profiled_pair(target_id: str, work: Path):
    """Two fresh servers of the target, B's sampled while the A/B runs as `ab --profile-servers`
    samples both."""
    target = load_registry().targets[target_id]
    ensure_environment(target)
    ensure_profilers()
    with ExitStack() as stack:
        served = {side: stack.enter_context(_serve(target, side, work)) for side in "AB"}
        files = ProfileFiles(work / "profile" / "B")
        stack.enter_context(sampling({"B": (target.server.name, served["B"].pid, files)}))
        yield [f"{target_id}@{s.url}" for s in served.values()]


def _serve(target, side: str, work: Path):
    folder = work / side
    folder.mkdir(parents=True)
    return launcher.serve(target, side, folder, folder / "server.log", None)


PAIRS = {"slowdown": slowed_pair, "cpu": burning_pair}


def calibrate(mode: str, target_id: str, work: Path, options: list[str]) -> dict[str, float]:
    """Each request name's median latency (ms; `slowdown`) or CPU per request (ms; `cpu`) through the
    proxies, from an A/B at zero strength."""
    with PAIRS[mode](target_id, {}, work / "servers") as (a, b):
        rows, seconds = run_ab(work / "ab", a, b, options)
    rows = rows[rows["mode"] != CONTENTION] if "mode" in rows else rows  # a request's own cost: alone
    if mode == "cpu":
        values = {row.name: (row.cpu_a + row.cpu_b) / 2 for row in rows.itertuples()}
    else:
        values = {row.name: (row.median_a + row.median_b) / 2 for row in rows.itertuples()}
    print(f"calibration ({seconds:.0f} s): " + ", ".join(f"{n} {m:.3f} ms" for n, m in values.items()), flush=True)
    return values


def pair_for(args: argparse.Namespace, factor: float, medians: dict[str, float], work: Path):
    """The two specs one A/B of `args.mode` compares, served while the block runs; `factor` is the
    injected share (`slowdown`, `cpu`) or the quota (`throttle`)."""
    if args.mode == "aa":
        return contextlib.nullcontext([args.target, args.target])
    if args.mode == "profile":
        return profiled_pair(args.target, work)
    if args.mode == "throttle":
        return throttled_pair(args.target, factor, work, not args.baseline_in_root)
    return PAIRS[args.mode](args.target, {name: factor * median for name, median in medians.items()}, work)


def main() -> None:
    processes.interrupt_on_sigterm()
    try:
        measure()
    except KeyboardInterrupt:
        print("interrupted: stopping every server and proxy that was started", file=sys.stderr)
        sys.exit(130)
    finally:
        processes.stop_all()


def measure() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["aa", "slowdown", "cpu", "throttle", "profile"])
    parser.add_argument("--target", default="fasttrackml-sqlite")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--factors", default="0.05,0.10,0.20")
    parser.add_argument("--baseline-in-root", action="store_true", help="throttle: leave A in the root cgroup")
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    args, options = parser.parse_args(argv[:split]), argv[split + 1 :]
    work = Path(tempfile.mkdtemp(prefix="ab-quality-"))
    results = []
    factors = [0.0] if args.mode in ("aa", "profile") else [float(f) for f in args.factors.split(",")]
    medians = calibrate(args.mode, args.target, work / "calibration", options) if args.mode in PAIRS else {}
    for factor in factors:
        for repeat in range(args.repeats):
            out = work / f"{factor}-{repeat}"
            with pair_for(args, factor, medians, out / "servers") as (a, b):
                rows, seconds = run_ab(out / "ab", a, b, options)
            verdicts = rows["cpu_verdict"] if args.mode == "cpu" else rows["verdict"]
            called = rows[verdicts.isin(["regression", "improvement"])]
            print(
                f"factor {factor:.2f} repeat {repeat + 1}: {seconds:.0f} s, {len(called)} of {len(rows)} called "
                f"({', '.join(called['name'] + ' ' + verdicts[called.index])}), median half-width "
                f"{rows['half_width'].median():.3f}, median se {rows['se'].median():.4f}",
                flush=True,
            )
            results.append(rows.assign(factor=factor, repeat=repeat, seconds=seconds))
    frame = pd.concat(results)
    frame["regression"] = frame["verdict"] == "regression"
    frame["called"] = frame["verdict"].isin(["regression", "improvement"])
    confirmed = frame["confirmed"] if "confirmed" in frame else pd.Series(None, index=frame.index)
    frame["stands"] = frame["regression"] & (confirmed.astype(object) != False)  # noqa: E712 (None: not re-measured)
    frame["cpu_regression"] = frame["cpu_verdict"] == "regression"
    frame["cpu_called"] = frame["cpu_verdict"].isin(["regression", "improvement"])
    table = frame.groupby(["factor", "suite", "name"]).agg(
        ratio=("ratio", "median"),
        half_width=("half_width", "median"),
        regression=("regression", "mean"),
        stands=("stands", "mean"),
        called=("called", "mean"),
        cpu_ratio=("cpu_ratio", "median"),
        cpu_regression=("cpu_regression", "mean"),
        cpu_called=("cpu_called", "mean"),
    )
    print(table.round(3).to_string())
    print(f"wall time per comparison: median {frame.groupby(['factor', 'repeat'])['seconds'].first().median():.0f} s")
    print(f"raw outputs kept in {work}")


if __name__ == "__main__":
    main()
