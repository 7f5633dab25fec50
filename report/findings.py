"""Key findings written from a summary: which target is fastest per request name and by how much.

Only complete runs (status ok) count; a target without data is reported as missing, never as zero.
"""

from __future__ import annotations

from itertools import combinations

import pandas as pd

from services.registry import Target


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


def head_to_head(summary: pd.DataFrame, targets: list[Target]) -> list[str]:
    """For each database, each pair of servers on it: on how many request names the winner had the lower
    p50, the winner named first."""
    ok = summary[(summary["status"] == "ok") & summary["p50_ms"].notna()]
    sentences = []
    by_db: dict[str, list[Target]] = {}
    for t in targets:
        by_db.setdefault(t.database.label, []).append(t)
    for db_label, on_db in by_db.items():
        for a, b in combinations(on_db, 2):
            pa = ok[ok["target"] == a.id].set_index(["suite", "name"])["p50_ms"]
            pb = ok[ok["target"] == b.id].set_index(["suite", "name"])["p50_ms"]
            common = pa.index.intersection(pb.index)
            if common.empty:
                continue
            ratio = (pb[common] / pa[common]).dropna()
            a_name, b_name = a.label.split(" (")[0], b.label.split(" (")[0]
            if (ratio > 1).sum() < (ratio < 1).sum():  # name the winner first
                ratio, a_name, b_name = 1 / ratio, b_name, a_name
            sentences.append(
                f"On {db_label}, {a_name} was faster than {b_name} on {int((ratio > 1).sum())} of "
                f"{len(ratio)} request names (median p50 ratio {b_name}/{a_name} = {times(ratio.median())}, "
                f"from {times(ratio.min())} to {times(ratio.max())})."
            )
    return sentences


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
        bound = meta.load_generator_bound
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
                "flag": {True: "**load-generator bound**", False: "no", None: "not measured"}[bound],
                "bound": bound,
            }
        )
    return rows


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


def cost_sentences(rows: list[dict], costlier: float = 2.0) -> list[str]:
    """For each suite and database, each pair of servers: the CPU per request of one against the
    other's, and a warning-worthy sentence when the faster one burns `costlier` times the CPU or more."""
    sentences = []
    by_place: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        if row["cpu_per_1000"]:
            by_place.setdefault((row["suite"], row["database"]), []).append(row)
    for (suite, database), group in sorted(by_place.items()):
        for a, b in combinations(group, 2):
            fast, slow = (a, b) if a["p50_ms"] <= b["p50_ms"] else (b, a)
            cpu = fast["cpu_per_1000"] / slow["cpu_per_1000"]
            name = lambda r: r["label"].split(" (")[0]  # noqa: E731
            if cpu >= costlier:
                sentences.append(
                    f"{suite} on {database}: {name(fast)} is faster than {name(slow)} (median p50 "
                    f"{fast['p50_ms']:.1f} against {slow['p50_ms']:.1f} ms) but its server burns {times(cpu)} the "
                    f"CPU per request ({fast['cpu_per_1000']:.2f} against {slow['cpu_per_1000']:.2f} CPU s per 1000)."
                )
            else:
                sentences.append(
                    f"{suite} on {database}: {name(fast)}, the faster, spends {times(cpu)} the CPU per request of "
                    f"{name(slow)} ({fast['cpu_per_1000']:.2f} against {slow['cpu_per_1000']:.2f} CPU s per 1000 "
                    "requests)."
                )
    return sentences


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f} s"
