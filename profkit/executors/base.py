"""The interface every executor implements, and the helpers they share.

An executor is one way to run ``task`` over ``items``: it starts its workers,
times a bare map, runs collector batches inside its workers, names its worker
processes and closes, killing what hangs. It declares :class:`Traits`, so the
rest of profkit asks what a mode *is* instead of comparing its name.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import signal
import sys
import threading
import time
import timeit
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar

from profkit.model import JSON, ModeSpec, Task, Traits

if TYPE_CHECKING:
    import psutil

    from profkit.executors.shipping import ByValue

__all__ = ["Executor", "Handle", "Settings", "Task"]

R = TypeVar("R")
T = TypeVar("T")
R_co = TypeVar("R_co", covariant=True)


class Handle(Protocol[R_co]):
    """A submitted call: ``result(timeout)`` returns its value or raises."""

    def result(self, timeout: float | None = None) -> R_co: ...


@dataclass(frozen=True)
class Settings:
    """What every executor may need from the run's options."""

    start_method: str = "fork"
    #: Items per hand-out for pools that honour it; None: the pool's own default.
    chunksize: int | None = None
    scheduler: str | None = None
    #: Workload files loaded by path: module name -> path (spawned workers load them too).
    file_modules: dict[str, str] = field(default_factory=dict)
    #: GC during the timed maps, in the parent and every worker: off (timeit's way) or on.
    gc_timed: bool = False


class Executor(ABC):
    """A started (or startable) pool of one mode."""

    kind: ClassVar[str]
    traits: ClassVar[Traits]

    def __init__(self, spec: ModeSpec, settings: Settings) -> None:
        self.spec = spec
        self.workers = spec.workers
        self.settings = settings
        self.startup_s = 0.0
        #: True once a hung task was left running in a thread no one can kill.
        self.abandoned = False
        #: Functions from ``__main__`` shipped by value in this run: id -> (function, wrapper).
        self._shipped: dict[int, tuple[object, ByValue | None]] = {}
        #: CPU seconds of the one thread that ran the items in the last timed map, where one
        #: thread of this process ran them all (sequential); NaN elsewhere.
        self.map_thread_cpu_s = float("nan")

    @property
    def starts_by_fork(self) -> bool:
        """True if start() forks this process: such executors start before any thread-owning one."""
        return False

    @abstractmethod
    def start(self, task: Task) -> float:
        """Start the workers, wait until each one has loaded ``task``; return the seconds it took."""

    @abstractmethod
    def submit(self, fn: Callable[..., R], *args: object) -> Handle[R]:
        """Run ``fn(*args)`` on one worker."""

    @abstractmethod
    def time_map(self, task: Task, items: list[object], timeout: float | None) -> tuple[float, float]:
        """One bare map with no profiler and GC off; return wall and CPU seconds (all workers)."""

    def worker_pids(self) -> list[int]:
        """Pids of worker processes on this host other than the parent."""
        return []

    @abstractmethod
    def close(self, *, kill: bool = False) -> None:
        """Shut down; with ``kill``, terminate workers that may hang. Safe to call twice."""

    @property
    def workers_inherit_main(self) -> bool:
        """True if the workers see this process's ``__main__`` (they are forked from it)."""
        return self.settings.start_method == "fork"

    def ship(self, obj: T) -> T | ByValue:
        """``obj`` as this executor's workers can load it: by value if it lives in ``__main__``."""
        from profkit.executors.shipping import ship

        return ship(obj, self.workers_inherit_main, str(self.spec), self._shipped)

    @classmethod
    def dispatch_chunksize(cls, chunksize: int | None, n_items: int, workers: int) -> int:
        """Items per hand-out that a map of ``n_items`` really uses (the schedule's unit)."""
        return max(1, chunksize or 1) if cls.traits.honours_chunksize else 1

    def describe(self) -> dict[str, JSON]:
        """What the report says about this pool."""
        return {"kind": self.kind, "workers": self.workers}


# -- helpers shared by the executors --


def timed_loop(fn: Callable[[], object], gc_on: bool = False) -> tuple[float, float]:
    """Wall and CPU seconds of one call of ``fn`` under timeit: GC off, as timeit does, or on.

    With GC on, a collection first: profkit's own garbage from between the maps would
    otherwise bring on a full collection inside the map (in a large process, such as a
    notebook's, one that walks its whole heap).
    """
    if gc_on:
        gc.collect()
    cpu0 = time.process_time()
    wall = timeit.Timer(fn, setup=gc.enable if gc_on else "pass").timeit(number=1)
    return wall, time.process_time() - cpu0


