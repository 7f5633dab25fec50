"""Key findings written from a summary: which target is fastest per request name and by how much.

Only complete runs (status ok) count; a target without data is reported as missing, never as zero.
"""

from __future__ import annotations

import pandas as pd

from analysis import precision
from services.registry import USER_SUITES, Target


def times(ratio: float) -> str:
    """A ratio as people read it: 1.35×, 18×, 850×."""
    if pd.isna(ratio):
        return "n/a"
    return f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.0f}×"


def fastest_per_name(summary: pd.DataFrame, targets: list[Target]) -> pd.DataFrame:
    """Per suite x request name: the fastest and slowest target by p50 and the ratio between them."""
    ok = summary[(summary["status"] == "ok") & summary["p50_ms"].notna()]
    labels = {t.id: t.label for t in targets}
    rows = []
    for (suite, name), group in ok.groupby(["suite", "name"], sort=True):
        if group["target"].nunique() < 2:
            continue  # one target alone is neither fastest nor slowest
        fastest = group.loc[group["p50_ms"].idxmin()]
        slowest = group.loc[group["p50_ms"].idxmax()]
        rows.append(
            {
                "suite": suite,
                "name": name,
                "fastest": labels.get(fastest["target"], fastest["target"]),
                "fastest_p50_ms": fastest["p50_ms"],
                "slowest": labels.get(slowest["target"], slowest["target"]),
                "slowest_p50_ms": slowest["p50_ms"],
                "ratio": slowest["p50_ms"] / fastest["p50_ms"] if fastest["p50_ms"] > 0 else float("nan"),
            }
        )
    return pd.DataFrame(rows)


MAX_SENTENCES = 5


def key_table(summary: pd.DataFrame, cost: list[dict], targets: list[Target]) -> list[dict]:
    """Per suite and database: the fastest server, how much slower each other one was (the median,
    over the request names all of them measured, of its p50 over the fastest's), and its CPU per
    request over the fastest's. The fastest is the server whose smallest such ratio is largest: it
    beats every other at the median whenever one server does."""
    ok = summary[(summary["status"] == "ok") & (summary["p50_ms"] > 0)]
    cpu = {(r["target"], r["suite"]): r["cpu_per_1000"] for r in cost if r["cpu_per_1000"]}
    database = {t.id: t.database.label for t in targets}
    rows = []
    for (suite, db), group in ok.assign(db=ok["target"].map(database)).groupby(["suite", "db"], sort=True):
        p50 = group.pivot_table(index="name", columns="target", values="p50_ms").dropna()
        if p50.shape[1] < 2 or p50.empty:
            continue
        fastest = max(p50.columns, key=lambda a: min((p50[b] / p50[a]).median() for b in p50.columns if b != a))
        others = sorted((t for t in p50.columns if t != fastest), key=lambda t: (p50[t] / p50[fastest]).median())
        rows.append(
            {
                "suite": suite,
                "database": db,
                "fastest": _server(fastest, targets),
                "names": len(p50),
                "slower": ", ".join(f"{_server(t, targets)} {times((p50[t] / p50[fastest]).median())}" for t in others),
                "cpu": ", ".join(
                    f"{_server(t, targets)} {times(cpu[(t, suite)] / cpu[(fastest, suite)])}"
                    for t in others
                    if (t, suite) in cpu and (fastest, suite) in cpu
                )
                or "not measured",
                "ratios": {t: (p50[t] / p50[fastest]).median() for t in others},
            }
        )
    return rows


def key_sentences(table: list[dict], cost: list[dict], harness: list[dict], targets: list[Target]) -> list[str]:
    """At most MAX_SENTENCES, each naming the winner: the load generator's caveat first, then per
    database the server fastest in most suites, then the one that spent the least CPU per request."""
    sentences = [s for s in [harness_sentence(harness)] if s]
    by_db: dict[str, list[dict]] = {}
    for row in table:
        by_db.setdefault(row["database"], []).append(row)
    for db, rows in by_db.items():
        wins = pd.Series([r["fastest"] for r in rows]).value_counts()
        tied = list(wins[wins == wins.iloc[0]].index)
        if len(tied) > 1:
            each = f"were each the fastest in {wins.iloc[0]} of {len(rows)} suites"
            sentences.append(f"On {db}, {' and '.join(tied)} {each}.")
            continue
        winner = wins.index[0]
        behind = pd.concat([pd.Series(r["ratios"]) for r in rows if r["fastest"] == winner])
        runner = behind.groupby(level=0).median().idxmin()
        sentences.append(
            f"On {db}, {winner} was the fastest in {wins.iloc[0]} of {len(rows)} suites; the next, "
            f"{_server(runner, targets)}, was {times(behind.groupby(level=0).median().min())} slower at the median p50."
        )
    sentences += [s for s in [_cpu_sentence(cost, targets)] if s]
    return sentences[:MAX_SENTENCES]


