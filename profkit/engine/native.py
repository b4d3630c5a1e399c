"""Native threads: see them in the sequential map, and time one native thread per worker.

When the sequential map already keeps more than one core busy (BLAS, OpenMP), a pool's
workers compete for the same cores. The fix a careful engineer tries first is one
native thread per worker; it is timed here like the advised chunksize: a few bare
maps of the pool with one native thread each, alternating with its own maps.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from profkit.analysis.native import NATIVE_CORES_MIN, sequential_cores
from profkit.collectors.native import native_pools, one_native_thread
from profkit.model import JSON

if TYPE_CHECKING:
    from profkit.engine.mode import Mode

TRIAL_ROUNDS = 3


def cores_used(mode: Mode) -> float | None:
    """Cores the mode's maps keep busy when they have them (:func:`sequential_cores`)."""
    maps = [t for t in mode.result.timings if t.phase == "map"]
    return sequential_cores([t.cpu_s for t in maps], [t.wall_s for t in maps],
                            [t.thread_cpu_s for t in maps])


def record_pools(reference: Mode | None) -> None:
    """The native pools loaded where the reference ran its tasks (this process)."""
    if reference is not None and reference.live and not reference.executor.traits.ships_pickles:
        reference.result.native_pools = native_pools()


def try_one_thread(modes: Sequence[Mode], items: list[object], task: Callable[[object], object],
                   say: Callable[[str], None]) -> None:
    """Time each process pool with one native thread per worker, when sequential runs several."""
    reference = next((m for m in modes if m.reference), None)
    cores = cores_used(reference) if reference is not None else None
    if reference is None or cores is None or cores < NATIVE_CORES_MIN:
        return
    limited = partial(one_native_thread, task)
    for mode in modes:
        traits = mode.executor.traits
        if not (mode.live and traits.parallel and not traits.shares_memory):
            continue
        say(f"{mode.spec}: the sequential map keeps {cores:.2f} cores busy (native threads); "
            f"trying one native thread per worker ({TRIAL_ROUNDS} rounds)")
        walls: dict[str, list[float]] = {"sequential": [], "own": [], "one": []}

        def trial(m: Mode = mode, w: dict[str, list[float]] = walls, ref: Mode = reference) -> None:
            runs: dict[str, Callable[[], float]] = {
                "sequential": lambda: ref.time_map(items, task)[0],
                "own": lambda: m.executor.time_map(task, items, m.deadline.remaining())[0],
                "one": lambda: m.executor.time_map(limited, items, m.deadline.remaining())[0],
            }
            names = list(runs)
            for k in range(TRIAL_ROUNDS):
                for name in names[k % 3:] + names[:k % 3]:  # each in every position once
                    w[name].append(runs[name]())

        try:  # the trial is advice: a task the fix breaks leaves the mode's own results alone
            with mode.deadline.running():
                trial()
        except Exception as exc:  # noqa: BLE001 - any failure of the trial only ends the trial
            say(f"{mode.spec}: the one-native-thread trial failed ({type(exc).__name__}); left out")
            continue
        if len(walls["one"]) < TRIAL_ROUNDS:
            continue
        seq = walls["sequential"]
        mode.result.native_trial = {
            "mode": mode.spec.kind, "workers": mode.spec.workers, "threads_per_worker": 1,
            "sequential_cores": cores, "limited_s": statistics.median(walls["one"]),
            "baseline_s": statistics.median(walls["own"]),
            "gain": statistics.median(o / n for o, n in zip(walls["own"], walls["one"], strict=True)),
            "speedup": statistics.median(s / n for s, n in zip(seq, walls["one"], strict=True)),
            "walls": list[JSON](walls["one"]), "baseline_walls": list[JSON](walls["own"]),
            "sequential_walls": list[JSON](seq),
        }
