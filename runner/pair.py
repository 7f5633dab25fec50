"""Benchmark one target x suite: a fresh database, the server on it, the k6 suite, then the files.

A pair that fails is recorded as failed, with the reason, and the caller goes on with the next;
a pair interrupted by Ctrl-C keeps what k6 wrote, marked partial. Either way the pair's metadata
is written and its files are published into the output folder (see `runner/outputs.py`).
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from contextlib import nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path

from rich.markup import escape

from analysis import scale
from analysis.duration import RunEstimate
from analysis.summarise import PairSummary, summarise_pair
from core.errors import BenchError
from core.layout import STAGING_DIR, PairFiles
from core.paths import WORK_DIR
from core.records import Counts, PairMetadata, Status, now_iso
from runner import client, outputs, serving
from runner.browser import UI_SUITE, browser_env
from runner.k6 import THRESHOLDS_CROSSED, LoadResult, Profile, measured_here, probe_ceiling, run_suite
from runner.progress import PLAIN_INTERVAL_SECONDS, PairProgress, console
from runner.resources import core_split
from runner.segments import SegmentBarrier, serve_barrier
from services import launcher
from services.postgres import Postgres
from services.registry import Spec, Target

SERVER = "server"  # the one meter of a pair, as the segment barrier names it


@dataclass(frozen=True)
class RunPlan:
    """What one `./run.sh run` does: every target x suite at one profile, into one output folder."""

    targets: tuple[Target, ...]
    suites: tuple[str, ...]
    profile: Profile
    out: Path
    run_id: str
    postgres_url: str | None = None
    server_url: str | None = None  # an already running server instead of launching one
    provenance: dict[str, str] = field(default_factory=dict)  # e.g. CI's image digests
    pin: bool = False  # k6 on some cores, the server on the others
    progress_seconds: float = PLAIN_INTERVAL_SECONDS  # off a terminal: one plain line this often
    suite_settings: dict[str, object] = field(default_factory=dict)  # --sizes, --rates ... over the profile's
    executable: Path | None = None  # a local build of the targets' server instead of the registry's
    server_cgroup: Path | None = None  # meters the server at server_url (its container's cgroup)
    estimate: RunEstimate | None = None  # each pair's expected wall time (analysis/duration.py)

    def spec(self, target: Target) -> Spec:
        """How `target` is served: by its environment, by the local build, or at the server URL."""
        return Spec(target.id, target, self.executable, self.server_url)

    @property
    def pairs(self) -> list[tuple[Target, str]]:
        """Every target x suite, in the order they run: suite by suite."""
        return [(target, suite) for suite in self.suites for target in self.targets]

    def profile_for(self, suite: str) -> Profile:
        return self.profile.for_suite(suite, self.suite_settings)

    @property
    def cores(self) -> tuple[frozenset[int], frozenset[int]] | None:
        """(k6's cores, the server's) when pinned and the machine has two cores or more."""
        return core_split() if self.pin and not self.server_url else None

    @property
    def needs_postgres(self) -> bool:
        """A pair will run on PostgreSQL here (an unsupported pair only writes its record)."""
        return not self.server_url and any(
            t.database.kind == "postgres" and any(not t.unsupported(s) for s in self.suites) for t in self.targets
        )


def run_pair(plan: RunPlan, target: Target, suite: str, pg: Postgres | None) -> PairSummary:
    """Benchmark one target x suite and publish its files; returns its summary."""
    staging = PairFiles(plan.out / STAGING_DIR / plan.run_id, target.id, suite)
    staging.folder.mkdir(parents=True, exist_ok=True)
    workdir = WORK_DIR / plan.run_id / staging.stem
    meta = start_metadata(plan, target, suite)
    if (reason := target.unsupported(suite)) and not plan.executable:
        return _finish(plan, staging, meta.ended(Status.UNSUPPORTED, reason))
    try:
        label = f"{plan.run_id[:15]}_{staging.stem}"
        cpus = plan.cores[1] if plan.cores else None
        serve = serving.serve(plan.spec(target), label=label, workdir=workdir, log=staging.server_log, pg=pg, cpus=cpus)
        with serve as served:
            meta = dataclasses.replace(
                meta,
                server=serving.started(meta.server, served),
                database=served.database,
                server_start_seconds=served.start_seconds,
            )
            meta = _load(plan, target, suite, served, staging, meta)
    except KeyboardInterrupt:
        status = Status.PARTIAL if staging.csv.exists() else Status.FAILED
        _finish(plan, staging, meta.ended(status, "interrupted (Ctrl-C or SIGTERM)"))
        raise
    except BenchError as exc:  # the server did not start, its environment could not be installed ...
        console.print(f"[red]{escape(str(exc))}")
        meta = meta.ended(Status.FAILED, str(exc).splitlines()[0])
    except Exception as exc:  # a fault of one pair must not stop the others
        console.print(f"[red]{target.id}/{suite}: {type(exc).__name__}: {escape(str(exc))}")
        meta = meta.ended(Status.FAILED, f"{type(exc).__name__}: {exc}".splitlines()[0])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return _finish(plan, staging, meta)


def _load(
    plan: RunPlan, target: Target, suite: str, served: launcher.Served, staging: PairFiles, meta: PairMetadata
) -> PairMetadata:
    """Run the suite's load on the server, stopping early if the server dies; the metadata after it."""
    profile = plan.profile_for(suite)
    total = profile.total_iterations
    stop_reason: list[str] = []

    def should_stop() -> str | None:
        if not served.is_alive():
            stop_reason.append("the server exited during the run")
        return stop_reason[0] if stop_reason else None

    ceiling = _ceiling(plan, suite, served.url, profile.vus, staging)
    meter = serving.meter(served, plan.server_cgroup)
    if meter:
        meter.begin()

    def poll() -> str | None:
        if meter:
            meter.sample()
        return should_stop()

    # the ui suite meets the runner around each view: the server's CPU per view
    barrier = SegmentBarrier(profile.vus, {SERVER: meter}) if meter and suite == UI_SUITE else None
    with (
        PairProgress(f"{meta.target} · {suite}", total, plan.progress_seconds) as progress,
        serve_barrier(barrier) if barrier else nullcontext() as segment_url,
    ):
        env = {"SEGMENT_URL": segment_url} if segment_url else {}
        result = _run_load(plan, target, suite, served.url, staging, progress.update, poll, env)
    server_cpu, server_rss = meter.end() if meter else (None, None)
    meta = dataclasses.replace(
        meta,
        k6_exit_code=result.exit_code,
        iterations_done=result.iterations_done,
        k6_seconds=round(result.seconds, 2),
        k6_ceiling_rps=ceiling,
        k6_cpu_seconds=result.cpu_seconds,
        server_cpu_seconds=None if server_cpu is None else round(server_cpu, 3),
        server_rss_peak_mib=None if server_rss is None else round(server_rss, 1),
        server_cpu_by_name=barrier.cpu_of_each(SERVER) if barrier else {},
        pinned=plan.cores is not None,
    )
    if stop_reason:
        return meta.ended(Status.PARTIAL, stop_reason[0])
    if profile.open_model:  # the ramp goes as far as the server takes it: fewer arrivals are its result
        if result.exit_code not in (0, THRESHOLDS_CROSSED):
            return meta.ended(Status.PARTIAL, f"k6 exited with code {result.exit_code}; see {staging.k6_log.name}")
        return meta.ended(Status.OK)
    if result.exit_code != 0:
        return meta.ended(Status.PARTIAL, f"k6 exited with code {result.exit_code}; see {staging.k6_log.name}")
    if result.iterations_done < total:
        return meta.ended(
            Status.PARTIAL, f"only {result.iterations_done} of {total} iterations ran (maxDuration reached?)"
        )
    return meta.ended(Status.OK)


