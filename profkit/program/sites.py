"""Pool sites in the parent: where the program called its pools, and what came back.

A site is one call site (file:line) of a pool method with one task. The
registry hands out site numbers, takes each task's record as its result comes
back, and merges the workers' cProfile stats as they arrive.
"""

from __future__ import annotations

import contextlib
import os
import pstats
import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING

from profkit.collectors.merge import merge_profiles
from profkit.model import RawStats
from profkit.program.worker import RECORD_ATTR, Record, TaskOutcome, is_outcome, is_profkit_file

if TYPE_CHECKING:
    from line_profiler import LineStats

#: Stats dicts kept before they are folded into the site's merged Stats.
MERGE_EVERY = 256

_STDLIB_DIRS = tuple({os.path.abspath(p) for p in (sysconfig.get_paths()["stdlib"],
                                                   sysconfig.get_paths()["platstdlib"])})


def _is_user_file(filename: str) -> bool:
    if filename.startswith("<"):
        return False
    path = os.path.abspath(filename)
    if is_profkit_file(path):
        return False
    return not any(path.startswith(d + os.sep) and "site-packages" not in path for d in _STDLIB_DIRS)


def call_site(depth: int = 2) -> tuple[str, int, str]:
    """file, line and function of the first caller outside the standard library and profkit."""
    frame: FrameType | None = sys._getframe(depth)
    while frame is not None:
        code = frame.f_code
        if _is_user_file(code.co_filename):
            return code.co_filename, frame.f_lineno, code.co_name
        frame = frame.f_back
    return "<unknown>", 0, "<unknown>"


def task_name(fn: object) -> str:
    """The task's qualified name, as the report shows it."""
    inner = getattr(fn, "func", None)  # functools.partial
    if inner is not None and callable(inner):
        return f"partial({task_name(inner)})"
    module = getattr(fn, "__module__", None) or ""
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{module}.{name}" if module and module not in ("__main__", "__mp_main__") else str(name)


@dataclass
class Site:
    """One pool site: its place, its pool, and the tasks measured there."""

    number: int
    filename: str
    lineno: int
    function: str
    task: str
    method: str  # e.g. ProcessPoolExecutor.map
    processes: bool  # its workers are processes (False: threads)
    workers: int
    start_method: str | None
    chunksize: int | None
    calls: int = 0
    items: int = 0
    first_call: float = float("inf")
    last_received: float = 0.0
    #: (from, to): times between two calls when every task called so far had come back: the
    #: site had nothing under way (a pool in a function the program calls twice)
    idle: list[tuple[float, float]] = field(default_factory=list)
    #: every call's item count was known, so ``idle`` can be told
    counted: bool = True
    records: list[Record] = field(default_factory=list)
    #: tasks the workers' cProfile stats that came back cover
    profiled: int = 0
    failed: int = 0
    #: seconds the program's threads spent waiting for this site's results
    wait_s: float = 0.0
    #: for ``--replay``: the task and the items of the site's first map call (None: not kept)
    replay_task: Callable[..., object] | None = None
    replay_items: list[object] | None = None
    replay_note: str | None = None
    #: the tasks' line_profiler stats, summed (``--lines``)
    lines: LineStats | None = None
    _pending: list[RawStats] = field(default_factory=list)
    _merged: pstats.Stats | None = None

    @property
    def id(self) -> str:
        return f"site{self.number}"

    @property
    def place(self) -> str:
        return f"{self.filename}:{self.lineno}"

    def add_stats(self, stats: RawStats | None) -> None:
        if stats:
            self._pending.append(stats)
            if len(self._pending) >= MERGE_EVERY:
                self._fold()

    def _fold(self) -> None:
        if not self._pending:
            return
        merged = merge_profiles(self._pending)
        self._pending = []
        if self._merged is None:
            self._merged = merged
        elif merged is not None:
            self._merged.add(merged)

    def stats(self) -> pstats.Stats | None:
        """The workers' cProfile stats of this site, merged."""
        self._fold()
        return self._merged


