"""The statistics behind ``profkit compare`` and ``profkit ab``: one decision rule for two samples of timings.

:func:`compare_samples` is a pure function of two samples of per-round (or
per-repeat) wall times, A the baseline and B the candidate. It is what
``compare`` applies to two runs' repeats, and what an interleaved ``ab`` run
applies to its paired rounds (``paired=True``).

The rule (docs/compare.md states it, and ``compare.html`` prints it):

* the estimate is the geometric mean of the per-round ratios B_i / A_i
  (paired), or the ratio of the geometric means of B and A (two runs);
* its interval is a Student t interval on the log times: one-sample on the
  per-round log ratios (the test the rounds' stopping already uses), or
  Welch's two-sample interval with its degrees of freedom rounded down;
* the level holds for the whole family of modes compared together: each of
  ``family`` modes gets a 1 - (1 - level) / family interval (Bonferroni), so
  the chance that noise alone calls any mode is at most 1 - level;
* a change is **called** (slower or faster) only when the interval excludes 1
  **and** the point change is at least ``min_effect_pct`` (5% by default);
* with fewer than two values on a side nothing is called.

The t interval is exact for lognormal noise at any n, 2 included, where a
percentile bootstrap of a median is only [min, max] of the ratios (a sign
test). :func:`detectable_change_pct` gives the smallest change the rule finds
with a given power at a given noise and round count.

Two separate runs also differ by a run-to-run offset (the machine, the
process layout) that one run of each side cannot measure. The interval does
not include it; the minimum effect is the allowance for it, and the text says
so. Interleaved ``ab`` rounds cancel it.

Mann-Whitney U stays as supporting information, reported only where the
sample sizes let its smallest two-sided p reach the level (5 vs 5 and up at
99%); it never decides.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from profkit.analysis.stats import t_quantile

DEFAULT_LEVEL = 0.99
DEFAULT_MIN_EFFECT_PCT = 5.0
#: Fewer values than this on either side: nothing is called.
MIN_SAMPLES = 2
#: Exact Mann-Whitney p-values while n_a * n_b stays below this.
EXACT_LIMIT = 10_000


class Verdict(str, Enum):
    """What the rule says about B against A."""

    SLOWER = "slower"
    FASTER = "faster"
    SAME = "no change called"
    TOO_FEW = "too few repeats"
    MISSING = "no timings"


class Measure(str, Enum):
    """Which per-repeat time the rule compares."""

    WALL = "wall"
    CPU = "cpu"


class Reason(str, Enum):
    """Why a verdict is what it is (one per verdict path, for the table and the gate)."""

    CALLED = "interval excludes 1 and the change reaches the minimum effect"
    INTERVAL_HAS_ONE = "the interval includes 1"
    BELOW_MIN_EFFECT = "the change is below the minimum effect"
    TOO_FEW = "fewer than 2 values on a side"
    MISSING = "no timings on a side"


# -- Mann-Whitney U (supporting information only) -----------------------------


@dataclass(frozen=True)
class MannWhitney:
    """A two-sided Mann-Whitney U test of ``a`` against ``b``: U of ``a``, p, "exact" or "normal"."""

    u: float
    p: float
    method: str


@lru_cache(maxsize=256)
def _u_counts(m: int, n: int) -> tuple[int, ...]:
    """How many of the C(m+n, m) orderings give U = 0, 1, ..., m*n.

    The coefficients of the Gaussian binomial [m+n choose m]_q, built up as
    [n+i choose i]_q = [n+i-1 choose i-1]_q * (1 - q^(n+i)) / (1 - q^i), which
    keeps every intermediate an integer polynomial.
    """
    if m > n:
        return _u_counts(n, m)
    coeffs = [1]
    for i in range(1, m + 1):
        k = n + i
        grown = coeffs + [0] * k
        for d in range(len(grown) - 1, k - 1, -1):  # multiply by (1 - q^k)
            grown[d] -= grown[d - k]
        for d in range(i, len(grown)):  # divide by (1 - q^i)
            grown[d] += grown[d - i]
        coeffs = grown[: i * n + 1]
    return tuple(coeffs)


def exact_p_value(u: float, m: int, n: int) -> float:
    """Two-sided exact p-value of U = ``u`` for samples of sizes m and n without ties."""
    counts = _u_counts(m, n)
    total = math.comb(m + n, m)
    k = int(round(u))
    low = sum(counts[: k + 1])
    high = sum(counts[k:])
    return min(1.0, 2.0 * min(low, high) / total)


def _ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Mid-ranks (1-based) of ``values`` and the sizes of the groups of ties."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    ties: list[int] = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0 + 1.0
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def mann_whitney_u(a: Sequence[float], b: Sequence[float], method: str = "auto") -> MannWhitney:
    """Two-sided Mann-Whitney U test: do ``a`` and ``b`` come from one distribution?

    ``method`` is "auto" (exact without ties for small samples, else normal),
    "exact" or "normal" (tie and continuity corrections, as scipy does).
    """
    if method not in ("auto", "exact", "normal"):
        raise ValueError(f"method must be auto, exact or normal, got {method!r}")
    xs = [float(v) for v in a if v == v]
    ys = [float(v) for v in b if v == v]
    m, n = len(xs), len(ys)
    if m == 0 or n == 0:
        raise ValueError("both samples need at least one value")
    ranks, ties = _ranks(xs + ys)
    u = sum(ranks[:m]) - m * (m + 1) / 2.0
    if method == "auto":
        method = "exact" if not ties and m * n <= EXACT_LIMIT else "normal"
    if method == "exact":
        if ties:
            raise ValueError("the exact test needs samples without ties; use method='normal'")
        return MannWhitney(u=u, p=exact_p_value(u, m, n), method="exact")
    total = m + n
    mean = m * n / 2.0
    tie_term = sum(t**3 - t for t in ties) / (total * (total - 1)) if total > 1 else 0.0
    variance = m * n / 12.0 * ((total + 1) - tie_term)
    if variance <= 0:  # every value equal
        return MannWhitney(u=u, p=1.0, method="normal")
    z = (abs(u - mean) - 0.5) / math.sqrt(variance)
    p = math.erfc(max(z, 0.0) / math.sqrt(2.0))
    return MannWhitney(u=u, p=min(1.0, p), method="normal")


def smallest_p_value(m: int, n: int) -> float:
    """The smallest two-sided p the exact test can give for sizes m and n: 2 / C(m+n, m)."""
    return min(1.0, 2.0 / math.comb(m + n, m))


# -- the decision ---------------------------------------------------------------


@dataclass(frozen=True)
class SampleComparison:
    """B against A under the rule: the estimate, its interval, the verdict and why.

    ``ratio`` above 1 means B is slower. ``mann_whitney_p`` is None when the
    samples are paired, or too small for the test to reach ``1 - level``.
    ``level`` holds for the ``family`` of modes compared together; ``ci`` is
    at :attr:`mode_level`.
    """

    n_a: int
    n_b: int
    paired: bool
    level: float
    min_effect_pct: float
    median_a: float | None
    median_b: float | None
    ratio: float | None
    change_pct: float | None
    ci: tuple[float, float] | None
    verdict: Verdict
    reason: Reason
    mann_whitney_p: float | None
    mann_whitney_min_p: float | None
    family: int = 1
    #: the geometric means of the timings compared: ``ratio`` is ``mean_b / mean_a``, so a table
    #: that shows them beside the change cannot disagree with it (medians can)
    mean_a: float | None = None
    mean_b: float | None = None

    @property
    def mode_level(self) -> float:
        """The level of this mode's interval: 1 - (1 - level) / family (Bonferroni)."""
        return bonferroni(self.level, self.family)

    @property
    def called(self) -> bool:
        return self.verdict in (Verdict.SLOWER, Verdict.FASTER)


