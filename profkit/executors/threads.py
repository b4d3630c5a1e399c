"""``threads``: ``concurrent.futures.ThreadPoolExecutor`` in the parent process."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from profkit.collectors.worker import keep_recursion_floor
from profkit.executors.base import (
    Executor,
    Handle,
    R,
    Task,
    stop_threads,
    time_in_parent,
    warm_workers,
)
from profkit.model import Traits, WorkerLabel


def _floored(fn: Callable[..., R], *args: object) -> R:
    """``fn(*args)``; then the recursion limit is raised back if the task lowered it, before
    the waiting thread wakes (it may be deeper in its stack than the new limit)."""
    try:
        return fn(*args)
    finally:
        keep_recursion_floor()


class ThreadsExecutor(Executor):
    kind = "threads"
    traits = Traits(parallel=True, ships_pickles=False, shares_memory=True, shares_gil=True,
                    worker_label=WorkerLabel.THREAD, honours_chunksize=False)

    _pool: ThreadPoolExecutor | None = None

    def start(self, task: Task) -> float:
        t0 = time.perf_counter()
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="profkit-worker")
        warm_workers(self.submit, task, self.workers)
        self.startup_s = time.perf_counter() - t0
        return self.startup_s

    def submit(self, fn: Callable[..., R], *args: object) -> Handle[R]:
        assert self._pool is not None, "start() first"
        return self._pool.submit(_floored, fn, *args)

    def time_map(self, task: Task, items: list[object], timeout: float | None) -> tuple[float, float]:
        pool = self._pool
        assert pool is not None, "start() first"
        call = partial(_floored, task)
        return time_in_parent(lambda: list(pool.map(call, items, timeout=timeout)), [],
                              self.settings.gc_timed)

    def close(self, *, kill: bool = False) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        pool.shutdown(wait=not kill, cancel_futures=True)
        if not kill:
            return
        threads = list(pool._threads)
        deadline = time.monotonic() + 1.0
        for thread in threads:  # idle workers end on their own; the others are in a task
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if stop_threads(threads):
            self.abandoned = True  # a thread cannot be killed; the CLI exits around it