class Registry:
    """The program's pool sites, in the order they were first called."""

    def __init__(self, *, profile: bool, keep_items: bool = False, lines: bool = False) -> None:
        self.profile = profile
        #: line_profiler on each site's task
        self.lines = lines
        #: keep each site's task and the items of its first map call, to replay them
        self.keep_items = keep_items
        self.sites: list[Site] = []
        self._by_key: dict[tuple[str, int, str, str], Site] = {}
        self._lock = threading.Lock()

    def site(self, fn: object, method: str, *, processes: bool, workers: int,
             start_method: str | None, chunksize: int | None, items: int | None = None) -> Site:
        """The site of the program's call now under way (found on the stack), counted as a call."""
        filename, lineno, function = call_site(1)
        name = task_name(fn)
        key = (filename, lineno, method, name)
        now = time.perf_counter()
        with self._lock:
            site = self._by_key.get(key)
            if site is None:
                site = Site(number=len(self.sites) + 1, filename=filename, lineno=lineno,
                            function=function, task=name, method=method, processes=processes,
                            workers=workers, start_method=start_method, chunksize=chunksize)
                self.sites.append(site)
                self._by_key[key] = site
            if items is None:
                site.counted = False
            elif (site.calls and site.counted and len(site.records) >= site.items
                  and 0 < site.last_received < now):
                site.idle.append((site.last_received, now))
            site.calls += 1
            site.items += items or 0
            site.first_call = min(site.first_call, now)
        return site

    def keep(self, site: Site, fn: Callable[..., object],
             iterables: tuple[Iterable[object], ...] | None) -> None:
        """Keep the task and items of a site's first map call, for ``--replay``; or why not."""
        if not self.keep_items or site.replay_items is not None or site.replay_note:
            return
        if iterables is None:
            site.replay_note = "its tasks were submitted one by one, not mapped over a list"
        elif len(iterables) != 1:
            site.replay_note = "its map takes several iterables; a workload maps one"
        else:
            site.replay_task, site.replay_items = fn, list(iterables[0])

    def receive(self, value: object) -> object:
        """The program's result from a task's outcome (its record kept), else ``value``.

        Call it once per outcome: where a result reaches the program twice (a callback, then
        ``get``), the second place calls :meth:`unwrap`.
        """
        if not is_outcome(value):
            return value
        self._take(value)
        return value[1]

    def receive_arrived(self, value: object) -> None:
        """Keep the records of what a pool's worker sent back (an outcome, or a chunk's list of
        them), as it arrives: a task counts whether or not the program reads its result."""
        if is_outcome(value):
            self._take(value)
        elif type(value) is list:
            for each in value:
                if is_outcome(each):
                    self._take(each)

    @staticmethod
    def unwrap(value: object) -> object:
        """The program's result from a task's outcome, nothing kept."""
        return value[1] if is_outcome(value) else value

    def receive_error(self, exc: BaseException) -> None:
        """Keep the record a failed task's exception carries, and take it off the exception."""
        with self._lock:  # taken once, where it arrives and where the program sees it
            carried = getattr(exc, RECORD_ATTR, None)
            if carried is None:
                return
            with contextlib.suppress(AttributeError):
                delattr(exc, RECORD_ATTR)
        for outcome in carried if type(carried) is list else [carried]:
            if is_outcome(outcome):
                self._take(outcome, failed=True)

    def _take(self, outcome: TaskOutcome, failed: bool = False) -> None:
        _, _, number, record, stats, lines, covered = outcome
        now = time.perf_counter()
        with self._lock:
            if not 1 <= number <= len(self.sites):
                return
            site = self.sites[number - 1]
            site.records.append(record)
            site.failed += failed
            site.last_received = max(site.last_received, now)
            if stats:
                site.add_stats(stats)
                site.profiled += covered
            if lines is not None:
                site.lines = lines if site.lines is None else site.lines + lines
