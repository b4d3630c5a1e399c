"""runner -> frames -> analysis -> Run: the one path every entry point takes."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from profkit.engine.runner import Progress, run_workload
from profkit.errors import UsageError
from profkit.executors.registry import (
    START_METHODS,
    available_cpus,
    default_start_method,
    parse_modes,
    parse_positive_int,
    parse_workers,
)
from profkit.frames import build_frames
from profkit.model import (
    DEFAULT_LINE_BUDGET_S,
    DEFAULT_MAX_ROUNDS,
    DEFAULT_MAX_ROUNDS_S,
    DEFAULT_MEMORY_LINE_BUDGET_S,
    DEFAULT_PRECISION,
    JSON,
    ModeResult,
    ModeSpec,
    Options,
    RawRun,
)
from profkit.store import Run
from profkit.workloads.model import Workload
from profkit.workloads.registry import FILE_MODULES, check_picklable, resolve

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


def _mode_meta(m: ModeResult) -> dict[str, JSON]:
    return {
        "workers": m.spec.workers,
        "traits": m.traits.to_json(),
        "pool": m.pool,
        "startup_s": m.startup_s,
        "tasks_wall_s": m.tasks_wall_s,
        "line_items": list(m.line_items),
        "memory_line_items": list(m.memory_line_items),
        "memory_lines_note": m.memory_lines_note,
        "memory_lines_estimate_s": m.memory_lines_estimate_s,
        "memory_error": m.memory_error,
        "failed_item": m.failed_item,
        "task_bytes": m.dispatch.task_bytes,
        "pickle_items_s": m.dispatch.pickle_items_s,
        "phase_s": dict(m.phases),
        "traceback": m.traceback,
    }


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
            "repeat": options.repeat if options.repeat is not None else "auto",
            "precision": options.precision,
            "min_rounds": options.min_rounds,
            "max_rounds": options.max_rounds,
            "max_rounds_s": options.max_rounds_s,
            "spoiled_cores": options.spoiled_cores,
            "warmups": 1,
            "line_functions": list(options.line_names),
            "line_budget_s": options.line_budget_s,
            "memory_line_functions": list(options.memory_line_names),
            "memory_line_budget_s": options.memory_line_budget_s,
            "memory_interval_s": options.memory_interval_s,
            "start_method": options.start_method,
            "timeout_s": options.timeout_s,
            "chunksize": options.chunksize,
            "sweep": options.sweep,
            "scheduler": options.scheduler,
            "gc": "off while timed, on in the passes",
        },
        "environment": raw.environment,
        "started_at": raw.started_at,
        "finished_at": raw.finished_at,
        "interrupted": raw.interrupted,
        "rounds": [{"round": r.number, "order": r.order, "wall_s": r.wall_s,
                    "others_cpu": r.others_cpu, "spoiled": r.spoiled, "sweep": r.sweep}
                   for r in raw.rounds],
        "status": {m.spec.kind: m.status.value for m in main_modes},
        "errors": {m.spec.kind: m.error for m in main_modes if m.error},
        "modes": {m.spec.kind: _mode_meta(m) for m in main_modes},
    }
    return Run(
        meta=meta,
        analysis=analyse(frames, meta),
        frames=frames,
        profiles={m.spec.kind: m.profile for m in main_modes if m.profile is not None},
        line_stats={m.spec.kind: m.lines for m in main_modes if m.lines is not None},
        memory_dat={m.spec.kind: m.memory_dat for m in main_modes if m.memory_dat},
    )


def parse_repeat(value: int | str | None) -> int | None:
    """``auto`` (or None) -> None; else a whole number of rounds >= 1."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return None
    return parse_positive_int(value, "--repeat")


def parse_fraction(value: float | str, what: str) -> float:
    """A precision such as 0.03, '3%' or '0.03' -> 0.03; strictly between 0 and 1."""
    text = str(value).strip()
    try:
        number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise UsageError(f"{what} must be a fraction such as 0.03 or a percentage such as 3%, "
                         f"got {value!r}") from None
    if not 0 < number < 1:
        raise UsageError(f"{what} must be above 0 and below 1 (100%), got {value!r}")
    return number


