"""What tasks print: kept out of profkit's own output, with each task's first and last lines kept.

While a run is on, ``sys.stdout`` and ``sys.stderr`` are routers: writes from
profkit's task threads (``profkit-worker…``, ``profkit-sequential``, and every
thread of a pool worker process) go to the running task's capture if it has
one, else nowhere; writes from any other thread reach the real stream. So a
task that prints megabytes cannot flood the terminal or break ``--json``.
Output written straight to file descriptor 1 or 2 (C code, subprocesses) is
not routed.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

#: Thread-name prefixes of the threads that run tasks in the parent process.
TASK_THREADS = ("profkit-worker", "profkit-sequential")
KEEP_LINES = 3
MAX_LINE = 200

_local = threading.local()


class Capture:
    """The first and last lines a task printed, and how much it printed in all."""

    def __init__(self) -> None:
        self.head: list[str] = []
        self.tail: list[str] = []
        self.bytes = 0
        self._partial = ""

    def write(self, text: str) -> None:
        self.bytes += len(text.encode("utf-8", "replace"))
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()[-4 * MAX_LINE:]
        for line in lines:
            self._add(line)

    def _add(self, line: str) -> None:
        line = line[:MAX_LINE]
        if len(self.head) < KEEP_LINES:
            self.head.append(line)
        else:
            self.tail.append(line)
            if len(self.tail) > KEEP_LINES:
                del self.tail[0]

    def text(self) -> str:
        """The kept lines, with a marker where lines were left out."""
        if self._partial:
            self._add(self._partial)
            self._partial = ""
        if not self.bytes:
            return ""
        middle = ["…"] if self.tail and len(self.head) == KEEP_LINES else []
        return "\n".join(self.head + middle + self.tail)

    def take(self) -> tuple[str, int]:
        """The kept lines and the bytes printed so far; the capture starts afresh."""
        kept = self.text(), self.bytes
        self.head, self.tail, self.bytes, self._partial = [], [], 0, ""
        return kept


class Router:
    """A stand-in for sys.stdout or sys.stderr that keeps task output apart."""

    def __init__(self, real: IO[str] | None, all_threads_are_tasks: bool = False) -> None:
        self.real = real
        self.all_threads_are_tasks = all_threads_are_tasks

    def _is_task_thread(self) -> bool:
        return self.all_threads_are_tasks or threading.current_thread().name.startswith(TASK_THREADS)

    def write(self, text: str) -> int:
        capture: Capture | None = getattr(_local, "capture", None)
        if capture is not None:
            capture.write(text)
        elif not self._is_task_thread() and self.real is not None:
            self.real.write(text)
        return len(text)

    def flush(self) -> None:
        if not self._is_task_thread() and self.real is not None:
            self.real.flush()

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


@contextmanager
def routed(all_threads_are_tasks: bool = False) -> Iterator[None]:
    """Route task output away from the real streams while the block runs (idempotent)."""
    if isinstance(sys.stdout, Router):
        yield
        return
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = Router(out, all_threads_are_tasks), Router(err, all_threads_are_tasks)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err


def route_this_process() -> None:
    """In a pool worker process: every thread runs tasks, so nothing they print leaks."""
    sys.stdout = Router(sys.stdout, all_threads_are_tasks=True)
    sys.stderr = Router(sys.stderr, all_threads_are_tasks=True)


@contextmanager
def capturing() -> Iterator[Capture]:
    """Capture what this thread prints while the block runs."""
    capture = Capture()
    previous = getattr(_local, "capture", None)
    _local.capture = capture
    try:
        yield capture
    finally:
        _local.capture = previous
