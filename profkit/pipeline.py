"""runner -> frames -> analysis -> Run: the one path every entry point takes."""

from __future__ import annotations

import difflib
import functools
import inspect
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from profkit.config import parse_chunksize, parse_repeat
from profkit.engine import heap
from profkit.engine.runner import CPROFILE_ITEMS, Progress, run_workload, sample_every
from profkit.errors import UsageError
from profkit.executors.registry import (
    START_METHODS,
    available_cpus,
    default_start_method,
    parse_modes,
    parse_positive_int,
    parse_workers,
)
from profkit.frames import build_frames, prediction_frame
from profkit.model import (
    ALL,
    AUTO,
    DEFAULT_AB_MAX_ROUNDS_S,
    DEFAULT_MAX_ROUNDS,
    DEFAULT_MAX_ROUNDS_S,
    DEFAULT_MEMORY_LINE_BUDGET_S,
    DEFAULT_PRECISION,
    JSON,
    ModeResult,
    ModeSpec,
    Options,
    PassBudget,
    RawRun,
)
from profkit.run import Run
from profkit.store import claimed_run_dir, deferred_signals
from profkit.workloads.model import Workload
from profkit.workloads.registry import FILE_MODULES, as_workload

if TYPE_CHECKING:
    from profkit.analysis.compare import Comparison

DEFAULT_MODES = "sequential,threads,processes"


def default_out_dir(workload_name: str, root: str | os.PathLike[str] = "reports") -> Path:
    """``reports/<workload>-<YYYYmmdd-HHMMSS>/``, with a suffix if that second is taken."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in workload_name) or "workload"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{safe}-{stamp}"
    candidate, n = base, 1
    while os.path.lexists(candidate):  # False for a name too long: claiming it says so
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def _task_ref(workload: Workload) -> str:
    task = workload.task
    return f"{getattr(task, '__module__', '?')}:{getattr(task, '__qualname__', repr(task))}"


def _mode_meta(m: ModeResult, options: Options, n_items: int) -> dict[str, JSON]:
    from profkit.analysis.prediction import MAX_WORKERS
    from profkit.executors.registry import executor_class

    cls = executor_class(m.spec.kind)
    chunksize = m.chunksize if m.chunksize is not None else options.chunksize
    return {
        "chunksize": cls.dispatch_chunksize(chunksize, n_items, m.spec.workers),
        "dispatch_chunksizes": [cls.dispatch_chunksize(chunksize, n_items, w)
                                for w in range(1, MAX_WORKERS + 1)],
        "chunk_trial": m.chunk_trial,
        "native_trial": m.native_trial,
        "native_pools": [{"api": p.api, "library": p.library, "threads": p.threads}
                         for p in m.native_pools],
        "workers": m.spec.workers,
        "traits": m.traits.to_json(),
        "pool": m.pool,
        "startup_s": m.startup_s,
        "tasks_wall_s": m.tasks_wall_s,
        "line_items": list(m.line_items),
        "line_cut_s": {str(i): s for i, s in sorted(m.line_cut.items())},
        "line_share": m.line_share,
        "line_complete": m.line_plan.complete if m.line_plan is not None else None,
        "line_cheapest_s": m.line_plan.cheapest_s if m.line_plan is not None else None,
        "line_deferred": m.line_plan.deferred if m.line_plan is not None else None,
        "memory_line_items": list(m.memory_line_items),
        "memory_lines_note": m.memory_lines_note,
        "memory_lines_estimate_s": m.memory_lines_estimate_s,
        "memory_error": m.memory_error,
        "failed_item": m.failed_item,
        "task_bytes": m.dispatch.task_bytes,
        "items_bytes": m.dispatch.items_bytes,
        "results_bytes": m.tasks.results_bytes,
        "pickle_items_s": m.dispatch.pickle_items_s,
        "tasks_sample_every": sample_every(n_items),
        "cprofile_items": len(m.profile_items) if m.profile is not None else None,
        "cprofile_every": sample_every(n_items, CPROFILE_ITEMS),
        "cprofile_indices": list(m.profile_items),
        "cprofile_cut_s": {str(i): s for i, s in sorted(m.profile_cut.items())},
        "cprofile_share": m.profile_share,
        "cprofile_complete": m.profile_plan.complete if m.profile_plan is not None else None,
        "phase_s": dict(m.phases),
        "traceback": m.traceback,
    }


def build_run(raw: RawRun, target: str | None = None) -> Run:
    """Frames, analysis and metadata from the raw measurements."""
    run = measured_run(raw, target)
    analyse_run(run)
    return run


def analyse_run(run: Run) -> None:
    """The analysis of a run's frames and metadata, and the frame derived from it."""
    from profkit.analysis import analyse

    run.analysis = analyse(run.frames, run.meta)
    run.frames["prediction"] = prediction_frame(run.analysis)


