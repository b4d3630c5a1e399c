"""runner -> frames -> analysis -> Run: the one path every entry point takes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from profkit.errors import UsageError
from profkit.frames import build_frames
from profkit.modes import START_METHODS, ModeSpec, available_cpus, parse_modes, parse_positive_int
from profkit.runner import DEFAULT_LINE_BUDGET_S, Options, Progress, RawRun, run_workload
from profkit.store import Run, claimed_run_dir, deferred_signals
from profkit.workloads.model import Workload
from profkit.workloads.registry import check_picklable, resolve

DEFAULT_MODES = "sequential,threads,processes"


def default_out_dir(workload_name: str, root: str | os.PathLike[str] = "reports") -> Path:
    """``reports/<workload>-<YYYYmmdd-HHMMSS>/``, with a suffix if that second is taken."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in workload_name) or "workload"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{safe}-{stamp}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def _task_ref(workload: Workload) -> str:
    task = workload.task
    return f"{getattr(task, '__module__', '?')}:{getattr(task, '__qualname__', repr(task))}"


def build_run(raw: RawRun, target: str | None = None) -> Run:
    """Frames, analysis and metadata from the raw measurements."""
    from profkit.analysis import analyse

    frames = build_frames(raw)
    main_modes = [m for m in raw.modes if not m.sweep]
    options = raw.options
    meta: dict[str, Any] = {
        "workload": {
            "name": raw.workload.name,
            "description": raw.workload.description,
            "target": target or raw.workload.name,
            "task": _task_ref(raw.workload),
            "n_items": len(raw.items),
        },
        "options": {
            "modes": [str(m) for m in options.modes],
            "repeat": options.repeat,
            "warmups": 1,
            "line_functions": list(options.line_names),
            "line_budget_s": options.line_budget_s,
            "start_method": options.start_method,
            "timeout_s": options.timeout_s,
            "chunksize": options.chunksize,
            "sweep": options.sweep,
            "scheduler": options.scheduler,
        },
        "environment": raw.environment,
        "started_at": raw.started_at,
        "finished_at": raw.finished_at,
        "interrupted": raw.interrupted,
        "status": {m.spec.kind: m.status for m in main_modes},
        "errors": {m.spec.kind: m.error for m in main_modes if m.error},
        "modes": {
            m.spec.kind: {
                "workers": m.spec.workers,
                "pool": m.pool,
                "startup_s": m.startup_s,
                "tasks_wall_s": m.tasks_wall_s,
                "line_items": m.line_items,
                "failed_item": m.failed_item,
                "task_bytes": m.dispatch.get("task_bytes"),
                "pickle_items_s": m.dispatch.get("pickle_items_s"),
                "phase_s": m.phases,
                "traceback": m.pool.get("traceback"),
            }
            for m in main_modes
        },
    }
    return Run(
        meta=meta,
        analysis=analyse(frames, meta),
        frames=frames,
        profiles={m.spec.kind: m.profile for m in main_modes if m.profile is not None},
        line_stats={m.spec.kind: m.lines for m in main_modes if m.lines is not None},
    )


def check_limits(specs: Sequence[ModeSpec], timeout: float | None,
                 default_workers: int) -> float | None:
    """Refuse, before any work, a pool too big to start or a timeout no clock can hold."""
    from profkit.config import check_seconds, check_workers

    check_workers([default_workers], "--workers")
    for s in specs:
        check_workers([s.workers], f"--modes {s}")
    return None if timeout is None else check_seconds(timeout, "--timeout")


def profile(
    workload: Workload | str,
    *,
    modes: str | Sequence[str] = DEFAULT_MODES,
    workers: int | None = None,
    repeat: int = 5,
    lines: Sequence[str] = (),
    out: str | os.PathLike[str] | None = None,
    start_method: str | None = None,
    timeout: float | None = None,
    sweep: bool = False,
    scheduler: str | None = None,
    line_budget: float = DEFAULT_LINE_BUDGET_S,
    progress: Progress | None = None,
    target: str | None = None,
) -> Run:
    """Profile ``workload`` in each mode and return the Run; save it if ``out`` is given."""
    target = target or (workload if isinstance(workload, str) else None)
    wl = resolve(workload) if isinstance(workload, str) else workload
    check_picklable(wl)
    n_workers = parse_positive_int(workers, "--workers") if workers is not None else available_cpus()
    specs: list[ModeSpec] = parse_modes(modes, n_workers)
    timeout = check_limits(specs, timeout, n_workers)
    if any(s.kind == "dask" for s in specs):
        # Fail before any mode runs, not after sequential and processes are done.
        from profkit.dask_mode import check_available, normalize_address

        check_available()
        if scheduler:
            scheduler = normalize_address(scheduler)
    own_lines = [f"{f.__module__}:{f.__qualname__}" for f in wl.line_functions]
    options = Options(
        modes=specs,
        repeat=parse_positive_int(repeat, "--repeat"),
        line_names=tuple(dict.fromkeys([*own_lines, *lines])),
        line_budget_s=line_budget,
        timeout_s=timeout,
        sweep=sweep,
        scheduler=scheduler,
    )
    if start_method:
        if start_method not in START_METHODS:
            raise UsageError(f"unknown start method {start_method!r}: choose from "
                             f"{', '.join(START_METHODS)}")
        options.start_method = start_method
    # The folder is claimed (absolute: a task may chdir) before any work, and removed again
    # if no run gets saved in it; Ctrl-C waits while the finished run is analysed and saved.
    with claimed_run_dir(out) as out_dir:
        raw = run_workload(wl, options, progress)
        with deferred_signals():
            run = build_run(raw, target)
            if out_dir is not None:
                run.save(out_dir)
    return run
