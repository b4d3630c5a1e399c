"""``profkit profile TARGET``: run, measure, save, render, summarise."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from profkit import interrupts
from profkit.cli.progress import Plan, make_progress
from profkit.errors import EXIT_MODE_FAILED, EXIT_OK, UsageError

if TYPE_CHECKING:
    from profkit.workloads.model import Workload


def add_arguments(parser: argparse.ArgumentParser, *, target_required: bool = True) -> None:
    """The options of ``profkit profile`` (``%profkit`` reuses them, its TARGET optional)."""
    parser.add_argument("target", metavar="TARGET", nargs=None if target_required else "?",
                        help="a built-in workload (see profkit list), package.module:name "
                        "or path/to/file.py:name")
    add_run_options(parser)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """How to run and measure: shared by ``profile``, ``ab`` and ``%profkit``."""
    parser.add_argument("--modes", help="comma-separated: sequential, threads[:N], processes[:N], "
                        "pool[:N] (multiprocessing.Pool), dask[:N] "
                        "(default: sequential,threads,processes)")
    parser.add_argument("--workers", help="workers per pool (default: the CPUs this process "
                        "may use)")
    parser.add_argument("--repeat", help="interleaved timing rounds, each timing one bare map per "
                        "mode in a random order: N, or auto to go on until every speedup is "
                        "within --precision (default: auto)")
    parser.add_argument("--precision", help="for --repeat auto: the 95%% interval of every speedup "
                        "must be within this, as a fraction or a percentage (default: 3%%)")
    parser.add_argument("--max-rounds", help="for --repeat auto: at most this many rounds "
                        "(default: 25)")
    parser.add_argument("--max-time", help="for --repeat auto: start no new round after this many "
                        "seconds of rounds, once there are 3 (default: 4; profkit ab: 10)")
    parser.add_argument("--gc", choices=("off", "on"), help="garbage collection while the maps "
                        "are timed, in every mode: off, as timeit does, or on, as a plain run "
                        "(default: off); GC's own share is measured either way")
    parser.add_argument("--chunksize", help="items handed to a worker at a time, for the modes "
                        "that hand out chunks: N, or auto (four chunks per worker for tasks "
                        "under 1 ms, else 1); processes default to 1, pool to Pool.map's own "
                        "choice")
    parser.add_argument("--lines", help="comma-separated extra functions for line_profiler: "
                        "name (in the task's module) or module:qualname")
    parser.add_argument("--line-budget", help="which items the line_profiler pass traces, always "
                        "whole: auto (every item when cheap, else a sample from across the list "
                        "that grows with the work), all, or seconds of traced time (about 9x the "
                        "plain time) per tracing worker (default: auto)")
    parser.add_argument("--profile-budget", help="which items the cProfile pass profiles, always "
                        "whole: auto (every item when cheap, else a sample from across the list "
                        "that grows with the work), all, or seconds per profiling worker "
                        "(default: auto)")
    parser.add_argument("--memory-lines", help="comma-separated functions for memory_profiler's "
                        "line profiler, run inside the workers: name (in the task's module) or "
                        "module:qualname; name a function that allocates, since every traced line "
                        "reads the RSS")
    parser.add_argument("--memory-line-budget", help="seconds the memory_profiler pass may take "
                        "per mode: the cheapest items that fit; none if even one does not "
                        "(default: 2)")
    parser.add_argument("--out", help="run folder to create (default: "
                        "reports/<workload>-<YYYYmmdd-HHMMSS>); never overwritten")
    parser.add_argument("--start-method", choices=("fork", "forkserver", "spawn"),
                        help="multiprocessing start method (default: the interpreter's, fork on Linux "
                             "up to 3.13, forkserver from 3.14, spawn elsewhere)")
    parser.add_argument("--timeout", help="seconds each mode may take before it is stopped")
    parser.add_argument("--sweep", action="store_true",
                        help="also time processes and threads at 1..CPUs workers and 2x CPUs")
    parser.add_argument("--scheduler", help="Dask scheduler address tcp://HOST:PORT for the "
                        "dask mode (default: an embedded local cluster)")
    output = parser.add_argument_group("output")
    output.add_argument("--quiet", "-q", action="store_true", help="no progress, no summary")
    output.add_argument("--json", action="store_true",
                        help="print the run.json analysis summary to stdout")
    output.add_argument("--open", action="store_true", help="open the report in a browser")


def _float(text: str | None, what: str) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{what} must be a number of seconds, got {text!r}") from None
    if not value > 0:
        raise UsageError(f"{what} must be > 0, got {text}")
    return value


def _timeout(text: str | None) -> float | None:
    """``--timeout``: a finite number of seconds, within the limit the clocks can hold."""
    from profkit.config import check_seconds

    return None if text is None else check_seconds(text, "--timeout")


def prepare(args: argparse.Namespace, workload: Workload | None = None,
            name: str | None = None,
            max_time_default: float | None = None) -> tuple[Workload, dict[str, Any], Path]:
    """The workload, :func:`profkit.profile`'s keyword arguments and the run folder.

    Flags win over ``[tool.profkit]``. ``workload`` replaces ``args.target``
    (the notebook magic builds one from a function in the user's namespace).
    The folder is absolute: a task may chdir, and the run still lands here.
    """
    from profkit.config import load_config
    from profkit.executors.registry import parse_positive_int, parse_workers
    from profkit.model import (
        AUTO,
        DEFAULT_MAX_ROUNDS,
        DEFAULT_MAX_ROUNDS_S,
        DEFAULT_MEMORY_LINE_BUDGET_S,
        DEFAULT_PRECISION,
    )
    from profkit.pipeline import DEFAULT_MODES, default_out_dir
    from profkit.workloads.registry import resolve

    config = load_config()
    if workload is None:
        workload = resolve(args.target, config.get("workloads", []))
    # An empty --modes "$MODES" is a mistake to name, not a request for the defaults.
    modes = args.modes if args.modes is not None else config.get("modes", DEFAULT_MODES)
    workers = args.workers if args.workers is not None else config.get("workers")
    if workers is not None:
        workers = parse_workers(workers, "--workers")
    repeat = args.repeat if args.repeat is not None else config.get("repeat", "auto")
    chunksize = args.chunksize if args.chunksize is not None else config.get("chunksize")
    lines = [s.strip() for s in args.lines.split(",") if s.strip()] if args.lines else \
        list(config.get("lines", []))
    if args.memory_lines is not None:
        memory_lines = [s.strip() for s in args.memory_lines.split(",") if s.strip()]
    else:
        configured = config.get("memory_lines", [])
        memory_lines = configured.split(",") if isinstance(configured, str) else list(configured)
    memory_line_budget = _float(args.memory_line_budget, "--memory-line-budget") or \
        config.get("memory_line_budget", DEFAULT_MEMORY_LINE_BUDGET_S)
    timeout = _timeout(args.timeout) if args.timeout is not None else config.get("timeout")
    line_budget = args.line_budget if args.line_budget is not None else \
        config.get("line_budget", AUTO)
    profile_budget = args.profile_budget if args.profile_budget is not None else \
        config.get("profile_budget", AUTO)
    max_time = _float(args.max_time, "--max-time") if args.max_time else \
        config.get("max_time", max_time_default or DEFAULT_MAX_ROUNDS_S)
    max_rounds = parse_positive_int(args.max_rounds, "--max-rounds") if args.max_rounds else \
        config.get("max_rounds", DEFAULT_MAX_ROUNDS)
    out = (Path(args.out) if args.out else
           default_out_dir(workload.name, config.get("out", "reports"))).absolute()
    kwargs: dict[str, Any] = dict(
        modes=modes, workers=workers, repeat=repeat, lines=lines, out=out,
        precision=args.precision or config.get("precision", DEFAULT_PRECISION),
        max_rounds=max_rounds, max_time=max_time,
        chunksize=chunksize,
        start_method=args.start_method or config.get("start_method"), timeout=timeout,
        sweep=args.sweep, scheduler=args.scheduler or config.get("scheduler"),
        line_budget=line_budget, profile_budget=profile_budget, target=name or args.target,
        gc=args.gc or config.get("gc", "off"),
        memory_lines=memory_lines, memory_line_budget=memory_line_budget,
    )
    return workload, kwargs, out


def progress_plan(kwargs: dict[str, Any]) -> Plan:
    """What the progress display needs to know of the run ahead."""
    from profkit.config import parse_repeat

    modes = kwargs["modes"]
    names = [m for m in (modes.split(",") if isinstance(modes, str) else modes) if str(m).strip()]
    try:
        repeat = parse_repeat(kwargs["repeat"])
    except UsageError:
        repeat = None  # profile() reports it
    return Plan(n_modes=len(names), repeat=repeat, max_rounds=int(kwargs["max_rounds"]),
                max_time_s=float(kwargs["max_time"] or float("inf")),
                line_budget=kwargs["line_budget"])


def run(args: argparse.Namespace) -> int:
    from profkit.pipeline import profile
    from profkit.render import render
    from profkit.store import claim_fresh_run_dir, release_run_dir

    workload, kwargs, out = prepare(args)
    if not args.out:  # claimed now, so two runs started in the same second get one each
        out = kwargs["out"] = claim_fresh_run_dir(out)
    progress = make_progress(args.quiet, progress_plan(kwargs), title=f"profkit {workload.name}")
    try:
        run_ = profile(workload, progress=progress, **kwargs)
    finally:
        progress.done()
        release_run_dir(out, discard=True)  # only if still held: nothing was saved in it
    analysed = "analysis_error" not in run_.meta  # if not, the store's warning said why
    if args.json and analysed:
        print(render(run_, "json"))
    elif not args.quiet and analysed:
        print(render(run_, "console"))
    out = run_.path or out
    report = out / "index.html"
    if args.open and report.is_file():
        from profkit.cli._common import open_browser

        open_browser(report.resolve().as_uri())
    code = EXIT_OK
    if not run_.complete:
        sys.stderr.write(f"profkit: interrupted; what finished is saved in {out}\n")
        code = interrupts.exit_code()
    elif run_.failed_modes:
        sys.stderr.write(f"profkit: mode(s) failed: {', '.join(run_.failed_modes)}; "
                         f"see {report if report.is_file() else out / 'run.json'}\n")
        code = EXIT_MODE_FAILED
    elif not analysed:
        code = EXIT_MODE_FAILED
    if run_.meta.get("environment", {}).get("abandoned_threads"):
        # A timed-out task still runs in a thread no one can kill: exit without joining it,
        # and without leaving the processes it started (its own pool) behind.
        from profkit.executors.base import kill_new_children_before_exit
        from profkit.workloads.registry import remove_import_shims

        sys.stdout.flush()
        sys.stderr.flush()
        remove_import_shims()
        kill_new_children_before_exit(getattr(args, "_children_before", set()))
        os._exit(code)
    return code
