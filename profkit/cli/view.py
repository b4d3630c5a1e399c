"""``profkit view RUN_DIR``: serve a run's .prof files with snakeviz, to this host only.

The server (:mod:`profkit.cli.snakeviz_server`) wraps snakeviz's handlers: it serves
only this run's profiles, answers only Host headers naming 127.0.0.1 or localhost,
listens on 127.0.0.1, and dies with this process.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

from profkit.cli._common import add_mode, add_run_dir, pick_mode
from profkit.errors import EXIT_OK, ProfkitError, UsageError

HOST = "127.0.0.1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_dir(parser)
    add_mode(parser)
    parser.add_argument("--port", help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--no-browser", action="store_true",
                        help="only print the URL (for headless machines)")


def free_port() -> int:
    """A port nothing listens on now; snakeviz would otherwise silently move."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _parse_port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise UsageError(f"--port must be a number, got {text!r}") from None
    if not 1 <= port <= 65535:
        raise UsageError(f"--port must be between 1 and 65535, got {port}")
    return port


def _last_line(log: IO[bytes]) -> str:
    log.seek(0)
    lines = [line.strip() for line in log.read().decode("utf-8", "replace").splitlines() if line.strip()]
    return f": {lines[-1]}" if lines else ""


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: IO[bytes], timeout: float = 20.0) -> None:
    import urllib.request
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ProfkitError(f"snakeviz exited with code {process.returncode} before serving"
                               f"{_last_line(log)}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise ProfkitError(f"snakeviz did not answer on {url} within {timeout:.0f} s")


def run(args: argparse.Namespace) -> int:
    import os

    from profkit.store import artifact_path, checked_file, load_profile, read_run_json

    run_dir = Path(args.run_dir)
    meta, _ = read_run_json(run_dir)  # every artifact path checked to stay inside run_dir
    files = meta.artifacts.profiles
    mode = pick_mode(files, args.mode, "profile (.prof)", run_dir)
    served = [str(artifact_path(run_dir, rel, suffix=".prof")) for rel in files.values()]
    prof = artifact_path(run_dir, files[mode], suffix=".prof")
    for rel in files.values():  # snakeviz may be asked for any of them: none may be huge
        if (run_dir / rel).exists():
            checked_file(run_dir, rel)
    load_profile(prof)  # a corrupt file fails here, with one line, not inside snakeviz
    if args.port is not None:
        port = _parse_port(args.port)
        with socket.socket() as s:
            if s.connect_ex((HOST, port)) == 0:
                raise UsageError(f"port {port} on {HOST} is busy: pick another --port or leave "
                                 "it off")
    else:
        port = free_port()
    from urllib.parse import quote

    url = f"http://{HOST}:{port}/snakeviz/{quote(str(prof), safe='')}"
    # snakeviz logs a traceback per failing request: a file never fills up, an unread pipe
    # does (64 KiB) and then freezes the server. It starts in an empty folder of its own:
    # ``python -m`` imports from the working folder, which may be the run folder.
    with tempfile.TemporaryFile() as log, tempfile.TemporaryDirectory(prefix="profkit-view-") as empty:
        process = subprocess.Popen(
            [sys.executable, "-m", "profkit.cli.snakeviz_server", "--port", str(port),
             "--parent", str(os.getpid()), *served],
            stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL, cwd=empty,
        )
        try:
            _wait_until_up(url, process, log)
            print(f"snakeviz is serving {mode}.prof at {url}", flush=True)
            print("press Ctrl-C to stop", flush=True)
            if not args.no_browser:
                from profkit.cli._common import open_browser

                if not open_browser(url):
                    print("no browser found: open the URL above yourself", flush=True)
            process.wait()
            return EXIT_OK
        except KeyboardInterrupt:
            return EXIT_OK
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
