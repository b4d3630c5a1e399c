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
import functools
import math
import multiprocessing.pool
import os
import pickle
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, TypeAlias, TypeGuard

from profkit.collectors.runqueue import RunQueueClock
from profkit.model import RawStats

if TYPE_CHECKING:
    from line_profiler import LineStats
    from line_profiler.line_profiler import LineProfiler

_PROFKIT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@functools.lru_cache(maxsize=1024)
def is_profkit_file(filename: str) -> bool:
    """A file of profkit's own (its frames are none of the program's)."""
    return os.path.abspath(filename).startswith(_PROFKIT_DIR + os.sep)


def hide_own_frames(exc: BaseException) -> None:
    """Take profkit's frames out of ``exc``'s traceback: the program sees its own traceback, as
    it would without profkit. Called in the ``except`` clause of profkit's outermost frame,
    before a bare ``raise`` (which, from Python 3.11, re-raises with the traceback as left
    here; 3.10 restores the one it caught)."""
    kept: list[TracebackType] = []
    tb = exc.__traceback__
    while tb is not None:
        if not is_profkit_file(tb.tb_frame.f_code.co_filename):
            kept.append(tb)
        tb = tb.tb_next
    for here, after in zip(kept, [*kept[1:], None], strict=False):
        here.tb_next = after
    exc.__traceback__ = kept[0] if kept else None


#: The attribute a failed task's record travels on, on the task's own exception.
RECORD_ATTR = "_profkit_record"
#: Pickled sizes are taken for a worker's first tasks of a site, then for one task in this many.
SIZE_EVERY = 16
SIZE_FIRST = 16

#: Tasks this worker ran per site: which of them get their pickled sizes taken.
_counts: dict[int, int] = {}
#: The run-queue clock is read when this long has passed since its last reading, and at the
#: end of a task only if the task took this long: a file read costs about as much as a
#: tiny task. Shorter tasks get NaN for their wait for a core.
QUEUE_READ_S = 1e-3


class _Thread:
    """What a worker thread keeps between tasks: its name, and its run-queue clock's last reading."""

    __slots__ = ("name", "_clock", "queued", "read_at")

    def __init__(self) -> None:
        self.name = threading.current_thread().name
        self._clock = RunQueueClock.open()
        self.queued, self.read_at = self.clock(), time.perf_counter()

    def clock(self) -> float:
        if self._clock is None:
            return math.nan
        try:
            return self._clock()
        except (OSError, ValueError, IndexError):
            return math.nan

    def __del__(self) -> None:
        if self._clock is not None:
            with contextlib.suppress(OSError):
                self._clock.close()

    def queued_at_start(self, now: float) -> float:
        if now - self.read_at >= QUEUE_READ_S:
            self.queued, self.read_at = self.clock(), now
        return self.queued

    def queued_since(self, start_reading: float, start: float, end: float) -> float:
        if end - start < QUEUE_READ_S:
            return math.nan
        self.queued, self.read_at = self.clock(), end
        return self.queued - start_reading


#: Per thread of this worker: dies with its thread (an ident may be reused by a new thread).
_threads = threading.local()
#: This process's id, kept current across forks.
_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()
    # the forking thread's clock reads the parent's thread: a fresh one on the next task
    _threads.__dict__.pop("state", None)


os.register_at_fork(after_in_child=_forked)


def _thread() -> _Thread:
    state: _Thread | None = getattr(_threads, "state", None)
    if state is None:
        state = _threads.state = _Thread()
    return state


#: A task's record: (pid, thread, start, end, cpu, queued, item_bytes, result_bytes, error);
#: times on the machine's monotonic clock (perf_counter), sizes None when not taken.
Record = tuple[int, str, float, float, float, float, "int | None", "int | None", "str | None"]


class Outcome:
    """Marks a task's outcome, the tuple ``(Outcome, value, site, record, stats, lines, covered)``.

    A plain tuple pickles fast, and this class in it pickles as a name, once per pickled
    batch of results. ``stats`` is the cProfile stats of the ``covered`` tasks this worker
    ran since it last sent stats (None between sendings), ``lines`` the task's LineStats.
    """


#: What :class:`SiteTask` returns: ``(Outcome, value, site, record, stats, lines, covered)``.
TaskOutcome: TypeAlias = tuple[type[Outcome], object, int, Record, "RawStats | None",
                               "LineStats | None", int]


#: How often a worker sends its cProfile stats with a result: its first tasks of a site each
#: time, then once this many seconds have passed since the last sending. Tasks of the last
#: interval of a worker may go unsent: the parent counts the tasks each sending covers.
SEND_FIRST = 64
SEND_EVERY_S = 0.02


