"""What runs inside a worker: the task under one collector, for a batch of items.

Stats come back with each batch, because pool workers exit through ``os._exit``
and never run ``atexit``. Each profiler is switched on around the task call
only, so the payload holds the task's own frames and none of profkit's.
GC is on during every pass, as in a plain run (the timed maps run with it off).
"""

from __future__ import annotations

import cProfile
import gc
import importlib
import os
import pickle
import sys
import threading
import time
import traceback
from array import array
from collections.abc import Callable
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Protocol

from profkit.collectors.budget import ItemBudget, TaskAbandoned
from profkit.collectors.output import Capture, capturing
from profkit.collectors.runqueue import RunQueueClock
from profkit.model import MemoryLine, Payload, Task, TaskColumns, TaskNote, TaskRecord, TaskWorker

if TYPE_CHECKING:
    from _typeshed import TraceFunction
    from line_profiler import LineProfiler

TASKS = "tasks"
CPROFILE = "cprofile"
LINES = "lines"
MEMORY_LINES = "memory_lines"
#: The passes a wall-time budget can cut short.
BUDGETED = (CPROFILE, LINES)

_line_functions_cache: dict[tuple[Task, tuple[str, ...], bool], list[object]] = {}


class MemoryCodeMap(Protocol):
    """memory_profiler's ``CodeMap``: per traced code, per line, (increment, peak, occurrences)."""

    _toplevel: list[tuple[str, CodeType, list[int]]]

    def __getitem__(self, code: CodeType) -> dict[int, tuple[float, float, int] | None]: ...


class MemoryLineProfiler(Protocol):
    """What profkit uses of memory_profiler's ``LineProfiler``."""

    code_map: MemoryCodeMap

    def add_function(self, func: object) -> None: ...

    def enable_by_count(self) -> None: ...

    def disable_by_count(self) -> None: ...


def _memory_line_profiler(functions: list[object]) -> MemoryLineProfiler:
    """memory_profiler's LineProfiler on ``functions``, tracing only their own lines.

    memory_profiler keeps its trace function on every frame; this one drops it
    for frames of other code, so a callee's loop is not traced line by line.
    """
    from profkit.collectors.memory import import_memory_profiler

    base = import_memory_profiler().LineProfiler

    class _OwnLines(base):  # type: ignore[misc, valid-type]
        def trace_memory_usage(self, frame: FrameType, event: str, arg: object) -> TraceFunction | None:
            super().trace_memory_usage(frame, event, arg)
            return self.trace_memory_usage if frame.f_code in self.code_map else None

    profiler: MemoryLineProfiler = _OwnLines(backend="psutil")
    for function in functions:
        profiler.add_function(function)
    return profiler


def memory_line_rows(profiler: MemoryLineProfiler) -> list[MemoryLine]:
    """One row per traced line: increment and occurrences summed, peak as the largest seen."""
    rows = []
    for filename, code, _linenos in profiler.code_map._toplevel:
        for lineno, measure in sorted(profiler.code_map[code].items()):
            if measure is None:
                continue
            increment, peak, occurrences = measure
            if lineno == code.co_firstlineno:
                # memory_profiler books the RSS at entry (or a line of other code) here:
                # a baseline, not something this line allocated
                increment = 0.0
            rows.append(MemoryLine(filename=filename, function=code.co_name,
                                   func_lineno=code.co_firstlineno, lineno=lineno,
                                   increment_mib=float(increment), peak_mib=float(peak),
                                   occurrences=int(occurrences)))
    return rows


def resolve_line_functions(task: Task, names: tuple[str, ...],
                           with_task: bool = True) -> list[object]:
    """The task (unless ``with_task`` is False) plus each named function (or whatever object
    the name names: the profilers reject what is no function).

    A name is ``name`` in the task's module, or ``module:qualname``.
    """
    key = (task, names, with_task)
    if key in _line_functions_cache:
        return _line_functions_cache[key]
    functions: list[object] = [task] if with_task else []
    for name in names:
        module_name, _, qualname = name.rpartition(":")
        module = importlib.import_module(module_name or task.__module__)
        obj: object = module
        for part in qualname.split("."):
            obj = getattr(obj, part)
        obj = getattr(obj, "__func__", obj)
        if obj not in functions:
            functions.append(obj)
    _line_functions_cache[key] = functions
    return functions


