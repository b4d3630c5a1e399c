"""``profkit profile TARGET``: run, measure, save, render, summarise."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from profkit.errors import EXIT_INTERRUPTED, EXIT_MODE_FAILED, EXIT_OK, UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="TARGET",
                        help="a built-in workload (see profkit list), package.module:name "
                        "or path/to/file.py:name")
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
                        "seconds of rounds (default: 30)")
    parser.add_argument("--chunksize", help="items handed to a worker at a time, for the modes "
                        "that hand out chunks: processes (default 1) and pool (default: "
                        "Pool.map's own choice)")
    parser.add_argument("--lines", help="comma-separated extra functions for line_profiler: "
                        "name (in the task's module) or module:qualname")
    parser.add_argument("--line-budget", help="seconds the line_profiler pass may take per mode: "
                        "the cheapest items whose traced time (about 9x their plain time) fits, "
                        "at least one (default: 0.5)")
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
                        help="multiprocessing start method (default: fork on Linux, else spawn)")
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


class ProgressLine:
    """Progress on stderr: one rewritten line on a terminal, one line per step otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()

    def __call__(self, message: str) -> None:
        if not self.enabled:
            return
        text = f"[{time.perf_counter() - self.t0:6.1f}s] {message}"
        if self.tty:
            sys.stderr.write(f"\r\033[K{text}")
        else:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


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


def run(args: argparse.Namespace) -> int:
    from profkit.config import load_config
    from profkit.executors.registry import parse_positive_int, parse_workers
    from profkit.model import (
        DEFAULT_LINE_BUDGET_S,
        DEFAULT_MAX_ROUNDS,
        DEFAULT_MAX_ROUNDS_S,
        DEFAULT_MEMORY_LINE_BUDGET_S,
        DEFAULT_PRECISION,
    )
    from profkit.pipeline import DEFAULT_MODES, default_out_dir, profile
    from profkit.render import render
    from profkit.workloads.registry import resolve

    config = load_config()
    workload = resolve(args.target, config.get("workloads", []))
    modes = args.modes or config.get("modes") or DEFAULT_MODES
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
    timeout = _float(args.timeout, "--timeout") if args.timeout else config.get("timeout")
    line_budget = _float(args.line_budget, "--line-budget") or DEFAULT_LINE_BUDGET_S
    max_time = _float(args.max_time, "--max-time") if args.max_time else \
        config.get("max_time", DEFAULT_MAX_ROUNDS_S)
    max_rounds = parse_positive_int(args.max_rounds, "--max-rounds") if args.max_rounds else \
        config.get("max_rounds", DEFAULT_MAX_ROUNDS)
    out = Path(args.out) if args.out else default_out_dir(workload.name, config.get("out", "reports"))

    progress = ProgressLine(enabled=not args.quiet)
    run_ = profile(
        workload, modes=modes, workers=workers, repeat=repeat, lines=lines, out=out,
        precision=args.precision or config.get("precision", DEFAULT_PRECISION),
        max_rounds=max_rounds, max_time=max_time,
        chunksize=parse_positive_int(chunksize, "--chunksize") if chunksize is not None else None,
        start_method=args.start_method or config.get("start_method"), timeout=timeout,
        sweep=args.sweep, scheduler=args.scheduler or config.get("scheduler"),
        line_budget=line_budget, memory_lines=memory_lines,
        memory_line_budget=memory_line_budget, progress=progress, target=args.target,
    )
    progress.done()
    if args.json:
        print(render(run_, "json"))
    elif not args.quiet:
        print(render(run_, "console"))
    report = out / "index.html"
    if args.open:
        import webbrowser

        webbrowser.open(report.resolve().as_uri())
    code = EXIT_OK
    if not run_.complete:
        sys.stderr.write(f"profkit: interrupted; what finished is saved in {out}\n")
        code = EXIT_INTERRUPTED
    elif run_.failed_modes:
        sys.stderr.write(f"profkit: mode(s) failed: {', '.join(run_.failed_modes)}; "
                         f"see {report}\n")
        code = EXIT_MODE_FAILED
    if run_.meta.get("environment", {}).get("abandoned_threads"):
        # A timed-out task still runs in a thread no one can kill: exit without joining it.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
