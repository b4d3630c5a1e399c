"""``pool``: ``multiprocessing.Pool``, the pool of the ``double``
workload (``Pool.map(double, ...)``).

``Pool`` never notices a worker that dies in a task: it starts a new one and
the task's result never comes. Every wait here therefore polls, and a worker
that died turns into ``BrokenProcessPool``, as in the processes mode.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import multiprocessing.pool
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.process import BaseProcess
from typing import Generic

from profkit.executors.base import (
    Executor,
    Handle,
    R,
    Task,
    descendants,
    end_processes,
    init_process_worker,
    time_in_parent,
    warm_workers,
)
from profkit.model import JSON, Traits, WorkerLabel

POLL_S = 0.05


def _free_task_queue(pool: multiprocessing.pool.Pool) -> None:
    """Release the task queue's read lock if a killed worker died holding it (every worker is
    dead by now, so no live process owns it)."""
    with contextlib.suppress(Exception):
        lock = pool._inqueue._rlock  # type: ignore[attr-defined]
        if lock.acquire(False):
            lock.release()
        else:
            lock.release()


def _terminate_and_join(pool: multiprocessing.pool.Pool) -> None:
    pool.terminate()
    pool.join()


def default_chunksize(n_items: int, workers: int) -> int:
    """The chunksize ``Pool.map`` picks when none is given."""
    return max(1, math.ceil(n_items / (4 * workers))) if n_items else 1


class _PoolHandle(Generic[R]):
    def __init__(self, executor: PoolExecutor, result: multiprocessing.pool.AsyncResult[R]) -> None:
        self._executor = executor
        self._result = result

    def result(self, timeout: float | None = None) -> R:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = POLL_S if deadline is None else max(0.0, min(POLL_S, deadline - time.monotonic()))
            try:
                return self._result.get(step)
            except multiprocessing.TimeoutError:
                self._executor.check_workers()
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError() from None


class PoolExecutor(Executor):
    kind = "pool"
    traits = Traits(parallel=True, ships_pickles=True, shares_memory=False, shares_gil=False,
                    worker_label=WorkerLabel.PID, honours_chunksize=True)

    _pool: multiprocessing.pool.Pool | None = None
    _processes: list[BaseProcess] = []

    @property
    def starts_by_fork(self) -> bool:
        return self.settings.start_method == "fork"

    def start(self, task: Task) -> float:
        t0 = time.perf_counter()
        context = multiprocessing.get_context(self.settings.start_method)
        self._pool = context.Pool(self.workers, initializer=init_process_worker,
                                  initargs=(self.settings.file_modules, os.getpid(),
                                            self.settings.gc_timed))
        self._processes = list(self._pool._pool)  # type: ignore[attr-defined]
        warm_workers(self.submit, task, self.workers)
        self.startup_s = time.perf_counter() - t0
        return self.startup_s

    def check_workers(self) -> None:
        """Raise BrokenProcessPool if a worker died (Pool itself would wait forever)."""
        for process in self._processes:
            if process.exitcode is not None:
                raise BrokenProcessPool(f"worker pid {process.pid} exited with code {process.exitcode}")

    def submit(self, fn: Callable[..., R], *args: object) -> Handle[R]:
        assert self._pool is not None, "start() first"
        self.check_workers()
        return _PoolHandle(self, self._pool.apply_async(fn, tuple(map(self.ship, args))))

    def time_map(self, task: Task, items: list[object], timeout: float | None) -> tuple[float, float]:
        pool = self._pool
        assert pool is not None, "start() first"
        chunksize = self.settings.chunksize
        task = self.ship(task)

        def run() -> list[object]:
            return list(_PoolHandle(self, pool.map_async(task, items, chunksize)).result(timeout))

        return time_in_parent(run, self.worker_pids(), self.settings.gc_timed)

    def worker_pids(self) -> list[int]:
        return sorted(p.pid for p in self._processes if p.pid is not None)

    def close(self, *, kill: bool = False) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list(self._processes) + [p for p in pool._pool if p not in self._processes]  # type: ignore[attr-defined]
        leftovers = descendants([p.pid for p in processes if p.pid is not None])
        if kill:
            for process in processes:  # first, so no worker holds the task queue any longer
                if process.is_alive():
                    process.kill()
        else:
            pool.close()
            deadline = time.monotonic() + 5.0
            for process in processes:
                process.join(timeout=max(0.0, deadline - time.monotonic()))
        for process in processes:
            if process.is_alive():
                process.kill()
            process.join(timeout=5)
        end_processes(leftovers)
        _free_task_queue(pool)
        # Pool.terminate() can wait forever on a queue lock that a killed worker held (a known
        # CPython problem): it runs on a daemon thread, bounded, and is left behind if stuck.
        stopper = threading.Thread(target=_terminate_and_join, args=(pool,), daemon=True,
                                   name="profkit-pool-close")
        stopper.start()
        stopper.join(timeout=3)

    @classmethod
    def dispatch_chunksize(cls, chunksize: int | None, n_items: int, workers: int) -> int:
        return chunksize if chunksize else default_chunksize(n_items, workers)

    def describe(self) -> dict[str, JSON]:
        chunksize = self.settings.chunksize
        return {**super().describe(), "start_method": self.settings.start_method,
                "chunksize": chunksize if chunksize is not None else "Pool.map's default"}
