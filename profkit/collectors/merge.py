"""Merge per-batch payloads into one pstats.Stats and one LineStats per mode."""

from __future__ import annotations

import pstats
from collections.abc import Sequence
from typing import TYPE_CHECKING

from profkit.model import MemoryLine, RawStats

if TYPE_CHECKING:
    from line_profiler import LineStats


class _RawStats:
    """The minimal object ``pstats.Stats`` accepts: ``create_stats()`` and ``stats``."""

    def __init__(self, stats: RawStats) -> None:
        self.stats = stats

    def create_stats(self) -> None:
        pass


def merge_profiles(payloads: Sequence[RawStats]) -> pstats.Stats | None:
    """One Stats from many ``Profile.stats`` dicts, summed with ``Stats.add``."""
    payloads = [p for p in payloads if p]
    if not payloads:
        return None
    # pstats accepts any object with create_stats() and stats, as cProfile.Profile has
    merged = pstats.Stats(_RawStats(payloads[0]))  # type: ignore[arg-type]
    for payload in payloads[1:]:
        merged.add(_RawStats(payload))  # type: ignore[arg-type]
    return merged


def merge_lines(payloads: list[LineStats | None]) -> LineStats | None:
    """One ``line_profiler.LineStats`` from many, summed hit by hit."""
    present = [p for p in payloads if p is not None]
    if not present:
        return None
    merged = present[0]
    for payload in present[1:]:
        merged = merged + payload
    return merged


def merge_memory_lines(payloads: list[list[MemoryLine]]) -> list[MemoryLine]:
    """memory_profiler rows of many batches, per line: increments and occurrences summed,
    the peak the largest any worker saw."""
    merged: dict[tuple[str, str, int, int], MemoryLine] = {}
    for rows in payloads:
        for row in rows:
            key = (row.filename, row.function, row.func_lineno, row.lineno)
            seen = merged.get(key)
            if seen is None:
                merged[key] = MemoryLine(**vars(row))
                continue
            seen.increment_mib += row.increment_mib
            seen.occurrences += row.occurrences
            seen.peak_mib = max(seen.peak_mib, row.peak_mib)
    return sorted(merged.values(), key=lambda r: (r.filename, r.func_lineno, r.lineno))
