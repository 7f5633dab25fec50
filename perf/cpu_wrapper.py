"""A server that spends a known extra CPU per request name: an injected CPU cost, metered with it.

    .venv/bin/python -m perf.cpu_wrapper SERVER_EXECUTABLE BURN.json SERVER ARGUMENTS...

It starts the real server as its own child on a free port and serves the port the arguments asked
for itself, through perf/delay_proxy.py's proxy, which spends BURN.json's milliseconds of CPU time
(per request name, "*" for any other; as the delay proxy reads them) on a worker thread before it
passes each answer on. The A/B meters a server as its process tree, so this process and its
server are metered as one: the proxy's burn is the server's cost, as a costlier code path would be.
perf/ab_quality.py writes a small executable that runs this, and gives it to `ab` as a local build
(`TARGET@/path/to/executable`). The port is taken from `--listen-address HOST:PORT` (FastTrackML)
or `--port PORT` (MLflow).
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

from perf.delay_proxy import burn, serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def moved(arguments: list[str], port: int) -> tuple[list[str], int]:
    """The server's arguments with its port replaced by `port`, and the port they asked for."""
    out, asked = list(arguments), None
    for i, arg in enumerate(out[:-1]):
        if arg == "--listen-address":
            host, asked = out[i + 1].rsplit(":", 1)
            out[i + 1] = f"{host}:{port}"
        elif arg == "--port":
            asked, out[i + 1] = out[i + 1], str(port)
    if asked is None:
        raise SystemExit("cpu_wrapper: no --listen-address or --port among the server's arguments")
    return out, int(asked)


def main() -> None:
    executable, burns, *arguments = sys.argv[1:]
    inner = free_port()
    arguments, outer = moved(arguments, inner)
    server = subprocess.Popen([executable, *arguments])
    signal.signal(signal.SIGTERM, lambda *_: (server.terminate(), sys.exit(0)))
    try:
        asyncio.run(serve(inner, json.loads(Path(burns).read_text()), port=outer, work=burn))
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
