"""Per-worker timelines as Chrome trace JSON (``trace/<mode>.json``), for Perfetto and chrome://tracing.

Built from the tasks frame (the warm-up pass, no profiler active): one track per worker
(a process per pid, a thread per thread), one complete ("X") slice per task named by
its item, and the gaps drawn as slices too: the pool's start-up on the parent's track,
each worker's wait for its first task (dispatch), its idle time between tasks and after
its last one. Times are microseconds from the pool's start.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from profkit.model import JSON, WorkerLabel
from profkit.record import ModeMeta

if TYPE_CHECKING:
    import pandas as pd

    from profkit.record import RunRecord

TRACE_DIR = "trace"
PARENT_PID = 0  # the parent's own track (pool start-up and the whole pass)
MIN_GAP_S = 1e-6  # gaps shorter than this are not drawn
#: Above this many tasks in a mode, consecutive tasks of a worker are drawn as one slice per
#: block (about this many slices in all); failed tasks keep a slice of their own.
TRACE_TASKS = 200_000


#: The tasks frame's columns a trace reads: one mode's rows are copied with these only.
_TRACE_COLUMNS = ("mode", "pid", "thread", "worker", "item", "start_s", "end_s", "duration_s",
                  "cpu_s", "ok", "item_repr", "result_repr", "error")


def _finite(value: float) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _us(seconds: float) -> float:
    return round(seconds * 1e6, 3)


def _slice(name: str, cat: str, pid: int, tid: int, start_s: float, dur_s: float,
           args: dict[str, JSON] | None = None) -> dict[str, JSON]:
    event: dict[str, JSON] = {"name": name, "cat": cat, "ph": "X", "pid": pid, "tid": tid,
                             "ts": _us(start_s), "dur": _us(max(0.0, dur_s))}
    if args:
        event["args"] = args
    return event


def _meta_event(kind: str, pid: int, tid: int, name: str) -> dict[str, JSON]:
    return {"name": kind, "ph": "M", "pid": pid, "tid": tid, "args": {"name": name}}


def chrome_trace(tasks: pd.DataFrame, mode: str, mode_meta: ModeMeta | None = None,
                 collections: pd.DataFrame | None = None) -> dict[str, JSON]:
    """The Chrome trace of one mode's warm-up pass: ``{"traceEvents": [...], ...}``."""
    return {"traceEvents": list(trace_events(tasks, mode, mode_meta, collections)),
            **_trace_tail(mode)}


def _trace_tail(mode: str) -> dict[str, JSON]:
    return {"displayTimeUnit": "ms",
            "otherData": {"generator": "profkit", "mode": mode,
                          "note": "warm-up pass, no profiler active; times in µs from the pool's start"}}


