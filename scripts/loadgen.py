#!/usr/bin/env python
"""A bounded CPU load from other programs, for testing profkit on a busy machine.

    python scripts/loadgen.py --cores 2 --duration 900          # both cores busy, 15 minutes
    python scripts/loadgen.py --cores 1 --on 1 --off 2 --duration 60   # 1 s of every 3 s

Each core is a process spinning in pure Python for ``--on`` seconds, then
sleeping ``--off`` seconds, until ``--duration`` runs out; it always stops by
itself. Ctrl-C or SIGTERM stops it at once.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import signal
import sys
import time
from collections.abc import Sequence


def spin(on_s: float, off_s: float, end: float) -> None:
    """Burn one core for ``on_s``, rest ``off_s``, until the monotonic clock passes ``end``."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    while time.monotonic() < end:
        busy_until = min(end, time.monotonic() + on_s)
        while time.monotonic() < busy_until:
            pass
        if off_s > 0:
            time.sleep(max(0.0, min(off_s, end - time.monotonic())))


class Load:
    """Context manager: ``cores`` spinning processes, stopped on exit."""

    def __init__(self, cores: int = 1, on_s: float = 1.0, off_s: float = 0.0,
                 duration_s: float = 600.0) -> None:
        self.cores, self.on_s, self.off_s, self.duration_s = cores, on_s, off_s, duration_s
        self._processes: list[multiprocessing.Process] = []

    def __enter__(self) -> Load:
        end = time.monotonic() + self.duration_s
        context = multiprocessing.get_context("spawn")
        for _ in range(self.cores):
            process = context.Process(target=spin, args=(self.on_s, self.off_s, end), daemon=True)
            process.start()
            self._processes.append(process)
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            process.join(timeout=5)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cores", type=int, default=2, help="spinning processes (default: 2)")
    parser.add_argument("--on", type=float, default=1.0, help="seconds busy per cycle (default: 1)")
    parser.add_argument("--off", type=float, default=0.0, help="seconds idle per cycle (default: 0)")
    parser.add_argument("--duration", type=float, default=600.0,
                        help="seconds until it stops by itself (default: 600)")
    args = parser.parse_args(argv)
    if args.cores < 1 or args.on <= 0 or args.off < 0 or args.duration <= 0:
        parser.error("--cores >= 1, --on > 0, --off >= 0 and --duration > 0")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with Load(args.cores, args.on, args.off, args.duration), contextlib.suppress(KeyboardInterrupt):
        time.sleep(args.duration)
    return 0


if __name__ == "__main__":
    sys.exit(main())
