"""runner -> frames -> analysis -> Run: the one path every entry point takes."""

from __future__ import annotations

import difflib
import functools
import inspect
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from profkit.analysis.records import Analysis
from profkit.engine import heap
from profkit.engine.runner import CPROFILE_ITEMS, Progress, run_workload, sample_every
from profkit.errors import ProfkitWarning, UsageError
from profkit.frames import build_frames
from profkit.model import DEFAULT_AB_MAX_ROUNDS_S, ModeResult
from profkit.options import GIVEN, Options, build_options, for_workload
from profkit.rawrun import RawRun
from profkit.record import ModeMeta, RunMeta, WorkloadMeta
from profkit.run import Run
from profkit.store import claimed_run_dir, deferred_signals
from profkit.workloads.model import Workload
from profkit.workloads.registry import FILE_MODULES, as_workload

if TYPE_CHECKING:
    from profkit.analysis.compare import Comparison
    from profkit.model import JSON
    from profkit.workloads.model import Items


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


def _mode_meta(m: ModeResult, options: Options, n_items: int) -> ModeMeta:
    from profkit.analysis.prediction import MAX_WORKERS
    from profkit.executors.registry import executor_class

    cls = executor_class(m.spec.kind)
    chunksize = m.chunksize if m.chunksize is not None else options.chunksize
    return ModeMeta(
        chunksize=cls.dispatch_chunksize(chunksize, n_items, m.spec.workers),
        dispatch_chunksizes=[cls.dispatch_chunksize(chunksize, n_items, w)
                             for w in range(1, MAX_WORKERS + 1)],
        chunk_trial=m.chunk_trial,
        native_trial=m.native_trial,
        native_pools=list(m.native_pools),
        workers=m.spec.workers,
        traits=m.traits,
        pool=m.pool,
        startup_s=m.startup_s,
        tasks_wall_s=m.tasks_wall_s,
        line_items=list(m.line_items),
        line_cut_s={str(i): s for i, s in sorted(m.line_cut.items())},
        line_share=m.line_share,
        line_complete=m.line_plan.complete if m.line_plan is not None else None,
        line_cheapest_s=m.line_plan.cheapest_s if m.line_plan is not None else None,
        line_deferred=m.line_plan.deferred if m.line_plan is not None else None,
        memory_line_items=list(m.memory_line_items),
        memory_lines_note=m.memory_lines_note,
        memory_lines_estimate_s=m.memory_lines_estimate_s,
        memory_error=m.memory_error,
        failed_item=m.failed_item,
        task_bytes=m.dispatch.task_bytes,
        items_bytes=m.dispatch.items_bytes,
        results_bytes=m.tasks.results_bytes,
        pickle_items_s=m.dispatch.pickle_items_s,
        tasks_sample_every=sample_every(n_items),
        cprofile_items=len(m.profile_items) if m.profile is not None else None,
        cprofile_every=sample_every(n_items, CPROFILE_ITEMS),
        cprofile_indices=list(m.profile_items),
        cprofile_cut_s={str(i): s for i, s in sorted(m.profile_cut.items())},
        cprofile_share=m.profile_share,
        cprofile_complete=m.profile_plan.complete if m.profile_plan is not None else None,
        phase_s=dict(m.phases),
        traceback=m.traceback,
    )


def build_run(raw: RawRun, target: str | None = None) -> Run:
    """Frames, analysis and metadata from the raw measurements."""
    run = measured_run(raw, target)
    run.analyse()
    return run


def measured_run(raw: RawRun, target: str | None = None) -> Run:
    """Frames and metadata from the raw measurements, not analysed yet."""
    frames = build_frames(raw)
    main_modes = [m for m in raw.modes if not m.sweep]
    options = raw.options
    meta = RunMeta(
        workload=WorkloadMeta(
            name=raw.workload.name,
            description=raw.workload.description,
            target=target or raw.workload.name,
            task=_task_ref(raw.workload),
            n_items=len(raw.items),
        ),
        options=options.to_json(),
        environment=raw.environment,
        started_at=raw.started_at,
        finished_at=raw.finished_at,
        interrupted=raw.interrupted,
        rounds=list(raw.rounds),
        status={m.spec.kind: m.status for m in main_modes},
        errors={m.spec.kind: m.error for m in main_modes if m.error},
        modes={m.spec.kind: _mode_meta(m, options, len(raw.items)) for m in main_modes},
        stopping=_stopping(raw),
    )
    return Run(
        meta=meta,
        analysis=Analysis(),
        frames=frames,
        profiles={m.spec.kind: m.profile for m in main_modes if m.profile is not None},
        line_stats={m.spec.kind: m.lines for m in main_modes if m.lines is not None},
        memory_dat={m.spec.kind: m.memory_dat for m in main_modes if m.memory_dat},
    )


