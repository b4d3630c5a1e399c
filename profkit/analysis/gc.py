"""Garbage collection's share of each mode's work, from the probe pass's collections."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the run's parent imports the advice records before its maps, without pandas
    import pandas as pd

#: Above this share of a mode's task time, the advice names GC.
GC_ADVICE_SHARE = 0.10


@dataclass
class GcGeneration:
    """One generation's collections during a mode's probe pass."""

    collections: int
    seconds: float
    collected: int


@dataclass
class GcSummary:
    """Garbage collection's share of a mode's task time."""

    collections: int
    seconds: float
    share: float
    task_seconds: float
    #: by generation ("0", "1", "2")
    by_generation: dict[str, GcGeneration] = field(default_factory=dict)


def gc_summary(collections: pd.DataFrame, tasks: pd.DataFrame, mode: str) -> GcSummary | None:
    """Collections, seconds and share of the tasks' own time spent collecting, for one mode.

    The share is GC seconds over the summed task durations of the probe pass
    (GC on there, as in a plain run). Workers collect their own, smaller heaps,
    so the share differs between modes, and that explains part of a speedup.
    """
    mine = collections[collections["mode"] == mode]
    busy_rows = tasks.loc[(tasks["mode"] == mode) & ~tasks["sweep"].astype(bool), "duration_s"]
    busy = float(busy_rows.sum()) if not busy_rows.empty else 0.0
    if busy <= 0:
        return None
    seconds = float(mine["duration_s"].sum()) if not mine.empty else 0.0
    by_generation = {str(int(str(g))): GcGeneration(int(len(rows)), float(rows["duration_s"].sum()),
                                                    int(rows["collected"].sum()))
                     for g, rows in mine.groupby("generation")}
    return GcSummary(int(len(mine)), seconds, seconds / busy, busy, by_generation)


@dataclass(frozen=True)
class GcFacts:
    """A mode whose tasks spend a large share of their time collecting garbage."""

    mode: str
    share: float
    collections: int
    seconds: float
    full_collections: int | None  # generation 2, when any ran
    full_seconds: float | None
    gc_off: bool  # the timed maps ran with GC off, so the speedups leave this cost out


def gc_advice(modes: Mapping[str, GcSummary | None], policy: str) -> list[GcFacts]:
    """One record per mode whose GC share is above :data:`GC_ADVICE_SHARE`."""
    out = []
    for mode, g in modes.items():
        if g is None or g.share <= GC_ADVICE_SHARE:
            continue
        gen2 = g.by_generation.get("2")
        out.append(GcFacts(mode, g.share, g.collections, g.seconds,
                           gen2.collections if gen2 else None, gen2.seconds if gen2 else None,
                           policy == "off"))
    return out