def _cpu_sentence(cost: list[dict], targets: list[Target]) -> str | None:
    measured = pd.DataFrame([r for r in cost if r["cpu_per_1000"]])
    if measured.empty:
        return None
    places = measured.groupby(["suite", "database"])
    contested = [group for _, group in places if len(group) > 1]
    if not contested:
        return None
    cheapest = pd.Series([_server(g.loc[g["cpu_per_1000"].idxmin(), "target"], targets) for g in contested])
    counts = cheapest.value_counts()
    return (
        f"{counts.index[0]} spent the least server CPU per request in {counts.iloc[0]} of {len(contested)} "
        "suite × database comparisons (the resource cost below)."
    )


def _server(target_id: str, targets: list[Target]) -> str:
    """A target's server, as a sentence names it: "MLflow-Go"."""
    label = next((t.label for t in targets if t.id == target_id), target_id)
    return label.split(" (")[0]


def problems(pairs: list, summary: pd.DataFrame, targets: list[Target], suites: list[str]) -> list[str]:
    """Failed, partial and missing target x suite pairs, and requests that failed.

    `pairs` are PairSummary values: a pair without timed samples is missing, whatever its status.
    """
    found = {(p.target, p.suite): p for p in pairs}
    notes = []
    for t in targets:
        for suite in suites:
            pair = found.get((t.id, suite))
            if pair is None:
                notes.append(f"{t.label} · {suite}: missing (not run into this folder).")
            elif pair.status == "unsupported":
                notes.append(f"{t.label} · {suite}: unsupported, not run: {pair.meta.error}.")
            elif pair.status != "ok":
                detail = pair.meta.error or "; ".join(pair.warnings) or "no detail"
                notes.append(f"{t.label} · {suite}: {pair.status}, excluded from charts and findings: {detail}.")
            elif pair.missing:
                notes.append(f"{t.label} · {suite}: missing (no timed samples in its CSV).")
    failing = summary[(summary["errors"] > 0) & (summary["status"] == "ok")]
    for _, row in failing.iterrows():
        notes.append(
            f"{row['target']} · {row['name']}: {int(row['errors'])} of {int(row['count'])} requests failed "
            f"({row['error_rate']:.1%}); they are excluded from its latency."
        )
    return notes


def harness_share(pairs: list) -> list[dict]:
    """Per pair: the load generator's share of the work (k6's ceiling here against the suite's
    throughput, k6's CPU against the server's) and the verdict: load-generator bound or not."""
    rows = []
    for pair in pairs:
        meta = pair.meta
        bound = None if meta.suite in USER_SUITES else meta.load_generator_bound
        throughput, ceiling = meta.throughput_rps, meta.k6_ceiling_rps
        rows.append(
            {
                "target": meta.target,
                "suite": meta.suite,
                "ceiling": f"{ceiling:.0f}" if ceiling else "not measured",
                "throughput": f"{throughput:.0f}" if throughput else "",
                "share": f"{throughput / ceiling:.0%}" if throughput and ceiling else "",
                "k6_cpu": _seconds(meta.k6_cpu_seconds),
                "server_cpu": _seconds(meta.server_cpu_seconds),
                "pinned": "yes" if meta.pinned else "no",
                "flag": _flag(meta.suite, bound),
                "bound": bound,
            }
        )
    return rows


def _flag(suite: str, bound: bool | None) -> str:
    if suite in USER_SUITES:
        return "no: the client is part of what it times"
    return {True: "**load-generator bound**", False: "no", None: "not measured"}[bound]


def harness_sentence(rows: list[dict]) -> str | None:
    """The finding to state first when k6 may have set the pace of some pairs."""
    bound = [f"{r['target']} · {r['suite']}" for r in rows if r["bound"]]
    if not bound:
        return None
    return (
        f"The load generator may have set the pace, not the server, of {', '.join(bound)}: read their "
        "latencies as an upper bound of the server's (see the load generator's share below)."
    )


def resource_cost(pairs: list, targets: list[Target]) -> list[dict]:
    """Per complete pair: what the server spent (CPU seconds per 1000 timed requests, peak memory of
    its process tree) beside its latency (the median of its request names' p50)."""
    labels = {t.id: t.label for t in targets}
    rows = []
    for pair in pairs:
        meta = pair.meta
        if pair.status != "ok" or pair.missing:
            continue
        rows.append(
            {
                "target": meta.target,
                "label": labels.get(meta.target, meta.target),
                "suite": meta.suite,
                "database": meta.database.label,
                "p50_ms": float(pair.stats["p50_ms"].median()),
                "cpu_per_1000": meta.server_cpu_per_1000,
                "rss_mib": meta.server_rss_peak_mib,
            }
        )
    return sorted(rows, key=lambda r: (r["suite"], r["database"], r["target"]))


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f} s"


