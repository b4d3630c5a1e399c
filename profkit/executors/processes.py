"""``processes``: ``concurrent.futures.ProcessPoolExecutor``, the pool ``primes`` was
written for."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

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


class ProcessesExecutor(Executor):
    kind = "processes"
    traits = Traits(parallel=True, ships_pickles=True, shares_memory=False, shares_gil=False,
                    worker_label=WorkerLabel.PID, honours_chunksize=True)

    _pool: ProcessPoolExecutor | None = None

    @property
    def starts_by_fork(self) -> bool:
        return self.settings.start_method == "fork"

    def start(self, task: Task) -> float:
        t0 = time.perf_counter()
        self._pool = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context(self.settings.start_method),
            initializer=init_process_worker,
            initargs=(self.settings.file_modules, os.getpid(), self.settings.gc_timed),
        )
        warm_workers(self.submit, task, self.workers)
        self.startup_s = time.perf_counter() - t0
        return self.startup_s

    def submit(self, fn: Callable[..., R], *args: object) -> Handle[R]:
        assert self._pool is not None, "start() first"
        return self._pool.submit(fn, *map(self.ship, args))

    def time_map(self, task: Task, items: list[object], timeout: float | None) -> tuple[float, float]:
        pool = self._pool
        assert pool is not None, "start() first"
        chunksize = self.settings.chunksize or 1
        task = self.ship(task)
        return time_in_parent(lambda: list(pool.map(task, items, timeout=timeout,
                                                     chunksize=chunksize)), self.worker_pids(),
                              self.settings.gc_timed)

    def worker_pids(self) -> list[int]:
        processes = getattr(self._pool, "_processes", None) or {}
        return sorted(processes)

    def close(self, *, kill: bool = False) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list((pool._processes or {}).values())
        leftovers = descendants([p.pid for p in processes if p.pid is not None])
        if kill:
            for process in processes:
                if process.is_alive():
                    process.kill()
        with contextlib.suppress(Exception):  # a broken pool may complain while it shuts down
            pool.shutdown(wait=True, cancel_futures=True)
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
        end_processes(leftovers)

    def describe(self) -> dict[str, JSON]:
        return {**super().describe(), "start_method": self.settings.start_method,
                "chunksize": self.settings.chunksize or 1}
