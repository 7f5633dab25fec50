"""A TCP proxy on 127.0.0.1 that slows a server by a known amount per request name: an injected slowdown.

    .venv/bin/python -m perf.delay_proxy UPSTREAM_PORT DELAYS.json   (prints its own port)

DELAYS.json maps request names to milliseconds, "*" for any other name, e.g.
{"*": 0.2, "SearchRuns": 0.32}. The k6 suites name each request in an `X-Bench-Name` header when
BENCH_NAME_HEADER=1 (only in these experiments). The proxy holds each whole response (its length
read from the HTTP headers) and sends it on that many milliseconds late, so the latency
distribution of that name shifts by a fixed amount. Holding the whole response matters: a server
that sends its headers before its body (MLflow's uvicorn does) would otherwise hide a delay behind
the body's computation.

Both sides of an experiment wait the same base ("*") and the candidate a known share of a name's
median more: a thread's sleep wakes up some tens of microseconds late, more under load, as much as
the whole 5% of a 1 ms request; with a real sleep on both sides that lateness is on both, and only
the share differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REQUEST_LINE = re.compile(rb"[A-Z]+ \S+ HTTP/1\.[01]\r\n")
NAME = re.compile(rb"\r\nx-bench-name: *([^\r]*)\r\n", re.I)
PR_SET_TIMERSLACK = 29


def precise_timers() -> None:
    """Linux lets a sleeping thread wake up to 50 us late (its timer slack): as much as the whole
    delay of a 5% slowdown of a 1 ms request. One microsecond keeps the delays what they say."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(PR_SET_TIMERSLACK, 1000, 0, 0, 0)


WAITER = ThreadPoolExecutor(max_workers=64, initializer=precise_timers)


def response_end(buffer: bytes) -> int | None:
    """Where the first whole HTTP response in `buffer` ends, or None while it is incomplete.
    A response with neither a length nor chunked encoding ends at its headers."""
    header_end = buffer.find(b"\r\n\r\n")
    if header_end < 0:
        return None
    body_start = header_end + 4
    headers = buffer[:header_end].lower()
    for line in headers.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            end = body_start + int(line.split(b":", 1)[1])
            return end if len(buffer) >= end else None
    if b"transfer-encoding: chunked" in headers:
        end = buffer.find(b"\r\n0\r\n\r\n", body_start - 2)
        return end + 7 if end >= 0 else None
    return body_start


class Connection:
    """One client connection: the delays of the requests sent on it, answered in order."""

    def __init__(self) -> None:
        self.delays: list[float] = []


async def to_server(reader, writer, delays: dict[str, float], connection: Connection) -> None:
    try:
        while chunk := await reader.read(65536):
            if REQUEST_LINE.match(chunk):  # a new request: what its answer will wait
                found = NAME.search(chunk)
                name = found.group(1).decode().strip() if found else ""
                connection.delays.append(delays.get(name, delays.get("*", 0.0)) / 1000)
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


def burn(seconds: float) -> None:
    """Spend `seconds` of this thread's CPU time: work a server would do, as a CPU meter sees it."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


async def to_client(reader, writer, connection: Connection, work=time.sleep) -> None:
    loop = asyncio.get_running_loop()
    buffer = b""
    try:
        while chunk := await reader.read(65536):
            buffer += chunk
            while (end := response_end(buffer)) is not None:
                delay = connection.delays.pop(0) if connection.delays else 0.0
                # asyncio's timers round up to whole milliseconds: a worker thread's sleep is precise
                await loop.run_in_executor(WAITER, work, delay)
                writer.write(buffer[:end])
                await writer.drain()
                buffer = buffer[end:]
        if buffer:
            writer.write(buffer)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def serve(upstream_port: int, delays: dict[str, float], port: int = 0, work=time.sleep) -> None:
    """Proxy 127.0.0.1:`port` (0: a free one, printed) to the upstream, each answer held by `work(delay)`."""

    async def handle(client_reader, client_writer):
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        connection = Connection()
        await asyncio.gather(
            to_server(client_reader, upstream_writer, delays, connection),
            to_client(upstream_reader, client_writer, connection, work),
        )

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    if not port:
        print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


@contextlib.contextmanager
def slowed_servers(target_id: str, delays: list[dict[str, float]], work: Path):
    """A fresh server of the target behind a delay proxy for each entry of `delays`; yields their
    specs (`target@http://127.0.0.1:PORT`), in order. Requests must name themselves
    (BENCH_NAME_HEADER=1 in the k6 process's environment)."""
    from services import launcher, processes  # the proxy process itself needs neither
    from services.environments import ensure_environment
    from services.registry import load_registry

    target = load_registry().targets[target_id]
    ensure_environment(target)
    root = Path(__file__).resolve().parent.parent
    with contextlib.ExitStack() as stack:
        specs = []
        for i, build in enumerate(delays):
            folder = work / f"build-{i + 1}"
            folder.mkdir(parents=True)
            served = stack.enter_context(launcher.serve(target, f"b{i + 1}", folder, folder / "server.log", None))
            (folder / "delays.json").write_text(json.dumps(build))
            port = served.url.rsplit(":", 1)[1]
            command = [sys.executable, "-m", "perf.delay_proxy", port, str(folder / "delays.json")]
            proxy = processes.start(command, folder / "proxy.log", cwd=root)
            stack.callback(processes.stop, proxy)
            specs.append(f"{target_id}@http://127.0.0.1:{_proxy_port(folder / 'proxy.log')}")
        yield specs


def _proxy_port(log: Path) -> str:
    for _ in range(100):
        text = log.read_text().strip() if log.exists() else ""
        if text:
            return text.splitlines()[0]
        time.sleep(0.05)
    raise RuntimeError(f"{log}: the proxy did not start")


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())))
