"""Robust summaries of repeated timings: medians, spread, bootstrap intervals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

BOOTSTRAP_RESAMPLES = 2000
NOISY_SPREAD_PCT = 10.0


def summarise(values: Sequence[float]) -> dict[str, float | None]:
    """Median, IQR, min, max and IQR / median in percent."""
    import numpy as np

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
    import numpy as np

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


#: Two-sided 95% quantiles of Student's t, by degrees of freedom (1..30).
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t_two_sided(t: float, df: int) -> float:
    """P(|T| <= t) for Student's t with integer ``df`` (the exact finite series, A&S 26.7.3-4)."""
    if t <= 0:
        return 0.0
    theta = math.atan(t / math.sqrt(df))
    s, c2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2:  # odd
        term, total = math.cos(theta), 0.0
        if df > 1:
            total = term
            for k in range(3, df - 1, 2):
                term *= c2 * (k - 1) / k
                total += term
        return min(1.0, 2.0 / math.pi * (theta + s * total))
    term, total = 1.0, 1.0
    for k in range(2, df - 1, 2):
        term *= c2 * (k - 1) / k
        total += term
    return min(1.0, s * total)


#: The largest df the exact t series serves (its cost is linear in df).
EXACT_T_DF = 1000


@lru_cache(maxsize=1024)
def t_quantile(level: float, df: int) -> float:
    """The t such that P(|T| <= t) = ``level`` (two-sided), for integer ``df`` >= 1.

    Beyond ``EXACT_T_DF`` degrees of freedom the exact series (whose cost grows with ``df``)
    gives way to the Cornish-Fisher expansion around the normal quantile, accurate there to
    better than one part in a million; a planner may ask for a billion rounds."""
    if df < 1:
        return float("inf")
    if df > EXACT_T_DF:
        z = NormalDist().inv_cdf((1.0 + level) / 2.0)
        return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
    lo, hi = 0.0, 1.0
    while t_two_sided(hi, df) < level:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_two_sided(mid, df) < level:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-10 * hi:
            break
    return (lo + hi) / 2.0


def t975(df: int) -> float:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom (a 95% interval)."""
    if df < 1:
        return float("inf")
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964  # Cornish-Fisher expansion, good to 3 decimals beyond 30
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


@dataclass(frozen=True)
class RatioEstimate:
    """A ratio estimated from paired rounds: geometric mean and its interval (95% unless asked)."""

    value: float
    low: float | None
    high: float | None
    n: int

    @property
    def half_width(self) -> float | None:
        """Relative half-width of the interval: 0.03 means within about ±3%."""
        if self.low is None or self.high is None or self.low <= 0:
            return None
        return math.sqrt(self.high / self.low) - 1.0


def paired_ratio(numerator: Sequence[float], denominator: Sequence[float], *,
                 level: float = 0.95) -> RatioEstimate | None:
    """The ratio of two paired samples (one pair per round), e.g. a speedup.

    Each round gives one ratio; the estimate is their geometric mean and the
    interval a t-interval on the log ratios, at ``level``. Pairing cancels load that comes
    and goes between rounds; the t-interval stays honest at 2 or 3 rounds,
    where a bootstrap would claim far too much.
    """
    logs = [math.log(a / b) for a, b in zip(numerator, denominator, strict=True)
            if a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)]
    if not logs:
        return None
    n = len(logs)
    mean = sum(logs) / n
    if n < 2:
        return RatioEstimate(math.exp(mean), None, None, n)
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / (n - 1))
    q = t975(n - 1) if level == 0.95 else t_quantile(level, n - 1)
    half = q * sd / math.sqrt(n)
    return RatioEstimate(math.exp(mean), math.exp(mean - half), math.exp(mean + half), n)


def level_estimate(values: Sequence[float], *, level: float = 0.95) -> RatioEstimate | None:
    """A positive quantity (a wall time) from repeats: geometric mean and t-interval."""
    return paired_ratio(values, [1.0] * len(values), level=level)


#: The 5% quantile of chi-square, by degrees of freedom (1..30).
_CHI2_05 = (0.0039, 0.1026, 0.3518, 0.7107, 1.1455, 1.6354, 2.1673, 2.7326, 3.3251, 3.9403, 4.5748,
            5.226, 5.8919, 6.5706, 7.2609, 7.9616, 8.6718, 9.3905, 10.117, 10.8508, 11.5913, 12.338,
            13.0905, 13.8484, 14.6114, 15.3792, 16.1514, 16.9279, 17.7084, 18.4927)


def chi2_05(df: int) -> float:
    """The 5% quantile of chi-square with ``df`` degrees of freedom (Wilson-Hilferty beyond 30)."""
    if df <= len(_CHI2_05):
        return _CHI2_05[max(1, df) - 1]
    c = 2.0 / (9.0 * df)
    return float(df * (1.0 - c - 1.644854 * math.sqrt(c)) ** 3)


def log_spread_upper(values: Sequence[float]) -> float | None:
    """The upper end of a 95% one-sided interval on the spread (standard deviation of the log) of
    positive ``values``; None with fewer than two."""
    logs = [math.log(v) for v in values if v > 0 and math.isfinite(v)]
    if len(logs) < 2:
        return None
    mean = sum(logs) / len(logs)
    ss = sum((x - mean) ** 2 for x in logs)
    return math.sqrt(ss / chi2_05(len(logs) - 1))
