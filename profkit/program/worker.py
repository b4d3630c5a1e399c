"""What runs inside a pool's worker for ``profkit run``: the user's task, timed and profiled.

:class:`SiteTask` replaces the callable the program hands its pool. It pickles by
reference to this module (spawned and forkserver workers import it, light as it is),
calls the real task under its own cProfile, and returns an :class:`Outcome` that
carries the result with the task's record and stats: pool workers leave through
``os._exit``, so nothing measured may wait for the worker's end. A task that raises
carries its record on the exception, which pickles with it.
"""

from __future__ import annotations

import contextlib
import cProfile
import math
import os
import pickle
import threading
import time
from collections.abc import Callable
from typing import Any

#: The attribute a failed task's record travels on, on the task's own exception.
RECORD_ATTR = "_profkit_record"
#: Pickled sizes are taken for a worker's first tasks of a site, then for one task in this many.
SIZE_EVERY = 16
SIZE_FIRST = 16

#: Tasks this worker ran per site: which of them get their pickled sizes taken.
_counts: dict[int, int] = {}
#: Each thread's run-queue clock (:class:`RunQueueClock`), opened on its first task.
_clocks = threading.local()


def _queue_clock() -> Callable[[], float]:
    """The calling thread's seconds spent waiting for a core; NaN where the kernel does not say."""
    clock = getattr(_clocks, "clock", None)
    if clock is None:
        from profkit.collectors.worker import RunQueueClock

        clock = _clocks.clock = RunQueueClock.open() or (lambda: math.nan)
    return clock


class TaskRecord:
    """One task as its worker saw it; times on the machine's monotonic clock (perf_counter)."""

    __slots__ = ("pid", "thread", "start", "end", "cpu", "queued", "item_bytes", "result_bytes",
                 "stats", "error", "lines")

    def __init__(self, pid: int, thread: str, start: float, end: float, cpu: float,
                 queued: float, item_bytes: int | None, result_bytes: int | None,
                 stats: dict[Any, Any] | None, error: str | None = None) -> None:
        self.pid, self.thread, self.start, self.end, self.cpu = pid, thread, start, end, cpu
        self.queued = queued
        self.item_bytes, self.result_bytes, self.stats, self.error = (
            item_bytes, result_bytes, stats, error)
        #: line_profiler's LineStats of the task, with ``--lines``
        self.lines: Any = None

    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(self.__slots__, state, strict=True):
            setattr(self, name, value)


class Outcome:
    """A task's result with its record; the parent unwraps it before the program sees it."""

    __slots__ = ("value", "record", "site", "received")

    def __init__(self, value: Any, record: TaskRecord, site: int) -> None:
        self.value, self.record, self.site, self.received = value, record, site, False

    def __getstate__(self) -> tuple[Any, ...]:
        return (self.value, self.record, self.site)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.value, self.record, self.site = state
        self.received = False


def _size(value: Any) -> int | None:
    try:
        return len(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # noqa: BLE001 - a size we cannot take is left out
        return None


def _line_profiler(fn: Any) -> Any:
    """line_profiler on the task's own function (a method's or a partial's), or None."""
    from line_profiler import LineProfiler

    while hasattr(fn, "func") and callable(fn.func):  # functools.partial
        fn = fn.func
    fn = getattr(fn, "__func__", fn)
    if not hasattr(fn, "__code__"):
        return None  # a builtin or a callable object: no lines of its own
    profiler = LineProfiler()
    profiler.add_function(fn)
    return profiler


class SiteTask:
    """The program's task for one pool site, measured where it runs.

    ``sizes``: take pickled sizes (process pools; a thread pool pickles nothing).
    """

    def __init__(self, fn: Callable[..., Any], site: int, *, profile: bool, sizes: bool,
                 lines: bool = False) -> None:
        self.fn, self.site, self.profile, self.sizes, self.lines = fn, site, profile, sizes, lines

    def __call__(self, *args: Any, **kwargs: Any) -> Outcome:
        count = _counts.get(self.site, 0)
        _counts[self.site] = count + 1
        sized = self.sizes and (count < SIZE_FIRST or count % SIZE_EVERY == 0)
        item_bytes = _size((args, kwargs) if kwargs else args) if sized else None
        profiler = cProfile.Profile() if self.profile else None
        lines = _line_profiler(self.fn) if self.lines else None
        clock = _queue_clock()
        queued0 = clock()
        start, cpu0 = time.perf_counter(), time.thread_time()
        try:
            if profiler is not None:
                try:
                    profiler.enable()
                except ValueError:  # another profiler owns the interpreter (3.12+ threads)
                    profiler = None
            if lines is not None:
                lines.enable_by_count()
            try:
                value = self.fn(*args, **kwargs)
            finally:
                if lines is not None:
                    lines.disable_by_count()
                if profiler is not None:
                    profiler.disable()
        except BaseException as exc:
            record = self._record(start, cpu0, clock() - queued0, profiler, item_bytes, None)
            record.error = f"{type(exc).__name__}: {exc}"
            record.lines = lines.get_stats() if lines is not None else None
            with contextlib.suppress(Exception):  # an exception that takes no attributes
                setattr(exc, RECORD_ATTR, (self.site, record))
            raise
        queued = clock() - queued0
        record = self._record(start, cpu0, queued, profiler, item_bytes,
                              _size(value) if sized else None)
        record.lines = lines.get_stats() if lines is not None else None
        return Outcome(value, record, self.site)

    @staticmethod
    def _record(start: float, cpu0: float, queued: float, profiler: cProfile.Profile | None,
                item_bytes: int | None, result_bytes: int | None) -> TaskRecord:
        end, cpu = time.perf_counter(), time.thread_time() - cpu0
        stats = None
        if profiler is not None:
            profiler.create_stats()
            stats = profiler.stats
        return TaskRecord(os.getpid(), threading.current_thread().name, start, end, cpu, queued,
                          item_bytes, result_bytes, stats)
