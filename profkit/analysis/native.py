"""Native threads in the task: the cores the sequential map already keeps busy, and what that allows.

If the sequential map keeps c of N cores busy (NumPy on OpenBLAS, OpenMP), no pool can
beat about N / c: the machine is full before any pool starts. The fix usually tried is
one native thread per worker; the engine times it (``native_trial`` per mode).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from profkit.model import JSON, NativePool


class ModeNative(Protocol):
    """What the native-thread facts read of a mode's record (:class:`profkit.record.ModeMeta`)."""

    @property
    def native_pools(self) -> list[NativePool]: ...

    @property
    def native_trial(self) -> dict[str, JSON] | None: ...

#: The sequential map keeps at least this many cores busy: its task runs native threads.
NATIVE_CORES_MIN = 1.25
#: ... and the process's other threads compute at least this many cores on average over the map:
#: profkit's own threads (the load meter, the samplers) stay far below it, also beside a caller
#: that mostly waits (I/O, sleeps), and other programs that stretch the map's wall time leave
#: a native pool well above it.
BESIDE_CORES_MIN = 0.25
#: ... and a map lasts at least this long: on a shorter one profkit's own threads (the load
#: meter, the samplers) weigh as much as a native pool would.
NATIVE_MIN_MAP_S = 0.05


def sequential_cores(map_cpu_s: Sequence[float], map_wall_s: Sequence[float],
                     map_thread_cpu_s: Sequence[float]) -> float | None:
    """Cores the sequential map keeps busy when it has them: the median over its timed maps of
    the process CPU over the CPU of the thread that ran the items, both in the same map. None
    when the process's other threads computed too little to be more than profkit's own.

    The two CPUs come from the same map: a native pool's share of the work moves with what
    else the process does (the probe's samplers slow the caller, not the BLAS threads), so
    a thread CPU from another pass would bias the ratio. CPU seconds, unlike wall seconds,
    change less when other programs take cores, though a native pool's second thread still
    gets fewer of them on a busy machine.
    """
    maps = [(c, w, t) for c, w, t in zip(map_cpu_s, map_wall_s, map_thread_cpu_s, strict=True)
            if c == c and w == w and t == t and c > 0 and w > 0 and t > 0]
    if not maps:
        return None
    wall = statistics.median(w for _, w, _ in maps)
    beside = statistics.median(c - t for c, _, t in maps)
    if wall < NATIVE_MIN_MAP_S or beside < BESIDE_CORES_MIN * wall:
        return None
    return max(1.0, statistics.median(c / t for c, _, t in maps))


@dataclass(frozen=True)
class NativePoolFacts:
    """One native thread pool: its API and its thread count."""

    api: str
    threads: int


@dataclass(frozen=True)
class NativeTrialFacts:
    """The one-native-thread-per-worker fix as timed: speedup over sequential, gain over the mode's own."""

    mode: str
    workers: int
    speedup: float
    gain: float


@dataclass(frozen=True)
class NativeFacts:
    """What the report says of native threads: cores busy, CPUs, the bound, the pools, the trial."""

    sequential_cores: float
    cpus: int
    bound: float
    pools: list[NativePoolFacts]
    trial: NativeTrialFacts | None = None


@dataclass(frozen=True)
class NativeThreads:
    """The sequential map runs native threads: how many cores it fills, and the fix as timed."""

    sequential_cores: float
    cpus: int
    #: (api, threads) of each native pool loaded in the sequential mode's process
    pools: tuple[tuple[str, int], ...]
    #: the fix, timed in this run: mode, workers, speedup over sequential, gain over the mode's own
    trial: Mapping[str, Any] | None

    @property
    def bound(self) -> float:
        """No pool beats this: the CPUs over the cores the sequential map already uses."""
        return self.cpus / self.sequential_cores

    def facts(self) -> NativeFacts:
        """The facts the report words."""
        trial = self.trial
        timed = (NativeTrialFacts(str(trial["mode"]), int(trial["workers"]), float(trial["speedup"]),
                                  float(trial["gain"]))
                 if trial and trial.get("speedup") is not None else None)
        return NativeFacts(self.sequential_cores, self.cpus, self.bound,
                           [NativePoolFacts(api, threads) for api, threads in self.pools], timed)


def native_threads(sequential_cores: float | None, cpus: int,
                   mode_meta: Mapping[str, ModeNative]) -> NativeThreads | None:
    """The native-thread facts of a run, or None when the sequential map used about one core."""
    if sequential_cores is None or sequential_cores < NATIVE_CORES_MIN or cpus < 1:
        return None
    pools: list[tuple[str, int]] = []
    trials: list[Mapping[str, Any]] = []
    for info in mode_meta.values():
        pools += [(pool.api, pool.threads) for pool in info.native_pools]
        trial = info.native_trial
        if isinstance(trial, Mapping) and trial.get("speedup") is not None:
            trials.append(trial)
    best = max(trials, key=lambda t: float(t["speedup"])) if trials else None
    # a map cannot keep more cores busy than there are; profkit's own threads add a little CPU
    return NativeThreads(min(float(sequential_cores), float(cpus)), cpus, tuple(dict.fromkeys(pools)),
                         best)
