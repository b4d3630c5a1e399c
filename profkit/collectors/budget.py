"""A profiling pass's wall-time budget inside a worker: profile items until it is spent.

Line tracing slows a tight loop about ninefold, cProfile about 1.5-fold, and one
item may be far bigger than the budget. A watchdog thread waits for the batch's
deadline; if an item is running then, it raises :class:`BudgetSpent` in the
profiled thread (``PyThreadState_SetAsyncExc``). line_profiler and cProfile keep
what they counted until that moment, so the item's lines and calls are exact up
to the cut, and the item is labelled partial. Items not started by the deadline
are left out.

The cut is made safe five ways:

- the watchdog fires only while a task runs (``in_task``, under a lock), once, and from
  the deadline on no task starts: one about to begin then is skipped, not run uncut;
- it waits while a thread is being started (see :func:`starting_threads`), which
  would otherwise take the cut in the traced thread's place and leave it waiting;
- it waits while the traced thread runs a ``gc`` callback. Dask's GC diagnosis reads
  /proc inside its callback, giving up the GIL, so the watchdog often woke just then;
  a cut delivered there left the diagnosis's timer started, and every later full
  collection printed an ``AssertionError`` (``assert self._cur_start is None``);
- the exception derives from ``BaseException``, so a task's ``except Exception``
  does not swallow it;
- an exception set just as the task returned is taken by the traced thread
  itself, in a loop inside the same ``try``, so none is delivered outside the
  task (in a pool's own loop, say). It is never cleared with
  ``PyThreadState_SetAsyncExc(id, NULL)``: on CPython 3.11 that leaves the
  interpreter's "async exception pending" flag set with nothing to deliver, and
  any traced or profiled code then spins forever at its next function entry.

An exception delivered inside a ``__del__``, a weakref callback, or a ``gc`` callback
the thread entered after the cut was set, is swallowed by the interpreter as
"unraisable". profkit's ``sys.unraisablehook`` notices, keeps the interpreter
quiet about it, and wakes the watchdog, which fires again while the task runs.
"""

from __future__ import annotations

import _thread
import collections
import contextlib
import ctypes
import gc
import itertools
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import CodeType
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class BudgetSpent(BaseException):
    """Raised in the profiled thread when the pass's budget runs out mid-item."""


def _set_async_exc() -> Callable[[int, type[BaseException]], int] | None:
    api = getattr(ctypes, "pythonapi", None)  # CPython only
    if api is None:
        return None
    function = api.PyThreadState_SetAsyncExc

    def call(thread_id: int, exc: type[BaseException]) -> int:
        return int(function(ctypes.c_ulong(thread_id), ctypes.py_object(exc)))
    return call


_SET_ASYNC_EXC = _set_async_exc()
class TaskAbandoned(BaseException):
    """Raised in a task thread profkit stopped waiting for (``--timeout``): not the task's
    failure, so the collectors let it through and the thread ends."""


def raise_in_thread(thread_id: int, exc_type: type[BaseException]) -> bool:
    """Raise ``exc_type`` in thread ``thread_id`` at its next Python instruction (CPython);
    False if it cannot be sent now (no such API, or a thread is being started)."""
    if _SET_ASYNC_EXC is None or starting_threads():
        return False
    return _SET_ASYNC_EXC(thread_id, exc_type) == 1


#: Loop turns that wait for a pending exception (each turn lets the interpreter deliver it); a
#: task that caught the exception itself leaves none pending.
_MAX_SPINS = 100_000

#: How long the watchdog waits, when a thread is starting or the traced thread is in a gc callback,
#: before it looks again.
SAFE_RETRY_S = 0.0005

#: Live budgets by the thread they cut: the unraisable hook tells the right watchdog.
_BUDGETS: dict[int, ItemBudget] = {}
_HOOK_LOCK = threading.Lock()
_previous_hook: Callable[[sys.UnraisableHookArgs], object] | None = None


def _code_of(callback: object) -> CodeType | None:
    """The code object a gc callback runs: a function's, a bound method's or a callable's."""
    for candidate in (callback, getattr(callback, "__func__", None),
                      getattr(type(callback).__call__, "__func__", type(callback).__call__)):
        code = getattr(candidate, "__code__", None)
        if isinstance(code, CodeType):
            return code
    return None


def in_gc_callback(thread_id: int) -> bool:
    """True while ``thread_id`` runs a ``gc.callbacks`` entry (a collection it started).

    A callback that gives up the GIL (Dask's GC diagnosis reads /proc) lets the watchdog
    run just then; a cut delivered inside it would break the callback's own state.
    """
    codes = {code for callback in list(gc.callbacks) if (code := _code_of(callback)) is not None}
    if not codes:
        return False
    frame = sys._current_frames().get(thread_id)
    while frame is not None:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


def starting_threads() -> bool:
    """True while a ``threading.Thread`` is being started (in ``threading._limbo``).

    Until its OS thread begins, CPython 3.11 gives the new thread's state the thread id
    of the thread that starts it, and ``PyThreadState_SetAsyncExc`` may raise the cut in
    the new thread instead: it dies before it tells ``Thread.start()`` it has begun, and
    the task waits there forever (a task that starts a ``multiprocessing.Pool`` hung so).
    """
    return bool(getattr(threading, "_limbo", None))


