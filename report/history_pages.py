"""The history's pages: trends per profile and the nightly paired A/B, regressions (every change
point), and the original suite's chart beside the latest default and standard runs."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pandas as pd

from analysis import original
from analysis.trends import AnalysedHistory, ProfileHistory
from core.layout import SiteFiles
from report import draw
from report.inputs import ReportSettings
from report.templates import TEMPLATES
from services.registry import Target


def write_history_pages(
    history: AnalysedHistory, targets: list[Target], docs: Path, settings: ReportSettings
) -> set[str]:
    """Trends and regressions, each profile on its own (profiles differ in load, so their latencies
    are never drawn or tested as one series), the newest run's profile first. Returns the run ids
    the trends show: a point of a run without a full page here links to history-run.html, which
    shows what data/runs/<run id>.json holds of it."""
    repositories = {t.server.name: t.server.repository for t in targets}
    ab_sections = _ab_trends(history.ab, history.ab_points, repositories, docs)
    full_pages = frozenset(path.stem for path in (docs / "runs").glob("*.md"))
    shown = write_trends(history.profiles, targets, docs, settings.trend_runs, ab_sections, full_pages)
    ab_ids = {p.change_id for p in history.ab_points}
    points = [
        _ab_point_row(p, history.ab, repositories) if p.change_id in ab_ids else _point_row(p)
        for p in history.all_points()
    ]
    for row in points:
        row["acknowledged"] = history.acknowledged.get(row["change_id"])
    write_regressions(points, settings.options, history.warnings, docs)
    return shown


def write_versus_original(history: AnalysedHistory, docs: Path) -> Path:
    """versus-original.md: the original suite's chart beside the latest run of each of original.PROFILES."""
    sections = []
    for profile in original.PROFILES:
        run = history.latest(profile)
        if run is None:
            continue
        found = original.cells(run)
        compared = [c for c in found if c.agree is not None]
        sections.append(
            {
                "profile": profile,
                "run": run,
                "cells": found,
                "agree": sum(bool(c.agree) for c in compared),
                "apart": sum(bool(c.agree) and bool(c.told_apart) for c in compared),
                "compared": len(compared),
            }
        )
    meta = tomllib.loads(original.REFERENCE.read_text())
    page = TEMPLATES.get_template("versus-original.md.j2").render(
        sections=sections,
        profiles=original.PROFILES,
        difference=original.DIFFERENCE,
        source=meta["source"],
        statistic=meta["statistic"],
    )
    path = docs / "versus-original.md"
    path.write_text(page)
    return path


def _ab_trends(ab: pd.DataFrame, points: list, repositories: dict[str, str], docs: Path) -> list[dict]:
    """Per series of the nightly paired A/B (pair of targets, suite, request name): its chart and its
    last nights, each linked to the candidate's commit."""
    if ab.empty:
        return []
    groups = list(ab.groupby(["series", "suite", "name"], sort=True))
    with draw.Renderer() as renderer:
        return [_ab_section(i, key, rows, points, repositories, docs, renderer) for i, (key, rows) in enumerate(groups)]


def _ab_section(
    i: int,
    key: tuple[str, str, str],
    rows: pd.DataFrame,
    points: list,
    repositories: dict[str, str],
    docs: Path,
    renderer: draw.Renderer,
) -> dict:
    series, suite, name = key
    marks = [p for p in points if (p.target, p.suite, p.name) == key]
    image = f"ab-{i:02d}-{suite}-{name}"
    repository = repositories.get(rows["server"].iloc[-1], "")
    chart = draw.ab_trend_chart(rows, marks, f"{name} ({suite}): {series}", repository)
    renderer.save(chart, docs / "img" / "trends", image)
    nights = [
        {
            "date": str(r.started_at)[:10],
            "revision": _revision_link(repositories.get(r.server, ""), r.revision),
            "ratio": r.ratio,
            "low": r.low,
            "high": r.high,
            "verdict": r.verdict,
        }
        for r in rows.tail(10).iloc[::-1].itertuples()
    ]
    return {
        "series": series,
        "suite": suite,
        "name": name,
        **_chart_links(image),
        "nights": nights,
    }


def _revision_link(repository: str, revision: str) -> str:
    if not revision:
        return "?"
    return f"[`{revision[:8]}`]({repository}/commit/{revision})" if repository else f"`{revision[:8]}`"


