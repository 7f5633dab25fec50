"""Charts of a summary, drawn with altair and saved as PNG with vl-convert (no browser needed).

Each function returns an altair chart; `draw_all` saves each as `<name>.png` plus its Vega-Lite
spec `<name>.vl.json`, so a chart can be checked (and re-rendered) without looking at pixels.
"""

from __future__ import annotations

import json
import math
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import altair as alt
import pandas as pd
import vl_convert
from altair.utils._importers import vl_version_for_vl_convert

from core.layout import chart_files
from core.records import Comparison
from services.registry import Target

# The site's filter bar sets these Vega-Lite parameters in every chart of a page (report/js/charts.js):
# each is "all" or the value a chart's rows must have in the field named here.
FILTER_FIELDS = {"target": "label", "suite": "suite", "name": "name"}
MISSING = "missing"
UNSUPPORTED = "unsupported"
# The charts carry their data inline; a few thousand rows of quantiles is fine.
alt.data_transformers.disable_max_rows()


def _target_scale(targets: list[Target]) -> alt.Scale:
    return alt.Scale(domain=[t.label for t in targets], range=[t.colour for t in targets])


def _with_all_targets(
    summary: pd.DataFrame, targets: list[Target], unsupported: frozenset[tuple[str, str]] = frozenset()
) -> pd.DataFrame:
    """One row per request name x target, the targets without data marked `missing` (never zero), or
    `unsupported` for a (target, suite) the registry says it cannot serve."""
    frame = summary[summary["status"] == "ok"]
    names = summary[["suite", "name"]].drop_duplicates()
    grid = names.merge(pd.DataFrame({"target": [t.id for t in targets]}), how="cross")
    merged = grid.merge(frame, on=["suite", "name", "target"], how="left")
    labels = {t.id: t.label for t in targets}
    merged["label"] = merged["target"].map(labels)
    merged["note"] = merged.apply(_note, axis=1)
    not_served = [(t, s) in unsupported for t, s in zip(merged["target"], merged["suite"], strict=True)]
    merged.loc[not_served, "note"] = UNSUPPORTED
    return merged


def filter_params(*filters: str) -> tuple[list[alt.Parameter], str]:
    """The page filters' parameters (all "all" at first) and the expression a row must pass."""
    params = [alt.param(name=f"{f}_filter", value="all") for f in filters]
    expression = " && ".join(f"({f}_filter == 'all' || datum.{FILTER_FIELDS[f]} == {f}_filter)" for f in filters)
    return params, expression


def run_href(run_id: str, full_pages: set[str] | frozenset[str] = frozenset()) -> str:
    """A run's page from the site's root: its full page when this site has one, else the page that
    shows what the history keeps of it."""
    return f"runs/{run_id}.html" if run_id in full_pages else f"history-run.html?run={run_id}"


def _note(row: pd.Series) -> str:
    if pd.isna(row["p50_ms"]):
        return MISSING
    return f"{int(row['errors'])} errors" if row["errors"] else ""


def overview_chart(
    summary: pd.DataFrame, targets: list[Target], unsupported: frozenset[tuple[str, str]] = frozenset()
) -> alt.FacetChart:
    """The original's grid, one panel per request name: p50 bars, p95 ticks, errors and gaps labelled."""
    data = _with_all_targets(summary, targets, unsupported)
    runs = data["run_id"] if "run_id" in data else [None] * len(data)
    data["href"] = [f"runs/{r}.html" if isinstance(r, str) else None for r in runs]
    x = alt.X("label:N", title=None, sort=[t.label for t in targets], axis=alt.Axis(labels=False, ticks=False))
    colour = alt.Color("label:N", title="target", scale=_target_scale(targets), legend=alt.Legend(orient="top"))
    tooltip = [
        alt.Tooltip("label:N", title="target"),
        alt.Tooltip("run_id:N", title="run"),
        alt.Tooltip("p50_ms:Q", format=".2f"),
        alt.Tooltip("p95_ms:Q", format=".2f"),
        alt.Tooltip("errors:Q"),
        alt.Tooltip("count:Q"),
    ]
    # on a log scale where one name spans more than LOG_SPREAD: 1 ms bars would vanish beside 100 ms ones.
    # A log scale has no zero: its bars start at a power of ten below the fastest p50 instead.
    floor = _log_floor(summary)
    scale = alt.Scale(type="log", domainMin=floor) if floor else alt.Scale(type="linear")
    title = f"ms{', log scale' if floor else ''} (bar p50, tick p95)"
    bars = (
        alt.Chart()
        .mark_bar(cursor="pointer")
        .encode(x=x, y=alt.Y("p50_ms:Q", title=title, scale=scale), color=colour, tooltip=tooltip, href="href:N")
    )
    if floor:
        bars = bars.encode(y2=alt.datum(floor))
    ticks = alt.Chart().mark_tick(color="black", thickness=2, size=14).encode(x=x, y=alt.Y("p95_ms:Q", scale=scale))
    notes = (
        alt.Chart()
        .mark_text(dy=-8, color="#c0392b", fontSize=9, angle=270, align="left")
        .encode(x=x, y=alt.value(95), text="note:N")
    )
    params, shown = filter_params("target", "suite", "name")
    return (
        alt.layer(bars, ticks, notes, data=data)
        .transform_filter(shown)
        .properties(width=150, height=130)
        .facet(facet=alt.Facet("name:N", title=None, sort=_name_order(summary)), columns=4)
        .resolve_scale(y="independent")
        .properties(title="Latency per request name (successful requests)")
        .add_params(*params)
    )


