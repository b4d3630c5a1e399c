"""``--chunksize auto`` and the advised chunksize, tried in the same run.

Both apply to the modes whose executors honour a chunksize. The trial runs
after the interleaved rounds: a few bare maps with the advised chunksize,
alternating with maps at the mode's own, so the gain is measured, not guessed.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from profkit.analysis.verdict import TINY_TASK_S, advised_chunksize
from profkit.model import JSON

if TYPE_CHECKING:
    from profkit.engine.runner import Mode
    from profkit.executors.base import Settings

TRIAL_ROUNDS = 3


def median_item_s(modes: Sequence[Mode]) -> float | None:
    """The median item's seconds in the reference's probe, else in any mode's."""
    ordered = sorted(modes, key=lambda m: not m.reference)
    for mode in ordered:
        tasks = mode.result.tasks
        if tasks:
            return statistics.median(e - s for s, e in zip(tasks.start, tasks.end, strict=True))
    return None


def auto_chunksize(median_s: float | None, n_items: int, workers: int) -> int:
    """Chunks of work for tiny tasks (four per worker), one item at a time otherwise."""
    if median_s is None or median_s >= TINY_TASK_S:
        return 1
    return advised_chunksize(n_items, workers)


def set_chunksize(mode: Mode, chunksize: int) -> None:
    """Make the mode's maps use ``chunksize`` from now on."""
    mode.executor.settings = replace(mode.executor.settings, chunksize=chunksize)
    mode.result.chunksize = chunksize
    mode.result.pool = mode.executor.describe()


def apply_auto(modes: Sequence[Mode], n_items: int, say: Callable[[str], None]) -> None:
    """Resolve ``--chunksize auto`` for every live mode that honours a chunksize."""
    median_s = median_item_s(modes)
    for mode in modes:
        if mode.live and mode.executor.traits.honours_chunksize:
            chunksize = auto_chunksize(median_s, n_items, mode.spec.workers)
            set_chunksize(mode, chunksize)
            say(f"{mode.spec}: --chunksize auto picked {chunksize}")


def try_advised(modes: Sequence[Mode], items: list[Any], task: Callable[[Any], Any],
                say: Callable[[str], None]) -> None:
    """Time the chunksize the report would advise against each tiny-task mode's own."""
    median_s = median_item_s(modes)
    if median_s is None or median_s >= TINY_TASK_S:
        return
    reference = next((m for m in modes if m.reference), None)
    ref_walls = [t.wall_s for t in reference.result.timings if t.phase == "map"] \
        if reference is not None else []
    for mode in modes:
        if not (mode.live and mode.executor.traits.honours_chunksize):
            continue
        own = mode.executor.dispatch_chunksize(mode.executor.settings.chunksize, len(items),
                                               mode.spec.workers)
        advised = advised_chunksize(len(items), mode.spec.workers)
        if advised == own:
            continue
        say(f"{mode.spec}: trying the advised chunksize {advised} against {own} "
            f"({TRIAL_ROUNDS} maps each)")
        walls: dict[int, list[float]] = {own: [], advised: []}
        before = mode.executor.settings

        def trial(m: Mode = mode, a: int = advised, o: int = own,
                  w: dict[int, list[float]] = walls, b: Settings = before) -> None:
            for k in range(TRIAL_ROUNDS):
                for size in ((a, o) if k % 2 else (o, a)):
                    m.executor.settings = replace(b, chunksize=size)
                    w[size].append(m.time_map(items, task)[0])

        try:
            ok = mode.attempt(trial)
        finally:
            mode.executor.settings = before
        if not ok or not walls[advised] or not walls[own]:
            continue
        chunked_s, own_s = statistics.median(walls[advised]), statistics.median(walls[own])
        mode.result.chunk_trial = {
            "mode": mode.spec.kind, "chunksize": advised, "baseline": own,
            "chunked_s": chunked_s, "baseline_s": own_s, "gain": own_s / chunked_s,
            "speedup": statistics.median(ref_walls) / chunked_s if ref_walls else None,
            "walls": list[JSON](walls[advised]), "baseline_walls": list[JSON](walls[own]),
        }
