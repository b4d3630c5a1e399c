"""``sequential``: the plain loop on one daemon thread; the reference for every speedup.

The thread runs and times the loop itself, so no hand-off enters the timing,
and the parent can stop waiting for a task that hangs or is interrupted.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeAlias, cast

from profkit.collectors.budget import TaskAbandoned
from profkit.collectors.worker import keep_recursion_floor
from profkit.executors.base import (
    Executor,
    Handle,
    R,
    Task,
    plain_loop,
    stop_threads,
    timed_loop,
)
from profkit.model import Traits, WorkerLabel

#: A call for the thread: the future that takes its outcome, the function and its arguments.
_Job: TypeAlias = tuple["Future[R]", Callable[..., R], tuple[object, ...]]


class DaemonThread:
    """A one-thread executor whose thread never blocks interpreter exit."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[_Job[object] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with contextlib.suppress(TaskAbandoned):  # sent as the task returned: stop all the same
            self._serve()

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, fn, args = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller via the future
                keep_recursion_floor()
                future.set_exception(exc)
            else:
                keep_recursion_floor()  # before the caller wakes: it may be deeper than the task
                future.set_result(result)
                del result
            # the job's items and result would otherwise stay alive until the next job
            del job, future, fn, args

    def submit(self, fn: Callable[..., R], *args: object) -> Future[R]:
        future: Future[R] = Future()
        self._jobs.put((cast("Future[object]", future), fn, args))
        return future

    def close(self) -> bool:
        """Stop the thread; return True if it is stuck in a task and is left behind.

        Jobs not begun are cancelled: a stuck task stopped by :func:`stop_threads` must not
        hand its thread to the next one."""
        with contextlib.suppress(queue.Empty):
            while True:
                job = self._jobs.get_nowait()
                if job is not None:
                    job[0].cancel()
        self._jobs.put(None)
        self._thread.join(timeout=1.0)
        return stop_threads([self._thread])


class SequentialExecutor(Executor):
    kind = "sequential"
    traits = Traits(parallel=False, ships_pickles=False, shares_memory=True, shares_gil=True,
                    worker_label=WorkerLabel.MAIN, honours_chunksize=False, reference=True)

    _thread: DaemonThread | None = None

    def start(self, task: Task) -> float:
        self._thread = DaemonThread("profkit-sequential")
        return 0.0

    def submit(self, fn: Callable[..., R], *args: object) -> Handle[R]:
        assert self._thread is not None, "start() first"
        return self._thread.submit(fn, *args)

    def time_map(self, task: Task, items: list[object], timeout: float | None) -> tuple[float, float]:
        thread_cpu = [float("nan")]
        self.map_thread_cpu_s = float("nan")

        def loop() -> list[object]:
            thread0 = time.thread_time()
            try:
                return plain_loop(task, items)
            finally:
                thread_cpu[0] = time.thread_time() - thread0

        result: tuple[float, float] = self.submit(
            timed_loop, loop, self.settings.gc_timed).result(timeout=timeout)
        self.map_thread_cpu_s = thread_cpu[0]
        return result

    def close(self, *, kill: bool = False) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self.abandoned |= thread.close()