LOG_SPREAD = 10  # a chart whose values span more than this factor is drawn on a log scale


def _log_floor(summary: pd.DataFrame) -> float | None:
    """Where a log scale's bars start (a power of ten below the fastest p50), or None: when no
    request name's p50s span more than LOG_SPREAD, the scale stays linear."""
    ok = summary[(summary["status"] == "ok") & (summary["p50_ms"] > 0)]
    if ok.empty:
        return None
    by_name = ok.groupby(["suite", "name"])["p50_ms"]
    if (by_name.max() / by_name.min()).max() <= LOG_SPREAD:
        return None
    return float(10 ** math.floor(math.log10(ok["p50_ms"].min())))


def distribution_chart(quantiles: pd.DataFrame, summary: pd.DataFrame, targets: list[Target]) -> alt.FacetChart:
    """Latency quantile curves per request name: the whole distribution, tail included (log scale).

    Only complete pairs (status ok in `summary`) are drawn."""
    complete = summary.loc[summary["status"] == "ok", ["run_id", "target", "suite"]].drop_duplicates()
    quantiles = quantiles.merge(complete, on=["run_id", "target", "suite"])
    data = quantiles.assign(
        label=quantiles["target"].map({t.id: t.label for t in targets}), percentile=quantiles["quantile"] * 100
    )
    line = (
        alt.Chart()
        .mark_line(interpolate="monotone")
        .encode(
            x=alt.X("latency_ms:Q", scale=alt.Scale(type="log"), title="latency (ms, log scale)"),
            y=alt.Y("percentile:Q", title="percentile", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("label:N", title="target", scale=_target_scale(targets), legend=alt.Legend(orient="top")),
            tooltip=["label:N", alt.Tooltip("percentile:Q", format=".1f"), alt.Tooltip("latency_ms:Q", format=".2f")],
        )
    )
    return (
        alt.layer(line, data=data)
        .properties(width=170, height=130)
        .facet(facet=alt.Facet("name:N", title=None, sort=_name_order(summary)), columns=4)
        .resolve_scale(x="independent")
        .properties(title="Latency distribution per request name")
    )


def throughput_chart(summary: pd.DataFrame, targets: list[Target]) -> alt.FacetChart:
    """Successful requests per second per target, for each suite (its request names summed)."""
    ok = summary[summary["status"] == "ok"]
    data = ok.groupby(["suite", "target"], as_index=False)["throughput_rps"].sum()
    data["label"] = data["target"].map({t.id: t.label for t in targets})
    bars = (
        alt.Chart()
        .mark_bar()
        .encode(
            y=alt.Y("label:N", title=None, sort=[t.label for t in targets]),
            x=alt.X("throughput_rps:Q", title="successful requests per second"),
            color=alt.Color("label:N", title="target", scale=_target_scale(targets), legend=None),
            tooltip=["label:N", alt.Tooltip("throughput_rps:Q", format=".1f")],
        )
    )
    text = bars.mark_text(align="left", dx=3).encode(text=alt.Text("throughput_rps:Q", format=".1f"))
    return (
        alt.layer(bars, text, data=data)
        .properties(width=320, height=110)
        .facet(row=alt.Row("suite:N", title=None))
        .resolve_scale(x="independent")
        .properties(title="Throughput per target")
    )


def scale_chart(
    rows: pd.DataFrame, targets: list[Target], what: str = "one read", title: str = "Latency against store size"
) -> alt.FacetChart:
    """The scale suite: the time of a read (all its pages) against store size on log-log axes, one
    panel per read, one line per target; the ui suite's views alike (`what`: "one view")."""
    data = rows.assign(label=rows["target"].map({t.id: t.label for t in targets}))
    present = [t for t in targets if t.id in set(rows["target"])]
    colour = alt.Color("label:N", title="target", scale=_target_scale(present), legend=alt.Legend(orient="top"))
    base = alt.Chart().encode(
        x=alt.X("size:Q", title="runs in the store", scale=alt.Scale(type="log")),
        y=alt.Y("read_ms:Q", title=f"{what}, p50 (ms)", scale=alt.Scale(type="log")),
        color=colour,
        tooltip=[
            "label:N",
            "size:Q",
            alt.Tooltip("read_ms:Q", format=".2f", title=f"{what} (ms)"),
            alt.Tooltip("requests_per_read:Q", title="requests per read"),
            alt.Tooltip("p50_ms:Q", format=".2f", title="p50 per request (ms)"),
        ],
    )
    return (
        alt.layer(base.mark_line(), base.mark_point(filled=True), data=data)
        .properties(width=220, height=160)
        .facet(facet=alt.Facet("read:N", title=None), columns=3)
        .resolve_scale(y="independent")
        .properties(title=f"{title} (log-log)")
    )


def capacity_chart(rows: pd.DataFrame, knees: pd.DataFrame, slo_ms: float, targets: list[Target]) -> alt.LayerChart:
    """p50 and p95 against the offered rate per target (log x), the SLO as a rule, each knee circled."""
    labels = {t.id: t.label for t in targets}
    data = rows.assign(label=rows["target"].map(labels)).melt(
        id_vars=["label", "rate"], value_vars=["p50_ms", "p95_ms"], var_name="statistic", value_name="ms"
    )
    present = [t for t in targets if t.label in set(data["label"])]
    colour = alt.Color("label:N", title="target", scale=_target_scale(present), legend=alt.Legend(orient="top"))
    x = alt.X("rate:Q", title="offered requests per second", scale=alt.Scale(type="log"))
    lines = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("ms:Q", title="latency (ms): p95 solid, p50 dashed", scale=alt.Scale(type="log")),
            color=colour,
            strokeDash=alt.StrokeDash("statistic:N", legend=None, sort=["p95_ms", "p50_ms"]),
            tooltip=["label:N", "rate:Q", "statistic:N", alt.Tooltip("ms:Q", format=".1f")],
        )
    )
    slo = alt.Chart(pd.DataFrame({"ms": [slo_ms]})).mark_rule(color="#555555", strokeDash=[2, 2]).encode(y="ms:Q")
    knee_data = knees.assign(label=knees["target"].map(labels))
    knee = (
        alt.Chart(knee_data)
        .mark_point(size=260, shape="circle", filled=False, strokeWidth=2)
        .encode(x=x, y="p95_ms:Q", color=colour, tooltip=["label:N", alt.Tooltip("rate:Q", title="sustained")])
    )
    return alt.layer(lines, slo, knee).properties(
        width=560, height=300, title=f"Latency against offered load (SLO p95 {slo_ms:g} ms; circles: the knee)"
    )


