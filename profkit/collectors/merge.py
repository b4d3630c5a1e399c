"""Merge per-batch payloads into one pstats.Stats and one LineStats per mode."""

from __future__ import annotations

import pstats
from typing import Any


class _RawStats:
    """The minimal object ``pstats.Stats`` accepts: ``create_stats()`` and ``stats``."""

    def __init__(self, stats: dict[Any, Any]) -> None:
        self.stats = stats

    def create_stats(self) -> None:
        pass


def merge_profiles(payloads: list[dict[Any, Any]]) -> pstats.Stats | None:
    """One Stats from many ``Profile.stats`` dicts, summed with ``Stats.add``."""
    payloads = [p for p in payloads if p]
    if not payloads:
        return None
    # pstats accepts any object with create_stats() and stats, as cProfile.Profile has
    merged = pstats.Stats(_RawStats(payloads[0]))  # type: ignore[arg-type]
    for payload in payloads[1:]:
        merged.add(_RawStats(payload))  # type: ignore[arg-type]
    return merged


def merge_lines(payloads: list[Any]) -> Any:
    """One ``line_profiler.LineStats`` from many, summed hit by hit."""
    payloads = [p for p in payloads if p is not None]
    if not payloads:
        return None
    merged = payloads[0]
    for payload in payloads[1:]:
        merged = merged + payload
    return merged