def parse_seconds(value: float | str | None, what: str) -> float | None:
    """A finite number of seconds > 0, or None."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{what} must be a number of seconds, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise UsageError(f"{what} must be a finite number of seconds > 0, got {value!r}")
    return number


def _memory_line_names(wl: Workload, names: Sequence[str] | str) -> tuple[str, ...]:
    """The ``--memory-lines`` names, each checked by resolving it here, before any mode runs."""
    from profkit.collectors.worker import resolve_line_functions

    if isinstance(names, str):
        names = names.split(",")
    clean = tuple(dict.fromkeys(n.strip() for n in names if n.strip()))
    for name in clean:
        try:
            found = resolve_line_functions(wl.task, (name,), with_task=False)
        except (ImportError, AttributeError, ValueError) as exc:
            raise UsageError(f"--memory-lines {name}: no such function ({type(exc).__name__}: "
                             f"{exc}); give a name in the task's module or module:qualname") from None
        if not all(hasattr(f, "__code__") for f in found):
            raise UsageError(f"--memory-lines {name}: not a Python function, so memory_profiler "
                             "cannot trace its lines")
    return clean


def profile(
    workload: Workload | str,
    *,
    modes: str | Sequence[str] = DEFAULT_MODES,
    workers: int | None = None,
    repeat: int | str | None = None,
    precision: float | str = DEFAULT_PRECISION,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
    max_time: float | None = DEFAULT_MAX_ROUNDS_S,
    chunksize: int | None = None,
    lines: Sequence[str] = (),
    out: str | os.PathLike[str] | None = None,
    start_method: str | None = None,
    timeout: float | None = None,
    sweep: bool = False,
    scheduler: str | None = None,
    line_budget: float = DEFAULT_LINE_BUDGET_S,
    memory_lines: Sequence[str] = (),
    memory_line_budget: float = DEFAULT_MEMORY_LINE_BUDGET_S,
    progress: Progress | None = None,
    target: str | None = None,
    seed: int | None = None,
) -> Run:
    """Profile ``workload`` in each mode and return the Run; save it if ``out`` is given.

    ``repeat`` is the number of interleaved timing rounds, or ``"auto"`` (the
    default): rounds go on until every speedup is known within ``precision``
    (0.03 = ±3%, 95% interval), or until ``max_rounds`` rounds or ``max_time``
    seconds of rounds. ``chunksize`` applies to the modes that hand out items
    in chunks (processes, pool). ``memory_lines`` names functions for
    memory_profiler's line profiler, run inside the workers on the items that
    fit ``memory_line_budget`` seconds per mode.
    """
    target = target or (workload if isinstance(workload, str) else None)
    wl = resolve(workload) if isinstance(workload, str) else workload
    check_picklable(wl)
    n_workers = parse_workers(workers, "--workers") if workers is not None else available_cpus()
    specs: list[ModeSpec] = parse_modes(modes, n_workers)
    if any(s.kind == "dask" for s in specs):
        # Fail before any mode runs, not after sequential and processes are done.
        from profkit.executors.dask.addresses import check_available, normalize_address

        check_available()
        if scheduler:
            scheduler = normalize_address(scheduler)
    own_lines = [f"{f.__module__}:{f.__qualname__}" for f in wl.line_functions]
    options = Options(
        modes=specs,
        repeat=parse_repeat(repeat),
        precision=parse_fraction(precision, "--precision"),
        max_rounds=parse_positive_int(max_rounds, "--max-rounds"),
        max_rounds_s=parse_seconds(max_time, "--max-time") or float("inf"),
        chunksize=parse_positive_int(chunksize, "--chunksize") if chunksize is not None else None,
        line_names=tuple(dict.fromkeys([*own_lines, *lines])),
        line_budget_s=parse_seconds(line_budget, "--line-budget") or DEFAULT_LINE_BUDGET_S,
        memory_line_names=_memory_line_names(wl, memory_lines),
        memory_line_budget_s=parse_seconds(memory_line_budget, "--memory-line-budget")
        or DEFAULT_MEMORY_LINE_BUDGET_S,
        start_method=default_start_method(),
        timeout_s=parse_seconds(timeout, "--timeout"),
        sweep=sweep,
        scheduler=scheduler,
        seed=seed,
    )
    options.min_rounds = min(options.min_rounds, options.max_rounds)
    if start_method:
        if start_method not in START_METHODS:
            raise UsageError(f"unknown start method {start_method!r}: choose from "
                             f"{', '.join(START_METHODS)}")
        options.start_method = start_method
    if out is not None:
        from profkit.store import prepare_run_dir

        prepare_run_dir(out)
    raw = run_workload(wl, options, progress, file_modules=dict(FILE_MODULES))
    run = build_run(raw, target)
    if out is not None:
        run.save(out)
    return run