def _ceiling(plan: RunPlan, suite: str, url: str, vus: int, staging: PairFiles) -> float | None:
    """k6's own ceiling here (GET /health at the pair's concurrency, where the suite's k6 will run);
    none for the client suite, whose load is one training script and no k6."""
    if suite == client.SUITE:
        return None
    cores = plan.cores[0] if plan.cores else None
    ceiling = probe_ceiling(url, vus, WORK_DIR / plan.run_id / staging.stem, cpus=cores)
    console.print(f"k6's ceiling here: {f'{ceiling:.0f} requests/s' if ceiling else 'not measured'} (GET /health)")
    return ceiling


def _run_load(
    plan: RunPlan,
    target: Target,
    suite: str,
    url: str,
    staging: PairFiles,
    on_progress: Callable[[int], None],
    should_stop: Callable[[], str | None],
    env: dict[str, str],
) -> LoadResult:
    """The suite's load on the server: the training script for the client suite, k6's script for the
    others (with what the suite needs beyond the profile, and `env`)."""
    profile, cores = plan.profile_for(suite), plan.cores[0] if plan.cores else None
    if suite == client.SUITE:
        return client.run_client(target, url, profile, staging.csv, staging.k6_log, on_progress, should_stop, cores)
    return run_suite(
        suite,
        url,
        profile,
        staging.csv,
        staging.k6_log,
        staging.dashboard,
        on_progress=on_progress,
        should_stop=should_stop,
        script_env=_suite_env(target, suite) | env,
        cpus=cores,
    )


