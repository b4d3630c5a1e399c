"""Executors with ``map`` semantics: sequential, threads, processes (and dask).

Every pool is started, warmed and closed the same way, so the runner can time
start-up apart from the steady-state map and kill a pool that hangs.
"""

from __future__ import annotations

import difflib
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
import timeit
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from profkit.errors import UsageError

MODE_KINDS = ("sequential", "threads", "processes", "dask")
START_METHODS = ("fork", "forkserver", "spawn")


def available_cpus() -> int:
    """CPUs this process may run on (its affinity), not the machine's total."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_start_method() -> str:
    """fork on Linux, as CPython 3.11 does and as the seed ran; spawn elsewhere."""
    return "fork" if sys.platform.startswith("linux") else "spawn"


@dataclass(frozen=True)
class ModeSpec:
    """One way to run the map: a kind and, for pools, a worker count."""

    kind: str
    workers: int

    @property
    def label(self) -> str:
        return self.kind

    def __str__(self) -> str:
        return self.kind if self.kind == "sequential" else f"{self.kind}:{self.workers}"


def parse_modes(text: str | Sequence[str], default_workers: int) -> list[ModeSpec]:
    """Parse ``sequential,threads:4,processes`` into specs; one clear error per mistake."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    specs: list[ModeSpec] = []
    for raw in parts:
        part = raw.strip()
        if not part:
            continue
        kind, _, count = part.partition(":")
        if kind not in MODE_KINDS:
            close = [k for k in MODE_KINDS if kind and k.startswith(kind)] or \
                difflib.get_close_matches(kind, MODE_KINDS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise UsageError(f"unknown mode {kind!r}: {hint}choose from {', '.join(MODE_KINDS)}")
        if kind == "sequential":
            if count and count != "1":
                raise UsageError("sequential runs on one worker: drop the ':N'")
            workers = 1
        elif count:
            workers = parse_positive_int(count, f"worker count in {part!r}")
        else:
            workers = default_workers
        spec = ModeSpec(kind, workers)
        if any(s.kind == spec.kind for s in specs):
            raise UsageError(f"mode {kind!r} is given twice: list each mode once")
        specs.append(spec)
    if not specs:
        raise UsageError("no modes given: use for example --modes sequential,threads,processes")
    return specs


def parse_positive_int(text: str | int, what: str) -> int:
    """An integer >= 1, or a UsageError that names ``what``."""
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise UsageError(f"{what} must be a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise UsageError(f"{what} must be >= 1, got {value}")
    return value


# -- worker-side helpers (module level, so pools pickle them by reference) --


def _init_worker(file_modules: dict[str, str]) -> None:
    """Ignore Ctrl-C (the parent stops the pool) and load file-path workload modules."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if file_modules:
        from profkit.workloads.registry import load_file_module

        for path in file_modules.values():
            load_file_module(path)


def _report_ready(task: Callable[[Any], Any], pause: float) -> int:
    """A no-op that unpickles the task (importing its module) and names its process."""
    del task
    if pause:
        time.sleep(pause)
    return os.getpid() * 1_000_003 + threading.get_ident() % 1_000_003


def timed_loop(fn: Callable[[], Any]) -> tuple[float, float]:
    """Wall and CPU seconds of one call of ``fn`` under timeit (GC off, as timeit does)."""
    cpu0 = time.process_time()
    wall = timeit.Timer(fn).timeit(number=1)
    return wall, time.process_time() - cpu0


class Pool:
    """A started executor of one mode. This base class is the sequential mode.

    Sequential work runs on one daemon thread, so the parent can stop waiting
    for a task that hangs (``--timeout``) or is interrupted; the thread runs
    the plain loop and times it itself, so no hand-off cost enters the timing.
    """

    kind = "sequential"
    abandoned = False  # True once a hung task was left running

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.startup_s = 0.0
        self.executor: Any = None

    def start(self, task: Callable[[Any], Any]) -> float:
        """Start the workers, wait until each one is ready, return the seconds it took."""
        self.executor = _DaemonThread()
        return 0.0

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self.executor.submit(fn, *args)

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any], chunksize: int = 1,
            timeout: float | None = None) -> list[Any]:
        items = list(items)
        return self.submit(_loop, fn, items).result(timeout=timeout)

    def time_map(self, fn: Callable[[Any], Any], items: list[Any], chunksize: int = 1,
                 timeout: float | None = None) -> tuple[float, float]:
        """One bare map under timeit; return wall and CPU seconds (parent plus workers)."""
        return self.submit(timed_loop, lambda: _loop(fn, items)).result(timeout=timeout)

    def worker_pids(self) -> list[int]:
        return []

    def close(self, *, kill: bool = False) -> None:
        """Shut the pool down; with ``kill``, terminate workers that may hang."""
        if self.executor is not None:
            Pool.abandoned |= self.executor.close()

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "workers": self.workers}


def _loop(fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    return [fn(item) for item in items]


class _DaemonThread:
    """A one-thread executor whose thread never blocks interpreter exit."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="profkit-sequential", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, fn, args = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller via the future
                future.set_exception(exc)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        self._jobs.put((future, fn, args))
        return future

    def close(self) -> bool:
        """Stop the thread; return True if it is stuck in a task and is left behind."""
        self._jobs.put(None)
        self._thread.join(timeout=1.0)
        return self._thread.is_alive()


class _ExecutorPool(Pool):
    executor: ThreadPoolExecutor | ProcessPoolExecutor

    def _warm(self, task: Callable[[Any], Any]) -> float:
        t0 = time.perf_counter()
        seen: set[int] = set()
        for round_ in range(40):
            pause = 0.0 if round_ == 0 else 0.005
            futures = [self.executor.submit(_report_ready, task, pause) for _ in range(self.workers)]
            seen.update(f.result(timeout=120) for f in futures)
            if len(seen) >= self.workers:
                break
        return time.perf_counter() - t0

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any], chunksize: int = 1,
            timeout: float | None = None) -> list[Any]:
        return list(self.executor.map(fn, items, timeout=timeout, chunksize=chunksize))

    def time_map(self, fn: Callable[[Any], Any], items: list[Any], chunksize: int = 1,
                 timeout: float | None = None) -> tuple[float, float]:
        pids = self.worker_pids()
        workers_cpu0 = workers_cpu(pids)
        wall, cpu = timed_loop(lambda: self.map(fn, items, chunksize, timeout))
        return wall, cpu + workers_cpu(pids) - workers_cpu0


