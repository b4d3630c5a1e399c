"""``--chunksize auto`` and the advised chunksize, tried in the same run.

Both apply to the modes whose executors honour a chunksize. The trial is one
more contender in the interleaved rounds: a bare map with the advised chunksize
in each round, paired with the mode's own map of the same round, so the gain is
measured, not guessed, and no map is timed twice.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from profkit.analysis.stats import paired_ratio
from profkit.analysis.verdict import TINY_TASK_S, advised_chunksize
from profkit.engine.rounds import usable_walls
from profkit.model import JSON, ModeResult

if TYPE_CHECKING:
    from profkit.engine.mode import Mode


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


class ChunkTrial:
    """A mode at the chunksize the report would advise, timed as one more contender in the
    interleaved rounds: the rounds' own maps at the mode's chunksize are its baseline, so no
    map is timed twice, and load falls on both alike."""

    trial = True
    reference = False

    def __init__(self, mode: Mode, chunksize: int, baseline: int) -> None:
        self.mode, self.chunksize, self.baseline = mode, chunksize, baseline
        self.result = ModeResult(spec=mode.spec, traits=mode.result.traits)

    @property
    def live(self) -> bool:
        return self.mode.live

    @live.setter
    def live(self, value: bool) -> None:  # a failed trial ends its mode (one pool)
        self.mode.live = value

    @property
    def name(self) -> str:
        return f"{self.mode.name} chunksize {self.chunksize}"

    def attempt(self, action: Callable[[], None]) -> bool:
        return self.mode.attempt(action)

    def time_map(self, items: list[object], task: Callable[[object], object]) -> tuple[float, float]:
        before = self.mode.executor.settings
        self.mode.executor.settings = replace(before, chunksize=self.chunksize)
        try:
            return self.mode.time_map(items, task)
        finally:
            self.mode.executor.settings = before

    @property
    def map_thread_cpu_s(self) -> float:
        return float("nan")


def advised_trials(modes: Sequence[Mode], n_items: int, say: Callable[[str], None]) -> list[ChunkTrial]:
    """A trial of the advised chunksize for each tiny-task mode whose own chunksize differs."""
    median_s = median_item_s(modes)
    if median_s is None or median_s >= TINY_TASK_S:
        return []
    out = []
    for mode in modes:
        if not (mode.live and mode.executor.traits.honours_chunksize):
            continue
        own = mode.executor.dispatch_chunksize(mode.executor.settings.chunksize, n_items,
                                               mode.spec.workers)
        advised = advised_chunksize(n_items, mode.spec.workers)
        if advised != own:
            say(f"{mode.spec}: timing the advised chunksize {advised} in the rounds, beside {own}")
            out.append(ChunkTrial(mode, advised, own))
    return out


def record_trials(trials: Sequence[ChunkTrial], reference: Mode | None) -> None:
    """Each trial's gain over its mode's own maps in the same clean rounds, into the mode's result."""
    ref = usable_walls(reference.result.timings) if reference is not None else {}
    for trial in trials:
        chunked = usable_walls(trial.result.timings)
        own = usable_walls(trial.mode.result.timings)
        common = sorted(set(chunked) & set(own))
        if not common:
            continue
        chunked_s = statistics.median(chunked[r] for r in common)
        own_s = statistics.median(own[r] for r in common)
        gain = paired_ratio([own[r] for r in common], [chunked[r] for r in common])
        with_ref = sorted(set(common) & set(ref))
        speedup = paired_ratio([ref[r] for r in with_ref], [chunked[r] for r in with_ref])
        trial.mode.result.chunk_trial = {
            "mode": trial.mode.spec.kind, "chunksize": trial.chunksize, "baseline": trial.baseline,
            "chunked_s": chunked_s, "baseline_s": own_s,
            "gain": gain.value if gain else own_s / chunked_s,
            "speedup": speedup.value if speedup else None,
            "walls": list[JSON](chunked[r] for r in common),
            "baseline_walls": list[JSON](own[r] for r in common),
        }