def _unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    """A cut swallowed by a ``__del__`` or ``gc`` callback wakes its watchdog to fire again."""
    if isinstance(unraisable.exc_type, type) and issubclass(unraisable.exc_type, BudgetSpent):
        budget = _BUDGETS.get(threading.get_ident())
        if budget is not None:
            budget._swallowed = True
            budget._poke()
        return
    (_previous_hook or sys.__unraisablehook__)(unraisable)


def _register(budget: ItemBudget) -> None:
    global _previous_hook
    with _HOOK_LOCK:
        if sys.unraisablehook is not _unraisable:
            _previous_hook = sys.unraisablehook
            sys.unraisablehook = _unraisable
        _BUDGETS[budget._thread_id] = budget


def _unregister(budget: ItemBudget) -> None:
    with _HOOK_LOCK:
        if _BUDGETS.get(budget._thread_id) is budget:
            del _BUDGETS[budget._thread_id]


class ItemBudget:
    """A batch's budget: ``spent`` once it is used up; :meth:`call` cuts an item at the deadline.

    Make it in the thread that runs the items; :meth:`close` it after them.

    The watchdog is a bare thread whose loop runs in C (``deque(map(acquire, ...))``): it
    waits in ``lock.acquire`` and resumes :meth:`_steps` between waits. From CPython 3.12
    cProfile runs on ``sys.monitoring``, one call stack for every thread: a watchdog that
    returned from a Python-level wait would pop the traced item's frame off that stack and
    its time would vanish from the profile. A generator resumed from C enters and leaves
    within one step, which never blocks, so its events nest inside the traced item's.
    """

    def __init__(self, budget_s: float, clock: Callable[[], float] = time.perf_counter) -> None:
        self.budget_s = budget_s
        self._clock = clock
        self._deadline = clock() + budget_s
        self._lock = threading.Lock()
        self._in_task = False
        self._fired = False
        self._pending = False
        self._closing = False
        self._swallowed = False
        self._wake = _thread.allocate_lock()  # held; released to wake the watchdog early
        self._wake.acquire()
        self._exited = _thread.allocate_lock()  # held until the watchdog's steps end
        self._exited.acquire()
        self._thread_id = threading.get_ident()
        _register(self)
        waits = map(self._wake.acquire, itertools.repeat(True), self._steps())
        _thread.start_new_thread(collections.deque, (waits, 0))

    def close(self) -> None:
        """Stop the watchdog (it would only wake at the deadline and find no item running)."""
        self._closing = True
        self._poke()
        with self._exited:
            pass
        _unregister(self)

    def _poke(self) -> None:
        """Wake the watchdog from its wait (a second poke before it waits again is a no-op)."""
        with contextlib.suppress(RuntimeError):  # already released
            self._wake.release()

    @property
    def spent(self) -> bool:
        """True once the deadline has passed: start no more items."""
        return self._fired or self._clock() >= self._deadline

    def call(self, task: Callable[[T], R], item: T,
             switch: tuple[Callable[[], None], Callable[[], None]] | None = None,
             ) -> tuple[R | None, bool] | None:
        """``task(item)`` and whether the budget cut it short (the result is then None); None,
        without running the task, if the deadline passed before it could begin.

        ``switch``: a profiler's on and off, called just around the task, so the budget's own
        lock calls stay out of the profile (they would count as the task's). A cut may land
        before off runs: the caller calls off again, so it must do nothing when off already.
        The task's own exception is raised again, once nothing can be pending.
        """
        result: R | None = None
        error: BaseException | None = None
        returned = False
        try:
            try:
                with self._lock:
                    # past the deadline the watchdog cuts no new task: do not start one
                    if self._fired:
                        return None
                    self._in_task = True
                if switch is not None:
                    switch[0]()
                result = task(item)
                returned = True
            except BudgetSpent:
                raise
            except BaseException as exc:  # noqa: BLE001 - the task's failure, raised below
                error, returned = exc, True
            finally:
                if switch is not None:
                    switch[1]()
                with self._lock:
                    self._in_task = False
            # set just as the task returned, the exception is still pending: take it here
            spins = 0
            while self._pending and spins < _MAX_SPINS:
                spins += 1
        except BudgetSpent:
            pass
        self._pending = False
        if error is not None:
            raise error
        return result, not returned

    def _steps(self) -> Iterator[float]:
        """The watchdog's steps; each yields how long to wait next (-1: until poked)."""
        try:
            while (remaining := self._deadline - self._clock()) > 0:
                yield remaining
                if self._closing:
                    return
            # from here on, call() starts no task: the one running now is the last, and is cut
            while not self._lock.acquire(blocking=False):  # never block inside a step
                yield SAFE_RETRY_S
                if self._closing:
                    return
            self._fired = True
            self._lock.release()
            while True:  # a cut swallowed inside the task (a __del__, a gc callback): fire again
                while (fired := self._try_fire()) is None:
                    yield SAFE_RETRY_S
                    if self._closing:
                        return
                if not fired:
                    return
                while not self._swallowed:
                    yield -1
                    if self._closing:
                        return
                self._swallowed = False
        finally:
            self._exited.release()

    def _try_fire(self) -> bool | None:
        """Raise the cut in the traced thread if no thread is starting and it is out of every
        gc callback; False if no task runs there; None to try again shortly."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            if not self._in_task or _SET_ASYNC_EXC is None:
                return False
            if starting_threads() or in_gc_callback(self._thread_id):
                return None
            self._pending = True
            _SET_ASYNC_EXC(self._thread_id, BudgetSpent)
            return True
        finally:
            self._lock.release()
