"""The snakeviz server behind ``profkit view``: one run's profiles, for this host only.

snakeviz's own server lists any folder (``/snakeviz/%2Fetc``), loads any ``.prof``
path it is given and answers any Host header, which lets a web page reach it by DNS
rebinding. This server wraps snakeviz's handlers instead:

* it listens on 127.0.0.1 only;
* it answers only requests whose Host header is 127.0.0.1 or localhost (at its port);
* ``/snakeviz/<path>`` serves only the ``.prof`` files named on its command line,
  never a folder listing; ``/static/`` serves snakeviz's own assets;
* it dies with the ``profkit view`` that started it (``PR_SET_PDEATHSIG`` on Linux,
  and a parent check every second everywhere).

Run as ``python -m profkit.cli.snakeviz_server --port P --parent PID FILE.prof...``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tornado.web

HOST = "127.0.0.1"
HOST_NAMES = ("127.0.0.1", "localhost")
PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Ask the kernel to send SIGTERM when the parent dies; exit now if it already has."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the periodic parent check below still stops the server
    if os.getppid() != parent:
        os._exit(0)


def allowed_hosts(port: int) -> frozenset[str]:
    """Host header values a page served from this server sends; nothing else is answered."""
    return frozenset({*HOST_NAMES, *(f"{h}:{port}" for h in HOST_NAMES)})


#: Characters that could end a ``<script>`` block or a JS string, escaped in the page's JSON.
_SCRIPT_UNSAFE = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
                  0x2028: "\\u2028", 0x2029: "\\u2029"}


def script_json(value: object) -> str:
    """``value`` as JSON that is safe inside a ``<script>`` block, whatever its strings hold."""
    import json

    return json.dumps(value, default=str).translate(_SCRIPT_UNSAFE)


def page_data(profile: str) -> dict[str, str]:
    """snakeviz's two script values for ``profile`` (its table rows and call graph), script-safe."""
    from pstats import Stats

    from snakeviz.stats import json_stats, table_rows

    stats = Stats(profile)
    return {"table_rows": script_json(table_rows(stats)), "callees": script_json(json_stats(stats))}


def make_app(profiles: Sequence[str], port: int) -> tornado.web.Application:
    """snakeviz's application, restricted to ``profiles`` and to local Host headers."""
    import tornado.web
    from snakeviz.main import VizHandler
    from snakeviz.main import settings as snakeviz_settings

    hosts = allowed_hosts(port)
    served = frozenset(profiles)

    class LocalOnly(tornado.web.RequestHandler):
        """Refuse a request whose Host header names another host (DNS rebinding)."""

        def prepare(self) -> None:
            if self.request.host.lower() not in hosts:
                raise tornado.web.HTTPError(403, "unexpected Host header")

        def get(self, *args: str) -> None:
            raise tornado.web.HTTPError(404)

    class Profile(LocalOnly, VizHandler):  # type: ignore[misc]
        """snakeviz's page for one of the run's profiles; any other path is not found.

        snakeviz pastes the stats' Python repr into ``<script>`` blocks, so a function named
        ``</script><script>...`` would run: the page gets them as script-safe JSON instead.
        """

        def get(self, profile_name: str) -> None:  # type: ignore[override]
            if profile_name not in served:
                raise tornado.web.HTTPError(404)
            self.render("viz.html", profile_name=profile_name, **page_data(profile_name))

    class Static(LocalOnly, tornado.web.StaticFileHandler):
        """snakeviz's scripts and styles."""

        async def get(self, path: str, include_body: bool = True) -> None:  # type: ignore[override]
            await tornado.web.StaticFileHandler.get(self, path, include_body)

    settings = {**snakeviz_settings, "debug": False, "autoreload": False,
                "serve_traceback": False, "static_handler_class": Static}
    return tornado.web.Application([(r"/snakeviz/(.*)", Profile), (r"/(.*)", LocalOnly)],
                                   **settings)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m profkit.cli.snakeviz_server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--parent", type=int, required=True, help="pid of profkit view")
    parser.add_argument("profiles", nargs="+", help="absolute paths of the .prof files to serve")
    args = parser.parse_args(argv)
    die_with_parent(args.parent)

    import tornado.ioloop

    app = make_app(args.profiles, args.port)
    app.listen(args.port, address=HOST)

    def check_parent() -> None:
        if os.getppid() != args.parent:
            os._exit(0)

    tornado.ioloop.PeriodicCallback(check_parent, 1000).start()
    signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(0))
    with contextlib.suppress(KeyboardInterrupt):
        tornado.ioloop.IOLoop.current().start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