def _ab_point_row(p, ab: pd.DataFrame, repositories: dict[str, str]) -> dict:
    server = ab.loc[ab["ab_id"] == p.run_id, "server"].iloc[0]
    row = p.as_dict()
    repository = repositories.get(server, "")
    text = f"`{p.commit_before[:8] or '?'}..{p.commit_after[:8] or '?'}`"
    good = repository and p.commit_before and p.commit_after
    row["commit_range"] = f"[{text}]({repository}/compare/{p.commit_before}...{p.commit_after})" if good else text
    return row


def write_trends(
    by_profile: list[ProfileHistory],
    targets: list[Target],
    docs: Path,
    max_runs: int,
    ab_sections: list[dict] | None = None,
    full_pages: frozenset[str] = frozenset(),
) -> set[str]:
    """trends.md: per profile, one chart per request name over its last `max_runs` runs, change
    points marked; then the nightly paired A/B's ratios. Returns the run ids the charts show."""
    with draw.Renderer() as renderer:
        profiles = [
            _profile_trends(trend.profile, trend.frame, trend.points, targets, docs, max_runs, full_pages, renderer)
            for trend in by_profile
        ]
    shown = set().union(*(p.pop("shown") for p in profiles))
    labels = {t.id: t.label for t in targets}
    present = [f for f in (t.frame for t in by_profile) if not f.empty]
    frame = pd.concat(present) if present else pd.DataFrame(columns=["target", "suite", "name"])
    filters = {
        "target": [labels.get(t, t) for t in sorted(set(frame["target"]))],
        "suite": sorted(set(frame["suite"])),
        "name": sorted(set(frame["name"])),
    }
    page = TEMPLATES.get_template("trends.md.j2").render(
        profiles=profiles, ab_sections=ab_sections or [], filters=filters
    )
    (docs / "trends.md").write_text(page)
    return shown


def _profile_trends(
    profile: str,
    frame: pd.DataFrame,
    points: list,
    targets: list[Target],
    docs: Path,
    max_runs: int,
    full_pages: frozenset[str],
    renderer: draw.Renderer,
) -> dict:
    if frame.empty:  # runs of this profile recorded, none with a measured request
        return {"profile": profile, "sections": [], "runs": 0, "total_runs": 0, "shown": set()}
    recent_runs = frame["run_id"].drop_duplicates().iloc[-max_runs:]
    recent = frame[frame["run_id"].isin(recent_runs) & (frame["status"] == "ok")]
    sections = []
    shown = set(recent_runs)
    for (suite, name), series in recent.groupby(["suite", "name"], sort=True):
        marks = [p for p in points if p.suite == suite and p.name == name and p.run_id in shown]
        image = f"{suite}-{name}"
        renderer.save(
            draw.trend_chart(series, marks, targets, f"{name} ({suite}, {profile})", full_pages),
            docs / "img" / "trends" / profile,
            image,
        )
        sections.append(
            {
                "suite": suite,
                "name": name,
                **_chart_links(f"{profile}/{image}"),
                "points": [_point_row(p) for p in marks],
            }
        )
    return {
        "profile": profile,
        "sections": sections,
        "runs": len(recent_runs),
        "total_runs": frame["run_id"].nunique(),
        "shown": set(recent["run_id"]),
    }


def write_regressions(points: list[dict], options, warnings: list[str], docs: Path) -> Path:
    """regressions.md: every change point (as rows), newest first; the acknowledged ones say why."""
    page = TEMPLATES.get_template("regressions.md.j2").render(
        points=sorted(points, key=lambda p: p["started_at"], reverse=True),
        open=sum(p["kind"] == "regression" and not p["acknowledged"] for p in points),
        options=options,
        warnings=warnings,
    )
    path = docs / "regressions.md"
    path.write_text(page)
    return path


def _point_row(p) -> dict:
    return p.as_dict() | {"commit_range": _commit_link(p.commit_before, p.commit_after)}


def _commit_link(before: str, after: str) -> str:
    """A link to the commits between two runs where the repository is known (in GitHub Actions)."""
    server, repository = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    text = f"`{before[:8] or '?'}..{after[:8] or '?'}`"
    if server and repository and before and after:
        return f"[{text}]({server}/{repository}/compare/{before}...{after})"
    return text


def _chart_links(image: str) -> dict[str, str]:
    png, spec = SiteFiles.trend_links(image)
    return {"image": png, "spec": spec}