def _name_order(summary: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(summary.sort_values(["suite", "name"])["name"]))


def save(chart: alt.TopLevelMixin, folder: Path, name: str) -> Path:
    """Write `<name>.png` and `<name>.vl.json`; returns the PNG's path."""
    with Renderer() as renderer:
        return renderer.save(chart, folder, name)


class Renderer:
    """Renders charts' PNGs on every core while the block runs (vl-convert's renderer releases
    Python's lock: 14 trend charts took 1.5 times less time on 2 cores); each is written when the
    block ends, and a failed one raises there.

        with Renderer() as renderer:
            renderer.save(chart, folder, name)
    """

    def __enter__(self) -> Renderer:
        self.pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)
        self.pending: list[Future] = []
        return self

    def save(self, chart: alt.TopLevelMixin, folder: Path, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        spec = chart.to_dict()
        png, spec_path = chart_files(folder, name)
        spec_path.write_text(json.dumps(spec, indent=1))
        self.pending.append(self.pool.submit(_render_png, spec, png))
        return png

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(wait=True)
        for done in self.pending:
            done.result()


def _render_png(spec: dict, path: Path) -> None:
    png = vl_convert.vegalite_to_png(spec, vl_version=vl_version_for_vl_convert(), scale=1.5)
    path.write_bytes(png)


def draw_all(
    summary: pd.DataFrame,
    quantiles: pd.DataFrame,
    targets: list[Target],
    folder: Path,
    unsupported: frozenset[tuple[str, str]] = frozenset(),
) -> dict[str, Path]:
    """The report's charts for one output folder: overview grid, distributions, throughput."""
    with Renderer() as renderer:
        return {
            "performanceReport": renderer.save(
                overview_chart(summary, targets, unsupported), folder, "performanceReport"
            ),
            "distribution": renderer.save(distribution_chart(quantiles, summary, targets), folder, "distribution"),
            "throughput": renderer.save(throughput_chart(summary, targets), folder, "throughput"),
        }


TREND_WIDTH = 480  # with its legend, a trend chart fits the site's content column at 1300 px


def trend_chart(
    history: pd.DataFrame, points: list, targets: list[Target], title: str, full_pages: frozenset[str] = frozenset()
) -> alt.LayerChart:
    """One request name over runs: each target's p50 (solid) and p95 (dashed), a line per machine
    (its points shaped by machine) so that runs on different runners are never joined; change
    points as rules."""
    labels = {t.id: t.label for t in targets}
    if "machine" not in history:
        history = history.assign(machine="")
    data = history.assign(
        label=history["target"].map(labels).fillna(history["target"]),
        commit_short=history["commit"].astype(str).str[:8],
    )
    data["href"] = [run_href(r, full_pages) for r in data["run_id"]]
    long = data.melt(
        id_vars=["started_at", "label", "commit_short", "run_id", "machine", "href"],
        value_vars=["p50_ms", "p95_ms"],
        var_name="statistic",
        value_name="latency_ms",
    ).dropna(subset=["latency_ms"])
    long["started_at"] = long["started_at"].astype(str)
    params, shown = filter_params("target")
    lines = (
        alt.Chart(long)
        .transform_filter(shown)
        .mark_line(point=alt.OverlayMarkDef(size=30, cursor="pointer"))
        .encode(
            href="href:N",
            x=alt.X("started_at:T", title="run start"),
            y=alt.Y("latency_ms:Q", scale=alt.Scale(type="log"), title="latency (ms, log)"),
            color=alt.Color("label:N", title="target", scale=_target_scale(targets)),
            strokeDash=alt.StrokeDash("statistic:N", title="statistic", sort=["p50_ms", "p95_ms"]),
            detail=["statistic:N", "machine:N"],
            shape=alt.Shape(
                "machine:N",
                title="machine",
                legend=alt.Legend(orient="bottom", labelLimit=400) if long["machine"].nunique() > 1 else None,
            ),
            tooltip=[
                alt.Tooltip("label:N", title="target"),
                "statistic:N",
                alt.Tooltip("latency_ms:Q", format=".2f", title="latency (ms)"),
                alt.Tooltip("commit_short:N", title="commit"),
                alt.Tooltip("run_id:N", title="run"),
                "machine:N",
            ],
        )
    )
    layers = [lines]
    if points:
        marks = pd.DataFrame(
            [
                {
                    "started_at": str(p.started_at),
                    "kind": p.kind,
                    "label": labels.get(p.target, p.target),
                    "what": f"{p.statistic} {p.magnitude:+.0%}",
                    "commit": p.commit_after[:8],
                }
                for p in points
            ]
        )
        layers.append(
            alt.Chart(marks)
            .transform_filter(shown)
            .mark_rule(strokeWidth=2, opacity=0.7)
            .encode(
                x="started_at:T",
                color=alt.Color(
                    "kind:N",
                    scale=alt.Scale(domain=["regression", "improvement"], range=["#d62728", "#2ca02c"]),
                    title="change point",
                ),
                tooltip=["label:N", "what:N", "commit:N"],
            )
        )
    return (
        alt.layer(*layers)
        .resolve_scale(color="independent")
        .properties(width=TREND_WIDTH, height=220, title=title)
        .add_params(*params)
    )


VERDICT_SCALE = alt.Scale(domain=["regression", "improvement", "no change"], range=["#d62728", "#2ca02c", "#555555"])


def ab_chart(result: Comparison) -> alt.LayerChart:
    """A paired A/B per request name: the ratio B/A with its 95% interval, and one dot per round."""
    rows = [r for r in result.rows if r.rounds]
    if not rows:
        return alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule().encode(x="x:Q").properties(title="no verdict")
    estimates = pd.DataFrame(
        [
            {
                "request": f"{r.name} ({r.where})",
                "ratio": r.ratio,
                "low": r.low,
                "high": r.high,
                "verdict": str(r.verdict),
            }
            for r in rows
        ]
    )
    dots = pd.DataFrame(
        [{"request": f"{r.name} ({r.where})", "ratio": x, "round": i + 1} for r in rows for i, x in enumerate(r.rounds)]
    )
    y = alt.Y("request:N", title=None, sort=list(estimates["request"]))
    x = alt.X("ratio:Q", scale=alt.Scale(type="log"), title="latency B/A (log scale)")
    colour = alt.Color("verdict:N", scale=VERDICT_SCALE)
    one = alt.Chart(pd.DataFrame({"ratio": [1.0]})).mark_rule(color="#999999", strokeDash=[4, 3]).encode(x=x)
    spread = (
        alt.Chart(dots)
        .mark_circle(size=22, opacity=0.45, color="#7f7f7f")
        .encode(x=x, y=y, tooltip=["request:N", "round:Q", alt.Tooltip("ratio:Q", format=".3f")])
    )
    interval = alt.Chart(estimates).mark_rule(strokeWidth=3).encode(x="low:Q", x2="high:Q", y=y, color=colour)
    point = (
        alt.Chart(estimates)
        .mark_point(filled=True, size=80, shape="diamond")
        .encode(x=x, y=y, color=colour, tooltip=["request:N", alt.Tooltip("ratio:Q", format=".3f"), "low:Q", "high:Q"])
    )
    height = 22 * len(rows) + 20
    title = f"B = {result.candidate} against A = {result.baseline}: ratio, 95% interval, one dot per round"
    return alt.layer(one, spread, interval, point).properties(width=560, height=height, title=title)


def ab_trend_chart(series: pd.DataFrame, points: list, title: str, repository: str = "") -> alt.LayerChart:
    """One request name's paired A/B ratio B/A night after night: the ratio with its interval, the
    verdict as colour, no change at 1, change points in the series as rules. A night's point links
    to the candidate's commit in `repository`, when known."""
    data = series.assign(
        started_at=series["started_at"].astype(str),
        revision_short=series["revision"].astype(str).str[:8],
        href=[f"{repository}/commit/{r}" if repository and r else None for r in series["revision"]],
    )
    base = alt.Chart(data).encode(x=alt.X("started_at:T", title="A/B start"))
    tooltip = [
        alt.Tooltip("ab_id:N", title="A/B"),
        alt.Tooltip("ratio:Q", format=".3f", title="ratio B/A"),
        alt.Tooltip("low:Q", format=".3f", title="interval from"),
        alt.Tooltip("high:Q", format=".3f", title="interval to"),
        "verdict:N",
        alt.Tooltip("revision_short:N", title="commit (B)"),
    ]
    scale = alt.Scale(type="log", zero=False)
    layers = [
        base.mark_rule(color="#999").encode(y=alt.Y("low:Q", scale=scale, title="ratio B/A (log)"), y2="high:Q"),
        base.mark_point(filled=True, size=40, cursor="pointer").encode(
            y=alt.Y("ratio:Q", scale=scale),
            color=alt.Color("verdict:N", scale=VERDICT_SCALE),
            tooltip=tooltip,
            href="href:N",
        ),
        alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(strokeDash=[4, 4], color="#555").encode(y="y:Q"),
    ]
    if points:
        marks = pd.DataFrame([{"started_at": str(p.started_at), "kind": p.kind} for p in points])
        layers.append(
            alt.Chart(marks)
            .mark_rule(strokeWidth=2)
            .encode(
                x="started_at:T",
                color=alt.Color(
                    "kind:N", scale=alt.Scale(domain=["regression", "improvement"], range=["red", "green"])
                ),
            )
        )
    return alt.layer(*layers).properties(title=title, width=TREND_WIDTH, height=220)
