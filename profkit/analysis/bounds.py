"""What speedup the work allows: list-scheduling bounds and Amdahl's law."""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np


def list_schedule_makespan(durations: Sequence[float], workers: int) -> float:
    """Makespan of greedy list scheduling in the given order (what ``executor.map`` does)."""
    if not durations:
        return 0.0
    loads = [0.0] * max(1, workers)
    heapq.heapify(loads)
    for d in durations:
        heapq.heappush(loads, heapq.heappop(loads) + d)
    return max(loads)


def lpt_makespan(durations: Sequence[float], workers: int) -> float:
    """Longest-processing-time-first makespan: within 4/3 of the optimum."""
    return list_schedule_makespan(sorted(durations, reverse=True), workers)


def granularity_bound(durations: Sequence[float], workers: int) -> float:
    """Best speedup these items allow on ``workers``: total work / LPT makespan."""
    total = float(sum(durations))
    makespan = lpt_makespan(durations, workers)
    return total / makespan if makespan > 0 else 1.0


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
