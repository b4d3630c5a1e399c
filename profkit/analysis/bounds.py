"""What speedup the work allows: schedule bounds, CPU caps and Amdahl's law.

Three schedule figures, each named for what it is:

- the **optimum**: the shortest makespan any assignment of the items to W
  workers can reach. Exact (branch and bound) up to :data:`EXACT_MAX_ITEMS`
  items; when the search cannot finish, a proven lower bound on it
  (:func:`lower_makespan`), so the speedup it gives is still one no schedule
  beats.
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

#: Up to this many items the optimum is searched; above it the lower bound stands in.
EXACT_MAX_ITEMS = 20
#: Branch-and-bound nodes before giving up on exactness (the lower bound stands in then).
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
    """No schedule finishes before max(total / W, the largest item, the W-th and (W+1)-th largest together).

    With more items than workers, two of the W + 1 largest share a worker.
    """
    if len(durations) == 0:
        return 0.0
    w = max(1, workers)
    items = sorted((float(d) for d in durations), reverse=True)
    low = max(sum(items) / w, items[0])
    if len(items) > w:
        low = max(low, items[w - 1] + items[w])
    return low


def optimal_makespan(durations: Sequence[float], workers: int) -> tuple[float, bool]:
    """The optimal makespan, exact (True) by branch and bound; or, when the search cannot
    finish, a proven lower bound on it (False), never a schedule's makespan: no schedule
    beats the value returned.

    The search places the items longest first, never on two workers of equal load,
    never where it would reach the best makespan found so far, and gives up a branch
    when the room left on the workers (counting only gaps the smallest remaining item
    fits in) cannot hold the remaining work.
    """
    items = sorted((float(d) for d in durations), reverse=True)
    if not items:
        return 0.0, True
    best = lpt_makespan(items, workers)
    low = lower_makespan(items, workers)
    eps = 1e-9 * best
    if best <= low + eps or workers <= 1:
        return best, True
    if len(items) > EXACT_MAX_ITEMS:
        return low, False
    w = min(workers, len(items))
    loads = [0.0] * w
    suffix = [0.0] * (len(items) + 1)
    for i in range(len(items) - 1, -1, -1):
        suffix[i] = suffix[i + 1] + items[i]
    smallest = items[-1]
    nodes = 0

    def room(limit: float) -> float:
        return sum(gap for load in loads if (gap := limit - load) >= smallest)

    def search(i: int) -> bool:
        """False when the node budget ran out; ``best`` improves as schedules are found."""
        nonlocal best, nodes
        nodes += 1
        if nodes > EXACT_MAX_NODES:
            return False
        if i == len(items):
            best = max(loads)
            return True
        if room(best - eps) < suffix[i]:
            return True  # the rest cannot fit under the best makespan: nothing better below
        tried: set[float] = set()
        for k in sorted(range(w), key=loads.__getitem__):
            if loads[k] in tried or loads[k] + items[i] >= best - eps:
                continue
            tried.add(loads[k])
            loads[k] += items[i]
            ok = search(i + 1)
            loads[k] -= items[i]
            if not ok:
                return False
            if best <= low + eps:
                return True
        return True

    if search(0):
        return best, True
    return low, False


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
    #: the optimum at the even end of the items' noise (:func:`even_end_optimum`); None: no noise given
    optimum_high: float | None = None
    #: the longest-first gain at the even end of the items' noise; None: no noise given
    sort_gain_even: float | None = None

    @property
    def items_cap(self) -> float:
        """What the item sizes allow, at the end of their noise most favourable to parallelism."""
        return max(self.optimum, self.optimum_high) if self.optimum_high is not None else self.optimum

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

    @property
    def sort_gain_low(self) -> float:
        """The longest-first gain at the end of the items' noise least favourable to it."""
        return self.sort_gain if self.sort_gain_even is None else min(self.sort_gain,
                                                                      self.sort_gain_even)

    def optimum_name(self) -> str:
        return ("the optimal schedule" if self.optimum_exact else
                "a proven lower bound on the optimal schedule (the search did not finish)")


def item_noise(map_walls: Sequence[float], durations: Sequence[float]) -> float | None:
    """How much one item's measured time may be off (relative), from the whole map's timings.

    Independent noise of e per item moves a map of items d by e * sqrt(sum d^2) / sum d; the
    maps' spread is taken at the upper end of its 95% interval, so a few quiet rounds do not
    make the items look more precise than they are.
    """
    from profkit.analysis.stats import log_spread_upper

    spread = log_spread_upper(map_walls)
    items = [float(d) for d in durations if d > 0]
    if spread is None or not items:
        return None
    return spread * sum(items) / math.sqrt(sum(d * d for d in items))


def even_end(durations: Sequence[float], noise: float) -> list[float]:
    """The items as even as their noise allows: each log time shrunk towards the mean log time by
    the share of the items' spread that ``noise`` explains (all of it: equal items), total kept."""
    items = [float(d) for d in durations]
    if len(items) < 2 or min(items) <= 0:
        return items
    logs = [math.log(d) for d in items]
    mean = sum(logs) / len(logs)
    var = sum((x - mean) ** 2 for x in logs) / (len(logs) - 1)
    keep = max(0.0, 1.0 - noise * noise / var) if var > 0 else 0.0
    shrunk = [math.exp(mean + keep * (x - mean)) for x in logs]
    scale = sum(items) / sum(shrunk)
    return [d * scale for d in shrunk]


def even_end_optimum(durations: Sequence[float], workers: int, noise: float) -> float:
    """The optimum's speedup at the even end of the items' noise: the upper end of the items' cap."""
    items = even_end(durations, noise)
    return speedup(float(sum(items)), optimal_makespan(items, workers)[0])


def schedule_bounds(durations: Sequence[float], workers: int, *, chunksize: int = 1,
                    cpu_s: float | None = None, cores: float | None = None,
                    noise: float | None = None) -> ScheduleBounds:
    """All the bounds of ``durations`` (in item order) on ``workers``.

    ``cpu_s`` and ``cores`` apply the CPU cap: the CPU seconds of the items on
    that many cores (the CPUs the process may use, or 1 for GIL-bound threads).
    ``noise``: how far one item's time may be off (:func:`item_noise`), which
    gives the items' cap an upper end (:attr:`ScheduleBounds.items_cap`).
    """
    total = float(sum(durations))
    opt, exact = optimal_makespan(durations, workers)
    disp = dispatch_makespan(durations, workers, chunksize)
    gain_even = None
    if noise and len(durations) > 1:
        even = even_end(durations, noise)
        in_order = dispatch_makespan(even, workers, chunksize)
        longest_first = dispatch_makespan(sorted(even, reverse=True), workers, chunksize)
        gain_even = in_order / longest_first - 1 if longest_first else 0.0
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
        cpu_cap=cap if cap is None or math.isfinite(cap) else None, cores=cores,
        optimum_high=even_end_optimum(durations, workers, noise) if noise and len(durations) > 1 else None,
        sort_gain_even=gain_even)


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
