"""Where an operation's time went: the REST calls it made, per endpoint.

The client suite times a training loop, the ui suite a view of a page; each also records every REST
call that operation caused (its endpoint, time and bytes). Per operation name and endpoint this gives
the calls made per operation, the time they took per operation and as a share of the operation's
time, and the bytes received. The share can pass 100% where calls overlap (a page's parallel reads)
and says little where they run beside the operation's own work (the client's asynchronous logging).
"""

from __future__ import annotations

import pandas as pd

from analysis.k6csv import CALL_METRICS, OPERATION_METRICS, SUCCESS_METRIC, WAIT_METRIC

DURATION, BYTES = CALL_METRICS


def per_endpoint(calls: pd.DataFrame, samples: pd.DataFrame) -> list[dict]:
    """One dict per operation name x endpoint, from `K6Samples.calls` and `K6Samples.frame`."""
    if calls.empty:
        return []
    operations = samples[samples["metric"].isin(OPERATION_METRICS)].groupby("name", observed=True).size()
    operation_ms = samples[samples["metric"] == SUCCESS_METRIC].groupby("name", observed=True)["value"].sum()
    durations = calls[calls["metric"] == DURATION]
    received = calls[calls["metric"] == BYTES].groupby(["name", "endpoint"])["value"].sum()
    rows = []
    for (name, endpoint), group in durations.groupby(["name", "endpoint"]):
        count = operations.get(name, 0)
        if not count:
            continue
        total_ms = float(group["value"].sum())
        rows.append(
            {
                "name": str(name),
                "endpoint": str(endpoint),
                "calls_per_operation": round(len(group) / count, 2),
                "ms_per_operation": round(total_ms / count, 2),
                "share_of_time": round(total_ms / operation_ms[name], 4) if operation_ms.get(name, 0) > 0 else None,
                "kib_per_operation": round(float(received.get((name, endpoint), 0)) / 1024 / count, 2),
                "errors": int((~group["ok"]).sum()),
            }
        )
    return rows


def waiting(calls: pd.DataFrame) -> list[dict]:
    """Per operation name that recorded it (a view of the ui suite): the median ms until it was shown
    during which a request to the server was in flight, over its operations."""
    waits = calls[calls["metric"] == WAIT_METRIC]
    return [
        {"name": str(name), "operations": len(group), "wait_ms": round(float(group["value"].median()), 2)}
        for name, group in waits.groupby("name")
    ]