#: A projected "settled after" beyond this many seconds is not quoted: the pools are then about
#: as fast as the margin that tells them apart, and either answer is fine.
SETTLED_AFTER_MAX_S = 3600.0


def _stopping(raw: RawRun) -> dict[str, JSON] | None:
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
            and needed <= SETTLED_AFTER_MAX_S else None,
            "dropped": [{"mode": d.mode, "clean_rounds": d.clean, "level": d.level,
                         "settled": list(d.settled)} for d in main.dropped]}


_P = ParamSpec("_P")
_R = TypeVar("_R")


def checked_call(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """``fn`` that turns a bad call (an unknown option, a missing target) into UsageError.

    Python would raise TypeError; this names the option and, by difflib, the one meant.
    ``fn``'s ``**options`` take the names of :class:`profkit.options.Options`' settings.
    """
    signature = inspect.signature(fn)
    named = [n for n, p in signature.parameters.items() if p.kind is not p.VAR_KEYWORD]
    options = [*(n for n, p in signature.parameters.items() if p.kind is p.KEYWORD_ONLY), *GIVEN]

    @functools.wraps(fn)
    def call(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        unknown = [k for k in kwargs if k not in named and k not in GIVEN]
        if unknown:
            close = difflib.get_close_matches(unknown[0], options, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise UsageError(f"{fn.__name__}() has no option {unknown[0]!r}: {hint}the options "
                             f"are {', '.join(options)} (see help(profkit.{fn.__name__}))")
        try:
            signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise UsageError(f"{fn.__name__}(): {exc} (see help(profkit.{fn.__name__}))") from None
        return fn(*args, **kwargs)

    return call


def _check_api_values(progress: object = None, target: object = None) -> None:
    """The arguments only the API has (the options are checked by build_options)."""
    if progress is not None and not callable(progress):
        raise UsageError(f"progress must be a function taking one line of text, or None, "
                         f"got {progress!r}")
    if target is not None and not isinstance(target, str):
        raise UsageError(f"target must be the workload's name as text, or None, got {target!r}")


def _kept_going(progress: Progress | None) -> Progress | None:
    """The user's ``progress`` function, made harmless: its first exception is one warning and
    ends its calls, and the run goes on (a bug in a progress bar must not fail every mode)."""
    if progress is None:
        return None
    failed: list[BaseException] = []

    def say(line: str) -> None:
        if failed:
            return
        try:
            progress(line)
        except Exception as exc:  # noqa: BLE001 - the user's code: said once, then left alone
            failed.append(exc)
            warnings.warn(ProfkitWarning(
                f"the progress function raised {type(exc).__name__}: {exc}; it gets no more "
                "lines in this run, which goes on"), stacklevel=2)

    return say


def _options(given: Options | None, settings: dict[str, object], wl: Workload,
             defaults: dict[str, object] | None = None) -> Options:
    """The run's Options: those given, or built from the keywords; resolved for ``wl``."""
    if given is not None and settings:
        raise UsageError(f"give options=Options(...) or keyword options, not both: got "
                         f"options= and {', '.join(settings)}")
    if given is not None and not isinstance(given, Options):
        raise UsageError(f"options must be a profkit Options, got {given!r}")
    return for_workload(given or build_options(settings, defaults=defaults), wl)


@checked_call
def profile(
    workload: Workload | Callable[..., object] | str,
    items: Items | None = None,
    *,
    out: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    target: str | None = None,
    options: Options | None = None,
    **settings: object,
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
    receive the task fails alone, with its reason in ``run.meta.errors``.

    ``out`` is the run folder to create; ``None`` (the default) keeps the run in memory.
    Only the API has ``progress`` (a callable given each progress line) and ``target``
    (the name the report shows for the workload).

    The options are ``profkit profile``'s flags, with ``_`` for ``-``; or give
    ``options``, built by :func:`profkit.options.build_options`, instead:

    {options}

    Raises a :class:`profkit.ProfkitError` subclass for every mistake in the call:
    ``WorkloadError`` for a target or items that cannot be used, ``UsageError`` for
    an unknown option (with the one meant) or a bad value, ``RunDirError`` for an
    ``out`` that exists. A mode that fails does not raise: see ``run.failed_modes``.
    """
    _check_api_values(progress=progress, target=target)
    target = target or (workload if isinstance(workload, str) else None)
    wl = as_workload(workload, items)
    run_options = _options(options, settings, wl)
    # The folder is claimed (absolute: a task may chdir) before any work, and removed again
    # if no run gets saved in it; Ctrl-C waits while the finished run is analysed and saved.
    with claimed_run_dir(out) as out_dir:
        raw = run_workload(wl, run_options, _kept_going(progress),
                           file_modules=dict(FILE_MODULES))
        with deferred_signals():
            run = measured_run(raw, target)
            heap.release()  # the frames' building copies are gone before the run is saved
            if out_dir is None:
                run.analyse()
            else:  # the measurements are saved first: a failing analysis loses nothing
                run.save(out_dir, analyse=Run.analyse)
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
    target_a: Workload | Callable[..., object] | str,
    target_b: Workload | Callable[..., object] | str,
    items: Items | None = None,
    *,
    out: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    min_effect: float = 5.0,
    level: float = 0.99,
    options: Options | None = None,
    **settings: object,
) -> AbResult:
    """Race ``target_b`` against ``target_a`` in one interleaved run, on the same pools.

    The targets and options are :func:`profile`'s (``items``, if given, are both
    targets' items), but for ``sweep``, and ``max_time`` is 10 s by default. With
    ``out``, the folder gets ``A/`` and ``B/`` (run folders that ``profkit report``
    and ``compare`` read) and ``ab.html``. The rule is ``profkit compare``'s, on
    paired rounds, with its ``min_effect`` (percent) and ``level`` (of the interval).
    """
    from profkit.analysis.compare import Measure, compare_runs
    from profkit.engine.ab import run_ab

    _check_api_values(progress=progress)
    wl_a, wl_b = as_workload(target_a, items), as_workload(target_b, items)
    run_options = _options(options, settings, wl_a, {"max_time": DEFAULT_AB_MAX_ROUNDS_S})
    if run_options.sweep:
        raise UsageError("profkit ab does not sweep: drop --sweep, or sweep each target with "
                         "profkit profile")
    names = (target_a if isinstance(target_a, str) else None,
             target_b if isinstance(target_b, str) else None)
    with claimed_run_dir(out) as out_dir:
        raw_a, raw_b = run_ab(wl_a, wl_b, run_options, _kept_going(progress),
                              file_modules=dict(FILE_MODULES))
        with deferred_signals():
            run_a, run_b = build_run(raw_a, names[0]), build_run(raw_b, names[1])
            # wall time: the rounds pair A and B, so load that comes and goes cancels out. When
            # other programs were busy in all but one round, load also swings within a round, and
            # wall time would judge the machine rather than the code: the rule then
            # picks CPU time where the waits spread and it gives the narrower interval
            clean = sum(1 for r in raw_a.rounds if not r.spoiled)
            if out_dir is not None:  # saved first, so the comparison names their folders
                run_a.save(out_dir / "A")
                run_b.save(out_dir / "B")
            comparison = compare_runs(run_a, run_b, level=level, min_effect_pct=min_effect,
                                      paired=True, measure=Measure.WALL if clean >= 2 else None)
            if out_dir is not None:
                from profkit.render.text import comparison_json
                from profkit.store import AB_FILE, atomic_write_text, to_json

                atomic_write_text(out_dir / AB_FILE, to_json(comparison_json(comparison)))
    return AbResult(run_a, run_b, comparison, out_dir)


def _options_doc() -> str:
    """The options' part of :func:`profile`'s docstring, from the options' own help."""
    lines = []
    for key, (_, spec) in GIVEN.items():
        lines.append(f"- ``{key}``: {spec.help.replace('%%', '%')}.")
    return "\n    ".join(lines)


profile.__doc__ = (profile.__doc__ or "").replace("{options}", _options_doc())
