"""Run the user's program in this process, as ``python script.py`` or ``python -m module`` would.

The program gets its own ``sys.argv``, ``__name__ == "__main__"`` and the
standard streams; its pools are patched (:mod:`profkit.program.patches`) while
it runs, and the main thread runs under cProfile, switched off around each
fork so no worker inherits an active profiler. The outcome is the exit code
Python would give, and the program's own traceback is printed as Python would.
"""

from __future__ import annotations

import contextlib
import cProfile
import os
import pstats
import runpy
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NoReturn

from profkit.errors import UsageError
from profkit.program import patches
from profkit.program.sites import Registry


@dataclass(frozen=True)
class Program:
    """What to run: a script's path or a module's name, and its arguments."""

    target: str
    module: bool
    args: tuple[str, ...] = ()

    @property
    def argv0(self) -> str:
        return self.target

    def command(self) -> str:
        return " ".join((("-m " if self.module else "") + self.target, *self.args))


@dataclass
class Finished:
    """How the program ended and what was measured in the main process."""

    program: Program
    exit_code: int
    start: float
    end: float
    registry: Registry
    main_stats: pstats.Stats | None
    #: the exception's type name if the program raised (SystemExit aside), else None
    error: str | None = None
    interrupted: bool = False
    start_method: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def wall_s(self) -> float:
        return self.end - self.start


#: The main thread's profiler while a program runs: paused around each fork.
_active: cProfile.Profile | None = None


def _pause_for_fork() -> None:
    if _active is not None:
        _active.disable()


def _resume_after_fork() -> None:
    if _active is not None:
        _active.enable()


os.register_at_fork(before=_pause_for_fork, after_in_parent=_resume_after_fork)


def check(program: Program) -> None:
    """UsageError (one line) if the script or module cannot be found."""
    if program.module:
        import importlib.util

        sys.path.insert(0, os.getcwd())  # as python -m has it
        try:
            found = importlib.util.find_spec(program.target) is not None
        except (ImportError, ValueError):
            found = False
        finally:
            del sys.path[0]
        if not found:
            raise UsageError(f"no module named {program.target!r}: check the name, and run "
                             "profkit from the folder you would run python -m from")
    elif os.path.isdir(program.target):
        if not os.path.isfile(os.path.join(program.target, "__main__.py")):
            raise UsageError(f"{program.target}: a folder without a __main__.py: give the script "
                             "to run in it")
    elif not os.path.isfile(program.target):
        raise UsageError(f"{program.target}: no such file: give the path of the script to run")


def _exit_code(exc: SystemExit) -> int:
    """The status Python gives for ``sys.exit(code)``; a message goes to stderr."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF if code >= 0 else code % 256
    sys.stderr.write(f"{code}\n")
    return 1


def _run_script(target: str) -> None:
    """Run a script as ``python target`` does: ``__main__`` with its absolute ``__file__``, and
    ``sys.argv[0]`` as given (runpy would set it to the path it ran). A folder or a zip file
    with a ``__main__.py`` goes through runpy."""
    import importlib.machinery
    import io
    import types

    path = os.path.abspath(target)
    if not os.path.isfile(path) or not path.endswith((".py", ".pyw")):
        runpy.run_path(target, run_name="__main__")  # puts a folder or a zip file on sys.path
        return
    with io.open_code(path) as f:
        code = compile(f.read(), path, "exec", dont_inherit=True)
    module = types.ModuleType("__main__")
    module.__file__ = path
    module.__loader__ = importlib.machinery.SourceFileLoader("__main__", path)
    module.__dict__["__builtins__"] = __builtins__
    module.__dict__["__cached__"] = None
    module.__dict__["__spec__"] = None
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = module
    try:
        exec(code, module.__dict__)
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved


def _script_folder(target: str) -> str | None:
    """The folder python puts first on sys.path for ``python target``: a script's own folder;
    None for a folder or a zip file, which are themselves put there (by runpy, as it runs them)."""
    import zipfile

    path = os.path.abspath(target)
    if os.path.isdir(path) or zipfile.is_zipfile(path):
        return None
    return os.path.dirname(path)


def _is_own(filename: str) -> bool:
    """A frame of profkit's or of runpy's: not the program's."""
    from profkit.program.worker import is_profkit_file

    return is_profkit_file(filename) or filename in (runpy.__file__, "<frozen runpy>")


def _trimmed(te: traceback.TracebackException, seen: set[int]) -> None:
    """Drop profkit's and runpy's frames from ``te`` and the exceptions chained to it."""
    if id(te) in seen:
        return
    seen.add(id(te))
    te.stack = traceback.StackSummary.from_list([f for f in te.stack if not _is_own(f.filename)])
    for chained in (te.__cause__, te.__context__):
        if chained is not None:
            _trimmed(chained, seen)


