"""Run a workload in each mode under each collector; return raw measurements.

Per mode, in this order (no profiler is ever active in the parent while a
pool starts, and timing runs have no profiler or probe at all):

1. start the pool and wait until every worker is ready (start-up);
2. the warm-up, which is also the tasks pass: per-item start, end, CPU time
   and worker, with the memory sampler watching parent and workers;
3. ``repeat`` timing runs of the bare ``map`` under ``timeit``;
4. the cProfile pass, profiled inside the workers;
5. the line_profiler pass on a time-budgeted subset of the items.

A mode that fails keeps what it measured; the other modes still run.
"""

from __future__ import annotations

import os
import pickle
import platform
import pstats
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import psutil

from profkit.collectors import merge
from profkit.collectors.memory import MemorySampler
from profkit.collectors.worker import CPROFILE, LINES, TASKS, run_batch
from profkit.errors import ModeFailed
from profkit.modes import ModeSpec, Pool, available_cpus, default_start_method, make_pool
from profkit.workloads.model import Workload
from profkit.workloads.registry import FILE_MODULES

Progress = Callable[[str], None]
DEFAULT_LINE_BUDGET_S = 0.25

OK = "ok"
FAILED = "failed"
TIMEOUT = "timeout"
INTERRUPTED = "interrupted"
SKIPPED = "skipped"


@dataclass
class Options:
    """How to run: which modes, how many repeats, which extra functions to line-profile."""

    modes: list[ModeSpec]
    repeat: int = 5
    line_names: tuple[str, ...] = ()
    line_budget_s: float = DEFAULT_LINE_BUDGET_S
    start_method: str = field(default_factory=default_start_method)
    timeout_s: float | None = None
    chunksize: int = 1
    sweep: bool = False
    scheduler: str | None = None
    collectors: tuple[str, ...] = ("timing", "tasks", "cprofile", "lines", "memory")


@dataclass
class ModeResult:
    """Everything measured for one mode (or one sweep point)."""

    spec: ModeSpec
    sweep: bool = False
    status: str = OK
    error: str | None = None
    failed_item: int | None = None
    startup_s: float | None = None
    timings: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    tasks_wall_s: float | None = None
    profile: pstats.Stats | None = None
    lines: Any = None
    line_items: list[int] = field(default_factory=list)
    memory: list[dict[str, Any]] = field(default_factory=list)
    pool: dict[str, Any] = field(default_factory=dict)
    dispatch: dict[str, Any] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)


@dataclass
class RawRun:
    """The raw result of :func:`run_workload`, before frames and analysis."""

    workload: Workload
    items: list[Any]
    options: Options
    modes: list[ModeResult]
    environment: dict[str, Any]
    started_at: str
    finished_at: str = ""
    interrupted: bool = False


def _busy_cpus(interval: float = 0.2) -> float:
    """CPUs kept busy by other programs just before the run (profkit itself is idle then)."""
    return psutil.cpu_percent(interval=interval) / 100.0 * (os.cpu_count() or 1)


def environment(start_method: str) -> dict[str, Any]:
    """Python, CPUs, start method and the versions of the measuring packages."""
    from importlib.metadata import PackageNotFoundError, version

    packages = {}
    for name in ("profkit", "line_profiler", "snakeviz", "memory_profiler", "psutil", "pandas",
                 "pyarrow", "jinja2", "matplotlib", "distributed"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            continue
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus_available": available_cpus(),
        "cpus_total": os.cpu_count(),
        "memory_total_bytes": psutil.virtual_memory().total,
        "start_method": start_method,
        "gil_enabled": getattr(sys, "_is_gil_enabled", lambda: True)(),
        "busy_cpus_before": _busy_cpus(),
        "packages": packages,
    }


def _batches(items: list[Any], indices: list[int], size: int) -> list[list[tuple[int, Any]]]:
    pairs = [(i, items[i]) for i in indices]
    return [pairs[k:k + size] for k in range(0, len(pairs), size)]


