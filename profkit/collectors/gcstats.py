"""Every garbage collection during a pass, from ``gc.callbacks``: when, how long, how much.

One callback serves the whole process (threads included) while any batch
records; each collection is filed under the thread that triggered it, so a
batch keeps only the collections its own tasks caused.

The callback is added once and never removed. A collection walks
``gc.callbacks`` by index and its callbacks can yield the GIL, so removing an
entry while another thread collects makes the callback after it miss that
phase (distributed's GC diagnosis then fails an assertion on the next one).
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from profkit.model import GcEvent

_lock = threading.Lock()
_recording = 0
_events: list[GcEvent] = []
_started = threading.local()
_installed = False


def _callback(phase: str, info: dict[str, int]) -> None:
    if not _recording:
        return
    now = time.perf_counter()
    if phase == "start":
        _started.at = now
        return
    start = getattr(_started, "at", None)
    if start is None:
        return
    _started.at = None
    _events.append(GcEvent(pid=os.getpid(), thread=threading.current_thread().name, start=start,
                           duration=now - start, generation=int(info.get("generation", -1)),
                           collected=int(info.get("collected", 0))))


@contextmanager
def recording() -> Iterator[list[GcEvent]]:
    """Record this thread's collections while the block runs; the list fills as it goes."""
    global _recording, _installed
    mine: list[GcEvent] = []
    thread = threading.current_thread().name
    mark = len(_events)
    with _lock:
        if not _installed:
            gc.callbacks.append(_callback)
            _installed = True
        if _recording == 0:
            _events.clear()
            mark = 0
        _recording += 1
    try:
        yield mine
    finally:
        with _lock:
            mine.extend(e for e in _events[mark:] if e.thread == thread)
            _recording -= 1
