"""Small, real workloads for tests; module level so every pool pickles them by reference."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import time

from profkit.workloads.model import Workload
from profkit.workloads.primes import is_prime

#: Primes near 1e12 take about 25 ms each; one duplicate and one composite, like the seed.
SMALL_NUMBERS = [1000000000039, 1000000000061, 1000000000039, 1000000000063, 1000000000091,
                 3306091 * 302459]

SMALL_PRIMES = Workload("small-primes", is_prime, SMALL_NUMBERS,
                        description="six numbers near 1e12: the seed's shape, 10x smaller")


def raise_on_three(i: int) -> int:
    """Fails on item 3 with a ValueError."""
    if i == 3:
        raise ValueError(f"bad item {i}")
    time.sleep(0.005)
    return i


def _in_pool_worker() -> bool:
    return multiprocessing.parent_process() is not None


def exit_on_three(i: int) -> int:
    """A pool worker process vanishes through os._exit on item 3 (the parent is spared)."""
    if i == 3 and _in_pool_worker():
        os._exit(7)
    time.sleep(0.005)
    return i


def segfault_on_three(i: int) -> int:
    """A pool worker process crashes with a segmentation fault on item 3."""
    if i == 3 and _in_pool_worker():
        ctypes.string_at(0)
    time.sleep(0.005)
    return i


def hang_on_three(i: int) -> int:
    """Never returns on item 3 (well, after an hour)."""
    if i == 3:
        time.sleep(3600)
    return i


def unpicklable_result(i: int):
    """Returns a lock, which pickle refuses."""
    import threading

    return threading.Lock() if i == 2 else i


def sleepy(i: int) -> int:
    time.sleep(0.02)
    return i


def _items() -> list[int]:
    return list(range(6))


RAISES = Workload("raises", raise_on_three, _items)
EXITS = Workload("exits", exit_on_three, _items)
SEGFAULTS = Workload("segfaults", segfault_on_three, _items)
HANGS = Workload("hangs", hang_on_three, _items)
UNPICKLABLE_RESULT = Workload("unpicklable-result", unpicklable_result, _items)
SLEEPY = Workload("sleepy", sleepy, list(range(20)))


def raise_in_workers(i: int) -> int:
    """Raises on item 3, but only inside a process-pool worker."""
    if i == 3 and _in_pool_worker():
        raise RuntimeError(f"item {i} fails in the worker")
    time.sleep(0.005)
    return i


def hang_in_workers(i: int) -> int:
    """Hangs on item 3 inside a process-pool worker only."""
    if i == 3 and _in_pool_worker():
        time.sleep(3600)
    return i


def _items_with_lock() -> list:
    import threading

    return [1, 2, threading.Lock(), 4]


def identity(x):
    return x


RAISES_IN_WORKERS = Workload("raises-in-workers", raise_in_workers, _items)
HANGS_IN_WORKERS = Workload("hangs-in-workers", hang_in_workers, _items)
UNPICKLABLE_ITEM = Workload("unpicklable-item", identity, _items_with_lock)
