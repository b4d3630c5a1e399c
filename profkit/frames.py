"""Raw measurements -> pandas DataFrames. Every column is named and described here.

All frames are long-format with a ``mode`` column; ``workers`` and ``sweep``
tell a sweep point apart from the main run of the same mode.
"""

from __future__ import annotations

import linecache
import pickle
import pstats
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from profkit.model import MemoryLine, TaskColumns, TaskWorker, WorkerLabel
from profkit.rawrun import RawRun

#: One row of a frame, as built before the frame: column -> value.
Row = dict[str, object]

if TYPE_CHECKING:
    import pandas as pd

#: frame name -> column -> (dtype, description). docs/frames.md's tables match it (tests/unit/test_readme.py).
COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "timings": {
        "mode": ("string", "sequential, threads, processes, pool or dask"),
        "workers": ("int64", "worker count of the pool"),
        "sweep": ("bool", "True for a --sweep point, False for the main run"),
        "phase": ("string", "'startup' (pool start until every worker is ready) or 'map'"),
        "repeat": ("int64", "interleaved round, from 0: maps with the same number ran in the same "
                   "round, one after another"),
        "order": ("int64", "the mode's place in its round's random order, from 0"),
        "wall_s": ("float64", "wall-clock seconds, timeit with GC off, no profiler active"),
        "cpu_s": ("float64", "CPU seconds of the parent plus its pool workers (NaN for startup)"),
        "others_cpu": ("float64", "cores other programs kept busy during the round"),
        "spoiled": ("bool", "True if other programs were busy enough to set the round aside"),
        "thread_cpu_s": ("float64", "CPU seconds of the thread that ran the items, for a map that "
                         "ran them in one thread of profkit's process (sequential); NaN otherwise"),
    },
    "tasks": {
        "mode": ("string", "mode"),
        "workers": ("int64", "worker count"),
        "sweep": ("bool", "sweep point?"),
        "item": ("int64", "index of the item in the workload's items"),
        "item_repr": ("string", "repr of the item, cut to 80 characters; empty for an item "
                      "outside the sample (runs of over 1,000 items keep every k-th item and "
                      "each batch's slowest and fastest 25, failed ones and ones that printed)"),
        "start_s": ("float64", "start, seconds after the pass began (warm-up pass)"),
        "end_s": ("float64", "end, seconds after the pass began"),
        "duration_s": ("float64", "end - start"),
        "cpu_s": ("float64", "CPU seconds of the worker thread during the task (tasks under 20 µs "
                  "share one reading of the CPU clock, in proportion to their wall time)"),
        "queued_s": ("float64", "seconds the task was ready to run but waited for a core, as the "
                     "kernel counts it (/proc/thread-self/schedstat; shared among tasks like "
                     "cpu_s, per millisecond; NaN where the kernel does not say; since Linux "
                     "6.12 a sleep on a contended core can add up to a time slice)"),
        "pid": ("int64", "process that ran the task"),
        "thread": ("string", "thread that ran the task"),
        "worker": ("string", "worker label: 'main', a thread name, 'pid N' or a dask address"),
        "item_bytes": ("float64", "pickled size of the item (NaN outside the sample)"),
        "result_bytes": ("float64", "pickled size of the result (NaN if the task failed, or "
                         "outside the sample)"),
        "result_repr": ("string", "repr of the result, cut to 80 characters (empty outside the "
                        "sample)"),
        "ok": ("bool", "the task returned without raising"),
        "output": ("string", "what the task printed (stdout and stderr): its first and last lines"),
        "output_bytes": ("int64", "how much the task printed in all, in bytes"),
        "error": ("string", "traceback if the task raised, else empty"),
    },
    "functions": {
        "mode": ("string", "mode"),
        "function": ("string", "name:lineno (file) label, as in pstats"),
        "name": ("string", "function name"),
        "filename": ("string", "source file, or '~' for built-ins"),
        "lineno": ("int64", "first line of the function"),
        "ncalls": ("int64", "calls, recursive ones included"),
        "primitive_calls": ("int64", "calls that were not recursive"),
        "self_s": ("float64", "time in the function itself (tottime), summed over workers"),
        "cumulative_s": ("float64", "time in the function and its callees (cumtime)"),
        "self_pct": ("float64", "self_s as a percentage of the mode's total self time"),
    },
    "lines": {
        "mode": ("string", "mode"),
        "function": ("string", "function name"),
        "filename": ("string", "source file"),
        "func_lineno": ("int64", "first line of the function"),
        "lineno": ("int64", "line number"),
        "hits": ("int64", "times the line ran, summed over workers"),
        "time_s": ("float64", "seconds spent on the line, summed over workers"),
        "pct": ("float64", "time_s as a percentage of the function's line time"),
        "source": ("string", "the source line, as read now"),
    },
    "line_source": {
        "filename": ("string", "source file"),
        "lineno": ("int64", "line number"),
        "source": ("string", "a line a function's listing shows that the line profiler did not "
                   "record (its def, blank lines, docstrings), as read when the run was made"),
    },
    "gc": {
        "mode": ("string", "mode"),
        "workers": ("int64", "worker count"),
        "worker": ("string", "worker whose task triggered the collection (as in tasks)"),
        "pid": ("int64", "process that collected"),
        "generation": ("int64", "generation collected: 0, 1 or 2"),
        "start_s": ("float64", "start, seconds after the probe pass began"),
        "duration_s": ("float64", "how long the collection took"),
        "collected": ("int64", "objects it freed"),
    },
    "memory": {
        "mode": ("string", "mode"),
        "t_s": ("float64", "seconds after sampling began (warm-up pass); the rows of one sample "
                "share it"),
        "pid": ("int64", "process sampled"),
        "role": ("string", "'parent', 'worker' (a pool worker) or 'child' (a process a worker "
                 "started)"),
        "rss_bytes": ("int64", "resident set size of that process, read by memory_profiler from "
                      "a sampler process of its own"),
    },
    "memory_lines": {
        "mode": ("string", "mode"),
        "function": ("string", "function name"),
        "filename": ("string", "source file"),
        "func_lineno": ("int64", "first line of the function"),
        "lineno": ("int64", "line number"),
        "increment_bytes": ("float64", "RSS after the line minus before it, summed over every run "
                            "of the line (memory_profiler's Increment), over workers"),
        "increment_per_item_bytes": ("float64", "increment_bytes divided by the items covered"),
        "occurrences": ("int64", "times the line ran, summed over workers"),
        "peak_rss_bytes": ("float64", "largest RSS of the worker seen after the line "
                           "(memory_profiler's Mem usage)"),
        "items": ("int64", "items the memory_profiler pass covered in this mode"),
        "source": ("string", "the source line, as read now"),
    },
    "prediction": {
        "mode": ("string", "a parallel mode that was measured"),
        "workers": ("int64", "worker count the prediction is for, 1 to 64"),
        "predicted_speedup": ("float64", "predicted speedup of one map against the sequential "
                              "median, with the pool already up"),
        "predicted_wall_s": ("float64", "predicted wall seconds of one map"),
        "single_map_speedup": ("float64", "the same, for a single map that also starts the pool"),
        "limit": ("string", "what holds the prediction there: workers, item granularity, per-task "
                  "overhead, CPUs, the GIL or Amdahl serial part"),
        "measured_speedup": ("float64", "the speedup measured at that worker count in this run, "
                             "NaN where none was"),
        "cpus": ("int64", "CPUs this process may use"),
        "low_speedup": ("float64", "the prediction on this machine, calibrated at the low end of "
                        "the measured speedup's 95% interval (NaN without one)"),
        "high_speedup": ("float64", "the same at the high end"),
        "own_cores_speedup": ("float64", "the prediction on a machine with a core per worker (same "
                              "costs per chunk and per map, cores as fast, no other programs)"),
    },
}

