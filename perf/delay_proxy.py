"""A TCP proxy on 127.0.0.1 that slows a server by a known amount: an injected slowdown.

    .venv/bin/python -m perf.delay_proxy UPSTREAM_PORT DELAY_MS [FACTOR]   (prints its own port)

DELAY_MS delays every chunk a client sends by a fixed time. FACTOR (e.g. 0.10) slows every
answer in proportion: the first chunk of each response waits FACTOR times the time from the
request's first chunk reaching the proxy to the response's first chunk reaching it (the server's
time plus both hops), so a request that took t through the proxy takes about (1 + FACTOR) t.
With FACTOR 0 the path is the same, proxy included, but nothing is added: the baseline of a
slowdown experiment.
"""

from __future__ import annotations

import asyncio
import sys
import time


class Connection:
    """One client connection: when its latest request was sent on, to time the answer to it."""

    def __init__(self) -> None:
        self.sent_at: float | None = None


async def to_server(reader, writer, delay: float, connection: Connection) -> None:
    try:
        while chunk := await reader.read(65536):
            if connection.sent_at is None:
                connection.sent_at = time.perf_counter()  # a new request: its answer is timed from here
            if delay:
                await asyncio.sleep(delay)
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def to_client(reader, writer, factor: float, connection: Connection) -> None:
    try:
        loop = asyncio.get_running_loop()
        while chunk := await reader.read(65536):
            if connection.sent_at is not None:
                # asyncio's timers round up to a whole millisecond, far too coarse for a 0.5 ms answer:
                # time.sleep in a worker thread is precise. Every answer takes the same hop, so at
                # factor 0 the path is the same, only nothing is added.
                await loop.run_in_executor(None, time.sleep, factor * (time.perf_counter() - connection.sent_at))
            connection.sent_at = None  # the rest of this response passes unslowed
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def serve(upstream_port: int, delay_ms: float, factor: float = 0.0) -> None:
    async def handle(client_reader, client_writer):
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        connection = Connection()
        await asyncio.gather(
            to_server(client_reader, upstream_writer, delay_ms / 1000, connection),
            to_client(upstream_reader, client_writer, factor, connection),
        )

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 0.0))
