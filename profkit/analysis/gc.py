"""Garbage collection's share of each mode's work, from the probe pass's collections."""

from __future__ import annotations

from typing import Any

import pandas as pd

#: Above this share of a mode's task time, the advice names GC.
GC_ADVICE_SHARE = 0.10


def gc_summary(collections: pd.DataFrame, tasks: pd.DataFrame, mode: str) -> dict[str, Any] | None:
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
    by_generation = {int(str(g)): {"collections": int(len(rows)), "seconds": float(rows["duration_s"].sum()),
                              "collected": int(rows["collected"].sum())}
                     for g, rows in mine.groupby("generation")}
    return {"collections": int(len(mine)), "seconds": seconds, "share": seconds / busy,
            "task_seconds": busy, "by_generation": by_generation}


def gc_advice(modes: dict[str, dict[str, Any]], policy: str) -> list[str]:
    """One line per mode whose GC share is above :data:`GC_ADVICE_SHARE`."""
    out = []
    for mode, entry in modes.items():
        g = entry.get("gc")
        if not g or g["share"] <= GC_ADVICE_SHARE:
            continue
        gen2 = g["by_generation"].get(2, {})
        out.append(
            f"Garbage collection takes {100 * g['share']:.0f}% of the tasks' time in {mode} "
            f"({g['collections']} collections, {g['seconds']:.3g} s"
            + (f"; {gen2['collections']} full ones took {gen2['seconds']:.3g} s" if gen2 else "")
            + "): allocate fewer container objects, or call gc.freeze() after building long-lived "
            "data, or raise the thresholds with gc.set_threshold(). "
            + ("The timed maps ran with GC off (--gc off), so the speedups leave this cost out; "
               "--gc on times them as a plain run."
               if policy == "off" else "The timed maps ran with GC on (--gc on), as a plain run."))
    return out