def plain_loop(task: Task, items: list[object]) -> list[object]:
    """The bare sequential map."""
    return [task(item) for item in items]


def processes_cpu(pids: list[int]) -> float:
    """User plus system CPU seconds of the given processes so far."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def time_in_parent(run: Callable[[], object], pids: list[int],
                   gc_on: bool = False) -> tuple[float, float]:
    """Time ``run`` under timeit in this thread; CPU counts this process and ``pids``."""
    before = processes_cpu(pids)
    wall, cpu = timed_loop(run, gc_on)
    return wall, cpu + processes_cpu(pids) - before


def _is_resource_tracker(process: psutil.Process) -> bool:
    try:
        return any("multiprocessing.resource_tracker" in part for part in process.cmdline())
    except Exception:  # noqa: BLE001 - gone, or not ours to read
        return False


def descendants(pids: list[int], *, resource_trackers: bool = False) -> list[psutil.Process]:
    """Live processes below ``pids`` (a task's own pool, and its pool's pools), as psutil
    handles that still name them once they are orphaned. Resource trackers are left out unless
    asked for: they exit on their own once the processes that use them are gone, and unlink
    their semaphores."""
    import psutil

    found: dict[int, psutil.Process] = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(pid).children(recursive=True):
                found.setdefault(child.pid, child)
    return [p for p in found.values() if resource_trackers or not _is_resource_tracker(p)]


def end_processes(processes: list[psutil.Process], grace_s: float = 1.0) -> None:
    """SIGTERM ``processes`` (psutil handles), then SIGKILL what is left after ``grace_s``."""
    import psutil

    if not processes:
        return
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, alive = psutil.wait_procs(processes, timeout=grace_s)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(alive, timeout=3)


def child_processes() -> set[tuple[int, float]]:
    """(pid, start time) of every process below this one now, for :func:`end_new_children`."""
    import psutil

    found = set()
    for process in descendants([os.getpid()]):
        with contextlib.suppress(psutil.Error):
            found.add((process.pid, process.create_time()))
    return found


#: Processes started to outlive profkit (the browser ``--open`` starts), and the sessions of
#: their own they made: :func:`end_new_children` leaves them.
_kept: set[tuple[int, float]] = set()
_kept_sessions: set[int] = set()
_PR_SET_CHILD_SUBREAPER = 36


def adopt_orphans(adopt: bool = True) -> bool:
    """Make this process the reaper of its orphaned descendants (Linux ``PR_SET_CHILD_SUBREAPER``).

    A process a task starts and detaches (``start_new_session``, a double fork) would
    otherwise pass to init once its parent exits, out of profkit's sight; adopted, it stays
    below profkit, where :func:`end_new_children` finds it. Returns False where the kernel
    has no such thing: there, only processes whose parent still lives are found.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_CHILD_SUBREAPER, int(adopt), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def keep_new_children(before: set[tuple[int, float]]) -> None:
    """Let the processes started since ``before`` outlive profkit, with any session of their
    own and what it holds (a browser, which ``webbrowser`` starts in a new session)."""
    import psutil

    own = os.getsid(0)
    for process in descendants([os.getpid()]):
        with contextlib.suppress(psutil.Error, OSError):
            key = (process.pid, process.create_time())
            if key not in before:
                _kept.add(key)
                if (session := os.getsid(process.pid)) != own:
                    _kept_sessions.add(session)


def _new_children(before: set[tuple[int, float]]) -> list[psutil.Process]:
    """Processes below this one that are neither in ``before`` nor kept."""
    import psutil

    new = []
    for process in descendants([os.getpid()]):
        with contextlib.suppress(psutil.Error, OSError):
            key = (process.pid, process.create_time())
            if key not in before and key not in _kept \
                    and os.getsid(process.pid) not in _kept_sessions:
                new.append(process)
    return new


def end_new_children(before: set[tuple[int, float]]) -> None:
    """End every process below this one that was not in ``before`` (the CLI's last step).

    profkit closes its own pools; what is left was started by a task (its own pool, left
    running by a task that timed out; a process it detached into a session of its own,
    adopted by :func:`adopt_orphans`) and would outlive profkit as an orphan. Processes the
    caller had before (a test's, a notebook's) are not profkit's to end, nor is a kept one
    (:func:`keep_new_children`).
    """
    end_processes(_new_children(before))


