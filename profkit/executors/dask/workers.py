"""What runs on the Dask workers and scheduler (module level, so dask pickles them by reference)."""

from __future__ import annotations

import gc
import os
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, TypedDict, TypeVar

from profkit.model import Payload, Task

if TYPE_CHECKING:
    from distributed import Worker
    from distributed.diagnostics.plugin import WorkerPlugin
    from distributed.scheduler import Scheduler

R = TypeVar("R")


class WorkerInfo(TypedDict):
    """Who and where a worker is, and its clocks: its pid, host name, perf_counter and time."""

    pid: int
    host: str
    perf: float
    wall: float


def call_on_worker(fn: Callable[..., R], *args: object) -> R:
    """Run ``fn`` on a Dask worker; label a run_batch payload's records with the worker."""
    result = fn(*args)
    if isinstance(result, Payload):
        from distributed import get_worker

        address = get_worker().address
        for record in result.records:
            record.worker = address
        if result.tasks is not None:
            result.tasks.workers = [replace(w, address=address) for w in result.tasks.workers]
    return result


def call_restored(files: dict[str, str], fn: Callable[..., R], *args: object) -> R:
    """:func:`call_on_worker`, first giving shipped ``__main__`` functions their source files back.

    The scheduler unpickles a task's arguments and pickles them again with
    cloudpickle, which names their code ``<dynamic-code>``.
    """
    from profkit.executors.shipping import restore_filenames

    for arg in args:
        restore_filenames(arg, files)
    return call_on_worker(fn, *args)


def worker_info() -> WorkerInfo:
    """Who and where a worker is, and its clocks, for pids and clock offsets."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "perf": time.perf_counter(),
            "wall": time.time()}


def touch_task(task: Task) -> bool:
    """A no-op whose argument unpickles the task, importing its module on the worker."""
    del task
    return True


def set_gc(enabled: bool) -> bool:
    """Switch the worker's GC: off while maps are timed, as everywhere else."""
    was = gc.isenabled()
    if enabled:
        gc.enable()
    else:
        gc.disable()
    return was


def load_file_modules(paths: list[str]) -> None:
    from profkit.workloads.registry import load_file_module

    for path in paths:
        load_file_module(path)


def file_module_plugin(paths: list[str], name: str) -> WorkerPlugin:
    """A WorkerPlugin that loads file-path workload modules on every current and future worker.

    The class is made here so that importing this module does not import
    distributed; cloudpickle ships it by value.
    """
    from distributed.diagnostics.plugin import WorkerPlugin

    class LoadFileModules(WorkerPlugin):
        idempotent = False

        def __init__(self) -> None:
            self.paths = list(paths)
            self.name = name

        def setup(self, worker: Worker) -> None:
            load_file_modules(self.paths)

    return LoadFileModules()


def scheduler_allowed_failures(dask_scheduler: Scheduler) -> int:
    return int(dask_scheduler.allowed_failures)
