"""The ``profkit`` command: one module per subcommand, errors turned into exit codes.

Exit codes: 0 ok; 1 a mode failed (or ``compare --fail-above`` tripped);
2 usage (bad flag, target, folder or file); 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from typing import NoReturn, TextIO, cast

from profkit import interrupts
from profkit.errors import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    ProfkitError,
    ProfkitWarning,
)
from profkit.fmt import printable

COMMANDS = {
    "profile": ("profkit.cli.profile", "run a workload in each mode and write the report"),
    "list": ("profkit.cli.list_cmd", "list the built-in and configured workloads"),
    "report": ("profkit.cli.report", "re-render a run's index.html from its saved frames"),
    "view": ("profkit.cli.view", "open a mode's .prof in snakeviz (127.0.0.1)"),
    "lines": ("profkit.cli.lines", "print a mode's line profile in the terminal"),
    "compare": ("profkit.cli.compare", "compare two runs: wall time and self time changes"),
    "ab": ("profkit.cli.ab", "race two versions of a task in one interleaved run, and gate on it"),
    "run": ("profkit.cli.run_cmd", "run a program as it is and profile it, its pools included"),
}


#: Commands that open run folders, which may come from someone else.
RUN_FOLDER_COMMANDS = ("report", "view", "lines", "compare")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line, exit code 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(printable(f"{self.prog}: error: {message} (see {self.prog} --help)") + "\n")
        sys.exit(EXIT_USAGE)


class _Printable:
    """A text stream that shows control characters as escapes (:func:`profkit.fmt.printable`)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(printable(text))

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


@contextlib.contextmanager
def _printable_output(command: str) -> Iterator[None]:
    """While a run-folder command runs, nothing it prints can drive the terminal."""
    if command not in RUN_FOLDER_COMMANDS:
        yield
        return
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = cast(TextIO, _Printable(sys.stdout)), cast(TextIO, _Printable(sys.stderr))
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def build_parser() -> argparse.ArgumentParser:
    from profkit import __version__

    parser = _Parser(
        prog="profkit",
        description="Where does the time go, and does parallelism pay off? profkit runs a "
        "workload sequentially, in threads and in processes, profiles each run inside the "
        "workers, and writes one HTML report.",
        epilog="exit codes: 0 ok, 1 a mode failed, 2 usage error, 130 interrupted (Ctrl-C), "
        "143 terminated (SIGTERM)",
    )
    parser.add_argument("--version", action="version", version=f"profkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command)
        command.set_defaults(_module=module)
    return parser


#: The CLI's own process: a forked child that still has this handler must not raise in it.
_CLI_PID = os.getpid()


def _stop(signum: int, frame: object) -> None:
    """Ctrl-C and SIGTERM: record the stop (see :mod:`profkit.interrupts`), then raise it."""
    if os.getpid() != _CLI_PID:  # a forked child before its after-fork reset: act as default
        if signum == signal.SIGTERM:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        signal.signal(signal.SIGINT, signal.default_int_handler)
        raise KeyboardInterrupt
    interrupts.record(signum)
    if getattr(_fork_masks, "in_hooks", False):
        # Raised inside os.fork()'s at-fork hooks, the KeyboardInterrupt would be dropped:
        # send the signal again, to land once fork() has returned.
        interrupts.send_again(signum)
        return
    raise KeyboardInterrupt


#: The SIGTERM handler's old name (tests install it directly).
_terminate = _stop


def _is_profkit_handler(handler: object) -> bool:
    return callable(handler) and str(getattr(handler, "__module__", "")).startswith("profkit.")


#: The forking thread's signal mask while a fork is under way: restored after it.
_fork_masks = threading.local()


def _before_fork() -> None:
    """Hold SIGINT and SIGTERM in the forking thread, so a child cannot catch them with
    profkit's handler, and the parent's handler runs only once fork() is done.

    A SIGTERM that reaches a fresh child before CPython's after-fork reset is dropped
    there (the interpreter clears its pending signals): the child then ignores the one
    ``Pool.terminate()`` sends, and the pool's join waits forever. Held, it stays
    pending until the child has its default handler back.
    """
    held = {s for s in (signal.SIGINT, signal.SIGTERM)
            if _is_profkit_handler(signal.getsignal(s))}
    if held:
        _fork_masks.in_hooks = True
        _fork_masks.held = signal.pthread_sigmask(signal.SIG_BLOCK, held)


def _release_after_fork() -> None:
    """Restore the mask; a SIGTERM held during the fork is handled here (see :func:`_terminate`)."""
    held = getattr(_fork_masks, "held", None)
    if held is not None:
        _fork_masks.held = None
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        finally:
            _fork_masks.in_hooks = False


def _after_fork_in_child() -> None:
    """Every forked child (a pool worker, a task's own pool's workers) gets the default handlers
    back: profkit's SIGTERM, Ctrl-C and save-deferral handlers belong to profkit's process."""
    if _is_profkit_handler(signal.getsignal(signal.SIGTERM)):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if _is_profkit_handler(signal.getsignal(signal.SIGINT)):
        signal.signal(signal.SIGINT, signal.default_int_handler)
    _release_after_fork()


os.register_at_fork(before=_before_fork, after_in_parent=_release_after_fork,
                    after_in_child=_after_fork_in_child)


def _exit_interrupted(signum: int, frame: object) -> None:
    """A second Ctrl-C or SIGTERM while profkit is already stopping: leave now, no traceback,
    with the first stop's code (130 or 143)."""
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    with contextlib.suppress(Exception):
        from profkit.workloads.registry import remove_import_shims

        remove_import_shims()
    interrupts.record(signum)
    os._exit(interrupts.exit_code())


def _exit_on_next_signal() -> None:
    """Once stopping, another Ctrl-C must not raise inside interpreter shutdown (that crashed
    with a fatal error): it ends the process at once, 130 or 143. What was saved is saved."""
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, _exit_interrupted)


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:
    """profkit's own warnings as one 'profkit: warning:' line; the user's code's (the target's
    module, its task, a library it calls) as Python shows them, with their file and category."""
    if isinstance(category, type) and issubclass(category, ProfkitWarning):
        sys.stderr.write(printable(f"profkit: warning: {message}") + "\n")
    else:
        sys.stderr.write(printable(f"{filename}:{lineno}: {category.__name__}: {message}") + "\n")