def _clean(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if v == v and v is not None]


def bonferroni(level: float, family: int) -> float:
    """Each of ``family`` intervals at this level keeps the family's level at ``level``."""
    return 1.0 - (1.0 - level) / max(1, family)


def _mean_sd(logs: Sequence[float]) -> tuple[float, float]:
    n = len(logs)
    mean = sum(logs) / n
    return mean, (math.sqrt(sum((x - mean) ** 2 for x in logs) / (n - 1)) if n > 1 else 0.0)


def log_interval(a: Sequence[float], b: Sequence[float], *, paired: bool,
                 level: float) -> tuple[float, float, float]:
    """Log of B / A, and its t interval at ``level``: (estimate, low, high) on the log scale.

    Paired: a one-sample interval on the per-round log ratios. Unpaired: Welch's
    interval on the difference of mean log times, its degrees of freedom rounded down.
    """
    if paired:
        mean, sd = _mean_sd([math.log(y / x) for x, y in zip(a, b, strict=True)])
        se, df = sd / math.sqrt(len(a)), len(a) - 1
    else:
        mean_a, sd_a = _mean_sd([math.log(x) for x in a])
        mean_b, sd_b = _mean_sd([math.log(y) for y in b])
        mean = mean_b - mean_a
        va, vb = sd_a**2 / len(a), sd_b**2 / len(b)
        se = math.sqrt(va + vb)
        welch = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if va + vb > 0 else 1.0
        df = max(1, min(len(a) + len(b) - 2, int(math.floor(welch))))
    half = t_quantile(level, df) * se
    return mean, mean - half, mean + half


