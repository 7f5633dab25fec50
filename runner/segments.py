"""The barrier of an isolated A/B round, and each request name's CPU measured at it.

An isolated round runs a suite's request names one after the other, as segments (k6/lib/mlflow.js,
`iterate`). Before each segment and after the last, every VU sends `GET <url>/<label>` (the request
name about to start, or `end`) and waits for the answer. The answer comes when all VUs have arrived:
then, and only then, each server's meter takes a lap. So the CPU between two barriers is what the
server spent on that segment's request name alone, and no VU starts the next name while another is
still on the last one.

The ui suite's single VU meets the barrier the same way around each view (`<view>@<size>` before,
`end` after), so the server's CPU between the two is what that view cost it; the time between views
(growing the store, the untimed warm-up load) is counted in no segment.

A barrier that not every VU reaches in `timeout` seconds (a VU stuck or gone) breaks: the waiting VUs
are answered 503, and the round's CPU per request name is not given, since its laps no longer match
its segments.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol
from urllib.parse import unquote

END = "end"  # the label the VUs meet at after the last segment
SETTLE_SECONDS = 0.005  # a server that used less than IDLE_SHARE of a core over this long is idle
IDLE_SHARE = 0.1
SETTLE_TRIES = 40  # at most 0.2 s per barrier


class Lapping(Protocol):
    def lap(self) -> float: ...


class SegmentBarrier:
    """Where the VUs of one round meet, and the CPU each side's server spent on each segment."""

    def __init__(self, vus: int, meters: dict[str, Lapping], timeout: float = 300.0) -> None:
        self.vus, self.meters, self.timeout = vus, meters, timeout
        self.labels: list[str] = []  # the barriers passed, in order
        # side -> name -> CPU seconds of each segment of that name, in order (an A/B round has one per
        # name; the ui suite meets at the barrier around every view, and times each view several times)
        self.each: dict[str, dict[str, list[float]]] = {side: {} for side in meters}
        self.broken = False
        self._barriers: dict[str, threading.Barrier] = {}
        self._lock = threading.Lock()

    def arrive(self, label: str) -> bool:
        """Wait until every VU has arrived at `label`; False when the barrier broke."""
        with self._lock:
            barrier = self._barriers.setdefault(label, threading.Barrier(self.vus, action=lambda: self._lap(label)))
        try:
            barrier.wait(self.timeout)
        except threading.BrokenBarrierError:
            self.broken = True
            return False
        return True

    def _lap(self, label: str) -> None:
        """All VUs are here: the CPU since the last barrier belongs to the segment that just ended, and
        so does what the servers still do after its last answer (a GC cycle, a WAL checkpoint): the lap
        ends when both have been idle for SETTLE_SECONDS. Without that, whichever server was read second
        had a little more of its trailing work counted in the segment before: in five A/A comparisons of
        FastTrackML, B's LogMetricBatch500 cost 1.001-1.021x A's CPU, and its CreateRun 0.979-0.986x."""
        laps = {side: meter.lap() for side, meter in self.meters.items()}
        for _ in range(SETTLE_TRIES):
            time.sleep(SETTLE_SECONDS)
            more = {side: meter.lap() for side, meter in self.meters.items()}
            laps = {side: laps[side] + more[side] for side in laps}
            if all(seconds < IDLE_SHARE * SETTLE_SECONDS for seconds in more.values()):
                break
        if self.labels and self.labels[-1] != END:
            for side, seconds in laps.items():
                self.each[side].setdefault(self.labels[-1], []).append(seconds)
        self.labels.append(label)

    @property
    def segments(self) -> list[str]:
        """The request names the round ran, in order."""
        return [label for label in self.labels if label != END]

    @property
    def complete(self) -> bool:
        """Every VU reached the end and no barrier broke."""
        return not self.broken and bool(self.labels) and self.labels[-1] == END

    def release(self) -> None:
        """Let go every VU still waiting (the round ended without them all: k6 was stopped)."""
        with self._lock:
            for waiting in self._barriers.values():
                waiting.abort()

    def cpu_by_name(self, side: str) -> dict[str, float]:
        """CPU seconds of `side`'s server per request name, or nothing when the round's laps are not whole."""
        return {name: seconds[-1] for name, seconds in self.each.get(side, {}).items()} if self.complete else {}

    def cpu_of_each(self, side: str) -> dict[str, list[float]]:
        """CPU seconds of `side`'s server in every segment, per name; nothing when a barrier broke."""
        return {name: list(seconds) for name, seconds in self.each.get(side, {}).items()} if not self.broken else {}


@contextmanager
def serve_barrier(barrier: SegmentBarrier) -> Iterator[str]:
    """Serve `barrier` on a free port of 127.0.0.1 while the round runs; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            passed = barrier.arrive(unquote(self.path.strip("/")))
            self.send_response(200 if passed else 503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:  # quiet: k6's log says what went wrong
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="segment-barrier", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        barrier.release()
        server.shutdown()
        server.server_close()
