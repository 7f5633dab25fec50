"""Small HTTP proxies in front of a real server, for the tests that need a server to misbehave in a
known way: one that returns fewer rows than it holds, one that serves at most a known rate, one
that answers every request a known time late."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

Rewrite = Callable[[str, bytes], bytes]  # (path, response body) -> the body the client gets
Fail = Callable[[str], bool]  # (path) -> answer HTTP 500 instead of forwarding


@contextmanager
def proxy(
    upstream: str,
    rewrite: Rewrite | None = None,
    rate: float | None = None,
    fail: Fail | None = None,
    delay: float = 0.0,
    swallow: Fail | None = None,
) -> Iterator[str]:
    """A proxy to `upstream` on a free port of 127.0.0.1; yields its URL.

    `rewrite` changes response bodies; `fail` picks requests to answer with an error of its own;
    `rate` serves one request at a time, each taking 1/rate seconds at least, so that no more than
    `rate` requests per second get through and the rest queue; `delay` answers each request that
    many seconds late (an injected slowdown); `swallow` picks requests to answer `{}` (HTTP 200)
    without forwarding them: a server that says it stored what it did not."""
    target = urlsplit(upstream)
    gate = threading.Lock()
    local = threading.local()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body go out in two writes: with Nagle's algorithm on, the body would wait for the
        # client's delayed ACK of the headers (40 ms) on a reused connection, a slowdown the test never asked for
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802 (the http.server API)
            self.forward()

        def do_POST(self) -> None:  # noqa: N802
            self.forward()

        def forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            kind = "application/json"
            if swallow and swallow(self.path):
                status, answer = 200, b"{}"
            elif fail and fail(self.path):
                status, answer = 500, b'{"error_code": "INTERNAL_ERROR", "message": "failed by the test proxy"}'
            elif rate:
                with gate:
                    started = time.monotonic()
                    status, answer, kind = self.upstream(body)
                    time.sleep(max(0.0, 1 / rate - (time.monotonic() - started)))
            else:
                status, answer, kind = self.upstream(body)
            time.sleep(delay)
            if rewrite and status == 200:
                answer = rewrite(self.path, answer)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def upstream(self, body: bytes) -> tuple[int, bytes, str]:
            """The upstream's status, body and content type (a UI's scripts and styles pass through too)."""
            if getattr(local, "connection", None) is None:
                local.connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            headers = {"Content-Type": self.headers.get("Content-Type", "application/json")}
            try:
                local.connection.request(self.command, self.path, body=body or None, headers=headers)
                response = local.connection.getresponse()
                return response.status, response.read(), response.getheader("Content-Type", "application/json")
            except (OSError, http.client.HTTPException):
                local.connection = None
                return 502, b'{"error_code": "BAD_GATEWAY"}', "application/json"

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def hide_half_of_the_runs(path: str, body: bytes) -> bytes:
    """A server that shows less: every page of SearchRuns loses its second half."""
    if not path.split("?")[0].endswith("/runs/search"):
        return body
    answer = json.loads(body)
    runs = answer.get("runs", [])
    answer["runs"] = runs[: (len(runs) + 1) // 2]
    return json.dumps(answer).encode()


def drop_last_run(path: str, body: bytes) -> bytes:
    """A server that does less: every page of SearchRuns loses its last run."""
    if not path.endswith("/runs/search"):
        return body
    answer = json.loads(body)
    if len(answer.get("runs", [])) > 1:
        answer["runs"] = answer["runs"][:-1]
    return json.dumps(answer).encode()


def every_other(path_end: str) -> Fail:
    """Pick every second request whose path ends with `path_end` (the 2nd, the 4th ...)."""
    seen = 0
    lock = threading.Lock()

    def pick(path: str) -> bool:
        nonlocal seen
        if not path.split("?")[0].endswith(path_end):
            return False
        with lock:
            seen += 1
            return seen % 2 == 0

    return pick


def nth_request(path_end: str, n: int) -> Fail:
    """Fail the n-th request (from 1) whose path ends with `path_end`, and only that one."""
    seen = 0
    lock = threading.Lock()

    def fail(path: str) -> bool:
        nonlocal seen
        if not path.endswith(path_end):
            return False
        with lock:
            seen += 1
            return seen == n

    return fail