#: Commands that import the user's own code: the target, or the modules [tool.profkit] names.
IMPORTING_COMMANDS = ("profile", "ab", "list")


def import_folders(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """The folders the command imports the user's own code from: first and last on sys.path.

    Neither ``python -m profkit`` (see :mod:`profkit`) nor the ``profkit`` script leaves the
    working folder on sys.path: ``report``, ``view``, ``lines`` and ``compare`` open run folders
    that may come from someone else, and import nothing from them. ``profile``, ``ab`` and
    ``list`` import the user's code: the working folder comes first (as ``python -m`` has it)
    for a module target (``mymodule:name``), a configured workload, a ``--lines module:name``,
    and for ``list``; a file target's own folder comes last (as in the pool's workers), so its
    neighbours never shadow a module profkit needs. A built-in target needs neither.
    """
    if args.command not in IMPORTING_COMMANDS:
        return [], []
    from profkit.workloads.registry import builtin_names

    cwd = os.getcwd()
    if args.command == "list":
        return [cwd], []
    first, last = [], []
    for name in ("target", "target_a", "target_b"):
        target = getattr(args, name, None)
        if not isinstance(target, str) or target in builtin_names():
            continue
        location = target.rpartition(":")[0]
        if location.endswith(".py") or "/" in location or os.sep in location:
            last.append(os.path.dirname(os.path.abspath(os.path.expanduser(location))))
        else:
            first.append(cwd)
    if any(":" in (getattr(args, flag, None) or "") for flag in ("lines", "memory_lines")):
        first.append(cwd)
    return list(dict.fromkeys(first)), list(dict.fromkeys(last))


class _Lenient:
    """A standard stream whose writes never raise.

    Output to a pipe closed early (``| head``) or to a descriptor a task closed must
    not stop a run, nor cost its saving: what cannot be written is dropped.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except (OSError, ValueError):  # ValueError: the stream object itself was closed
            self.broken = True
            return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except (OSError, ValueError):
            self.broken = True

    def __getattr__(self, name: str) -> object:
        return getattr(self.stream, name)


@contextlib.contextmanager
def _lenient_output() -> Iterator[None]:
    """sys.stdout and sys.stderr never raise while the block runs. A stream that failed is
    pointed at /dev/null at the end, so the interpreter's last flush does not fail either."""
    real = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Lenient(real[0]), _Lenient(real[1])
    try:
        yield
    finally:
        for lenient, stream in zip((sys.stdout, sys.stderr), real, strict=True):
            if isinstance(lenient, _Lenient) and lenient.broken:
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(devnull, stream.fileno())
                    os.close(devnull)
        sys.stdout, sys.stderr = real


@contextlib.contextmanager
def program_streams() -> Iterator[None]:
    """While a program runs under ``profkit run``, sys.stdout and sys.stderr are the real
    streams, as under python: its writes to a pipe closed early raise BrokenPipeError there
    (a program that prints until its reader leaves would otherwise never end). After it,
    profkit's own writes are lenient again, and a stream the program broke is marked so."""
    lenient = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (s.stream if isinstance(s, _Lenient) else s for s in lenient)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = lenient
        for stream in lenient:
            stream.flush()  # what the program left in the buffer; _Lenient notes a failure


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of raising."""
    with _lenient_output():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    warnings.showwarning = _show_warning
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    first, last = import_folders(args)  # spawned workers inherit sys.path
    sys.path[:0] = [f for f in first if f not in sys.path]
    sys.path += [f for f in last if f not in sys.path]
    from profkit.engine.guard import short_gil_turns
    from profkit.executors.base import adopt_orphans, child_processes, end_new_children

    children_before = args._children_before = child_processes()
    adopt_orphans()  # what a task detaches stays below profkit, to be ended with the rest
    previous = _install_stop_handlers()
    try:
        with _printable_output(args.command):
            code = int(args._module.run(args))
        if code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
            _exit_on_next_signal()
        return code
    except ProfkitError as exc:
        sys.stderr.write(printable(f"profkit: error: {exc}") + "\n")
        return exc.exit_code
    except KeyboardInterrupt:
        _exit_on_next_signal()
        sys.stderr.write("profkit: interrupted\n")
        return interrupts.exit_code()
    except BrokenPipeError:
        return 0
    finally:
        with short_gil_turns():  # a program's daemon threads may still be running
            end_new_children(children_before)  # a task's own processes never outlive profkit
        adopt_orphans(False)
        _restore_stop_handlers(previous)


def _install_stop_handlers() -> dict[int, object]:
    """profkit's Ctrl-C and SIGTERM handlers (main thread only); the previous ones, to restore."""
    interrupts.reset()
    if threading.current_thread() is not threading.main_thread():
        return {}
    interrupts.install()
    previous: dict[int, object] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(signum)
        if signum == signal.SIGINT and handler is not signal.default_int_handler:
            continue  # Ctrl-C ignored or handled by the embedding program: leave it so
        previous[signum] = signal.signal(signum, _stop)
    return previous


def _restore_stop_handlers(previous: dict[int, object]) -> None:
    for signum, handler in previous.items():
        if signal.getsignal(signum) is _stop:
            signal.signal(signum, handler)  # type: ignore[arg-type]
    if previous:
        interrupts.uninstall()


def entry() -> None:
    """The ``profkit`` command and ``python -m profkit``: :func:`main`, then exit.

    The interpreter's last garbage collection at exit walks every object pandas,
    pyarrow and matplotlib made (about 0.2 s); nothing left then needs it, so the
    heap is frozen first.
    """
    code = main()
    gc.freeze()
    sys.exit(code)
