"""``profkit run script.py [args...]`` / ``profkit run -m module [args...]``: profile a program
as it is, its pools included, and write the run folder with its report.

The exit code is the program's own (130 if Ctrl-C stopped it); the run folder is
written in every case, with what was measured.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from profkit import interrupts
from profkit.cli._common import add_out
from profkit.engine.guard import short_gil_turns
from profkit.errors import ProfkitError, UsageError
from profkit.fmt import printable

if TYPE_CHECKING:
    from profkit.program import launcher
    from profkit.program.replay import Replay


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", dest="module", metavar="MODULE",
                        help="run a module as python -m does (its arguments follow)")
    add_out(parser, "run folder to create (default: reports/<program>-<time>/)")
    parser.add_argument("--timeline-only", action="store_true",
                        help="measure the tasks' times only, with every profiler off")
    parser.add_argument("--lines", action="store_true",
                        help="line_profiler on each site's task, in the workers (slows the tasks "
                        "several times over; its times include the cProfile's cost)")
    parser.add_argument("--replay", action="store_true",
                        help="after the program, run each mapped site's task over its items again "
                        "in the local modes, as profkit profile does (runs the tasks again: off "
                        "by default, since tasks may have side effects)")
    parser.add_argument("--quiet", action="store_true", help="do not print where the report is")
    parser.add_argument("program", nargs=argparse.REMAINDER, metavar="SCRIPT [ARGS]",
                        help="the script and its arguments, as you would give them to python")


def run(args: argparse.Namespace) -> int:
    # pandas and the analysis are imported after the program: its own imports, forks and
    # start-up run as they would bare, and profkit's cost is paid once, at the end
    from profkit.program import launcher
    from profkit.store import claim_fresh_run_dir, prepare_run_dir, release_run_dir

    args._started_in = Path.cwd()  # the program may change it: paths are shown from here
    words = list(args.program)
    if not args.module and words[:1] == ["--"]:
        words = words[1:]  # the end of profkit's options, before the script
    if args.module:
        program = launcher.Program(args.module, True, tuple(words))
    elif words:
        program = launcher.Program(words[0], False, tuple(words[1:]))
    else:
        raise UsageError("give the script to run: profkit run script.py [args...] "
                         "(or profkit run -m module)")
    launcher.check(program)
    if args.lines and args.timeline_only:
        raise UsageError("--lines and --timeline-only exclude each other: --timeline-only "
                         "turns every profiler off")
    name = args.module or Path(program.target).stem
    if args.out is not None:
        out = prepare_run_dir(args.out)
    else:
        from profkit.pipeline import default_out_dir

        out = claim_fresh_run_dir(default_out_dir(name))
    try:
        from profkit.cli import program_streams

        with program_streams():
            finished = launcher.run(program, profile=not args.timeline_only,
                                    keep_items=args.replay, lines=args.lines,
                                    on_os_exit=lambda done: _save(done, args, out, None))
        code = finished.exit_code
        replays = None
        if finished.interrupted:
            code = interrupts.exit_code()
            interrupts.taken()
        else:
            with short_gil_turns():  # the program's daemon threads may still be running
                _keep_programs_children(getattr(args, "_children_before", None))
            if args.replay:
                from profkit.program.replay import replay_all

                replays = replay_all(finished.registry.sites, out)
        saved = _save(finished, args, out, replays)
        code = code or (saved.exit_code if saved is not None else 0)
        if finished.interrupted:
            with short_gil_turns():
                _leave_running_threads(code, getattr(args, "_children_before", None))
        return code
    finally:
        release_run_dir(out, discard=True)  # only if still held: nothing was saved in it


def _save(finished: launcher.Finished, args: argparse.Namespace, out: Path,
          replays: list[Replay] | None) -> ProfkitError | None:
    """Write the run folder and say where; the error if it could not be written."""
    with short_gil_turns():  # the program's threads may still be running
        return _write(finished, args, out, replays)


def _write(finished: launcher.Finished, args: argparse.Namespace, out: Path,
           replays: list[Replay] | None) -> ProfkitError | None:
    from profkit.program import record

    run_ = record.build(finished, profile=not args.timeline_only, replays=replays)
    try:
        path = record.save(run_, out)
    except ProfkitError as exc:
        sys.stderr.write(printable(f"profkit: error: {exc}") + "\n")
        return exc
    if not args.quiet:  # on stderr: the program's stdout stays its own
        from profkit.render.program import summary_lines

        report = path / "index.html"
        with contextlib.suppress(ValueError):  # shown from the working folder when inside it
            report = report.relative_to(getattr(args, "_started_in", None) or Path.cwd())
        for line in [*summary_lines(run_), f"report: {report}"]:
            sys.stderr.write(printable(f"profkit: {line}") + "\n")
    return None


def _leave_running_threads(code: int, before: set[tuple[int, float]] | None) -> None:
    """Stopped by Ctrl-C with the program's threads still running (tasks that never end, which
    a pool's shutdown would wait for): the run is saved, so profkit ends now, its processes
    with it, instead of waiting at exit for threads that will not end."""
    import os
    import threading

    current = threading.current_thread()
    if not any(t.is_alive() and not t.daemon and t is not current for t in threading.enumerate()):
        return
    from profkit.executors.base import end_new_children

    sys.stderr.write("profkit: the program's threads were still running: ended with it\n")
    if before is not None:
        end_new_children(before)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def _keep_programs_children(before: set[tuple[int, float]] | None) -> None:
    """Processes the program started and left running outlive profkit, as they would outlive
    python; its multiprocessing children are left to multiprocessing's own exit, as under
    python (pool workers ended, other processes joined)."""
    if before is None:
        return
    import multiprocessing

    from profkit.executors.base import child_processes, keep_new_children

    managed = {p.pid for p in multiprocessing.active_children()}
    keep_new_children(before | {key for key in child_processes() if key[0] in managed})
