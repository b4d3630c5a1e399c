"""Native thread pools (BLAS, OpenMP, MKL) a task runs, and the task with one native thread.

NumPy's matrix product on OpenBLAS keeps every core busy from one Python thread, so a
pool of W workers each running W native threads oversubscribes the machine. The usual
fix is one native thread per worker; :func:`one_native_thread` runs a task that way
(threadpoolctl, a well-kept library made for this), so the run can time the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from profkit.model import NativePool

T = TypeVar("T")
R = TypeVar("R")


def native_pools() -> list[NativePool]:
    """The native thread pools loaded in this process (empty without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - a dependency; an unusual install may lack it
        return []
    pools = []
    for info in threadpool_info():
        pools.append(NativePool(api=str(info.get("internal_api") or info.get("user_api") or "?"),
                                library=str(info.get("prefix") or ""),
                                threads=int(info.get("num_threads") or 0)))
    return pools


def one_native_thread(task: Callable[[T], R], item: T) -> R:
    """``task(item)`` with every native thread pool limited to one thread, restored after."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return task(item)
