"""A finished program as a profkit run: run.json, frames, profiles, a Chrome trace.

Each pool site is a mode of the run (``site1``, ``site2`` ...), so the run folder
is the one ``profkit profile`` writes and ``profkit.load``, ``profkit view`` and
``profkit lines`` open it. Profiles: ``main`` (the program's main thread), one
per site (its workers merged) and ``all`` (everything merged).
"""

from __future__ import annotations

import json
import os
import platform
import pstats
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from profkit.analysis.records import Analysis
from profkit.collectors.merge import merge_profiles
from profkit.errors import StoreError
from profkit.frames import COLUMNS, FRAME_NAMES, empty, frame_of, function_rows, line_rows, line_source_rows
from profkit.model import JSON, Status, Traits, WorkerLabel
from profkit.program.analysis import program_facts
from profkit.program.launcher import Finished
from profkit.program.replay import Replay
from profkit.program.sites import Site
from profkit.record import ModeMeta, RunMeta, WorkloadMeta

if TYPE_CHECKING:
    import pandas as pd

    from profkit.run import Run

#: ``run.json`` says a run folder holds a program run with this kind.
KIND = "program"
TRACE_FILE = "trace/program.json"


def _traits(processes: bool) -> Traits:
    return Traits(parallel=True, ships_pickles=processes, shares_memory=not processes,
                  shares_gil=not processes,
                  worker_label=WorkerLabel.PID if processes else WorkerLabel.THREAD,
                  honours_chunksize=processes)


def _tasks_frame(finished: Finished) -> pd.DataFrame:
    """One row per task of every site, built column by column (a site may have many tasks)."""
    import numpy as np
    import pandas as pd

    parts = []
    for site in finished.registry.sites:
        if not site.records:
            continue
        pid, thread, start, end, cpu, queued, item_bytes, result_bytes, error = (
            list(column) for column in zip(*sorted(site.records, key=lambda r: r[2]), strict=True))
        n = len(pid)
        begin = np.asarray(start) - finished.start
        finish = np.asarray(end) - finished.start
        parts.append(pd.DataFrame({
            "mode": [site.id] * n, "workers": site.workers, "sweep": False,
            "item": np.arange(n), "item_repr": "", "start_s": begin, "end_s": finish,
            "duration_s": finish - begin, "cpu_s": cpu, "queued_s": queued, "pid": pid,
            "thread": thread,
            "worker": [f"pid {p}" for p in pid] if site.processes else thread,
            "item_bytes": [np.nan if b is None else float(b) for b in item_bytes],
            "result_bytes": [np.nan if b is None else float(b) for b in result_bytes],
            "result_repr": "", "ok": [e is None for e in error], "output": "", "output_bytes": 0,
            "error": [e or "" for e in error]}, columns=list(COLUMNS["tasks"])))
    if not parts:
        return empty("tasks")
    frame = pd.concat(parts, ignore_index=True)
    return frame.astype({c: dtype for c, (dtype, _) in COLUMNS["tasks"].items()})


def _merged(stats: list[pstats.Stats | None]) -> pstats.Stats | None:
    return merge_profiles([dict(s.stats) for s in stats if s is not None])  # type: ignore[attr-defined]


def one_profiler_for_all_threads() -> bool:
    """From Python 3.12 cProfile is one profiler per interpreter (``sys.monitoring``): the
    program's profile records every thread, with one call stack for them all (CPython
    gh-110770), and a thread pool's tasks cannot have a profiler of their own beside it."""
    return sys.version_info >= (3, 12)


def _site_record(finished: Finished, site: Site, profile: bool) -> dict[str, JSON]:
    first = site.first_call - finished.start if site.first_call != float("inf") else 0.0
    last = site.last_received - finished.start if site.last_received else first
    if finished.interrupted and len(site.records) < site.items:
        last = finished.wall_s  # tasks were under way when the program was stopped
    return {"id": site.id, "filename": site.filename, "lineno": site.lineno,
            "function": site.function, "task": site.task, "method": site.method,
            "processes": site.processes, "workers": site.workers,
            "start_method": site.start_method, "chunksize": site.chunksize, "calls": site.calls,
            "items": site.items, "first_s": first, "last_s": max(first, last),
            "wait_s": site.wait_s, "profiled": site.profiled,
            "in_program_profile": profile and not site.processes and one_profiler_for_all_threads(),
            "idle": [[a - finished.start, b - finished.start] for a, b in site.idle]}


def _clock_time(perf_s: float) -> str:
    """A ``time.perf_counter`` reading of this process as the UTC date and time it was."""
    at = time.time() - (time.perf_counter() - perf_s)
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="seconds")


