"""Sample the RSS of the parent and every child process in a background thread.

Each process is recorded apart, by pid, so shared pages are not silently
summed; the sum is an upper bound that the report labels as such. The task is
never re-run to measure it: the sampler watches the run that happens anyway.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Any

import psutil

DEFAULT_INTERVAL_S = 0.02
RESCAN_S = 1.0


class MemorySampler:
    """Context manager: samples ``(t, pid, role, rss)`` every ``interval`` seconds."""

    def __init__(self, interval: float = DEFAULT_INTERVAL_S, extra_pids: list[int] | None = None):
        self.interval = interval
        self.extra_pids = extra_pids or []
        self.samples: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="profkit-memory", daemon=True)
        self._parent = psutil.Process(os.getpid())
        self._t0 = 0.0
        self._scanned_at = -RESCAN_S
        self._known_children: list[psutil.Process] = []

    def _children(self) -> list[psutil.Process]:
        """The parent's descendants, rescanned every second: a scan reads all of /proc."""
        now = time.perf_counter()
        if now - self._scanned_at >= RESCAN_S:
            self._scanned_at = now
            with contextlib.suppress(psutil.Error):
                self._known_children = self._parent.children(recursive=True)
        return self._known_children

    def _sample(self) -> None:
        t = time.perf_counter() - self._t0
        processes = [(self._parent, "parent")]
        processes += [(child, "worker") for child in self._children()]
        known = {p.pid for p, _ in processes}
        for pid in self.extra_pids:
            if pid not in known:
                with contextlib.suppress(psutil.Error):
                    processes.append((psutil.Process(pid), "worker"))
        for process, role in processes:
            try:
                rss = process.memory_info().rss
            except psutil.Error:
                continue
            self.samples.append({"t_s": t, "pid": process.pid, "role": role, "rss_bytes": rss})

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._t0 = time.perf_counter()
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sample()
