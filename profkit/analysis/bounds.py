"""What speedup the work allows: schedule bounds, CPU caps and Amdahl's law.

Three schedule figures, each named for what it is:

- the **optimum**: the shortest makespan any assignment of the items to W
  workers can reach. Exact (branch and bound) up to :data:`EXACT_MAX_ITEMS`
  items; above that, LPT (longest first), which is within 4/3 of it.
- the **upper bound**: ``total / max(total / W, largest)``. No schedule beats
  it, but it may not be reachable.
- the **dispatch order**: greedy in item order, in chunks of ``chunksize``,
  which is what ``executor.map`` and ``Pool.map`` really do.

CPU-bound work is further capped by the CPUs the process may use (or one
core, for threads that share a GIL): the CPU seconds must fit on them.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Up to this many items the optimum is exact; above it LPT stands in.
EXACT_MAX_ITEMS = 20
#: Branch-and-bound nodes before giving up on exactness (LPT is used then).
EXACT_MAX_NODES = 100_000
#: LPT's worst case against the optimum (Graham, 1969): at most 4/3 - 1/(3W).
LPT_RATIO = 4.0 / 3.0


#: Greedy list scheduling ends within the largest item of total / W (Graham, 1966); when that
#: item is at most this share of total / W, the makespan is taken as total / W + largest / 2,
#: within this share of the schedule's own, without scheduling item by item.
FLUID_SHARE = 1e-3


def list_schedule_makespan(durations: Sequence[float], workers: int) -> float:
    """Makespan of greedy list scheduling in the given order (each item to the first free worker).

    With many items each tiny against the average load, within :data:`FLUID_SHARE`
    of it, from the bound alone.
    """
    if len(durations) == 0:
        return 0.0
    workers = max(1, workers)
    if workers == 1:
        return float(np.sum(durations))
    if len(durations) > 64 * workers:
        values = np.asarray(durations, dtype=float)
        average, largest = float(values.sum()) / workers, float(values.max())
        if largest <= FLUID_SHARE * average:
            return average + largest / 2
    loads = [0.0] * workers
    for d in (durations.tolist() if isinstance(durations, np.ndarray) else durations):
        heapq.heapreplace(loads, loads[0] + d)
    return float(max(loads))


def chunked(durations: Sequence[float], chunksize: int) -> list[float]:
    """Durations of the chunks a pool hands out: consecutive items, ``chunksize`` at a time."""
    size = max(1, chunksize)
    if len(durations) == 0:
        return []
    sums = np.add.reduceat(np.asarray(durations, dtype=float), np.arange(0, len(durations), size))
    return [float(x) for x in sums]


def dispatch_makespan(durations: Sequence[float], workers: int, chunksize: int = 1) -> float:
    """Makespan of the pool's own schedule: chunks in item order, each to the first free worker."""
    return list_schedule_makespan(chunked(durations, chunksize), workers)


def lpt_makespan(durations: Sequence[float], workers: int) -> float:
    """Longest-processing-time-first makespan: within 4/3 of the optimum."""
    return list_schedule_makespan(sorted(durations, reverse=True), workers)


def lower_makespan(durations: Sequence[float], workers: int) -> float:
    """No schedule finishes before max(total / W, largest item)."""
    if not durations:
        return 0.0
    return max(float(sum(durations)) / max(1, workers), float(max(durations)))


def optimal_makespan(durations: Sequence[float], workers: int) -> tuple[float, bool]:
    """The optimal makespan and whether it is exact (branch and bound) or LPT's (not proven)."""
    items = sorted((float(d) for d in durations), reverse=True)
    best = lpt_makespan(items, workers)
    low = lower_makespan(items, workers)
    if best <= low * (1 + 1e-12) or workers <= 1:
        return best, True
    if len(items) > EXACT_MAX_ITEMS:
        return best, False
    w = min(workers, len(items))
    loads = [0.0] * w
    suffix = [0.0] * (len(items) + 1)
    for i in range(len(items) - 1, -1, -1):
        suffix[i] = suffix[i + 1] + items[i]
    nodes = 0
    eps = 1e-12

    def search(i: int) -> bool:
        nonlocal best, nodes
        nodes += 1
        if nodes > EXACT_MAX_NODES:
            return False
        if i == len(items):
            best = max(loads)
            return True
        # remaining work must fit under the best makespan
        if (sum(loads) + suffix[i]) / w >= best - eps:
            return True
        tried: set[float] = set()
        for k in range(w):
            if loads[k] in tried or loads[k] + items[i] >= best - eps:
                continue
            tried.add(loads[k])
            loads[k] += items[i]
            ok = search(i + 1)
            loads[k] -= items[i]
            if not ok:
                return False
            if best <= low * (1 + 1e-12):
                return True
        return True

    exact = search(0)
    return best, exact


def speedup(total: float, makespan: float) -> float:
    return total / makespan if makespan > 0 else 1.0


def granularity_bound(durations: Sequence[float], workers: int) -> float:
    """Best speedup these items allow on ``workers``: total work / optimal makespan."""
    return speedup(float(sum(durations)), optimal_makespan(durations, workers)[0])