class _Profiling:
    """One worker's cProfile of one site, sent with the results now and then."""

    __slots__ = ("profiler", "covered", "sent", "last")

    def __init__(self) -> None:
        self.profiler = cProfile.Profile()
        self.covered, self.sent, self.last = 0, 0, time.perf_counter()

    def take(self, now: float) -> tuple[RawStats | None, int]:
        """The stats and task count to send with this result, or (None, 0) for now."""
        self.covered += 1
        if self.sent >= SEND_FIRST and now - self.last < SEND_EVERY_S:
            return None, 0
        self.profiler.create_stats()
        stats, covered = self.profiler.stats, self.covered
        self.profiler = cProfile.Profile()
        self.covered, self.last = 0, now
        self.sent += 1
        return stats, covered


#: This worker's profiling state per (site, thread).
_profiling: dict[tuple[int, int], _Profiling] = {}


def _size(value: object) -> int | None:
    try:
        return len(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # noqa: BLE001 - a size we cannot take is left out
        return None


def _line_profiler(fn: object) -> LineProfiler | None:
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

    def __init__(self, fn: Callable[..., object], site: int, *, profile: bool, sizes: bool,
                 lines: bool = False) -> None:
        self.fn, self.site, self.profile, self.sizes, self.lines = fn, site, profile, sizes, lines

    def __call__(self, *args: object, **kwargs: object) -> TaskOutcome:
        count = _counts.get(self.site, 0)
        _counts[self.site] = count + 1
        sized = self.sizes and (count < SIZE_FIRST or count % SIZE_EVERY == 0)
        item_bytes = _size((args, kwargs) if kwargs else args) if sized else None
        profiling = None
        if self.profile:
            key = (self.site, threading.get_ident())
            profiling = _profiling.get(key)
            if profiling is None:
                profiling = _profiling[key] = _Profiling()
        lines = _line_profiler(self.fn) if self.lines else None
        thread = _thread()
        start = time.perf_counter()
        queued0 = thread.queued_at_start(start)
        cpu0 = time.thread_time()
        try:
            if profiling is not None:
                try:
                    profiling.profiler.enable()
                except ValueError:  # another profiler owns the interpreter (3.12+ threads)
                    profiling = None
            if lines is not None:
                lines.enable_by_count()
            try:
                value = self.fn(*args, **kwargs)
            finally:
                if lines is not None:
                    lines.disable_by_count()
                if profiling is not None:
                    profiling.profiler.disable()
        except BaseException as exc:
            cpu, end = time.thread_time() - cpu0, time.perf_counter()
            queued = thread.queued_since(queued0, start, end)
            stats, covered = profiling.take(end) if profiling is not None else (None, 0)
            failed: Record = (_pid, thread.name, start, end, cpu, queued, item_bytes, None,
                              f"{type(exc).__name__}: {exc}")
            carried = (Outcome, None, self.site, failed, stats,
                       lines.get_stats() if lines is not None else None, covered)
            with contextlib.suppress(Exception):  # an exception that takes no attributes
                setattr(exc, RECORD_ATTR, carried)
            # the pool formats (processes) or keeps (threads) the task's traceback: its own
            hide_own_frames(exc)
            raise
        cpu, end = time.thread_time() - cpu0, time.perf_counter()
        queued = thread.queued_since(queued0, start, end)
        stats, covered = profiling.take(end) if profiling is not None else (None, 0)
        record: Record = (_pid, thread.name, start, end, cpu, queued, item_bytes,
                          _size(value) if sized else None, None)
        return (Outcome, value, self.site, record, stats,
                lines.get_stats() if lines is not None else None, covered)


def is_outcome(value: object) -> TypeGuard[TaskOutcome]:
    """True for what :class:`SiteTask` returns."""
    return type(value) is tuple and len(value) == 7 and value[0] is Outcome


#: multiprocessing's own (not in its type stubs)
_MaybeEncodingError: type[Exception] = multiprocessing.pool.MaybeEncodingError  # type: ignore[attr-defined]
_encoding_error_init = _MaybeEncodingError.__init__


def _encoding_error(self: Exception, exc: Exception, value: object) -> None:
    """``Pool``'s error for a result that does not pickle names the program's result, as under
    python, not profkit's outcome around it (with its record and stats); it carries the
    tasks' records, failed with that reason."""
    outcomes: list[TaskOutcome] = []
    if is_outcome(value):
        outcomes, value = [value], value[1]
    elif type(value) is list:
        outcomes = [v for v in value if is_outcome(v)]
        value = [v[1] if is_outcome(v) else v for v in value]
    _encoding_error_init(self, exc, value)
    if outcomes:
        reason = f"{type(exc).__name__}: {exc}"
        carried = [(Outcome, None, site, (*record[:8], reason), stats, lines, covered)
                   for _, _, site, record, stats, lines, covered in outcomes]
        with contextlib.suppress(Exception):
            setattr(self, RECORD_ATTR, carried)


_MaybeEncodingError.__init__ = _encoding_error  # type: ignore[method-assign,assignment]