def kill_new_children_before_exit(before: set[tuple[int, float]]) -> None:
    """SIGKILL every new child at once; the caller ``os._exit``s next.

    For the exit around a stuck task's thread: that task's own ``Pool`` refills itself from
    a thread of its own when a worker dies, and a worker spawned between the kills and the
    exit would outlive profkit. Each worker is stopped (SIGSTOP) before any is killed, so
    none of them exits and wakes its pool's thread before the kills are done; a worker
    forked after the scan is a child of a stopped process or of this one, and dies with it
    (:func:`die_with_parent`). Nothing here waits on another thread: a task thread spinning
    in pure Python shares the GIL at the usual switch interval, and the exit follows at once.
    """
    new = _new_children(before)
    for signum in (signal.SIGSTOP, signal.SIGKILL):
        for process in new:
            with contextlib.suppress(OSError):
                os.kill(process.pid, signum)


def stop_threads(threads: list[threading.Thread], wait_s: float = 1.0) -> bool:
    """End threads stuck in a task; True if one is still alive after ``wait_s``.

    A thread cannot be killed, but one running Python code takes :class:`TaskAbandoned` at
    its next instruction, so it stops spinning and taking the GIL from profkit's own work.
    One that waits in C code (a long ``sleep``) takes it only when the call returns; one
    whose task swallows it runs on. Sent once: the caller has already given each thread a
    moment to end by itself, so what is alive is inside its task.
    """
    from profkit.collectors.budget import TaskAbandoned, raise_in_thread

    alive = [t for t in threads if t.is_alive() and t.ident is not None]
    for thread in alive:
        raise_in_thread(thread.ident or 0, TaskAbandoned)
    deadline = time.monotonic() + wait_s
    for thread in alive:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    return any(t.is_alive() for t in alive)


def worker_identity() -> int:
    """A number naming this worker (process and thread), for the ready check."""
    return os.getpid() * 1_000_003 + threading.get_ident() % 1_000_003


def report_ready(task: Task, pause: float) -> int:
    """A no-op whose argument unpickles the task (importing its module) and names its worker."""
    del task
    if pause:
        time.sleep(pause)
    return worker_identity()


def warm_workers(submit: Callable[..., Handle[int]], task: Task, workers: int,
                 timeout: float = 120.0) -> None:
    """Submit no-ops until every worker has answered once (each has then loaded the task)."""
    seen: set[int] = set()
    for round_ in range(40):
        pause = 0.0 if round_ == 0 else 0.005
        handles = [submit(report_ready, task, pause) for _ in range(workers)]
        seen.update(h.result(timeout=timeout) for h in handles)
        if len(seen) >= workers:
            return


_PR_SET_PDEATHSIG = 1


def die_with_parent(profkit_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no orphans after kill -9).

    The parent is profkit itself (fork, spawn) or the forkserver, which exits
    when profkit does.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    try:  # profkit died before prctl took effect: the signal will never come
        os.kill(profkit_pid, 0)
    except ProcessLookupError:
        os._exit(1)
    except PermissionError:
        pass
    if os.getppid() == 1:
        os._exit(1)
    if os.getppid() != profkit_pid:
        _watch_parent(profkit_pid)


def _watch_parent(profkit_pid: int) -> None:
    """End this worker when profkit dies, though its parent (the forkserver) lives on.

    A forkserver's workers hold the forkserver's "alive" pipe, so the forkserver outlives a
    SIGKILLed profkit for as long as they do, and they for as long as it does: orphans for
    good. A daemon thread blocked on a pidfd (no polling, no GIL held) breaks the tie.
    """
    import select

    try:
        pidfd: int | None = os.pidfd_open(profkit_pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd on this kernel: check twice a second instead
        pidfd = None

    def watch() -> None:
        if pidfd is not None:
            select.select([pidfd], [], [])
        else:
            while True:
                time.sleep(0.5)
                try:
                    os.kill(profkit_pid, 0)
                except ProcessLookupError:
                    break
                except PermissionError:
                    pass
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="profkit-parent-watch").start()


def init_process_worker(file_modules: dict[str, str], parent_pid: int, gc_timed: bool = False) -> None:
    """Set up a pool worker process.

    Default signal handlers (a forked child inherits profkit's), Ctrl-C left to
    the parent, death with the parent, the GC policy of the timed maps (the
    collector passes switch GC on), and the workload files loaded by path.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent_pid)
    from profkit.collectors.output import route_this_process

    route_this_process()
    if gc_timed:
        gc.enable()
    else:
        gc.disable()
    if file_modules:
        from profkit.workloads.registry import load_file_module

        for path in file_modules.values():
            folder = os.path.dirname(path)
            if folder not in sys.path:
                sys.path.append(folder)
            load_file_module(path)
