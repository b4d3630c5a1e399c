"""A mode of a run: its executor, its result, its deadline and its probe map.

The runner drives the modes; its helpers (chunksize trials, native-thread checks) take them
from here, so none of them imports the runner.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass

from profkit import interrupts
from profkit.engine import guard
from profkit.engine.rounds import Contender
from profkit.errors import ModeFailed
from profkit.executors.base import Executor, Settings
from profkit.executors.registry import make_executor
from profkit.model import ModeResult, ModeSpec, Status
from profkit.options import Options


def raised_by_interrupt(exc: BaseException) -> bool:
    """True if ``exc`` was raised while a KeyboardInterrupt unwound (in cleanup code after
    Ctrl-C or SIGTERM landed): the run being stopped, not the mode failing."""
    seen: set[int] = set()
    context = exc.__context__
    while context is not None and id(context) not in seen:
        if isinstance(context, KeyboardInterrupt):
            return True
        seen.add(id(context))
        context = context.__context__
    return False


class Deadline:
    """A mode's ``--timeout``, spent across its phases (rounds interleave the modes)."""

    def __init__(self, timeout_s: float | None) -> None:
        self.timeout_s = timeout_s
        self.spent = 0.0

    def remaining(self) -> float | None:
        if self.timeout_s is None:
            return None
        left = self.timeout_s - self.spent
        if left <= 0:
            raise TimeoutError(f"the mode ran longer than --timeout {self.timeout_s:g} s")
        return left

    @contextmanager
    def running(self) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.spent += time.perf_counter() - t0


@dataclass
class ProbeMap:
    """A mode's tasks pass seen as one map of every item: what the probe round would count."""

    wall_s: float
    cpu_s: float
    #: CPU of the one thread that ran the items (sequential), else NaN: as a timed map's.
    thread_cpu_s: float
    batch_size: int
    order: int = 0


class Mode(Contender):
    """One mode of the run: its executor, its result and its deadline."""

    def __init__(self, spec: ModeSpec, settings: Settings, options: Options, *,
                 sweep: bool = False, executor: Executor | None = None, label: str | None = None,
                 task: Callable[[object], object] | None = None) -> None:
        self.spec = spec
        #: ``executor`` shares another mode's started pool (``profkit ab`` runs A and B on one).
        self.executor: Executor = executor or make_executor(spec, settings)
        self.label = label
        self.task = task
        self.result = ModeResult(spec=spec, traits=self.executor.traits, sweep=sweep)
        self.deadline = Deadline(options.timeout_s)
        self.live = False
        self.closed = False
        self.probe: ProbeMap | None = None
        #: the mode that shares this one's pool (``profkit ab``'s other side), ended with it
        self.partner: Mode | None = None

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        return str(self.spec) if self.result.sweep else self.spec.kind

    @property
    def reference(self) -> bool:
        return self.executor.traits.reference

    def attempt(self, action: Callable[[], None]) -> bool:
        """Run one step of this mode; on failure record why, kill the pool, return False.

        Ctrl-C is recorded too, then raised again for the run to stop.
        """
        if not self.live:
            return False
        try:
            interrupts.check()
            with self.deadline.running():
                try:
                    action()
                finally:
                    guard.restore()  # what the task changed in this process (recursion limit...)
            interrupts.check()
            return True
        except ModeFailed as exc:
            self._end(Status.FAILED, str(exc))
        except (TimeoutError, FutureTimeout) as exc:  # distinct classes before Python 3.11
            limit = f"--timeout {self.deadline.timeout_s:g} s" if self.deadline.timeout_s else \
                "a time limit"
            reason = str(exc) or f"stopped by {limit}: a task did not finish"
            self._end(Status.TIMEOUT, f"{self.spec}: {reason}")
        except BrokenProcessPool:
            self._end(Status.FAILED, f"{self.spec}: a worker process died abruptly while running a "
                      "task; look for os._exit, a crash in C code, or the out-of-memory killer")
        except KeyboardInterrupt:
            self._end(Status.INTERRUPTED, f"{self.spec}: interrupted")
            raise
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a task's exception in a timed map
            if raised_by_interrupt(exc):
                self._end(Status.INTERRUPTED, f"{self.spec}: interrupted")
                raise KeyboardInterrupt from exc
            self.result.traceback = traceback.format_exc()
            self._end(Status.FAILED, f"{self.spec}: {type(exc).__name__}: {exc}")
        return False

    def time_map(self, items: list[object], task: Callable[[object], object]) -> tuple[float, float]:
        with self.deadline.running():
            return self.executor.time_map(self.task or task, items, self.deadline.remaining())

    @property
    def map_thread_cpu_s(self) -> float:
        return self.executor.map_thread_cpu_s

    def _end(self, status: Status, message: str) -> None:
        self.result.fail(status, message)
        other = self.partner
        if other is not None and other.live:  # its pool is the one about to be killed
            other.result.fail(Status.FAILED, f"{other.name}: stopped with {self.name}, whose "
                              f"pool it shares: {message}")
            other.live, other.closed = False, True
        self.close(kill=True)

    def close(self, *, kill: bool = False) -> None:
        self.live = False
        if not self.closed:
            self.closed = True
            self.executor.close(kill=kill)
