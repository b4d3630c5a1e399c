"""Robust summaries of repeated timings: medians, spread, bootstrap intervals."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
NOISY_SPREAD_PCT = 10.0


def summarise(values: Sequence[float]) -> dict[str, float | None]:
    """Median, IQR, min, max and IQR / median in percent."""
    data = np.asarray([v for v in values if v == v], dtype=float)
    if data.size == 0:
        return {"median": None, "iqr": None, "min": None, "max": None, "spread_pct": None}
    q1, median, q3 = np.percentile(data, [25, 50, 75])
    spread = 100.0 * (q3 - q1) / median if median > 0 else None
    return {"median": float(median), "iqr": float(q3 - q1), "min": float(data.min()),
            "max": float(data.max()), "spread_pct": spread}


def bootstrap_ratio_ci(
    numerator: Sequence[float],
    denominator: Sequence[float],
    *,
    level: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of median(numerator) / median(denominator).

    Both samples are resampled independently; the seed is fixed so a saved run
    always reproduces the same interval.
    """
    a = np.asarray(numerator, dtype=float)
    b = np.asarray(denominator, dtype=float)
    if a.size == 0 or b.size == 0:
        return None
    rng = np.random.default_rng(seed)
    ra = np.median(rng.choice(a, size=(resamples, a.size), replace=True), axis=1)
    rb = np.median(rng.choice(b, size=(resamples, b.size), replace=True), axis=1)
    ratios = ra / rb
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(ratios, [tail, 100.0 - tail])
    return float(lo), float(hi)