FRAME_NAMES = tuple(COLUMNS)
#: Frames an older run folder may lack; loading gives them empty.
OPTIONAL_FRAMES = ("prediction", "memory_lines", "line_source")
#: Float columns an older run folder's frames may lack; loading gives them NaN.
OPTIONAL_COLUMNS = {"tasks": ("queued_s",)}
MIB = float(2**20)
#: A function's listing runs from its first line to its last recorded one, unless that spans
#: more lines than this (a module-level function?): then it shows the recorded lines only.
LISTING_MAX_GAP = 400


def empty(name: str) -> pd.DataFrame:
    """An empty frame with the right columns and dtypes."""
    import pandas as pd

    return pd.DataFrame({col: pd.Series(dtype=dtype) for col, (dtype, _) in COLUMNS[name].items()})


def frame_of(name: str, rows: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    """The frame ``name`` of ``rows``, with its documented columns and dtypes."""
    import pandas as pd

    if not rows:
        return empty(name)
    frame = pd.DataFrame(rows, columns=list(COLUMNS[name]))
    return frame.astype({col: dtype for col, (dtype, _) in COLUMNS[name].items()})


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def function_label(filename: str, lineno: int, name: str) -> str:
    """The label pstats prints: ``file:line(name)``, or ``{built-in}`` names alone."""
    if filename == "~":
        return name
    return f"{filename}:{lineno}({name})"


def function_rows(mode: str, stats: pstats.Stats | None) -> list[Row]:
    """pstats -> one row per function, the most self time first."""
    if stats is None:
        return []
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = \
        stats.stats  # type: ignore[attr-defined]
    total_self = sum(v[2] for v in raw.values()) or 1.0
    rows: list[Row] = []
    for (filename, lineno, name), (cc, nc, tt, ct, _callers) in sorted(
            raw.items(), key=lambda kv: -kv[1][2]):
        rows.append({
            "mode": mode, "function": function_label(filename, lineno, name), "name": name,
            "filename": filename, "lineno": lineno, "ncalls": nc, "primitive_calls": cc,
            "self_s": tt, "cumulative_s": ct, "self_pct": 100.0 * tt / total_self,
        })
    return rows


class LineStats(Protocol):
    """What the lines frame reads of line_profiler's ``LineStats``."""

    @property
    def unit(self) -> float: ...

    @property
    def timings(self) -> Mapping[tuple[str, int, str], Sequence[tuple[int, int, float]]]: ...


def line_rows(mode: str, line_stats: LineStats | None) -> list[Row]:
    """line_profiler LineStats -> one row per profiled line (lines never hit are kept, 0 hits)."""
    if line_stats is None:
        return []
    rows: list[Row] = []
    unit = line_stats.unit
    for (filename, func_lineno, name), entries in line_stats.timings.items():
        total = sum(t for _, _, t in entries) or 1
        for lineno, hits, t in sorted(entries):
            rows.append({
                "mode": mode, "function": name, "filename": filename, "func_lineno": func_lineno,
                "lineno": lineno, "hits": hits, "time_s": t * unit, "pct": 100.0 * t / total,
                "source": linecache.getline(filename, lineno).rstrip("\n"),
            })
    return rows


def listing_span(func_lineno: int, recorded: Sequence[int]) -> list[int]:
    """The line numbers a function's listing shows, given the lines the profiler recorded."""
    first, last = min(func_lineno, *recorded), max(recorded)
    return sorted(set(recorded)) if last - first > LISTING_MAX_GAP else list(range(first, last + 1))


def line_source_rows(stats: Sequence[LineStats | None]) -> list[Row]:
    """The source of the lines the listings show and the line profiler did not record.

    Kept apart from the lines frame, whose rows are measured lines only: a saved run's
    listing then shows its ``def`` line without reading the source file when loaded.
    """
    recorded: dict[str, set[int]] = {}
    spans: dict[str, set[int]] = {}
    for line_stats in stats:
        for (filename, func_lineno, _), entries in (line_stats.timings.items() if line_stats else ()):
            numbers = [lineno for lineno, _, _ in entries]
            if not numbers:
                continue
            recorded.setdefault(filename, set()).update(numbers)
            spans.setdefault(filename, set()).update(listing_span(func_lineno, numbers))
    return [{"filename": filename, "lineno": n, "source": linecache.getline(filename, n).rstrip("\n")}
            for filename, span in spans.items() for n in sorted(span - recorded[filename])]


def memory_line_rows(mode: str, rows: list[MemoryLine], n_items: int) -> list[Row]:
    """memory_profiler's merged lines -> one row per line, in bytes."""
    out: list[Row] = []
    for r in rows:
        increment = r.increment_mib * MIB
        out.append({
            "mode": mode, "function": r.function, "filename": r.filename,
            "func_lineno": r.func_lineno, "lineno": r.lineno, "increment_bytes": increment,
            "increment_per_item_bytes": increment / n_items if n_items else float("nan"),
            "occurrences": r.occurrences, "peak_rss_bytes": r.peak_mib * MIB, "items": n_items,
            "source": linecache.getline(r.filename, r.lineno).rstrip("\n"),
        })
    return out


def _worker_label(label: WorkerLabel, worker: TaskWorker) -> str:
    if label is WorkerLabel.MAIN:
        return "main"
    if label is WorkerLabel.THREAD:
        return worker.thread
    if label is WorkerLabel.ADDRESS and worker.address:
        return worker.address
    return f"pid {worker.pid}"


def _pickled_size(value: object) -> float:
    try:
        return float(len(pickle.dumps(value)))
    except Exception:  # noqa: BLE001 - pickle raises many kinds
        return float("nan")


@dataclass(frozen=True)
class TaskPart:
    """One mode's tasks pass, as the tasks frame takes it."""

    mode: str
    workers: int
    sweep: bool
    label: WorkerLabel
    tasks: TaskColumns


def task_frame(mode: str, workers: int, sweep: bool, label: WorkerLabel, tasks: TaskColumns,
               items: Sequence[object]) -> pd.DataFrame:
    """One mode's tasks frame (see :func:`tasks_frame`)."""
    return tasks_frame([TaskPart(mode, workers, sweep, label, tasks)], items)


class _Texts:
    """A string column built as codes into its distinct values: no object per row."""

    def __init__(self, n: int) -> None:
        import numpy as np

        self.codes = np.zeros(n, dtype=np.int32)
        self.values: dict[str, int] = {"": 0}

    def code(self, text: str) -> int:
        return self.values.setdefault(text, len(self.values))

    def series(self) -> pd.Series:
        import pandas as pd

        categories = pd.Index(list(self.values), dtype=object)
        return pd.Series(pd.Categorical.from_codes(self.codes, categories=categories),
                         copy=False).astype("string")


def tasks_frame(parts: list[TaskPart], items: Sequence[object]) -> pd.DataFrame:
    """The tasks frame of the modes' tasks passes: every task gets a row; reprs and pickled
    sizes only the tasks with a note (the sampled ones, the failed ones, the ones that printed).

    Each column is allocated once at its full length and filled mode by mode, and the
    string columns are built from codes, so a 100,000-task pass makes no object per task.
    """
    import numpy as np
    import pandas as pd

    parts = [p for p in parts if len(p.tasks)]
    if not parts:
        return empty("tasks")
    n = sum(len(p.tasks) for p in parts)
    item, pid, workers = (np.empty(n, dtype=np.int64) for _ in range(3))
    start, end, cpu, queued = (np.empty(n, dtype=np.float64) for _ in range(4))
    item_bytes, result_bytes = np.full(n, np.nan), np.full(n, np.nan)
    sweep, ok = np.empty(n, dtype=bool), np.ones(n, dtype=bool)
    output_bytes = np.zeros(n, dtype=np.int64)
    texts = {name: _Texts(n) for name in ("mode", "item_repr", "thread", "worker", "result_repr",
                                          "output", "error")}
    at = 0
    for part in parts:
        tasks = part.tasks
        rows = slice(at, at + len(tasks))
        index = np.frombuffer(tasks.index, dtype=np.int64)
        item[rows] = index
        start[rows] = np.frombuffer(tasks.start, dtype=np.float64)
        end[rows] = np.frombuffer(tasks.end, dtype=np.float64)
        cpu[rows] = np.frombuffer(tasks.cpu, dtype=np.float64)
        queued[rows] = (np.frombuffer(tasks.queued, dtype=np.float64)
                        if len(tasks.queued) == len(tasks) else np.nan)
        workers[rows], sweep[rows] = part.workers, part.sweep
        texts["mode"].codes[rows] = texts["mode"].code(part.mode)
        codes = np.frombuffer(tasks.worker, dtype=np.int64)
        who = tasks.workers
        pid[rows] = np.array([w.pid for w in who], dtype=np.int64)[codes] if who else 0
        for name, labels in (("thread", [w.thread for w in who]),
                             ("worker", [_worker_label(part.label, w) for w in who])):
            column = texts[name]
            if who:
                column.codes[rows] = np.array([column.code(text) for text in labels],
                                              dtype=np.int32)[codes]
        if tasks.notes:
            noted = list(tasks.notes)
            found = pd.Index(index).get_indexer(pd.Index(noted))
            for i, k in zip(noted, found.tolist(), strict=True):
                if k < 0:
                    continue
                note, k = tasks.notes[i], at + k
                texts["item_repr"].codes[k] = texts["item_repr"].code(_short(items[i]))
                item_bytes[k] = _pickled_size(items[i])
                ok[k] = note.ok
                texts["error"].codes[k] = texts["error"].code(note.error or "")
                texts["output"].codes[k] = texts["output"].code(note.output)
                output_bytes[k] = note.output_bytes
                if note.ok and note.sampled:
                    texts["result_repr"].codes[k] = texts["result_repr"].code(_short(note.result))
                    if note.result_bytes is not None:
                        result_bytes[k] = note.result_bytes
        at += len(tasks)
    numbers = {"workers": workers, "sweep": sweep, "item": item, "start_s": start, "end_s": end,
               "duration_s": end - start, "cpu_s": cpu, "queued_s": queued, "pid": pid,
               "item_bytes": item_bytes, "result_bytes": result_bytes, "ok": ok, "output_bytes": output_bytes}
    data = {col: texts[col].series() if col in texts else numbers[col]
            for col in COLUMNS["tasks"]}
    return pd.DataFrame(data, copy=False)


def build_frames(raw: RawRun) -> dict[str, pd.DataFrame]:
    """All the frames of a run."""
    timings: list[Row] = []
    tasks: list[TaskPart] = []
    functions: list[Row] = []
    lines: list[Row] = []
    memory: list[Row] = []
    collections: list[Row] = []
    memory_lines: list[Row] = []
    for m in raw.modes:
        mode = m.spec.kind
        base = {"mode": mode, "workers": m.spec.workers, "sweep": m.sweep}
        timings += [{**base, "phase": t.phase, "repeat": t.round, "order": t.order,
                     "wall_s": t.wall_s, "cpu_s": t.cpu_s, "others_cpu": t.others_cpu,
                     "spoiled": t.spoiled, "thread_cpu_s": t.thread_cpu_s} for t in m.timings]
        tasks.append(TaskPart(mode, m.spec.workers, m.sweep, m.traits.worker_label, m.tasks))
        if m.sweep:
            continue
        by_pid = {w.pid: w.address for w in m.tasks.workers if w.address}
        collections += [{"mode": mode, "workers": m.spec.workers,
                         "worker": _worker_label(m.traits.worker_label,
                                                 TaskWorker(e.pid, e.thread, by_pid.get(e.pid))),
                         "pid": e.pid, "generation": e.generation, "start_s": e.start,
                         "duration_s": e.duration, "collected": e.collected} for e in m.gc]
        functions += function_rows(mode, m.profile)
        lines += line_rows(mode, m.lines)
        memory += [{"mode": mode, "t_s": s.t_s, "pid": s.pid, "role": s.role,
                    "rss_bytes": s.rss_bytes} for s in m.memory]
        memory_lines += memory_line_rows(mode, m.memory_lines, len(m.memory_line_items))
    return {
        "timings": frame_of("timings", timings),
        "tasks": tasks_frame(tasks, raw.items),
        "functions": frame_of("functions", functions),
        "lines": frame_of("lines", lines),
        "line_source": frame_of("line_source", line_source_rows([m.lines for m in raw.modes
                                                                 if not m.sweep])),
        "memory": frame_of("memory", memory),
        "gc": frame_of("gc", collections),
        "memory_lines": frame_of("memory_lines", memory_lines),
    }