def compare_samples(a: Sequence[float], b: Sequence[float], *, paired: bool = False,
                    level: float = DEFAULT_LEVEL, min_effect_pct: float = DEFAULT_MIN_EFFECT_PCT,
                    family: int = 1) -> SampleComparison:
    """Apply the rule to timings ``a`` (baseline) and ``b``; ``paired`` pairs them round by round.

    ``family``: how many modes are judged together; the chance that noise calls
    any of them stays at most ``1 - level``.
    """
    import numpy as np

    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    if family < 1:
        raise ValueError(f"family must be at least 1, got {family}")
    if paired:
        if len(a) != len(b):
            raise ValueError(f"paired samples need equal lengths, got {len(a)} and {len(b)}")
        pairs = [(float(x), float(y)) for x, y in zip(a, b, strict=True) if x == x and y == y]
        xa, xb = [x for x, _ in pairs], [y for _, y in pairs]
    else:
        xa, xb = _clean(a), _clean(b)
    median_a = float(np.median(xa)) if xa else None
    median_b = float(np.median(xb)) if xb else None
    positive = bool(xa) and bool(xb) and min(xa) > 0 and min(xb) > 0
    mean_a = math.exp(sum(map(math.log, xa)) / len(xa)) if positive else None
    mean_b = math.exp(sum(map(math.log, xb)) / len(xb)) if positive else None

    def result(ratio: float | None, change: float | None, ci: tuple[float, float] | None, verdict: Verdict,
               reason: Reason, p: float | None = None, p_min: float | None = None) -> SampleComparison:
        return SampleComparison(
            n_a=len(xa), n_b=len(xb), paired=paired, level=level, min_effect_pct=min_effect_pct,
            median_a=median_a, median_b=median_b, ratio=ratio, change_pct=change, ci=ci, verdict=verdict,
            reason=reason, mann_whitney_p=p, mann_whitney_min_p=p_min, family=family,
            mean_a=mean_a, mean_b=mean_b)

    if not xa or not xb or min(xa) <= 0 or min(xb) <= 0:
        return result(None, None, None, Verdict.MISSING, Reason.MISSING)
    if min(len(xa), len(xb)) < MIN_SAMPLES:
        logs_b, logs_a = [math.log(y) for y in xb], [math.log(x) for x in xa]
        ratio = math.exp(sum(logs_b) / len(logs_b) - sum(logs_a) / len(logs_a))
        return result(ratio, 100.0 * (ratio - 1.0), None, Verdict.TOO_FEW, Reason.TOO_FEW)
    mean, low, high = log_interval(xa, xb, paired=paired, level=bonferroni(level, family))
    ratio, ci = math.exp(mean), (math.exp(low), math.exp(high))
    change = 100.0 * (ratio - 1.0)
    if paired:
        mw_p, mw_min = None, None
    else:
        mw_min = smallest_p_value(len(xb), len(xa))
        mw_p = mann_whitney_u(xb, xa).p if mw_min < 1.0 - level else None
    if ci[0] <= 1.0 <= ci[1]:
        verdict, reason = Verdict.SAME, Reason.INTERVAL_HAS_ONE
    elif (change if ci[0] > 1.0 else -change) < min_effect_pct:  # the size, on the interval's side
        verdict, reason = Verdict.SAME, Reason.BELOW_MIN_EFFECT
    else:
        verdict, reason = (Verdict.SLOWER if ci[0] > 1.0 else Verdict.FASTER), Reason.CALLED
    return result(ratio, change, ci, verdict, reason, mw_p, mw_min)


def power_to_call(change_pct: float, rounds: int, noise_pct: float, *, level: float = DEFAULT_LEVEL,
                  family: int = 1) -> float:
    """The chance that paired rounds call a true ``change_pct`` slowdown slower (the minimum effect aside).

    ``noise_pct``: the spread of one round's B / A ratio (standard deviation of
    its log, in percent); with independent noise of s% on each timing it is
    about s * sqrt(2). Exact for lognormal noise: the non-central t, integrated
    over the chi distribution of the sample's standard deviation.
    """
    if rounds < MIN_SAMPLES or noise_pct <= 0:
        return math.nan
    df = rounds - 1
    q = t_quantile(bonferroni(level, family), df)
    shift = math.log1p(change_pct / 100.0) / (noise_pct / 100.0 / math.sqrt(rounds))
    steps, top = 600, math.sqrt(df) + 12.0
    log_norm = math.log(2.0) - (df / 2.0) * math.log(2.0) - math.lgamma(df / 2.0)
    total = 0.0
    for i in range(steps + 1):  # Simpson over u = sqrt(chi-square), density 2 u^(df-1) e^(-u^2/2) / norm
        u = top * i / steps
        weight = 1 if i in (0, steps) else (4 if i % 2 else 2)
        density = math.exp(log_norm + (df - 1) * math.log(u) - u * u / 2.0) if u > 0 else (
            math.exp(log_norm) if df == 1 else 0.0)
        total += weight * density * 0.5 * math.erfc(-(shift - q * u / math.sqrt(df)) / math.sqrt(2.0))
    return min(1.0, total * top / steps / 3.0)


