"""The ``profkit`` command: one module per subcommand, errors turned into exit codes.

Exit codes: 0 ok; 1 a mode failed (or ``compare --fail-above`` tripped);
2 usage (bad flag, target, folder or file); 130 interrupted.
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
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn, TextIO

from profkit.errors import EXIT_INTERRUPTED, EXIT_USAGE, ProfkitError

COMMANDS = {
    "profile": ("profkit.cli.profile", "run a workload in each mode and write the report"),
    "list": ("profkit.cli.list_cmd", "list the built-in and configured workloads"),
    "report": ("profkit.cli.report", "re-render a run's index.html from its saved frames"),
    "view": ("profkit.cli.view", "open a mode's .prof in snakeviz (127.0.0.1)"),
    "lines": ("profkit.cli.lines", "print a mode's line profile in the terminal"),
    "compare": ("profkit.cli.compare", "compare two runs: wall time and self time changes"),
    "ab": ("profkit.cli.ab", "race two versions of a task in one interleaved run, and gate on it"),
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line, exit code 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    from profkit import __version__

    parser = _Parser(
        prog="profkit",
        description="Where does the time go, and does parallelism pay off? profkit runs a "
        "workload sequentially, in threads and in processes, profiles each run inside the "
        "workers, and writes one HTML report.",
        epilog="exit codes: 0 ok, 1 a mode failed, 2 usage error, 130 interrupted",
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


def _terminate(signum: int, frame: object) -> None:
    if os.getpid() != _CLI_PID:  # a pool worker forked before its initializer reset signals
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    if getattr(_fork_masks, "in_hooks", False):
        # Raised inside os.fork()'s at-fork hooks, the KeyboardInterrupt would be printed and
        # dropped by CPython, and the run would go on to exit 0: send the SIGTERM again, to land
        # once fork() has returned.
        threading.Thread(target=_send_terminate_again, name="profkit-sigterm", daemon=True).start()
        return
    raise KeyboardInterrupt


def _send_terminate_again() -> None:
    time.sleep(0.005)
    os.kill(os.getpid(), signal.SIGTERM)


def _is_profkit_handler(handler: object) -> bool:
    return callable(handler) and str(getattr(handler, "__module__", "")).startswith("profkit.")


#: The forking thread's signal mask while a fork is under way: restored after it.
_fork_masks = threading.local()


def _before_fork() -> None:
    """Hold SIGTERM in the forking thread, so a child cannot catch it with profkit's handler.

    A SIGTERM that reaches a fresh child before CPython's after-fork reset is dropped
    there (the interpreter clears its pending signals): the child then ignores the one
    ``Pool.terminate()`` sends, and the pool's join waits forever. Held, it stays
    pending until the child has its default handler back.
    """
    if _is_profkit_handler(signal.getsignal(signal.SIGTERM)):
        _fork_masks.in_hooks = True
        _fork_masks.held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})


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
    """Any forked child (a pool worker, a task's own pool's workers) gets the default handlers
    back: profkit's SIGTERM, Ctrl-C and save-deferral handlers belong to profkit's process."""
    if _is_profkit_handler(signal.getsignal(signal.SIGTERM)):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if _is_profkit_handler(signal.getsignal(signal.SIGINT)):
        signal.signal(signal.SIGINT, signal.default_int_handler)
    _release_after_fork()


os.register_at_fork(before=_before_fork, after_in_parent=_release_after_fork,
                    after_in_child=_after_fork_in_child)


def _exit_interrupted(signum: int, frame: object) -> None:
    """A second Ctrl-C while profkit is already stopping: leave now, code 130, no traceback."""
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    with contextlib.suppress(Exception):
        from profkit.workloads.registry import remove_import_shims

        remove_import_shims()
    os._exit(EXIT_INTERRUPTED)


def _exit_on_next_signal() -> None:
    """Once stopping, another Ctrl-C must not raise inside interpreter shutdown (that crashed
    with a fatal error): it ends the process with 130 at once. What was saved is saved."""
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, _exit_interrupted)


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:
    sys.stderr.write(f"profkit: warning: {message}\n")


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

    def __getattr__(self, name: str) -> Any:
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of raising."""
    with _lenient_output():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    warnings.showwarning = _show_warning
    # ``python -m profkit`` puts the working folder first on sys.path; the ``profkit`` script
    # puts its own folder there instead. Do as -m does, so ``profkit profile mymodule:name`` and
    # [tool.profkit] workloads find ./mymodule.py either way (spawned workers inherit sys.path).
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    from profkit.executors.base import child_processes, end_new_children

    children_before = args._children_before = child_processes()
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        code = int(args._module.run(args))
        if code == EXIT_INTERRUPTED:
            _exit_on_next_signal()
        return code
    except ProfkitError as exc:
        sys.stderr.write(f"profkit: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        _exit_on_next_signal()
        sys.stderr.write("profkit: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    finally:
        end_new_children(children_before)  # a task's own processes never outlive profkit
        if signal.getsignal(signal.SIGTERM) is _terminate:
            signal.signal(signal.SIGTERM, previous)


def entry() -> None:
    """The ``profkit`` command and ``python -m profkit``: :func:`main`, then exit.

    The interpreter's last garbage collection at exit walks every object pandas,
    pyarrow and matplotlib made (about 0.2 s); nothing left then needs it, so the
    heap is frozen first.
    """
    code = main()
    gc.freeze()
    sys.exit(code)