def measured_run(raw: RawRun, target: str | None = None) -> Run:
    """Frames and metadata from the raw measurements, not analysed yet."""
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
            "profile_budget_s": options.profile_budget_s,
            "memory_line_functions": list(options.memory_line_names),
            "memory_line_budget_s": options.memory_line_budget_s,
            "memory_interval_s": options.memory_interval_s,
            "start_method": options.start_method,
            "timeout_s": options.timeout_s,
            "chunksize": "auto" if options.chunksize_auto else options.chunksize,
            "sweep": options.sweep,
            "scheduler": options.scheduler,
            "gc": "on" if options.gc_timed else "off",
        },
        "environment": raw.environment,
        "started_at": raw.started_at,
        "finished_at": raw.finished_at,
        "interrupted": raw.interrupted,
        "rounds": [{"round": r.number, "order": r.order, "wall_s": r.wall_s,
                    "others_cpu": r.others_cpu, "spoiled": r.spoiled, "sweep": r.sweep}
                   for r in raw.rounds],
        "stopping": _stopping(raw),
        "status": {m.spec.kind: m.status.value for m in main_modes},
        "errors": {m.spec.kind: m.error for m in main_modes if m.error},
        "modes": {m.spec.kind: _mode_meta(m, options, len(raw.items)) for m in main_modes},
    }
    return Run(
        meta=meta,
        analysis={},
        frames=frames,
        profiles={m.spec.kind: m.profile for m in main_modes if m.profile is not None},
        line_stats={m.spec.kind: m.lines for m in main_modes if m.lines is not None},
        memory_dat={m.spec.kind: m.memory_dat for m in main_modes if m.memory_dat},
    )


def parse_gc(value: str | bool) -> bool:
    """``on`` -> True (GC on while timed), ``off`` -> False."""
    text = str(value).strip().lower()
    if text in ("on", "true"):
        return True
    if text in ("off", "false"):
        return False
    raise UsageError(f"--gc must be 'on' or 'off', got {value!r}")


#: A projected "settled after" beyond this many seconds is not quoted: the pools are then about
#: as fast as the margin that tells them apart, and either answer is fine.
SETTLED_AFTER_MAX_S = 3600.0


def _stopping(raw: RawRun) -> dict[str, Any] | None:
    """How the rounds ended, and the level that keeps every interval at 95% (the highest of the
    main rounds' and the sweep points')."""
    if not raw.stops:
        return None
    main = raw.stops[0]
    verdict = main.decision
    needed = main.time_needed_s()
    return {"rule": main.rule.value, "reason": main.reason.value, "clean_rounds": main.clean,
            "level": max(s.level for s in raw.stops),
            "choice": verdict.choice if verdict else None,
            "settled": verdict.settled if verdict else None,
            "open": list(verdict.open) if verdict else [],
            "settled_after_s": needed if needed is None or needed <= SETTLED_AFTER_MAX_S else None,
            "settled_after_rounds": main.rounds_needed() if needed is not None
            and needed <= SETTLED_AFTER_MAX_S else None}


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
    """A finite number of seconds > 0 (at most a week), or None."""
    from profkit.config import check_seconds

    return None if value is None else check_seconds(value, what)


