"""A TCP proxy on 127.0.0.1 that slows a server by a known amount: an injected slowdown.

    .venv/bin/python -m perf.delay_proxy UPSTREAM_PORT DELAY_MS [FACTOR]   (prints its own port)

DELAY_MS delays every chunk a client sends by a fixed time. FACTOR (e.g. 0.10) slows every
answer in proportion: the proxy holds each whole response (its length read from the HTTP
headers) and sends it on after FACTOR times the time from the request's first chunk reaching the
proxy to the response's last byte reaching it, so a request that took t through the proxy takes
about (1 + FACTOR) t. Holding the whole response matters: a server that sends its headers before
its body (MLflow's uvicorn does) would otherwise hide the delay behind the body's computation.
With FACTOR 0 the path is the same, proxy and buffering included, but nothing is added: the
baseline of a slowdown experiment.
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


async def to_client(reader, writer, factor: float, connection: Connection) -> None:
    try:
        loop = asyncio.get_running_loop()
        buffer = b""
        while chunk := await reader.read(65536):
            buffer += chunk
            while (end := response_end(buffer)) is not None:
                if connection.sent_at is not None:
                    # asyncio's timers round up to a whole millisecond, far too coarse for a 0.5 ms
                    # answer: time.sleep in a worker thread is precise.
                    delay = factor * (time.perf_counter() - connection.sent_at)
                    await loop.run_in_executor(None, time.sleep, delay)
                connection.sent_at = None
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