def build(finished: Finished, *, profile: bool, replays: list[Replay] | None = None) -> Run:
    """The run of a finished program: measurements, frames and the sites' facts; ``replays``
    the sites' replays (``--replay``), in site order."""
    import pandas as pd

    from profkit.run import Run

    sites = [_site_record(finished, s, profile) for s in finished.registry.sites]
    for site, replayed in zip(sites, replays or [], strict=False):
        site["replay"] = replayed.to_json()
    site_stats = {s.id: s.stats() for s in finished.registry.sites}
    profiles: dict[str, pstats.Stats] = {}
    if finished.main_stats is not None:
        profiles["main"] = finished.main_stats
    profiles.update({k: v for k, v in site_stats.items() if v is not None})
    merged = _merged(list(profiles.values())) if profiles else None
    if merged is not None:
        profiles["all"] = merged
    frames = {name: empty(name) for name in FRAME_NAMES}
    frames["tasks"] = _tasks_frame(finished)
    line_stats = {s.id: s.lines for s in finished.registry.sites if s.lines is not None}
    line_frame_rows = [row for mode, stats in line_stats.items() for row in line_rows(mode, stats)]
    if line_frame_rows:
        frames["lines"] = pd.DataFrame(line_frame_rows, columns=list(COLUMNS["lines"])).astype(
            {c: d for c, (d, _) in COLUMNS["lines"].items()})
        frames["line_source"] = frame_of("line_source", line_source_rows(list(line_stats.values())))
    function_frame_rows = [row for mode, stats in profiles.items()
                           for row in function_rows(mode, stats)]
    if function_frame_rows:
        frames["functions"] = pd.DataFrame(function_frame_rows, columns=list(COLUMNS["functions"])
                                           ).astype({c: d for c, (d, _) in
                                                     COLUMNS["functions"].items()})
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    program: dict[str, JSON] = {"command": finished.program.command(), "exit_code": finished.exit_code,
               "wall_s": finished.wall_s, "start_method": finished.start_method,
               "interrupted": finished.interrupted, "error": finished.error, "profile": profile,
               "profile_all_threads": profile and one_profiler_for_all_threads()}
    facts = program_facts(program, sites, frames["tasks"], cpus)
    name = Path(finished.program.target).stem if not finished.program.module else \
        finished.program.target
    status = {str(s["id"]): (Status.FAILED if f.failed else Status.OK)
              for s, f in zip(sites, facts.sites, strict=True)}
    meta = RunMeta(
        kind=KIND,
        workload=WorkloadMeta(name=name, description=f"profkit run {finished.program.command()}",
                              target=finished.program.command(), task="",
                              n_items=int(len(frames["tasks"]))),
        status=status,
        # every task of a site is line-profiled with --lines
        modes={str(s["id"]): ModeMeta(workers=r.workers, traits=_traits(r.processes),
                                      n_items=f.tasks,
                                      line_items=list(range(f.tasks)) if s["id"] in line_stats
                                      else None)
               for r, s, f in zip(finished.registry.sites, sites, facts.sites, strict=True)},
        options={"modes": [s["id"] for s in sites], "start_method": finished.start_method,
                 "line_budget_s": 0.0},
        environment={"python": platform.python_version(), "cpus_available": cpus,
                     "cpus_total": os.cpu_count(), "start_method": finished.start_method},
        interrupted=finished.interrupted,
        started_at=_clock_time(finished.start), finished_at=_clock_time(finished.end),
        program=program,
        sites=sites,
    )
    return Run(meta=meta, analysis=Analysis(program=facts.to_json()), frames=frames, profiles=profiles,
               line_stats={**line_stats})


def reanalyse(run: Run) -> None:
    """The sites' facts again, from the saved records and frames (``profkit report``)."""
    meta = run.meta
    cpus = meta.environment.get("cpus_available")
    try:
        facts = program_facts(meta.program or {}, meta.sites, run.frames["tasks"],
                              cpus if isinstance(cpus, int) else os.cpu_count() or 1)
    except (KeyError, TypeError, ValueError) as exc:  # a record profkit did not write
        raise StoreError(f"run.json: a pool site's record cannot be read ({type(exc).__name__}: "
                         f"{exc}): open a folder that profkit run wrote") from exc
    run.analysis = Analysis(program=facts.to_json())


def _trace(run: Run, directory: Path) -> dict[str, str]:
    """The whole program as one Chrome trace: the sites on the main process, the tasks on their
    workers."""
    from profkit.store import atomic_write_text

    events: list[dict[str, JSON]] = []
    main_pid = os.getpid()
    wall = float((run.meta.program or {}).get("wall_s") or 0.0)
    events.append({"name": "program", "ph": "X", "pid": main_pid, "tid": 0, "ts": 0.0,
                   "dur": wall * 1e6, "cat": "program"})
    for site in run.meta.sites:
        events.append({"name": f"{site['id']} {site['method']}({site['task']})", "ph": "X",
                       "pid": main_pid, "tid": 1, "ts": site["first_s"] * 1e6,
                       "dur": (site["last_s"] - site["first_s"]) * 1e6, "cat": "site",
                       "args": {"at": f"{site['filename']}:{site['lineno']}"}})
    tasks = run.frames["tasks"]
    threads: dict[tuple[int, str], int] = {}
    columns = [tasks[c].tolist() for c in ("mode", "pid", "thread", "start_s", "duration_s",
                                            "cpu_s", "ok")]
    for mode, pid, thread, start, duration, cpu, ok in zip(*columns, strict=True):
        tid = threads.setdefault((int(pid), str(thread)), len(threads) + 2)
        events.append({"name": str(mode), "ph": "X", "pid": int(pid), "tid": tid,
                       "ts": float(start) * 1e6, "dur": float(duration) * 1e6,
                       "cat": "task", "args": {"cpu_s": float(cpu), "ok": bool(ok)}})
    atomic_write_text(directory / TRACE_FILE, json.dumps({"traceEvents": events}))
    return {"program": TRACE_FILE}


def save(run: Run, out: Path) -> Path:
    """Write the run folder with its report; return the folder."""
    from profkit import store
    from profkit.render.program import render

    return store.save(run, out, report=render, traces=_trace)