def _profile_batch_size(n_items: int, workers: int) -> int:
    """Few enough batches to keep stats traffic small, enough to keep workers busy."""
    return max(1, -(-n_items // (4 * max(workers, 1))))


class _Deadline:
    def __init__(self, timeout_s: float | None) -> None:
        self.end = None if timeout_s is None else time.monotonic() + timeout_s
        self.timeout_s = timeout_s

    def remaining(self) -> float | None:
        if self.end is None:
            return None
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the mode ran longer than --timeout {self.timeout_s:g} s")
        return left


def _gather(pool: Pool, futures: list[Future], deadline: _Deadline) -> list[dict[str, Any]]:
    out = []
    for future in futures:
        out.append(future.result(timeout=deadline.remaining()))
    return out


def _run_pass(pool: Pool, workload: Workload, items: list[Any], indices: list[int],
              collector: str, options: Options, batch_size: int,
              deadline: _Deadline) -> tuple[list[dict[str, Any]], float, float]:
    """Submit the batches, gather payloads; return them with the pass's start and wall time."""
    t0 = time.perf_counter()
    ships = pool.kind in ("processes", "dask")
    futures = [
        pool.submit(run_batch, workload.task, batch, collector, options.line_names, ships)
        for batch in _batches(items, indices, batch_size)
    ]
    payloads = _gather(pool, futures, deadline)
    return payloads, t0, time.perf_counter() - t0


def _time_map(pool: Pool, workload: Workload, items: list[Any], options: Options,
              deadline: _Deadline) -> tuple[float, float]:
    """One bare map under timeit (GC off, as timeit does); return wall and CPU seconds."""
    return pool.time_map(workload.task, items, options.chunksize, deadline.remaining())


def _line_subset(durations: dict[int, float], n_items: int, workers: int, budget_s: float,
                 parallel: bool = True) -> list[int]:
    """The cheapest items whose plain run time fits the line budget; at least one per worker
    when the workers run in parallel (processes, dask), else at least one.

    line_profiler slows tight loops about ninefold, so the line pass covers a
    sample of the items; the report says which. Threads take turns on the GIL,
    so one item per thread would cost the sum of their times, not the largest.
    """
    chosen: list[int] = []
    spent = 0.0
    minimum = min(workers, n_items) if parallel else 1
    for index in sorted(range(n_items), key=lambda i: (durations.get(i, 0.0), i)):
        cost = durations.get(index, 0.0)
        if len(chosen) >= minimum and spent + cost > budget_s:
            break
        chosen.append(index)
        spent += cost
    return sorted(chosen)


def _dispatch_sizes(workload: Workload, items: list[Any], spec: ModeSpec) -> dict[str, Any]:
    """Pickled sizes of what a process pool ships, and the parent's time to pickle it.

    Modes that pickle (processes, dask) fail here, naming the item, if one cannot be.
    """
    ships = spec.kind in ("processes", "dask")
    t0 = time.perf_counter()
    task_bytes = len(pickle.dumps(workload.task))
    item_bytes = []
    for index, item in enumerate(items):
        try:
            item_bytes.append(len(pickle.dumps(item)))
        except Exception as exc:  # noqa: BLE001 - pickle raises many kinds
            if ships:
                raise ModeFailed(f"{spec}: item {index} ({_short_repr(item)}) cannot be pickled "
                                 f"for the workers: {type(item).__name__} object ({exc})") from exc
            item_bytes.append(0)
    return {"task_bytes": task_bytes, "item_bytes": item_bytes,
            "pickle_items_s": time.perf_counter() - t0}


def _probe(pool: Pool, workload: Workload, items: list[Any], options: Options,
           deadline: _Deadline, result: ModeResult) -> None:
    """The tasks pass: per-item timeline with memory sampling; raise on the first failed item."""
    sampler = MemorySampler(extra_pids=pool.worker_pids())
    with sampler:
        payloads, t0, wall = _run_pass(pool, workload, items, list(range(len(items))), TASKS,
                                       options, options.chunksize, deadline)
    result.memory = sampler.samples
    result.tasks_wall_s = wall
    for payload in payloads:
        for record in payload["records"]:
            record["start"] -= t0
            record["end"] -= t0
            result.tasks.append(record)
    _raise_first_failure(result, result.spec, items)


def _raise_first_failure(result: ModeResult, spec: ModeSpec, items: list[Any]) -> None:
    failures = [r for r in result.tasks if not r["ok"]]
    if failures:
        first = failures[0]
        result.failed_item = first["index"]
        raise ModeFailed(
            f"{spec}: the task failed on item {first['index']} "
            f"({_short_repr(items[first['index']])}): {_last_line(first['error'])}"
        )


def _record_failure(result: ModeResult, status: str, message: str) -> None:
    result.status = status
    result.error = message


def run_mode(workload: Workload, items: list[Any], spec: ModeSpec, options: Options,
             progress: Progress, *, sweep: bool = False,
             line_durations: dict[int, float] | None = None) -> ModeResult:
    """Measure one mode; never raises for the workload's faults or Ctrl-C (status says)."""
    result = ModeResult(spec=spec, sweep=sweep)
    deadline = _Deadline(options.timeout_s)
    pool = make_pool(spec, start_method=options.start_method, file_modules=FILE_MODULES,
                     scheduler=options.scheduler)
    killed = False
    try:
        result.dispatch = _dispatch_sizes(workload, items, spec)
        progress(f"{spec}: starting {spec.workers} worker(s)")
        result.startup_s = pool.start(workload.task)
        if pool.workers != spec.workers:  # an external Dask cluster brings its own size
            spec = result.spec = replace(spec, workers=pool.workers)
        result.pool = pool.describe()
        result.timings.append({"phase": "startup", "repeat": 0, "wall_s": result.startup_s,
                               "cpu_s": float("nan")})
        all_indices = list(range(len(items)))
        phase_t0 = time.perf_counter()

        progress(f"{spec}: warm-up, probing each task, sampling memory")
        _probe(pool, workload, items, options, deadline, result)
        result.phases["warmup"] = time.perf_counter() - phase_t0

        for k in range(options.repeat):
            progress(f"{spec}: timing repeat {k + 1}/{options.repeat}")
            wall, cpu = _time_map(pool, workload, items, options, deadline)
            result.timings.append({"phase": "map", "repeat": k, "wall_s": wall, "cpu_s": cpu})
        result.phases["timing"] = sum(t["wall_s"] for t in result.timings if t["phase"] == "map")
        if sweep:
            return result

        if "cprofile" in options.collectors:
            progress(f"{spec}: cProfile inside the workers")
            size = _profile_batch_size(len(items), spec.workers)
            payloads, _, wall = _run_pass(pool, workload, items, all_indices, CPROFILE, options,
                                          size, deadline)
            result.phases["cprofile"] = wall
            result.profile = merge.merge_profiles([p["profile"] for p in payloads])

        if "lines" in options.collectors:
            durations = line_durations or {r["index"]: r["end"] - r["start"] for r in result.tasks}
            result.line_items = _line_subset(durations, len(items), spec.workers,
                                             options.line_budget_s,
                                             parallel=spec.kind in ("processes", "dask"))
            progress(f"{spec}: line_profiler on {len(result.line_items)} of {len(items)} items")
            payloads, _, wall = _run_pass(pool, workload, items, result.line_items, LINES, options,
                                          1, deadline)
            result.phases["lines"] = wall
            result.lines = merge.merge_lines([p["lines"] for p in payloads])
    except ModeFailed as exc:
        _record_failure(result, FAILED, str(exc))
    except TimeoutError as exc:
        killed = True
        limit = f"--timeout {options.timeout_s:g} s" if options.timeout_s else "a time limit"
        message = str(exc) or f"stopped by {limit}: a task did not finish"
        _record_failure(result, TIMEOUT, f"{spec}: {message}")
    except BrokenProcessPool:
        killed = True
        _record_failure(result, FAILED, f"{spec}: a worker process died abruptly while running a "
                        "task; look for os._exit, a crash in C code, or the out-of-memory killer")
    except KeyboardInterrupt:
        killed = True
        _record_failure(result, INTERRUPTED, f"{spec}: interrupted")
    except Exception as exc:  # noqa: BLE001 - a task's exception in the timing map, say
        killed = True
        _record_failure(result, FAILED, f"{spec}: {type(exc).__name__}: {exc}")
        result.pool.setdefault("traceback", traceback.format_exc())
    finally:
        progress(f"{spec}: closing the pool")
        pool.close(kill=killed)
    return result


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "unknown error"


def sweep_specs(cpus: int) -> list[ModeSpec]:
    """processes and threads at 1..cpus workers, plus 2x cpus for oversubscription."""
    counts = sorted(set(range(1, cpus + 1)) | {2 * cpus})
    return [ModeSpec(kind, n) for kind in ("processes", "threads") for n in counts]


def run_workload(workload: Workload, options: Options, progress: Progress | None = None) -> RawRun:
    """Run every mode (and the sweep, if asked) and return the raw measurements.

    On Ctrl-C the run stops, marks itself interrupted and returns what is done.
    """
    progress = progress or (lambda message: None)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    raw = RawRun(workload=workload, items=[], options=options, modes=[],
                 environment=environment(options.start_method), started_at=started)
    try:
        with workload.session():
            raw.items = workload.resolve_items()
            if not raw.items:
                raise ModeFailed(f"workload {workload.name!r} has no items to map over")
            sequential_durations: dict[int, float] | None = None
            for spec in options.modes:
                mode = run_mode(workload, raw.items, spec, options, progress,
                                line_durations=sequential_durations)
                raw.modes.append(mode)
                if mode.status == INTERRUPTED:
                    raise KeyboardInterrupt
                if spec.kind == "sequential" and mode.status == OK:
                    sequential_durations = {r["index"]: r["end"] - r["start"] for r in mode.tasks}
            if options.sweep:
                for spec in sweep_specs(available_cpus()):
                    point = run_mode(workload, raw.items, spec, options, progress, sweep=True)
                    raw.modes.append(point)
                    if point.status == INTERRUPTED:
                        raise KeyboardInterrupt
    except KeyboardInterrupt:
        raw.interrupted = True
        done = {m.spec.kind for m in raw.modes if not m.sweep}
        for spec in options.modes:
            if spec.kind not in done:
                raw.modes.append(ModeResult(spec=spec, status=SKIPPED, error="interrupted before it ran"))
    raw.finished_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return raw
