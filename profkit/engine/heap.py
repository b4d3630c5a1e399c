"""Hand freed memory back to the operating system between the run's phases.

A map over 100,000 items allocates a few hundred MB of futures and results in the
parent, then frees them; glibc's malloc keeps most of the freed pages, so the next
phase would start from the last one's high-water mark. :func:`release` collects
garbage and asks the allocators (glibc, then arrow's pool if pyarrow is loaded) to
return their free pages, so each phase's peak starts from what is live. It is never
called inside a timed map.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import sys
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``; None where the C library has none (macOS, musl, Windows)."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):  # TypeError: Windows has no CDLL(None)
        return None
    return trim


def release() -> None:
    """Collect garbage, then return the allocators' free pages to the operating system."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        arrow.default_memory_pool().release_unused()