def _format_error(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


#: The recursion limit profkit's own code may need: the process's when profkit was loaded.
RECURSION_FLOOR = sys.getrecursionlimit()


def keep_recursion_floor() -> None:
    """Raise the recursion limit back to :data:`RECURSION_FLOOR` if a task lowered it (a
    task may raise it, never break profkit's code that runs between its items)."""
    if sys.getrecursionlimit() < RECURSION_FLOOR:
        sys.setrecursionlimit(RECURSION_FLOOR)


def run_batch(
    task: Task,
    batch: list[tuple[int, object]],
    collector: str,
    line_names: tuple[str, ...] = (),
    ships_results: bool = False,
    budget_s: float | None = None,
    clock: Callable[[], float] = time.perf_counter,
    *,
    sample_every: int = 1,
) -> Payload:
    """Run ``task`` on each ``(index, item)``; return per-item records and the batch's stats.

    A task that raises (``SystemExit`` included) does not stop the batch: its
    record carries the traceback. Results travel back only in the ``tasks``
    pass; when they must cross a process boundary (``ships_results``), one
    that cannot be pickled fails its item, naming its type. The cProfile and
    line passes with ``budget_s`` stop at that many seconds of wall time: they
    cut the item running then, and leave the rest of the batch out.
    """
    keep_recursion_floor()
    gc_was_enabled = gc.isenabled()
    gc.enable()
    try:
        if collector != TASKS:
            return _run_batch(task, batch, collector, line_names, ships_results, clock,
                              budget_s)
        from profkit.collectors import gcstats

        with gcstats.recording() as collections:
            payload = _run_tasks(task, batch, ships_results, sample_every, clock)
        payload.gc = collections
        return payload
    finally:
        if not gc_was_enabled:
            gc.disable()


#: Per batch of the tasks pass, the slowest and the fastest this many items keep their results.
EXTREMES = 25


#: The tasks pass reads the thread's CPU clock (a system call) at most once per this many
#: seconds of tasks; a run of shorter tasks shares the CPU read in proportion to wall time.
CPU_READ_S = 20e-6

#: ... and the time it waited for a core (a file read) at most once per this many seconds.
QUEUE_READ_S = 1e-3


def _run_tasks(task: Task, batch: list[tuple[int, object]], ships_results: bool,
               sample_every: int, clock: Callable[[], float]) -> Payload:
    """The tasks pass: times into preallocated arrays; notes only for the few tasks that need one.

    Results come back for a sample only: every item whose index is a multiple
    of ``sample_every``, plus the batch's slowest and fastest :data:`EXTREMES`.
    """
    n = len(batch)
    index = array("q", [i for i, _ in batch])
    start, end, cpu = array("d", bytes(8 * n)), array("d", bytes(8 * n)), array("d", bytes(8 * n))
    queue_clock = RunQueueClock.open()
    queued = array("d", bytes(8 * n) if queue_clock else [float("nan")] * n)
    results: list[object] = [None] * n
    notes: dict[int, TaskNote] = {}
    thread_time = time.thread_time
    k = run_from = queued_from = 0
    mark: float | None = None  # when the CPU clock was last read: at the first task's start
    # The run-queue clock is read at the start of a task and at the end of a later one: a
    # wait for a core between two readings (preempted between tasks) is no task's.
    queue_mark = 0.0
    queue_at: float | None = None
    queue_read_s = QUEUE_READ_S
    with capturing() as printed:
        cpu_mark = thread_time()
        for i, item in batch:
            if queue_clock is not None and queue_at is None:
                queue_mark, queued_from = queue_clock(), k
            t0 = clock()
            if mark is None:
                mark = t0
            if queue_at is None:
                queue_at = t0
            try:
                results[k] = task(item)
            except TaskAbandoned:
                raise
            except BaseException as exc:  # noqa: BLE001 - the task's failure is data, sys.exit() too
                notes[i] = TaskNote(ok=False, error=_format_error(exc),
                                    error_type=type(exc).__name__)
            t1 = end[k] = clock()
            start[k] = t0
            keep_recursion_floor()
            if printed.bytes:
                note = notes.setdefault(i, TaskNote())
                note.output, note.output_bytes = printed.take()
            k += 1
            # the CPU clock is read too when the run-queue clock is: each wait is capped by
            # its task's time off the CPU
            queue_read = queue_clock is not None and (t1 - queue_at >= queue_read_s or k == n)
            if t1 - mark >= CPU_READ_S or k == n or queue_read:
                now = thread_time()
                _share_cpu(cpu, start, end, run_from, k, now - cpu_mark, t1 - mark)
                cpu_mark, mark, run_from = now, t1, k
            if queue_read:
                assert queue_clock is not None
                _share_wait(queued, start, end, cpu, queued_from, k, queue_clock() - queue_mark,
                            t1 - queue_at)
                queue_at = None
    if queue_clock is not None:
        queue_clock.close()
    columns = TaskColumns(index=index, start=start, end=end, cpu=cpu, queued=queued,
                          worker=array("q", [0] * n),
                          workers=[TaskWorker(os.getpid(), threading.current_thread().name)],
                          notes=notes)
    _sample_results(columns, results, ships_results, sample_every)
    return Payload(records=[], tasks=columns)


def _share_cpu(cpu: array[float], start: array[float], end: array[float], first: int, stop: int,
               used: float, wall: float) -> None:
    """Share the ``used`` CPU seconds of ``wall`` seconds among tasks ``first..stop-1``: each
    its wall time's share (the loop between the tasks keeps the rest)."""
    if stop - first == 1:  # at most its wall time: the reading also holds the loop's own work
        cpu[first] = min(used, end[first] - start[first])
        return
    for k in range(first, stop):
        cpu[k] = used * (end[k] - start[k]) / wall if wall > 0 else 0.0


def _share_wait(queued: array[float], start: array[float], end: array[float], cpu: array[float],
                first: int, stop: int, waited: float, wall: float) -> None:
    """Share ``waited`` seconds of waiting for a core, of ``wall`` seconds, among tasks
    ``first..stop-1`` by wall time (a wait between two tasks is nobody's), each at most
    the part of its wall time it did not compute."""
    if waited <= 0.0 or wall <= 0.0:
        return  # the column starts at zero
    scale = waited / wall
    for k in range(first, stop):
        span = end[k] - start[k]
        share, off_cpu = span * scale, span - cpu[k]
        queued[k] = share if share < off_cpu else (off_cpu if off_cpu > 0.0 else 0.0)


def _sampled_rows(columns: TaskColumns, sample_every: int) -> set[int]:
    """Rows whose item index is a multiple of ``sample_every``, plus the :data:`EXTREMES`
    slowest and fastest rows of the batch (all rows when the stride is 1)."""
    n = len(columns.index)
    if sample_every <= 1 or n <= 2 * EXTREMES:
        return set(range(n))
    import numpy as np

    index = np.frombuffer(columns.index, dtype=np.int64)
    spans = np.frombuffer(columns.end, dtype=np.float64) - np.frombuffer(columns.start,
                                                                        dtype=np.float64)
    order = np.argpartition(spans, (EXTREMES, n - EXTREMES - 1))
    rows = np.concatenate([np.flatnonzero(index % sample_every == 0), order[:EXTREMES],
                           order[n - EXTREMES:]])
    return {int(k) for k in rows}


def _sample_results(columns: TaskColumns, results: list[object], ships_results: bool,
                    sample_every: int) -> None:
    """Keep the sampled results with their pickled sizes; total the batch's result bytes.

    All results are pickled in one call (cheap); only when that fails is each
    one tried, to name the results that cannot be pickled.
    """
    notes, index = columns.notes, columns.index
    try:
        columns.results_bytes = len(pickle.dumps(results))
        unpicklable: dict[int, Exception] = {}
    except Exception:  # noqa: BLE001 - pickle raises many kinds
        unpicklable = {}
        for k, result in enumerate(results):
            try:
                pickle.dumps(result)
            except Exception as exc:  # noqa: BLE001 - pickle raises many kinds
                unpicklable[k] = exc
    keep = _sampled_rows(columns, sample_every)
    for k in sorted(keep | set(unpicklable)):
        i = index[k]
        note = notes.get(i)
        if note is not None and not note.ok:
            continue
        note = notes.setdefault(i, TaskNote())
        result = results[k]
        if k in unpicklable:
            if ships_results:
                note.ok, note.error_type = False, "PicklingError"
                note.error = (f"the result of item {i} cannot be pickled: "
                              f"{type(result).__name__} object ({unpicklable[k]})")
                continue
            note.result, note.sampled = result, True
            continue
        note.result, note.sampled = result, True
        note.result_bytes = len(pickle.dumps(result))


#: cProfile's sys.monitoring callbacks (CPython 3.12+).
_MONITORING_CALLBACKS = ("_pystart_callback", "_pyreturn_callback", "_ccall_callback",
                         "_creturn_callback")


def thread_profiler() -> cProfile.Profile:
    """A cProfile that records the calling thread only, as it does up to CPython 3.11.

    From 3.12 cProfile runs on ``sys.monitoring``, which reports every thread's calls
    into one call stack: a Dask worker's event loop, or another thread of the parent,
    would pop the task's frames and take its time. When other threads run, each
    callback is wrapped to pass on the calling thread's events only. The wrapper costs
    a Python call per event (fib: 5x under plain cProfile, 12-18x wrapped), so a
    process that runs no other thread (a pool worker) gets plain cProfile.
    """
    profiler = cProfile.Profile()
    if sys.version_info < (3, 12) or threading.active_count() == 1:
        return profiler
    owner, get_ident = threading.get_ident(), threading.get_ident

    def only_here(callback: Callable[..., object]) -> Callable[..., object]:
        def filtered(*args: object) -> object:
            if get_ident() == owner:
                return callback(*args)
            return None
        return filtered

    for name in _MONITORING_CALLBACKS:
        callback = getattr(profiler, name, None)
        if callback is not None:  # cProfile reads them from the instance when enabled
            setattr(profiler, name, only_here(callback))
    return profiler


def _run_batch(task: Task, batch: list[tuple[int, object]], collector: str,
               line_names: tuple[str, ...], ships_results: bool,
               clock: Callable[[], float], budget_s: float | None = None) -> Payload:
    records: list[TaskRecord] = []
    profile: cProfile.Profile | None = None
    lines: LineProfiler | None = None
    memory: MemoryLineProfiler | None = None
    # cProfile has enable/disable; line_profiler and memory_profiler, *_by_count
    switch: tuple[Callable[[], None], Callable[[], None]] | None = None
    if collector == CPROFILE:
        profile = thread_profiler()
        switch = profile.enable, profile.disable
    elif collector == LINES:
        from line_profiler import LineProfiler

        lines = LineProfiler(*resolve_line_functions(task, line_names))
        switch = lines.enable_by_count, lines.disable_by_count
    elif collector == MEMORY_LINES:
        memory = _memory_line_profiler(resolve_line_functions(task, line_names, with_task=False))
        switch = memory.enable_by_count, memory.disable_by_count
    pid = os.getpid()
    thread = threading.current_thread().name
    budget = ItemBudget(budget_s) if collector in BUDGETED and budget_s is not None else None
    cuts: dict[int, float] = {}
    for index, item in batch:
        if budget is not None and budget.spent:
            break
        cut = False
        cpu0 = time.thread_time()
        start = clock()
        error: BaseException | None = None
        result: object = None
        printed: Capture | None = None
        try:
            if switch is None:
                with capturing() as printed:
                    result = task(item)
            else:
                on, off = switch
                try:
                    if budget is None:
                        on()
                        result = task(item)
                    else:  # the budget switches the profiler on just around the task
                        ran = budget.call(task, item, switch)
                        if ran is None:  # the deadline passed as the item was about to begin
                            break
                        result, cut = ran
                finally:
                    off()  # again after the budget's: its cut may land before its own off
        except TaskAbandoned:
            raise
        except BaseException as exc:  # noqa: BLE001 - the task's failure is data, sys.exit() too
            error = exc
        end = clock()
        keep_recursion_floor()
        if cut:
            cuts[index] = end - start
        record = TaskRecord(index=index, pid=pid, thread=thread, start=start, end=end,
                            cpu=time.thread_time() - cpu0)
        if printed is not None and printed.bytes:
            record.output, record.output_bytes = printed.text(), printed.bytes
        if error is not None:
            record.ok = False
            record.error = _format_error(error)
            record.error_type = type(error).__name__
        elif collector == TASKS:
            try:
                record.result_bytes = len(pickle.dumps(result))
                record.result = result
            except Exception as exc:  # noqa: BLE001 - pickle raises many kinds
                if ships_results:
                    record.ok = False
                    record.error_type = "PicklingError"
                    record.error = (f"the result of item {index} cannot be pickled: "
                                    f"{type(result).__name__} object ({exc})")
                else:
                    record.result = result
        records.append(record)
    if budget is not None:
        budget.close()
    payload = Payload(records=records, cut=cuts)
    if profile is not None:
        profile.create_stats()
        payload.profile = profile.stats
    elif lines is not None:
        payload.lines = lines.get_stats()
    elif memory is not None:
        payload.memory_lines = memory_line_rows(memory)
    return payload
