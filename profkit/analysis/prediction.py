"""Predict the speedup at 1..64 workers from the sequential item times and a pool's measured costs.

The model of one map on W workers, with the schedule the pool really uses
(chunks of consecutive items, each to the first free worker)::

    wall(W) = max(in-order makespan of (chunk + o),   # the items, as the pool hands them out
                  chunks * o,                         # the parent hands out one chunk at a time
                  CPU seconds / cores(W))             # the CPUs (one core for GIL-bound threads)
              + f                                      # per map: collecting the results

``o`` (dispatch, pickling and transfer per chunk) is calibrated so that the
model meets the mode's measured median at its own worker count; ``f`` is
the result collection the warm-up pass measured after the last task ended.
Start-up is added for the single-map figure, growing with the worker count.

Two curves come from one model: **on this machine** (the CPUs the run could
use, and the cores other programs left it, cap the CPU term) and **on a
machine with W cores** (one core per worker, so only the items, the
per-chunk cost and the GIL hold it). The second assumes the measured costs
per chunk and per map stay as they were, the cores are as fast as these,
and no other program runs. Calibrating at the ends of the measured speedup's
95% interval gives each curve a band.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from profkit.analysis.bounds import chunked, list_schedule_makespan

MAX_WORKERS = 64
FLAT_SHARE = 0.95  # the curve is flat from the first W within 5% of its best


class Limit:
    """What holds the predicted wall time at a worker count."""

    WORKERS = "workers"  # still scaling: more workers help
    ITEMS = "item granularity"
    OVERHEAD = "per-task overhead"
    CPUS = "CPUs"
    GIL = "the GIL"
    SERIAL = "Amdahl serial part"


@dataclass(frozen=True)
class PoolModel:
    """One pool's measured costs, ready to predict any worker count."""

    mode: str
    durations: tuple[float, ...]  # sequential item times, in item order, scaled to the reference wall
    cpu: float  # CPU seconds of all items
    reference_s: float  # the sequential map's median wall
    per_chunk_s: float  # o
    per_map_s: float  # f
    startup_s: float | None
    measured_workers: int
    cpus: int
    gil: bool  # workers share one GIL and the work holds it while computing
    chunksizes: tuple[int, ...]  # chunksize at W = 1..MAX_WORKERS
    cores: float = 0.0  # cores the pool got during the run (other programs may take some)
    #: the share of one core GIL-bound threads compute on while two or more contend for the GIL
    gil_core: float = 1.0
    #: chunksize -> the chunks' durations as an array (computed once per chunksize)
    _chunks: dict[int, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    #: (workers, o, cores_cap) -> terms: wall() and limit() ask for the same ones
    _terms: dict[tuple[int, float | None, float | None], dict[str, float]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def chunk_times(self, size: int) -> Any:
        """The durations of the chunks a pool of this chunksize hands out, as a numpy array."""
        if size not in self._chunks:
            self._chunks[size] = np.asarray(chunked(self.durations, size), dtype=float)
        return self._chunks[size]

    @property
    def core_cap(self) -> float:
        return 1.0 if self.gil else (self.cores or float(self.cpus))

    def chunksize(self, workers: int) -> int:
        return self.chunksizes[min(workers, len(self.chunksizes)) - 1] if self.chunksizes else 1

    def terms(self, workers: int, o: float | None = None,
              cores_cap: float | None = None) -> dict[str, float]:
        """The parts of the model at ``workers``."""
        key = (workers, o, cores_cap)
        if key not in self._terms:
            self._terms[key] = self._compute_terms(workers, o, cores_cap)
        return self._terms[key]

    def _compute_terms(self, workers: int, o: float | None,
                       cores_cap: float | None) -> dict[str, float]:
        o = self.per_chunk_s if o is None else o
        chunks = self.chunk_times(self.chunksize(workers))
        cap = self.core_cap if cores_cap is None else cores_cap
        if self.gil and workers > 1:
            cap = min(cap, self.gil_core)  # handing the GIL back and forth costs the contenders
        cores = min(float(workers), cap)
        return {"schedule": list_schedule_makespan(chunks + o, workers),
                "dispatch": len(chunks) * o, "cpu": self.cpu / max(1e-9, cores),
                "largest": float(chunks.max()) + o if len(chunks) else 0.0}

    def wall(self, workers: int, o: float | None = None, cores_cap: float | None = None) -> float:
        t = self.terms(workers, o, cores_cap)
        return max(t["schedule"], t["dispatch"], t["cpu"]) + self.per_map_s

    def limit(self, workers: int, own_cores: bool = False) -> str:
        """What holds ``workers`` back: on this machine, or (``own_cores``) with a core each."""
        t = self.terms(workers, None, (1.0 if self.gil else float(workers)) if own_cores else None)
        body = max(t["schedule"], t["dispatch"], t["cpu"])
        if self.per_map_s > body:
            return Limit.SERIAL
        if t["dispatch"] >= body * 0.999 and t["dispatch"] > 0:
            return Limit.OVERHEAD
        if t["cpu"] >= body * 0.999:
            return Limit.GIL if self.gil else Limit.WORKERS if own_cores else Limit.CPUS
        if t["largest"] >= 0.95 * t["schedule"] and workers > 1:
            return Limit.ITEMS
        return Limit.WORKERS


#: The fewest cores calibration may assume the pool got.
MIN_CORES = 0.5


def calibrate(durations: Sequence[float], demand: Sequence[float], *, mode: str,
              reference_s: float, measured_wall_s: float, measured_workers: int,
              collect_s: float, startup_s: float | None, cpus: int, gil: bool,
              chunksizes: Sequence[int], busy: bool, extra_cpu_s: float = 0.0) -> PoolModel:
    """Fit the model to the measured median at the mode's own worker count.

    ``demand`` is each item's need for a core (its CPU seconds, or its wall
    seconds when CPU-bound work waited for a core). The per-chunk cost starts
    at the CPU the pool spent beyond the sequential run's (``extra_cpu_s``:
    pickling, queues), per chunk. What the model still leaves unexplained goes
    first to the cores when other programs were ``busy`` during the run or the pool
    had more workers than CPUs (the pool then got fewer), else to the per-chunk cost.
    """
    total = float(sum(durations))
    scale = reference_s / total if total > 0 else 1.0
    d = tuple(float(x) * scale for x in durations)
    w0 = measured_workers
    base = PoolModel(mode, d, float(sum(demand)) * scale, reference_s, 0.0, 0.0, startup_s, w0,
                     cpus, gil, tuple(chunksizes), float(cpus))
    f = min(max(0.0, collect_s), max(0.0, measured_wall_s - base.wall(w0, 0.0)))
    n_chunks = len(chunked(d, base.chunksize(w0)))
    # with fewer CPUs than workers the pool's extra CPU is mostly the cost of sharing them
    # (switching, caches), which a core per worker would not pay: no per-chunk cost from it
    extra = max(0.0, extra_cpu_s) if cpus >= w0 else 0.0
    model = replace(base, per_map_s=f, per_chunk_s=extra / max(1, n_chunks))
    if model.wall(w0) > measured_wall_s:
        return replace(model, per_chunk_s=_solve(lambda o: model.wall(w0, o), measured_wall_s,
                                                 0.0, model.per_chunk_s))
    top = min(float(w0), model.core_cap)
    if gil and w0 > 1 and model.wall(w0) < measured_wall_s:
        # threads that hold the GIL lose what they lose to the GIL, not to the parent's dispatch:
        # a lone thread has no one to hand it to
        if replace(model, gil_core=MIN_CORES).wall(w0) >= measured_wall_s:
            share = _solve(lambda c: -replace(model, gil_core=c).wall(w0), -measured_wall_s, MIN_CORES, 1.0)
            return replace(model, gil_core=share)
        model = replace(model, gil_core=MIN_CORES)
    if (busy or cpus < w0) and not gil and top > MIN_CORES:
        # more workers than CPUs, or other programs on them: what the pool loses beyond the model
        # is lost on the cores it shares (switching, caches), not to a serial dispatch that would
        # still hold it back on a machine with a core per worker
        if model.wall(w0, cores_cap=MIN_CORES) >= measured_wall_s:
            cores = _solve(lambda c: -model.wall(w0, cores_cap=c), -measured_wall_s, MIN_CORES, top)
            return replace(model, cores=cores)
        model = replace(model, cores=MIN_CORES)
    if model.wall(w0) >= measured_wall_s:
        return model
    return replace(model, per_chunk_s=_solve(lambda o: model.wall(w0, o), measured_wall_s,
                                             model.per_chunk_s, max(measured_wall_s, 1e-9)))


def _solve(fn: Callable[[float], float], target: float, lo: float, hi: float) -> float:
    """x in [lo, hi] with fn(x) = target, for fn increasing (bisection)."""
    for _ in range(60):
        mid = (lo + hi) / 2
        if fn(mid) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@dataclass(frozen=True)
class Point:
    """The predicted speedup of one mode at one worker count."""

    workers: int
    speedup: float
    wall_s: float
    single_map_speedup: float | None
    startup_s: float | None
    #: what holds the curve there (a :class:`Limit`)
    limit: str


def predict(model: PoolModel, max_workers: int = MAX_WORKERS, *, own_cores: bool = False) -> list[Point]:
    """Predicted speedup (and a single map's, start-up included) at 1..max_workers.

    ``own_cores``: on a machine with a core per worker (the GIL still holds threads of
    work that holds it), not on this one.
    """
    out = []
    for w in range(1, max_workers + 1):
        wall = model.wall(w, cores_cap=(1.0 if model.gil else float(w)) if own_cores else None)
        startup = (model.startup_s * w / model.measured_workers
                   if model.startup_s is not None else None)
        single = model.reference_s / (wall + startup) if startup is not None else None
        out.append(Point(w, model.reference_s / wall if wall > 0 else 1.0, wall, single, startup,
                         model.limit(w, own_cores)))
    return out


@dataclass(frozen=True)
class Flattening:
    """Where a pool's predicted curve flattens, and the numbers of what holds it there."""

    mode: str
    workers: int  # the first worker count within 5% of the best
    speedup: float  # the predicted speedup there
    best: float  # the best predicted speedup up to max_workers
    max_workers: int
    limit: str  # a :class:`Limit`
    n_items: int
    largest_share: float  # the largest item's share of the work
    per_chunk_s: float
    cpu_share: float  # the work's CPU seconds over the sequential wall
    cpus: int
    per_map_s: float
    #: the pool got fewer cores than the CPUs: about this many ...
    cores_lost: float | None = None
    #: ... because its own workers shared them (how many), not because other programs took some
    shared_by: int | None = None


def flattening(model: PoolModel, points: Sequence[Point]) -> tuple[int, str, Flattening]:
    """Where the curve flattens, what holds it there, and the facts that say why."""
    best = max(p.speedup for p in points)
    flat = next(p for p in points if p.speedup >= FLAT_SHARE * best)
    after = points[min(len(points), 2 * flat.workers) - 1]
    why = after.limit if after.limit != Limit.WORKERS else flat.limit
    lost = model.core_cap < model.cpus - 0.05
    shared = model.measured_workers > model.cpus
    facts = Flattening(
        model.mode, flat.workers, flat.speedup, best, len(points), why, len(model.durations),
        max(model.durations) / sum(model.durations), model.per_chunk_s, model.cpu / model.reference_s,
        model.cpus, model.per_map_s, model.core_cap if lost else None,
        model.measured_workers if lost and shared else None)
    return flat.workers, why, facts