# The server the others are measured against head to head, as the original suite's chart did.
REFERENCE_SERVER = "fasttrackml"


def head_to_head(summary: pd.DataFrame, rounds: pd.DataFrame, targets: list[Target]) -> list[dict]:
    """Per database: each other target's p50 over the reference server's (FastTrackML), per request
    name, with its 95% interval (analysis/precision.py): one table each, a column per other target."""
    tables = []
    for database in dict.fromkeys(t.database for t in targets):
        on_it = [t for t in targets if t.database == database]
        reference = next((t for t in on_it if t.server.name == REFERENCE_SERVER), None)
        if reference is None or len(on_it) < 2:
            continue
        others = [t for t in on_it if t != reference]
        cells = {
            t.id: {(h.suite, h.name): h for h in precision.head_to_head(summary, rounds, reference.id, t.id)}
            for t in others
        }
        others = [t for t in others if cells[t.id]]  # a server with no result here (unsupported) has no column
        names = sorted({key for found in cells.values() for key in found})
        if not names:
            continue
        p50 = summary[summary["target"] == reference.id].set_index(["suite", "name"])
        rows = [
            {
                "suite": suite,
                "name": name,
                "reference": interval_text(p50.loc[(suite, name)]) if (suite, name) in p50.index else "",
                "cells": [_ratio_cell(cells[t.id].get((suite, name))) for t in others],
            }
            for suite, name in names
        ]
        paired = sum(h.paired_rounds > 0 for found in cells.values() for h in found.values())
        count = sum(len(found) for found in cells.values())
        tables.append(
            {
                "database": database.label,
                "reference": _server(reference.id, targets),
                "others": [_server(t.id, targets) for t in others],
                "rows": rows,
                "paired": paired,
                "count": count,
                "apart": sum(h.sure != "not told apart" for found in cells.values() for h in found.values()),
            }
        )
    return tables


def interval_text(row: pd.Series) -> str:
    """A p50 and how sure it is: '7.21 ms ±6%' (the interval's farther end from the p50)."""
    width = precision.relative_half_width(row["p50_ms"], row.get("p50_low_ms"), row.get("p50_high_ms"))
    # beyond ±999% an interval says only "unknown" (two smoke rounds): its digits would widen the table
    sure = "" if not width < float("inf") else f" ±{width:.0%}" if width < 10 else " ±>999%"
    return f"{row['p50_ms']:.2f}{sure}"


def _ratio_cell(h: precision.HeadToHead | None) -> str:
    """'**13× [8.34, 19]**' where the interval tells the two apart, else '1.53× [0.96, 2.44]'."""
    if h is None:
        return "not measured"
    if pd.isna(h.low):
        return f"{times(h.ratio)} (interval unknown)"
    text = f"{times(h.ratio)} [{_bound(h.low)}, {_bound(h.high)}]"
    return f"**{text}**" if h.sure != "not told apart" else text


def _bound(value: float) -> str:
    """An interval's end, short: 0.96, 19, and beyond what says anything, <0.01 or >999."""
    if value < 0.01:
        return "<0.01"
    if value >= 1000:
        return ">999"
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


def how_sure(pairs: list) -> str:
    """Where the run's intervals came from, in a sentence: the suites that ran in rounds and how many."""
    rounds: dict[str, list[int]] = {}
    for pair in pairs:
        if pair.status == "ok" and pair.meta.settings.get("rounds"):
            rounds.setdefault(pair.suite, []).append(int(pair.meta.settings["rounds"]))
    in_rounds = ", ".join(
        f"{suite} in {min(n)}{f'-{max(n)}' if max(n) != min(n) else ''} rounds" for suite, n in sorted(rounds.items())
    )
    one_pass = (
        "every suite ran in one pass, so each interval is its samples' widened by this machine's run-to-run noise"
    )
    if not in_rounds:
        return f"Each p50 carries its 95% interval: {one_pass}."
    return (
        f"Each p50 carries its 95% interval. {in_rounds[0].upper()}{in_rounds[1:]}, taking turns with the "
        "other targets of their database, so each interval is the scatter of its rounds' p50s and a fresh "
        "server's own offset; every other "
        "suite ran in one pass, its interval its samples' widened by this machine's run-to-run noise."
    )