def print_program_error(exc: BaseException) -> None:
    """The program's exception as Python prints it, without profkit's frames in it."""
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    _trimmed(te, set())
    sys.stderr.write("".join(te.format()))


def _leave_forked_child(code: int) -> None:
    """A process the program forked (``os.fork()`` outside a pool) ran the program's code to
    its end: it leaves as it would under python, with its code, and never reaches profkit's
    saving, which belongs to the process profkit started."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


@contextlib.contextmanager
def _saving_on_os_exit(on_exit: Callable[[int], None] | None) -> Iterator[None]:
    """While the program runs, its ``os._exit(n)`` in this process calls ``on_exit(n)`` (which
    saves what was measured) before the process ends, as it would, with ``n``."""
    if on_exit is None:
        yield
        return
    real_exit, pid = os._exit, os.getpid()
    calls: list[int] = []

    def _exit(status: int) -> NoReturn:
        caller = sys._getframe(1).f_code.co_filename
        if os.getpid() == pid and not calls and not _is_own(caller):
            calls.append(status)
            with contextlib.suppress(BaseException):
                on_exit(status)
        real_exit(status)

    os._exit = _exit
    try:
        yield
    finally:
        os._exit = real_exit


def run(program: Program, *, profile: bool = True, keep_items: bool = False,
        lines: bool = False, on_os_exit: Callable[[Finished], object] | None = None) -> Finished:
    """Run ``program`` to its end with its pools measured; never raises for the program's own
    exceptions (their traceback is printed, as Python prints it). ``keep_items``: keep each
    site's task and first items, for :mod:`profkit.program.replay`. ``lines``: line_profiler
    on each site's task. ``on_os_exit``: given what was measured when the program calls
    ``os._exit`` in this process, which then ends."""
    global _active
    check(program)
    pid = os.getpid()
    registry = Registry(profile=profile, keep_items=keep_items, lines=lines)
    profiler = cProfile.Profile() if profile else None
    saved_argv = sys.argv[:]
    folder = os.getcwd() if program.module else _script_folder(program.target)
    if folder is not None:
        sys.path.insert(0, folder)
    sys.argv = [program.argv0, *program.args]
    import multiprocessing

    start_method = multiprocessing.get_start_method(allow_none=True) or "default"
    patches.install(registry)
    error: str | None = None
    interrupted = False
    start = time.perf_counter()

    def exiting(code: int) -> None:
        if profiler is not None:
            profiler.disable()
        if on_os_exit is not None:
            on_os_exit(_finished(program, code, start, time.perf_counter(), registry, profiler,
                                 None, False, start_method))

    try:
        try:
            if profiler is not None:
                _active = profiler
                profiler.enable()
            with _saving_on_os_exit(exiting if on_os_exit is not None else None):
                if program.module:
                    runpy.run_module(program.target, run_name="__main__", alter_sys=True)
                else:
                    _run_script(program.target)
        finally:
            if profiler is not None:
                profiler.disable()
                _active = None
            end = time.perf_counter()
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc)
    except KeyboardInterrupt as exc:
        from profkit import interrupts

        interrupted, code = True, interrupts.exit_code()  # 130, or 128 + the stopping signal
        if code != 128 + signal.SIGTERM:  # python ends silently on SIGTERM: no Ctrl-C traceback
            error = "KeyboardInterrupt"
            print_program_error(exc)
    except BaseException as exc:  # noqa: BLE001 - the program's own error, shown as Python shows it
        error = type(exc).__name__
        print_program_error(exc)
        code = 1
    finally:
        if os.getpid() == pid:
            patches.uninstall()
            sys.argv = saved_argv
            if folder is not None and sys.path and sys.path[0] == folder:
                del sys.path[0]
    if os.getpid() != pid:
        _leave_forked_child(code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    return _finished(program, code, start, end, registry, profiler, error, interrupted,
                     start_method)


def _finished(program: Program, code: int, start: float, end: float, registry: Registry,
              profiler: cProfile.Profile | None, error: str | None, interrupted: bool,
              start_method: str) -> Finished:
    import multiprocessing

    stats = None
    if profiler is not None:
        profiler.create_stats()
        if profiler.stats:
            stats = pstats.Stats(profiler)
    return Finished(program=program, exit_code=code, start=start, end=end, registry=registry,
                    main_stats=stats, error=error, interrupted=interrupted,
                    start_method=multiprocessing.get_start_method(allow_none=True) or start_method)