class ThreadPool(_ExecutorPool):
    kind = "threads"

    def start(self, task: Callable[[Any], Any]) -> float:
        t0 = time.perf_counter()
        self.executor = ThreadPoolExecutor(self.workers, thread_name_prefix="profkit-worker")
        self._warm(task)
        self.startup_s = time.perf_counter() - t0
        return self.startup_s

    def close(self, *, kill: bool = False) -> None:
        if self.executor is None:
            return
        self.executor.shutdown(wait=not kill, cancel_futures=True)
        if kill and any(t.is_alive() for t in self.executor._threads):
            Pool.abandoned = True  # a thread cannot be killed; the CLI exits around it


class ProcessPool(_ExecutorPool):
    kind = "processes"

    def __init__(self, workers: int, start_method: str, file_modules: dict[str, str]) -> None:
        super().__init__(workers)
        self.start_method = start_method
        self.file_modules = dict(file_modules)

    def start(self, task: Callable[[Any], Any]) -> float:
        t0 = time.perf_counter()
        self.executor = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context(self.start_method),
            initializer=_init_worker,
            initargs=(self.file_modules,),
        )
        self._warm(task)
        self.startup_s = time.perf_counter() - t0
        return self.startup_s

    def worker_pids(self) -> list[int]:
        processes = getattr(getattr(self, "executor", None), "_processes", None) or {}
        return sorted(processes)

    def close(self, *, kill: bool = False) -> None:
        executor = getattr(self, "executor", None)
        if executor is None:
            return
        processes = list((executor._processes or {}).values())
        if kill:
            for process in processes:
                if process.is_alive():
                    process.kill()
        executor.shutdown(wait=True, cancel_futures=True)
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "start_method": self.start_method}


def make_pool(spec: ModeSpec, *, start_method: str, file_modules: dict[str, str],
              scheduler: str | None = None) -> Pool:
    """The pool for one mode; not yet started."""
    if spec.kind == "sequential":
        return Pool(1)
    if spec.kind == "threads":
        return ThreadPool(spec.workers)
    if spec.kind == "processes":
        return ProcessPool(spec.workers, start_method, file_modules)
    if spec.kind == "dask":
        from profkit.dask_mode import DaskPool

        return DaskPool(spec.workers, scheduler=scheduler, file_modules=file_modules)
    raise UsageError(f"unknown mode {spec.kind!r}")


def workers_cpu(pids: list[int]) -> float:
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