def cpu_cap(total_s: float, cpu_s: float, cores: float) -> float | None:
    """Speedup the CPU seconds allow on ``cores`` cores: total / (cpu / cores); None if no CPU used."""
    if cpu_s <= 0 or cores <= 0:
        return None
    return total_s / (cpu_s / cores)


@dataclass(frozen=True)
class ScheduleBounds:
    """The bounds of one worker count, as speedups over the sequential item total."""

    workers: int
    chunksize: int
    total_s: float
    largest_s: float
    optimum_makespan_s: float
    optimum_exact: bool
    optimum: float  # total / optimal (or LPT) makespan
    upper: float  # total / max(total / W, largest)
    dispatch_makespan_s: float
    dispatch: float  # in item order with the chunksize
    sorted_makespan_s: float  # the same pool, items submitted longest first
    cpu_cap: float | None  # the CPUs' (or the GIL's) cap, None if not applied
    cores: float | None

    @property
    def best(self) -> float:
        """What the work allows here: the optimum, under the CPU cap if one applies."""
        return min(self.optimum, self.cpu_cap) if self.cpu_cap is not None else self.optimum

    @property
    def capped_by_cpus(self) -> bool:
        return self.cpu_cap is not None and self.cpu_cap < self.optimum

    @property
    def sort_gain(self) -> float:
        """How much sooner the pool would finish with the items submitted longest first (0.1 = 10%)."""
        return self.dispatch_makespan_s / self.sorted_makespan_s - 1 if self.sorted_makespan_s else 0.0

    def optimum_name(self) -> str:
        return ("the optimal schedule" if self.optimum_exact else
                "the best schedule found (longest-first or better), within 4/3 of the optimal one")


def schedule_bounds(durations: Sequence[float], workers: int, *, chunksize: int = 1,
                    cpu_s: float | None = None, cores: float | None = None) -> ScheduleBounds:
    """All the bounds of ``durations`` (in item order) on ``workers``.

    ``cpu_s`` and ``cores`` apply the CPU cap: the CPU seconds of the items on
    that many cores (the CPUs the process may use, or 1 for GIL-bound threads).
    """
    total = float(sum(durations))
    opt, exact = optimal_makespan(durations, workers)
    disp = dispatch_makespan(durations, workers, chunksize)
    cap = None
    if cpu_s is not None and cores is not None and cores < workers:
        cap = cpu_cap(total, cpu_s, cores)
    return ScheduleBounds(
        workers=workers, chunksize=max(1, chunksize), total_s=total,
        largest_s=float(max(durations)) if len(durations) else 0.0,
        optimum_makespan_s=opt, optimum_exact=exact, optimum=speedup(total, opt),
        upper=speedup(total, lower_makespan(durations, workers)),
        dispatch_makespan_s=disp, dispatch=speedup(total, disp),
        sorted_makespan_s=dispatch_makespan(sorted(durations, reverse=True), workers, chunksize),
        cpu_cap=cap if cap is None or math.isfinite(cap) else None, cores=cores)


def amdahl_speedup(workers: np.ndarray | Sequence[float], serial_fraction: float) -> np.ndarray:
    """Amdahl's law: 1 / (s + (1 - s) / n)."""
    n = np.asarray(workers, dtype=float)
    return 1.0 / (serial_fraction + (1.0 - serial_fraction) / n)


_GRID = np.linspace(0.0, 1.0, 2001)


def fit_amdahl(workers: Sequence[float], speedups: Sequence[float]) -> float:
    """Least-squares serial fraction s in [0, 1] for observed (workers, speedup) points."""
    n = np.asarray(workers, dtype=float)
    observed = np.asarray(speedups, dtype=float)
    # (grid, points) matrix of predictions; pick the s with the smallest squared error.
    predicted = 1.0 / (_GRID[:, None] + (1.0 - _GRID[:, None]) / n[None, :])
    errors = ((predicted - observed[None, :]) ** 2).sum(axis=1)
    return float(_GRID[int(np.argmin(errors))])


def fit_amdahl_bootstrap(
    reference: Sequence[float],
    points: dict[int, Sequence[float]],
    *,
    resamples: int = 500,
    seed: int = 0,
) -> tuple[float, tuple[float, float]]:
    """Serial fraction from repeat timings, with a percentile-bootstrap 95% interval.

    ``reference`` holds the sequential wall times; ``points`` maps a worker count
    to that configuration's wall times.
    """
    counts = sorted(points)
    ref = np.asarray(reference, dtype=float)
    med_ref = float(np.median(ref))
    speedups = [med_ref / float(np.median(points[n])) for n in counts]
    estimate = fit_amdahl(counts, speedups)
    rng = np.random.default_rng(seed)
    fits = []
    for _ in range(resamples):
        r = float(np.median(rng.choice(ref, size=ref.size)))
        s = [r / float(np.median(rng.choice(np.asarray(points[n], float), size=len(points[n]))))
             for n in counts]
        fits.append(fit_amdahl(counts, s))
    lo, hi = np.percentile(fits, [2.5, 97.5])
    return estimate, (float(lo), float(hi))