def parse_budget(value: float | str | None, what: str) -> PassBudget:
    """``--profile-budget`` / ``--line-budget``: seconds per profiling worker, ``all`` or ``auto``."""
    if value is None:
        return AUTO
    if isinstance(value, str) and value.strip().lower() in (ALL, AUTO):
        return ALL if value.strip().lower() == ALL else AUTO
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            raise UsageError(f"{what} must be a number of seconds, 'auto' or 'all', "
                             f"got {value!r}") from None
    seconds = parse_seconds(value, what)
    assert seconds is not None
    return seconds


def check_limits(specs: Sequence[ModeSpec], timeout: float | None,
                 default_workers: int) -> float | None:
    """Refuse, before any work, a pool too big to start or a timeout no clock can hold."""
    from profkit.config import check_seconds, check_workers

    check_workers([default_workers], "--workers")
    for s in specs:
        check_workers([s.workers], f"--modes {s}")
    return None if timeout is None else check_seconds(timeout, "--timeout")


def make_options(wl: Workload, *, modes: str | Sequence[str], workers: int | None,
                 repeat: int | str | None, precision: float | str | None, max_rounds: int,
                 max_time: float | None, chunksize: int | str | None, lines: Sequence[str] | str,
                 start_method: str | None, timeout: float | None, sweep: bool,
                 scheduler: str | None, line_budget: float | str | None, seed: int | None,
                 gc: str, memory_lines: Sequence[str] | str = (),
                 memory_line_budget: float = DEFAULT_MEMORY_LINE_BUDGET_S,
                 profile_budget: float | str | None = AUTO) -> Options:
    """Every option checked once, in one place; UsageError names the flag and the fix."""
    n_workers = parse_workers(workers, "--workers") if workers is not None else available_cpus()
    specs: list[ModeSpec] = parse_modes(modes, n_workers)
    timeout = check_limits(specs, timeout, n_workers)
    if any(s.kind == "dask" for s in specs):
        # Fail before any mode runs, not after sequential and processes are done.
        from profkit.executors.dask.addresses import check_available, normalize_address

        check_available()
        if scheduler:
            scheduler = normalize_address(scheduler)
    chunk, chunk_auto = parse_chunksize(chunksize)
    own_lines = [f"{f.__module__}:{f.__qualname__}" for f in wl.line_functions]
    options = Options(
        modes=specs,
        repeat=parse_repeat(repeat),
        precision=None if precision is None else parse_fraction(precision, "--precision"),
        max_rounds=parse_positive_int(max_rounds, "--max-rounds"),
        max_rounds_s=parse_seconds(max_time, "--max-time") or float("inf"),
        chunksize=chunk,
        chunksize_auto=chunk_auto,
        line_names=tuple(dict.fromkeys([*own_lines, *_checked_line_names(wl, lines, "--lines")])),
        line_budget_s=parse_budget(line_budget, "--line-budget"),
        profile_budget_s=parse_budget(profile_budget, "--profile-budget"),
        memory_line_names=_memory_line_names(wl, memory_lines),
        memory_line_budget_s=parse_seconds(memory_line_budget, "--memory-line-budget")
        or DEFAULT_MEMORY_LINE_BUDGET_S,
        start_method=default_start_method(),
        timeout_s=parse_seconds(timeout, "--timeout"),
        sweep=sweep,
        scheduler=scheduler,
        seed=seed,
        gc_timed=parse_gc(gc),
    )
    options.min_rounds = min(options.min_rounds, options.max_rounds)
    if start_method:
        if start_method not in START_METHODS:
            raise UsageError(f"unknown start method {start_method!r}: choose from "
                             f"{', '.join(START_METHODS)}")
        options.start_method = start_method
    return options


def _names(names: Sequence[str] | str, what: str) -> list[str]:
    """Function names from a list or a comma-separated string; UsageError for anything else."""
    parts = names.split(",") if isinstance(names, str) else names
    if not isinstance(parts, (list, tuple)) or not all(isinstance(n, str) for n in parts):
        raise UsageError(f"{what} must be function names (a list of strings, or one string with "
                         f"commas), got {names!r}")
    return [n.strip() for n in parts if n.strip()]