def _suite_env(target: Target, suite: str) -> dict[str, str]:
    """What a suite needs to know of the target beyond its URL: the ui suite, where its UI is and
    which browser to drive."""
    if suite != UI_SUITE:
        return {}
    return {"UI_PATH": target.server.ui_path, "AIM_PATH": target.server.aim_path, **browser_env()}


def start_metadata(plan: RunPlan, target: Target, suite: str) -> PairMetadata:
    profile = plan.profile_for(suite)
    spec = plan.spec(target)
    server, database = serving.describe(target)
    return PairMetadata(
        run_id=plan.run_id,
        target=target.id,
        suite=suite,
        iterations_expected=profile.total_iterations,
        settings=dict(profile.settings),
        server=server,
        database=database,
        mode=spec.mode,
        **measured_here(profile, profile.iterations, pinned=False, provenance=plan.provenance),
    )


def _finish(plan: RunPlan, staging: PairFiles, meta: PairMetadata) -> PairSummary:
    """Summarise what the CSV holds (the one time it is parsed), write the metadata, publish the files."""
    summary = summarise_pair(staging.csv, meta)
    stats = summary.stats
    names = tuple(sorted(stats["name"].astype(str)))
    counts = Counts(int(stats["count"].sum()), int(stats["errors"].sum()), names, summary.requests_sent)
    meta = dataclasses.replace(meta, ended_at=now_iso(), counts=counts)
    if summary.status != meta.status:  # the CSV turned out truncated
        meta = meta.ended(summary.status, summary.warnings[-1] if summary.warnings else None)
    if meta.status == Status.OK and counts.requests == 0:
        meta = dataclasses.replace(meta, status=Status.FAILED, error="k6 finished but recorded no timed request")
    if meta.status == Status.OK and summary.seeding_failed:
        meta = meta.ended(Status.PARTIAL, f"{scale.seeding_failure(summary.seeding_failed)}; see {staging.k6_log.name}")
    meta.write(staging.metadata)
    outputs.publish(staging, plan.out)
    colour = "green" if meta.status == Status.OK else "red"
    console.print(f"[{colour}]{meta.target} · {meta.suite}: {meta.status}[/] {escape(meta.error or '')}")
    for path in (staging.folder, staging.folder.parent):
        with suppress(OSError):
            path.rmdir()
    return summary.ended(meta)
