"""`./run.sh serve`: serve the built site on http://127.0.0.1:PORT until Ctrl-C."""

from __future__ import annotations

import argparse
import functools
import http.server
from pathlib import Path

from core.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", default="site", type=Path, help="the built site (default: site)")
    parser.add_argument("--port", default=8000, type=int, help="port on 127.0.0.1 (default: 8000; 0 picks a free one)")


def main(args: argparse.Namespace) -> int:
    if not (args.site / "index.html").exists():
        raise InputError(f"{args.site}: no built site here; run ./run.sh report first")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(args.site))
    with http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler) as server:
        print(f"Serving {args.site} on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop)", flush=True)
        server.serve_forever()
    return 0