def trace_events(tasks: pd.DataFrame, mode: str, mode_meta: ModeMeta | None = None,
                 collections: pd.DataFrame | None = None) -> Iterator[dict[str, JSON]]:
    """The events of :func:`chrome_trace`, one at a time (a large pass need not sit in memory)."""
    info = mode_meta
    shown = [c for c in _TRACE_COLUMNS if c in tasks.columns]
    mine = tasks.loc[(tasks["mode"] == mode) & ~tasks["sweep"].astype(bool), shown]
    mine = mine.sort_values("start_s")
    startup = (info.startup_s or 0.0) if info and info.traits.parallel else 0.0
    wall = info.tasks_wall_s if info else None
    n_workers = info.workers if info else None
    pass_end = float(wall) if wall is not None else (float(mine["end_s"].max()) if not mine.empty else 0.0)
    yield _meta_event("process_name", PARENT_PID, 0, f"profkit parent ({mode})")
    yield _meta_event("thread_name", PARENT_PID, 0, "map")
    if startup > 0:
        yield _slice("pool start-up", "startup", PARENT_PID, 0, 0.0, startup,
                     {"workers": n_workers})
    yield _slice(f"map over {len(mine)} items", "pass", PARENT_PID, 0, startup, pass_end,
                 {"mode": mode, "workers": n_workers})
    tids: dict[tuple[int, str], int] = {}
    named_pids: set[int] = set()
    key: Any
    for key, group in mine.groupby(["pid", "thread"], sort=False):
        pid, thread = int(key[0]), str(key[1])
        tid = tids.setdefault((pid, thread), len([k for k in tids if k[0] == pid]) + 1)
        worker = str(group["worker"].iloc[0])
        if pid not in named_pids:
            label = f"worker {worker}" if info and info.traits.ships_pickles else f"{mode} (pid {pid})"
            yield _meta_event("process_name", pid, 0, label)
            named_pids.add(pid)
        yield _meta_event("thread_name", pid, tid,
                          worker if info and info.traits.worker_label is WorkerLabel.THREAD else thread)
        cursor = 0.0
        if len(mine) > TRACE_TASKS:
            yield from _blocks(group, pid, tid, startup, -(-len(mine) // TRACE_TASKS))
            cursor = float(group["end_s"].max())
            group = group.iloc[:0]
        for start, end, item, ok, cpu_s, duration_s, item_repr, result_repr, error in _rows(group):
            if start - cursor > MIN_GAP_S:
                kind = "dispatch" if cursor == 0.0 else "idle"
                label = "waiting for the first task" if kind == "dispatch" else "idle between tasks"
                yield _slice(label, kind, pid, tid, startup + cursor, start - cursor)
            args: dict[str, JSON] = {"item": int(item), "ok": bool(ok), "cpu_s": _finite(cpu_s),
                                    "duration_s": _finite(duration_s)}
            if item_repr or not ok:  # reprs exist for the sampled items only
                args["item_repr"] = str(item_repr)
                if ok:
                    args["result"] = str(result_repr)
                else:
                    args["error"] = str(error)
            yield _slice(f"item {int(item)}", "task" if ok else "task,failed", pid, tid,
                         startup + start, end - start, args)
            cursor = max(cursor, end)
        if pass_end - cursor > MIN_GAP_S:
            yield _slice("idle after its last task", "idle", pid, tid, startup + cursor,
                         pass_end - cursor)
    if collections is not None and not collections.empty:
        row: Any
        workers = {str(g["worker"].iloc[0]): key for key, g in mine.groupby(["pid", "thread"], sort=False)}
        for row in collections[collections["mode"] == mode].itertuples(index=False):
            key = workers.get(str(row.worker))
            if key is None:
                continue
            yield _slice(f"GC gen {int(row.generation)}", "gc", int(key[0]),
                         tids[(int(key[0]), str(key[1]))], startup + float(row.start_s),
                         float(row.duration_s), {"collected": int(row.collected)})


def _rows(group: pd.DataFrame, chunk: int = 10_000) -> Iterator[tuple[Any, ...]]:
    """The rows a slice per task needs, as Python values, ``chunk`` rows at a time (the
    lists of a whole 100,000-task worker would hold tens of MB at once)."""
    names = ("start_s", "end_s", "item", "ok", "cpu_s", "duration_s", "item_repr",
             "result_repr", "error")
    for k in range(0, len(group), chunk):
        part = group.iloc[k:k + chunk]
        yield from zip(*(part[c].tolist() for c in names), strict=True)


def _ok_blocks(group: pd.DataFrame, pid: int, tid: int, startup: float,
               size: int) -> Iterator[dict[str, JSON]]:
    """:func:`_blocks` for tasks that all succeeded, summed per block with numpy."""
    import numpy as np

    starts = group["start_s"].to_numpy(dtype=float)
    ends = group["end_s"].to_numpy(dtype=float)
    at = np.arange(0, len(starts), size)
    firsts, lasts = starts[at], np.maximum.reduceat(ends, at)
    busy, cpu = np.add.reduceat(ends - starts, at), np.add.reduceat(
        group["cpu_s"].to_numpy(dtype=float), at)
    items = group["item"].to_numpy()
    tails = np.append(at[1:], len(starts)) - 1
    cursor = 0.0
    for k, (first, last) in enumerate(zip(firsts.tolist(), lasts.tolist(), strict=True)):
        if first - cursor > MIN_GAP_S:
            kind = "dispatch" if cursor == 0.0 else "idle"
            label = "waiting for the first task" if kind == "dispatch" else "idle between tasks"
            yield _slice(label, kind, pid, tid, startup + cursor, first - cursor)
        a, b = int(items[at[k]]), int(items[tails[k]])
        yield _slice(f"item {a}" if a == b else f"items {a}–{b}", "tasks", pid, tid,
                     startup + first, last - first,
                     {"tasks": int(tails[k] - at[k] + 1), "busy_s": float(busy[k]),
                      "cpu_s": _finite(cpu[k])})
        cursor = max(cursor, last)


def _blocks(group: pd.DataFrame, pid: int, tid: int, startup: float,
            size: int) -> Iterator[dict[str, JSON]]:
    """One worker's tasks of a huge pass, ``size`` consecutive ones per slice, with the gaps
    between blocks; a failed task gets a slice of its own, with its error."""
    if bool(group["ok"].all()):
        yield from _ok_blocks(group, pid, tid, startup, size)
        return
    starts, ends = group["start_s"].tolist(), group["end_s"].tolist()
    items, oks = group["item"].tolist(), group["ok"].tolist()
    cpus = group["cpu_s"].tolist()
    cursor = 0.0
    k = 0
    while k < len(starts):
        stop = min(len(starts), k + size)
        if not all(oks[k:stop]):
            stop = next(j for j in range(k, stop) if not oks[j]) if oks[k] else k + 1
        first, last = starts[k], max(ends[k:stop])
        if first - cursor > MIN_GAP_S:
            kind = "dispatch" if cursor == 0.0 else "idle"
            label = "waiting for the first task" if kind == "dispatch" else "idle between tasks"
            yield _slice(label, kind, pid, tid, startup + cursor, first - cursor)
        if not oks[k] and stop == k + 1:
            errors = group["error"].iloc[k]
            yield _slice(f"item {int(items[k])}", "task,failed", pid, tid, startup + first,
                         ends[k] - first, {"item": int(items[k]), "ok": False,
                                           "error": str(errors)})
        else:
            name = (f"item {int(items[k])}" if stop - k == 1
                    else f"items {int(items[k])}–{int(items[stop - 1])}")
            yield _slice(name, "tasks", pid, tid,
                         startup + first, last - first,
                         {"tasks": stop - k, "busy_s": sum(e - b for b, e in
                                                          zip(starts[k:stop], ends[k:stop],
                                                              strict=True)),
                          "cpu_s": _finite(sum(cpus[k:stop]))})
        cursor = max(cursor, last)
        k = stop


def _streamed(events: Iterator[dict[str, JSON]], tail: dict[str, JSON],
              chunk: int = 2000) -> Iterator[str]:
    """The JSON text of a trace, ``chunk`` events at a time: the document ``json.dumps`` gives."""
    def dumps(value: object) -> str:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)

    yield '{"traceEvents":['
    first = True
    while block := list(itertools.islice(events, chunk)):
        yield ("" if first else ",") + dumps(block)[1:-1]
        first = False
    yield "]"
    for key, value in tail.items():
        yield f",{dumps(key)}:{dumps(value)}"
    yield "}"


def write_traces(run: RunRecord, directory: str | os.PathLike[str]) -> dict[str, str]:
    """Write ``trace/<mode>.json`` for each mode with tasks; return mode -> relative path."""
    from profkit.store import atomic_write_pieces

    tasks = (run.frames or {}).get("tasks")
    if tasks is None or tasks.empty:
        return {}
    modes_meta = run.meta.modes
    out: dict[str, str] = {}
    for mode in dict.fromkeys(tasks.loc[~tasks["sweep"].astype(bool), "mode"].astype(str)):
        if not mode.replace("_", "").isalnum():
            continue  # the mode names a file: only plain names
        events = trace_events(tasks, mode, modes_meta.get(mode), (run.frames or {}).get("gc"))
        rel = f"{TRACE_DIR}/{mode}.json"
        atomic_write_pieces(Path(directory) / rel, _streamed(events, _trace_tail(mode)))
        out[mode] = rel
    return out
