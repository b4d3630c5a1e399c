"""Keep profkit's own process working whatever a task does to it.

The sequential and threads modes run the task inside profkit's process, where it
can change what profkit's own code relies on: the recursion limit, the switch
interval, the standard file descriptors (a file opened next would take a closed
one's number), or the process itself (``os._exit``).

While a run is on, :func:`protected` holds a snapshot of these; :func:`restore`
puts them back after each step of a mode, and ``os._exit`` called from a thread
of profkit's process other than the main one raises :class:`TaskCalledExit`
there instead, so the mode fails and the others go on.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NoReturn

STD_FDS = (0, 1, 2)


class TaskCalledExit(SystemExit):
    """``os._exit(code)`` called by a task in profkit's process: the mode fails, profkit lives."""

    def __init__(self, code: int) -> None:
        super().__init__(f"the task called os._exit({code}), which would have ended profkit "
                         "with the run unsaved; profkit stopped this mode instead")
        self.exit_code = code


def _identity(fd: int) -> tuple[int, int] | None:
    """The file ``fd`` refers to, or None if it is closed."""
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return st.st_dev, st.st_ino


@dataclass
class Snapshot:
    """What profkit's process had when the run began."""

    owner_pid: int = field(default_factory=os.getpid)
    recursion_limit: int = field(default_factory=sys.getrecursionlimit)
    switch_interval: float = field(default_factory=sys.getswitchinterval)
    #: std fd -> (a duplicate of it, the file it referred to).
    fds: dict[int, tuple[int, tuple[int, int]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for fd in STD_FDS:
            identity = _identity(fd)
            if identity is not None:
                with contextlib.suppress(OSError):
                    self.fds[fd] = (os.dup(fd), identity)

    def restore(self) -> None:
        """Put back what a task changed; a no-op when it changed nothing."""
        if sys.getrecursionlimit() != self.recursion_limit:
            sys.setrecursionlimit(self.recursion_limit)
        if sys.getswitchinterval() != self.switch_interval:
            sys.setswitchinterval(self.switch_interval)
        for fd, (copy, identity) in self.fds.items():
            if _identity(fd) != identity:
                with contextlib.suppress(OSError):
                    os.dup2(copy, fd)

    def close(self) -> None:
        for copy, _ in self.fds.values():
            with contextlib.suppress(OSError):
                os.close(copy)
        self.fds.clear()


_snapshots: list[Snapshot] = []
_real_exit = os._exit


def _exit(status: int) -> NoReturn:
    """``os._exit`` while a run is on: a task thread of profkit's process gets an exception."""
    if (_snapshots and os.getpid() == _snapshots[-1].owner_pid
            and threading.current_thread() is not threading.main_thread()):
        raise TaskCalledExit(status)
    _real_exit(status)


def restore() -> None:
    """Undo what a task changed in profkit's process since the run began (if a run is on)."""
    if _snapshots and os.getpid() == _snapshots[-1].owner_pid:
        _snapshots[-1].restore()


@contextlib.contextmanager
def protected() -> Iterator[None]:
    """Snapshot the process now; restore it when the block ends; ``os._exit`` guarded inside."""
    snapshot = Snapshot()
    _snapshots.append(snapshot)
    os._exit = _exit
    try:
        yield
    finally:
        snapshot.restore()
        _snapshots.remove(snapshot)
        snapshot.close()
        if not _snapshots:
            os._exit = _real_exit


#: The switch interval while profkit works beside threads it did not start (a program's tasks
#: that never end): at the default 5 ms, profkit waits up to that long for the GIL after each
#: I/O call, and saving a run beside two spinning threads took 37 s instead of 0.35 s. At
#: 0.1 ms it took 1.8 s.
SHARED_GIL_SWITCH_INTERVAL_S = 1e-4


@contextlib.contextmanager
def short_gil_turns() -> Iterator[None]:
    """Short GIL turns for the block when other threads are alive, so that profkit's own
    work (saving a run) gets the GIL back soon after each I/O call; the interval is put back."""
    current = threading.current_thread()
    if not any(t.is_alive() and t is not current for t in threading.enumerate()):
        yield
        return
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, SHARED_GIL_SWITCH_INTERVAL_S))
    try:
        yield
    finally:
        sys.setswitchinterval(before)