def _memory_line_names(wl: Workload, names: Sequence[str] | str) -> tuple[str, ...]:
    """The ``--memory-lines`` names, each checked by resolving it here, before any mode runs."""
    return _checked_line_names(wl, names, "--memory-lines", "memory_profiler")


def _checked_line_names(wl: Workload, names: Sequence[str] | str, flag: str,
                        tracer: str = "line_profiler") -> tuple[str, ...]:
    """``--lines`` or ``--memory-lines`` names, each resolved here, before any mode runs (a
    misspelt one failed every mode after the timing rounds)."""
    from profkit.collectors.worker import resolve_line_functions

    clean = tuple(dict.fromkeys(_names(names, flag)))
    for name in clean:
        try:
            found = resolve_line_functions(wl.task, (name,), with_task=False)
        except (ImportError, AttributeError, ValueError) as exc:
            raise UsageError(f"{flag} {name}: no such function ({type(exc).__name__}: "
                             f"{exc}); give a name in the task's module or module:qualname") from None
        if not all(hasattr(f, "__code__") for f in found):
            raise UsageError(f"{flag} {name}: not a Python function, so {tracer} "
                             "cannot trace its lines")
    return clean


_P = ParamSpec("_P")
_R = TypeVar("_R")


def checked_call(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """``fn`` that turns a bad call (an unknown option, a missing target) into UsageError.

    Python would raise TypeError; this names the option and, by difflib, the one meant.
    """
    signature = inspect.signature(fn)
    options = [n for n, p in signature.parameters.items() if p.kind is p.KEYWORD_ONLY]

    @functools.wraps(fn)
    def call(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            signature.bind(*args, **kwargs)
        except TypeError as exc:
            unknown = [k for k in kwargs if k not in signature.parameters]
            if unknown:
                close = difflib.get_close_matches(unknown[0], options, n=1)
                hint = f"did you mean {close[0]}? " if close else ""
                raise UsageError(f"{fn.__name__}() has no option {unknown[0]!r}: {hint}the options "
                                 f"are {', '.join(options)} (see help(profkit.{fn.__name__}))") \
                    from None
            raise UsageError(f"{fn.__name__}(): {exc} (see help(profkit.{fn.__name__}))") from None
        return fn(*args, **kwargs)

    return call


def _check_api_values(progress: object = None, target: object = None, sweep: object = False,
                      seed: object = None) -> None:
    """The options only the API has (the others are checked with the flags, in make_options)."""
    if progress is not None and not callable(progress):
        raise UsageError(f"progress must be a function taking one line of text, or None, "
                         f"got {progress!r}")
    if target is not None and not isinstance(target, str):
        raise UsageError(f"target must be the workload's name as text, or None, got {target!r}")
    if not isinstance(sweep, bool):
        raise UsageError(f"sweep must be True or False, got {sweep!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise UsageError(f"seed must be a whole number, or None, got {seed!r}")


@checked_call
def profile(
    workload: Workload | Callable[..., Any] | str,
    items: Sequence[Any] | Callable[[], Sequence[Any]] | None = None,
    *,
    modes: str | Sequence[str] = DEFAULT_MODES,
    workers: int | None = None,
    repeat: int | str | None = None,
    precision: float | str | None = None,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
    max_time: float | None = DEFAULT_MAX_ROUNDS_S,
    chunksize: int | str | None = None,
    lines: Sequence[str] | str = (),
    out: str | os.PathLike[str] | None = None,
    start_method: str | None = None,
    timeout: float | None = None,
    sweep: bool = False,
    scheduler: str | None = None,
    line_budget: float | str = AUTO,
    profile_budget: float | str = AUTO,
    memory_lines: Sequence[str] | str = (),
    memory_line_budget: float = DEFAULT_MEMORY_LINE_BUDGET_S,
    progress: Progress | None = None,
    target: str | None = None,
    seed: int | None = None,
    gc: str = "off",
) -> Run:
    """Profile a task mapped over items in each mode; return the Run (saved if ``out`` is given).

    ``workload`` is one of:

    - a :class:`profkit.Workload`;
    - a function decorated with ``@profkit.workload(items=[...])``;
    - a plain function, with ``items``: ``profile(f, items=[1, 2, 3])``;
    - a target string, as on the command line: ``"primes"``, ``"package.module:name"``
      or ``"path/to/file.py:name"``.

    ``items`` (a list, or a zero-argument callable returning one) replace the
    workload's own items. Closures, lambdas and functions defined in ``__main__``
    or a notebook run as they are in sequential and threads mode, and travel by
    value (cloudpickle) to processes, pool and dask workers; a mode that cannot
    receive the task fails alone, with its reason in ``run.meta["errors"]``.

    The options are ``profkit profile``'s flags, with ``_`` for ``-``:

    - ``modes``: ``"sequential,threads,processes"`` (the default) or a list; also
      ``pool`` and ``dask``, each with an optional ``:N`` worker count.
    - ``workers``: workers per pool (default: the CPUs this process may use).
    - ``repeat``: interleaved timing rounds, or ``"auto"`` (the default): rounds go
      on until the recommendation is settled (or, with ``precision``, every speedup is known
      within it).
    - ``precision``: a 95% interval ``repeat="auto"`` aims for instead, ``0.03`` or ``"3%"``.
    - ``max_rounds``, ``max_time``: for ``repeat="auto"``, at most this many rounds,
      and no new round after this many seconds.
    - ``chunksize``: items handed to a worker at a time (processes, pool), N or ``"auto"``
      (tiny tasks get four chunks per worker, others one item at a time).
    - ``lines``: extra functions for line_profiler (a list, or names with commas).
    - ``profile_budget``, ``line_budget``: which items the cProfile and line_profiler
      passes cover, always whole: ``"auto"`` (every item when that is cheap, else a
      sample of whole items from across the list whose cost grows with the work),
      ``"all"``, or seconds of estimated traced time per profiling worker.
    - ``memory_lines``: functions for memory_profiler's line profiler, run inside
      the workers on the items that fit ``memory_line_budget`` seconds per mode.
    - ``out``: the run folder to create; ``None`` (the default) keeps the run in memory.
    - ``start_method``: ``"fork"``, ``"forkserver"`` or ``"spawn"`` for the process pools.
    - ``timeout``: seconds each mode may take before it is stopped.
    - ``sweep``: also time processes and threads at 1..CPUs workers (and 2x CPUs).
    - ``scheduler``: a Dask scheduler address ``tcp://HOST:PORT`` for the dask mode.
    - ``gc``: garbage collection during the timed maps: ``"off"`` (timeit's way) or ``"on"``.

    API only: ``progress`` (a callable given each progress line), ``target`` (the
    name the report shows for the workload) and ``seed`` (the rounds' random order).

    Raises a :class:`profkit.ProfkitError` subclass for every mistake in the call:
    ``WorkloadError`` for a target or items that cannot be used, ``UsageError`` for
    an unknown option (with the one meant) or a bad value, ``RunDirError`` for an
    ``out`` that exists. A mode that fails does not raise: see ``run.failed_modes``.
    """
    _check_api_values(progress=progress, target=target, sweep=sweep, seed=seed)
    target = target or (workload if isinstance(workload, str) else None)
    wl = as_workload(workload, items)
    options = make_options(wl, modes=modes, workers=workers, repeat=repeat, precision=precision,
                           max_rounds=max_rounds, max_time=max_time, chunksize=chunksize,
                           lines=lines, start_method=start_method, timeout=timeout, sweep=sweep,
                           scheduler=scheduler, line_budget=line_budget, seed=seed, gc=gc,
                           memory_lines=memory_lines, memory_line_budget=memory_line_budget,
                           profile_budget=profile_budget)
    # The folder is claimed (absolute: a task may chdir) before any work, and removed again
    # if no run gets saved in it; Ctrl-C waits while the finished run is analysed and saved.
    with claimed_run_dir(out) as out_dir:
        raw = run_workload(wl, options, progress, file_modules=dict(FILE_MODULES))
        with deferred_signals():
            run = measured_run(raw, target)
            heap.release()  # the frames' building copies are gone before the run is saved
            if out_dir is None:
                analyse_run(run)
            else:  # the measurements are saved first: a failing analysis loses nothing
                run.save(out_dir, analyse=analyse_run)
    return run


@dataclass
class AbResult:
    """Two versions raced in one run: each half as a Run, and B against A, round by round."""

    run_a: Run
    run_b: Run
    comparison: Comparison
    path: Path | None = None


@checked_call
def ab(
    target_a: Workload | Callable[..., Any] | str,
    target_b: Workload | Callable[..., Any] | str,
    items: Sequence[Any] | Callable[[], Sequence[Any]] | None = None,
    *,
    modes: str | Sequence[str] = DEFAULT_MODES,
    workers: int | None = None,
    repeat: int | str | None = None,
    precision: float | str = DEFAULT_PRECISION,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
    max_time: float | None = DEFAULT_AB_MAX_ROUNDS_S,
    chunksize: int | str | None = None,
    lines: Sequence[str] | str = (),
    out: str | os.PathLike[str] | None = None,
    start_method: str | None = None,
    timeout: float | None = None,
    scheduler: str | None = None,
    line_budget: float | str = AUTO,
    profile_budget: float | str = AUTO,
    progress: Progress | None = None,
    seed: int | None = None,
    gc: str = "off",
    min_effect: float = 5.0,
    level: float = 0.99,
    memory_lines: Sequence[str] | str = (),
    memory_line_budget: float = DEFAULT_MEMORY_LINE_BUDGET_S,
) -> AbResult:
    """Race ``target_b`` against ``target_a`` in one interleaved run, on the same pools.

    The targets and options are :func:`profile`'s (``items``, if given, are both
    targets' items). With ``out``, the folder gets ``A/`` and ``B/`` (run folders
    that ``profkit report`` and ``compare`` read) and ``ab.html``. The rule is
    ``profkit compare``'s, on paired rounds, with its ``min_effect`` (percent) and
    ``level`` (of the interval).
    """
    from profkit.analysis.compare import Measure, compare_runs
    from profkit.engine.ab import run_ab

    _check_api_values(progress=progress, seed=seed)
    wl_a, wl_b = as_workload(target_a, items), as_workload(target_b, items)
    options = make_options(wl_a, modes=modes, workers=workers, repeat=repeat, precision=precision,
                           max_rounds=max_rounds, max_time=max_time, chunksize=chunksize,
                           lines=lines, start_method=start_method, timeout=timeout, sweep=False,
                           scheduler=scheduler, line_budget=line_budget, seed=seed, gc=gc,
                           memory_lines=memory_lines, memory_line_budget=memory_line_budget,
                           profile_budget=profile_budget)
    names = (target_a if isinstance(target_a, str) else None,
             target_b if isinstance(target_b, str) else None)
    with claimed_run_dir(out) as out_dir:
        raw_a, raw_b = run_ab(wl_a, wl_b, options, progress, file_modules=dict(FILE_MODULES))
        with deferred_signals():
            run_a, run_b = build_run(raw_a, names[0]), build_run(raw_b, names[1])
            # wall time: the rounds pair A and B, so load that comes and goes cancels out. When
            # other programs were busy in all but one round, load swings within a round (a 40 ms
            # map took 0.13-0.65 s beside 2 busy cores) and wall judges the machine: the rule then
            # picks CPU time where the waits spread and it gives the narrower interval
            clean = sum(1 for r in raw_a.rounds if not r.spoiled)
            comparison = compare_runs(run_a, run_b, level=level, min_effect_pct=min_effect,
                                      paired=True, measure=Measure.WALL if clean >= 2 else None)
            if out_dir is not None:
                from profkit.store import AB_FILE, atomic_write_text, to_json

                run_a.save(out_dir / "A")
                run_b.save(out_dir / "B")
                atomic_write_text(out_dir / AB_FILE, to_json(comparison.to_dict()))
    return AbResult(run_a, run_b, comparison, out_dir)
