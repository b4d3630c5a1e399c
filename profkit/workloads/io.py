"""An I/O-bound workload: each task fetches from a slow HTTP server on 127.0.0.1.

The server is started for the run and stopped afterwards; each response waits
``DELAY_S`` before it is sent, so the task spends its time waiting on a socket.
"""

from __future__ import annotations

import contextlib
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from profkit.workloads.model import Workload

DELAY_S = 0.05
N_ITEMS = 24
_server_url: list[str] = []


class _SlowHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        time.sleep(DELAY_S)
        body = self.path.encode() * 64
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextlib.contextmanager
def slow_server() -> Iterator[str]:
    """Serve on an ephemeral port of 127.0.0.1 for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="profkit-io-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    _server_url.append(url)
    try:
        yield url
    finally:
        _server_url.remove(url)
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def fetch(url: str) -> int:
    """GET the URL and return the number of bytes received."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return len(response.read())


def _items() -> list[str]:
    return [f"{_server_url[-1]}/item/{i}" for i in range(N_ITEMS)]


WORKLOAD = Workload(
    name="io",
    task=fetch,
    items=_items,
    description=f"{N_ITEMS} HTTP GETs from a local server that waits {DELAY_S * 1000:.0f} ms "
    "per response: I/O-bound.",
    context=slow_server,
)