def detectable_change_pct(rounds: int, noise_pct: float, *, level: float = DEFAULT_LEVEL, family: int = 1,
                          power: float = 0.8, min_effect_pct: float = DEFAULT_MIN_EFFECT_PCT) -> float:
    """The smallest slowdown (percent) that paired rounds call with probability ``power``.

    ``noise_pct`` as in :func:`power_to_call`; never below the minimum effect.
    """
    if rounds < MIN_SAMPLES:
        return math.inf
    lo, hi = 0.0, 1.0
    while power_to_call(hi, rounds, noise_pct, level=level, family=family) < power:
        hi *= 2.0
        if hi > 1e6:
            return math.inf
    for _ in range(50):
        mid = (lo + hi) / 2.0
        if power_to_call(mid, rounds, noise_pct, level=level, family=family) < power:
            lo = mid
        else:
            hi = mid
    return max(min_effect_pct, hi)


def rounds_needed(change_pct: float, noise_pct: float, *, level: float = DEFAULT_LEVEL, family: int = 1,
                  power: float = 0.8, most: int = 1000) -> int | None:
    """How many paired rounds call a ``change_pct`` slowdown with chance ``power`` (None: over ``most``)."""
    for n in range(MIN_SAMPLES, most + 1):
        if power_to_call(change_pct, n, noise_pct, level=level, family=family) >= power:
            return n
    return None


# -- which time to compare --------------------------------------------------------------


def _wait_ratios(walls: Sequence[float], cpus: Sequence[float]) -> list[float]:
    return sorted(w / c for w, c in zip(walls, cpus, strict=False) if w == w and c == c and c > 0 and w > 0)


def wall_per_cpu(walls: Sequence[float], cpus: Sequence[float]) -> float | None:
    """Median wall / CPU time over the repeats: how long the run waited beyond its own CPU work."""
    ratios = _wait_ratios(walls, cpus)
    if not ratios:
        return None
    mid = len(ratios) // 2
    return ratios[mid] if len(ratios) % 2 else (ratios[mid - 1] + ratios[mid]) / 2.0


def wait_spread_pct(walls: Sequence[float], cpus: Sequence[float]) -> float | None:
    """How unevenly a run's repeats waited: the IQR of their wall / CPU over its median, in percent."""
    ratios = _wait_ratios(walls, cpus)
    if len(ratios) < 2:
        return None
    import numpy as np

    q1, median, q3 = np.percentile(ratios, [25, 50, 75])
    return float(100.0 * (q3 - q1) / median)


def wait_shift_pct(wall_per_cpu_a: float | None, wall_per_cpu_b: float | None) -> float | None:
    """How far the runs' median wall / CPU moved from A to B, in percent (None: not measured)."""
    if not wall_per_cpu_a or not wall_per_cpu_b:
        return None
    return 100.0 * abs(wall_per_cpu_b / wall_per_cpu_a - 1.0)


def choose_measure(wall_per_cpu_a: float | None, wall_per_cpu_b: float | None,
                   min_effect_pct: float = DEFAULT_MIN_EFFECT_PCT,
                   spreads: Sequence[float | None] = ()) -> Measure:
    """Wall time, unless the runs waited differently or unevenly: then CPU time.

    The same code on a machine that gives it its cores waits the same share of
    its wall time in every repeat of both runs. When wall / CPU moves by the
    minimum effect or more between the runs, or spreads that much within one
    (``spreads``, from :func:`wait_spread_pct`), the load on the machine came
    and went (or B waits more: sleep, I/O, locks), and wall time would judge
    the machine, not the code.
    """
    shift = wait_shift_pct(wall_per_cpu_a, wall_per_cpu_b)
    if shift is None:
        return Measure.WALL
    uneven = any(s is not None and s >= min_effect_pct for s in spreads)
    return Measure.CPU if shift >= min_effect_pct or uneven else Measure.WALL


def interval_width(ci: tuple[float, float] | None) -> float:
    """How wide an interval of a ratio is, on a log scale (inf when there is none)."""
    if not ci or ci[0] <= 0:
        return math.inf
    return math.log(ci[1] / ci[0])
