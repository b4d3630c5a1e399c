"""Per-worker timelines as Chrome trace JSON (``trace/<mode>.json``), for Perfetto and chrome://tracing.

Built from the tasks frame (the warm-up pass, no profiler active): one track per worker
(a process per pid, a thread per thread), one complete ("X") slice per task named by
its item, and the gaps drawn as slices too: the pool's start-up on the parent's track,
each worker's wait for its first task (dispatch), its idle time between tasks and after
its last one. Times are microseconds from the pool's start.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from profkit.run import Run

TRACE_DIR = "trace"
PARENT_PID = 0  # the parent's own track (pool start-up and the whole pass)
MIN_GAP_S = 1e-6  # gaps shorter than this are not drawn


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _us(seconds: float) -> float:
    return round(seconds * 1e6, 3)


def _slice(name: str, cat: str, pid: int, tid: int, start_s: float, dur_s: float,
           args: dict[str, Any] | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"name": name, "cat": cat, "ph": "X", "pid": pid, "tid": tid,
                             "ts": _us(start_s), "dur": _us(max(0.0, dur_s))}
    if args:
        event["args"] = args
    return event


def _meta_event(kind: str, pid: int, tid: int, name: str) -> dict[str, Any]:
    return {"name": kind, "ph": "M", "pid": pid, "tid": tid, "args": {"name": name}}


def chrome_trace(tasks: pd.DataFrame, mode: str, mode_meta: dict[str, Any] | None = None,
                 collections: pd.DataFrame | None = None) -> dict[str, Any]:
    """The Chrome trace of one mode's warm-up pass: ``{"traceEvents": [...], ...}``."""
    info = mode_meta or {}
    traits = info.get("traits") or {}
    mine = tasks[(tasks["mode"] == mode) & ~tasks["sweep"].astype(bool)].sort_values("start_s")
    startup = float(info.get("startup_s") or 0.0) if traits.get("parallel", True) else 0.0
    wall = info.get("tasks_wall_s")
    pass_end = float(wall) if wall is not None else (float(mine["end_s"].max()) if not mine.empty else 0.0)
    events: list[dict[str, Any]] = [
        _meta_event("process_name", PARENT_PID, 0, f"profkit parent ({mode})"),
        _meta_event("thread_name", PARENT_PID, 0, "map"),
    ]
    if startup > 0:
        events.append(_slice("pool start-up", "startup", PARENT_PID, 0, 0.0, startup,
                             {"workers": info.get("workers")}))
    events.append(_slice(f"map over {len(mine)} items", "pass", PARENT_PID, 0, startup, pass_end,
                         {"mode": mode, "workers": info.get("workers")}))
    tids: dict[tuple[int, str], int] = {}
    named_pids: set[int] = set()
    key: Any
    for key, group in mine.groupby(["pid", "thread"], sort=False):
        pid, thread = int(key[0]), str(key[1])
        tid = tids.setdefault((pid, thread), len([k for k in tids if k[0] == pid]) + 1)
        worker = str(group["worker"].iloc[0])
        if pid not in named_pids:
            label = f"worker {worker}" if traits.get("ships_pickles") else f"{mode} (pid {pid})"
            events.append(_meta_event("process_name", pid, 0, label))
            named_pids.add(pid)
        events.append(_meta_event("thread_name", pid, tid,
                                  worker if traits.get("worker_label") == "thread" else thread))
        cursor = 0.0
        row: Any
        for row in group.itertuples(index=False):
            start, end = float(row.start_s), float(row.end_s)
            if start - cursor > MIN_GAP_S:
                kind = "dispatch" if cursor == 0.0 else "idle"
                label = "waiting for the first task" if kind == "dispatch" else "idle between tasks"
                events.append(_slice(label, kind, pid, tid, startup + cursor, start - cursor))
            args = {"item": int(row.item), "item_repr": str(row.item_repr), "ok": bool(row.ok),
                    "cpu_s": _finite(row.cpu_s), "duration_s": _finite(row.duration_s)}
            if row.ok:
                args["result"] = str(row.result_repr)
            else:
                args["error"] = str(row.error)
            events.append(_slice(f"item {int(row.item)}", "task" if row.ok else "task,failed", pid, tid,
                                 startup + start, end - start, args))
            cursor = max(cursor, end)
        if pass_end - cursor > MIN_GAP_S:
            events.append(_slice("idle after its last task", "idle", pid, tid, startup + cursor,
                                 pass_end - cursor))
    if collections is not None and not collections.empty:
        workers = {str(g["worker"].iloc[0]): key for key, g in mine.groupby(["pid", "thread"], sort=False)}
        for row in collections[collections["mode"] == mode].itertuples(index=False):
            key = workers.get(str(row.worker))
            if key is None:
                continue
            events.append(_slice(f"GC gen {int(row.generation)}", "gc", int(key[0]),
                                 tids[(int(key[0]), str(key[1]))], startup + float(row.start_s),
                                 float(row.duration_s), {"collected": int(row.collected)}))
    return {"traceEvents": events, "displayTimeUnit": "ms",
            "otherData": {"generator": "profkit", "mode": mode,
                          "note": "warm-up pass, no profiler active; times in µs from the pool's start"}}


def write_traces(run: Run, directory: str | os.PathLike[str]) -> dict[str, str]:
    """Write ``trace/<mode>.json`` for each mode with tasks; return mode -> relative path."""
    from profkit.store import atomic_write_text

    tasks = (run.frames or {}).get("tasks")
    if tasks is None or tasks.empty:
        return {}
    modes_meta = (run.meta or {}).get("modes") or {}
    out: dict[str, str] = {}
    main = tasks[~tasks["sweep"].astype(bool)]
    for mode in dict.fromkeys(main["mode"].astype(str)):
        if not mode.replace("_", "").isalnum():
            continue  # the mode names a file: only plain names
        trace = chrome_trace(tasks, mode, modes_meta.get(mode), (run.frames or {}).get("gc"))
        rel = f"{TRACE_DIR}/{mode}.json"
        atomic_write_text(Path(directory) / rel, json.dumps(trace, separators=(",", ":"), allow_nan=False))
        out[mode] = rel
    return out
