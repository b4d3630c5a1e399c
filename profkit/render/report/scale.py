"""What the report shows of a large run, so its size does not grow with the item count.

Above :data:`ITEMS_IN_FULL` items the item table shows the slowest and the
fastest :data:`EDGE_ROWS` items with counts; lists of item numbers collapse
into ranges; and the report states what it and the run sampled (reprs and
pickled sizes, the cProfile pass, the timeline's bars). The parquet frames
keep every task.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from profkit.render.trace import TRACE_TASKS

if TYPE_CHECKING:
    import pandas as pd

    from profkit.record import RunMeta

#: Up to this many items the item table holds every one (the rest built on "show all").
ITEMS_IN_FULL = 2000
#: Above it: the slowest and the fastest this many items, by their duration in one mode.
EDGE_ROWS = 25


def item_ranges(items: Iterable[int] | None, limit: int = 12) -> str:
    """Item numbers as ranges, ``0–9, 12, 14, 15, 20–99999``, at most ``limit`` of them then a
    count (two neighbours stay two numbers)."""
    numbers = sorted({int(i) for i in items or []})
    runs: list[tuple[int, int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    parts = [f"{a}" if a == b else f"{a}, {b}" if b == a + 1 else f"{a}–{b}"
             for a, b in runs[:limit]]
    if len(runs) > limit:
        rest = sum(b - a + 1 for a, b in runs[limit:])
        parts.append(f"and {rest:,} more")
    return ", ".join(parts)


def table_rows(tasks: pd.DataFrame, rows: pd.Series, ref: str) -> tuple[pd.DataFrame, list[int] | None,
                                                                          int]:
    """The item table's tasks among ``rows`` (a mask): all of them, or those of the slowest and
    fastest :data:`EDGE_ROWS` items of mode ``ref`` (failed items too), in that order.

    Returns the tasks to show, the item order (None: every item, by index) and
    the number of items. Only the shown rows are copied.
    """
    n_items = int(tasks.loc[rows, "item"].nunique())
    if n_items <= ITEMS_IN_FULL:
        return tasks[rows], None, n_items
    mine = tasks.loc[rows & (tasks["mode"] == ref), ["item", "duration_s"]]
    by_time = mine.sort_values(["duration_s", "item"], ascending=[False, True])["item"]
    slow = [int(i) for i in by_time.head(EDGE_ROWS)]
    fast = [int(i) for i in by_time.tail(EDGE_ROWS)]
    failed = [int(i) for i in tasks.loc[rows & ~tasks["ok"].astype(bool), "item"].unique()[:EDGE_ROWS]]
    order = list(dict.fromkeys([*slow, *failed, *fast]))
    return tasks[rows & tasks["item"].isin(order)], order, n_items


def timeline_tasks(tasks: pd.DataFrame, modes: list[str]) -> dict[str, int]:
    """Tasks per mode of ``modes`` (the ones with a timeline) in the main run."""
    if tasks.empty:
        return {}
    counts = tasks[~tasks["sweep"].astype(bool)]["mode"].astype(str).value_counts()
    return {m: int(counts[m]) for m in modes if m in counts}


def sampled(meta: RunMeta, timeline_tasks: dict[str, int], n_items: int, max_bars: int,
            table_cut: bool) -> list[str]:
    """Plain sentences naming each part of the run and the report that covers a sample.

    ``timeline_tasks``: tasks per mode with a timeline; above ``max_bars`` its bars merge.
    """
    out: list[str] = []
    modes = meta.modes
    every = max((m.tasks_sample_every or 1 for m in modes.values()), default=1)
    if every > 1:
        out.append(f"Item and result reprs and pickled sizes: every {every:,}th item, plus the "
                   "slowest and fastest 25 of each batch of the tasks pass and every failed "
                   "item (the other rows of frames/tasks.parquet leave them empty; the pickled "
                   "totals cover every item).")
    for mode, info in modes.items():
        covered = info.cprofile_items
        stride = info.cprofile_every
        if info.cprofile_indices is not None:  # the pass's own budget may stop it before the sample ends
            if stride is not None and stride > 1:
                out.append(f"cProfile ({mode}): {int(covered or 0):,} of {n_items:,} items, every "
                           f"{stride:,}th (fewer if its budget ran out first); call counts cover "
                           "those items only.")
        elif covered is not None and covered < n_items:  # a run saved before the budget
            out.append(f"cProfile ({mode}): {int(covered):,} of {n_items:,} items, every "
                       f"{-(-n_items // max(1, int(covered))):,}th; call counts cover those "
                       "items only.")
    merged = {m: n for m, n in timeline_tasks.items() if n > max_bars}
    if merged:
        each = ", ".join(f"{m} {n:,} tasks" for m, n in merged.items())
        out.append(f"Timelines ({each}): tasks closer together than 1/600 of the pass are drawn "
                   "as one bar (every task is in frames/tasks.parquet; trace/ has a slice per "
                   f"task up to {TRACE_TASKS:,} tasks per mode, per block of tasks above).")
    if table_cut:
        out.append(f"Item table: the slowest and fastest {EDGE_ROWS} of {n_items:,} items "
                   "(every task is in frames/tasks.parquet).")
    return out
