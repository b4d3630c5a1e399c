"""Which executors exist: one entry per mode. A new mode is one module plus one line here."""

from __future__ import annotations

import difflib
import importlib
import multiprocessing
import operator
import os
from typing import SupportsIndex

from profkit.errors import UsageError
from profkit.executors.base import Executor, Settings
from profkit.model import ModeSpec, Traits

#: mode kind -> "module:class". Imported on use, so dask is only imported when asked for.
EXECUTORS: dict[str, str] = {
    "sequential": "profkit.executors.sequential:SequentialExecutor",
    "threads": "profkit.executors.threads:ThreadsExecutor",
    "processes": "profkit.executors.processes:ProcessesExecutor",
    "pool": "profkit.executors.pool:PoolExecutor",
    "dask": "profkit.executors.dask.executor:DaskExecutor",
}

START_METHODS = ("fork", "forkserver", "spawn")
#: Worker counts above this many per CPU are refused (a typo, not a plan).
MAX_WORKERS_PER_CPU = 32


def register(kind: str, cls: type[Executor]) -> None:
    """Add an executor class under ``kind`` (tests and plugins use this)."""
    EXECUTORS[kind] = f"{cls.__module__}:{cls.__qualname__}"
    _CLASSES[kind] = cls


_CLASSES: dict[str, type[Executor]] = {}


def executor_class(kind: str) -> type[Executor]:
    """The executor class of a mode kind."""
    if kind not in _CLASSES:
        module_name, _, name = EXECUTORS[kind].partition(":")
        cls: type[Executor] = getattr(importlib.import_module(module_name), name)
        _CLASSES[kind] = cls
    return _CLASSES[kind]


def traits_of(kind: str) -> Traits:
    """What a mode kind is, without starting it."""
    return executor_class(kind).traits


def make_executor(spec: ModeSpec, settings: Settings) -> Executor:
    """The executor for one mode; not yet started."""
    return executor_class(spec.kind)(spec, settings)


def available_cpus() -> int:
    """CPUs this process may run on (its affinity), not the machine's total."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_start_method() -> str:
    """The start method the user's own pools get: the one the program set, else the
    interpreter's default (fork on Linux up to 3.13, forkserver from 3.14, spawn on macOS
    and Windows). Why: docs/start-methods.md."""
    chosen = multiprocessing.get_start_method(allow_none=True)
    if chosen in START_METHODS:
        return chosen
    default = multiprocessing.get_all_start_methods()[0]  # documented: the first is the default
    return default if default in START_METHODS else "spawn"


def max_workers() -> int:
    return MAX_WORKERS_PER_CPU * available_cpus()


def parse_positive_int(text: object, what: str, also: str = "") -> int:
    """An integer >= 1, or a UsageError that names ``what`` (and ``also``, the other choice).

    True and 2.5 are refused: ``int()`` would take them for 1 and 2.
    """
    try:
        if isinstance(text, bool) or (isinstance(text, float) and not text.is_integer()):
            raise TypeError
        if isinstance(text, (str, float)):
            value = int(text)
        elif isinstance(text, SupportsIndex):  # int, numpy integers
            value = operator.index(text)
        else:
            raise TypeError
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"{what} must be a whole number >= 1{also}, got {text!r}") from None
    if value < 1:
        raise UsageError(f"{what} must be >= 1, got {value}")
    return value


def check_workers(n: int, what: str) -> None:
    """Refuse a pool too big to start; the message states the limit."""
    if n > max_workers():
        raise UsageError(f"{what}: {n} workers are too many, at most {max_workers()} "
                         f"({MAX_WORKERS_PER_CPU} per CPU, {available_cpus()} CPUs): "
                         "choose a smaller count")


def parse_workers(text: object, what: str) -> int:
    """A worker count from 1 to :func:`max_workers`."""
    value = parse_positive_int(text, what)
    check_workers(value, what)
    return value


def parse_modes(text: object, default_workers: int) -> list[ModeSpec]:
    """Parse ``sequential,threads:4,processes`` into specs; one clear error per mistake."""
    if not isinstance(text, (str, list, tuple)):
        raise UsageError(f"modes must be text such as 'sequential,processes:2' or a list of such "
                         f"names, got {text!r}")
    parts = text.split(",") if isinstance(text, str) else list(text)
    kinds = tuple(EXECUTORS)
    specs: list[ModeSpec] = []
    for raw in parts:
        if not isinstance(raw, str):
            raise UsageError(f"a mode must be text such as 'processes:2', got {raw!r}")
        part = raw.strip()
        if not part:
            continue
        kind, _, count = part.partition(":")
        if kind not in kinds:
            close = [k for k in kinds if kind and k.startswith(kind)] or \
                difflib.get_close_matches(kind, kinds, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise UsageError(f"unknown mode {kind!r}: {hint}choose from {', '.join(kinds)}")
        parallel = traits_of(kind).parallel
        if not parallel:
            if count and count != "1":
                raise UsageError(f"{kind} runs on one worker: drop the ':N'")
            workers = 1
        elif count:
            workers = parse_workers(count, f"worker count in {part!r}")
        else:
            workers = default_workers
        spec = ModeSpec(kind, workers, parallel)
        if any(s.kind == spec.kind for s in specs):
            raise UsageError(f"mode {kind!r} is given twice: list each mode once")
        specs.append(spec)
    if not specs:
        raise UsageError("no modes given: use for example --modes sequential,threads,processes")
    return specs
