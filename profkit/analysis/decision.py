"""When ``--repeat auto`` stops: once the recommendation is settled (or, with ``--precision``,
once every speedup is that precise), checked only at a few planned rounds (the looks).

A rule that stops when the data look good picks the runs whose noise happened to look small,
and their plain 95% intervals miss the truth far more often than 5%. So the error rate is
spent in two parts (a union bound over every way a run can stop):

- ``LOOK_ALPHA`` over the looks, split evenly: a stop at a look reports intervals at
  ``1 - LOOK_ALPHA / looks``;
- ``CAP_ALPHA`` for a stop by a cap (``--max-time``, ``--max-rounds``), which does not depend
  on the data: its intervals are at ``1 - CAP_ALPHA``.

Together they keep the stated 95% for every run, early stops included. With ``--repeat N``
nothing is chosen from the data and the intervals are plain 95% ones.

A run that a cap will end at ``min_rounds`` whatever the data (its rounds are long) can never
stop at a planned look, so the looks' share is unspent: it gets one early look after two
clean rounds instead, at ``1 - LOOK_ALPHA`` (:func:`early_level`), which ends it when a mode
is recommended and settled. At any look, a contender whose every comparison is settled
against the recommended mode (:func:`settled_out`) leaves the rounds; its interval then comes
from the rounds it ran, at the level of the look it left at (:attr:`Drop.level`), which keeps
its 95% by the same union bound.

The recommendation mirrors :func:`profkit.analysis.verdict.decide` on the speedups alone: the
fastest mode that gains at least ``GAIN_THRESHOLD``, or a simpler one within
``SIMPLER_WITHIN`` of it, else the reference. It is settled when no comparison behind it could
turn at either end of its interval: the choice against each other mode (at the 5% margin
that picks the simpler one), the choice against no gain (or every mode against it), and the
choice against its bound when measured clearly above it, past ``1 / SPLIT_BELOW`` of it (the
verdict's one claim about a bound is a speedup whose whole interval lies above it).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from profkit.analysis.stats import RatioEstimate, paired_ratio, t_quantile
from profkit.analysis.verdict import GAIN_THRESHOLD, SIMPLER_WITHIN, SPLIT_BELOW

LEVEL = 0.95
#: The error rate the looks may spend (split evenly over them) ...
LOOK_ALPHA = 0.02
#: ... and the one a stop by a cap spends.
CAP_ALPHA = round(1.0 - LEVEL - LOOK_ALPHA, 10)
#: The normal quantile of the power a projected "settled after" aims for (80%).
POWER_Z = 0.8416
#: Beyond this many rounds a projected "settled after" is given up (inf): no run would take it.
MAX_PLANNED_ROUNDS = 10**12
#: Each look comes this many times the rounds of the one before.
LOOK_GROWTH = 1.5


class Rule(str, enum.Enum):
    """What ends the rounds."""

    REPEAT = "repeat"  # exactly --repeat N rounds
    DECISION = "decision"  # the recommendation is settled
    PRECISION = "precision"  # every speedup within --precision


class Reason(str, enum.Enum):
    """Why the rounds ended."""

    REPEAT = "repeat"
    SETTLED = "settled"
    PRECISE = "precise"
    TIME = "time"  # --max-time
    ROUNDS = "rounds"  # --max-rounds
    NONE_LEFT = "none-left"  # every mode failed


def looks(min_rounds: int, max_rounds: int) -> tuple[int, ...]:
    """The clean-round counts at which the data may stop the rounds: ``min_rounds``, then each
    ``LOOK_GROWTH`` times the one before, below ``max_rounds`` (a cap)."""
    out: list[int] = []
    n = max(2, min_rounds)
    while n < max_rounds:
        out.append(n)
        n = max(n + 1, math.ceil(n * LOOK_GROWTH))
    return tuple(out)


def look_level(n_looks: int) -> float:
    """The level of the intervals of a run the data stopped at a look."""
    return 1.0 - LOOK_ALPHA / max(1, n_looks)


def cap_level() -> float:
    """The level of the intervals of an auto run a cap stopped."""
    return 1.0 - CAP_ALPHA


def level_of(reason: Reason, n_looks: int) -> float:
    """The level that keeps 95% for a run that ended for ``reason``."""
    if reason is Reason.REPEAT:
        return LEVEL
    if reason in (Reason.SETTLED, Reason.PRECISE):
        return look_level(n_looks)
    return cap_level()


@dataclass(frozen=True)
class Candidate:
    """A mode as the decision sees it: its clean walls by round, how costly it is to run."""

    name: str
    walls: dict[int, float]
    cost: int = 2
    workers: int = 1
    bound: float | None = None  # the speedup the work allows it, if known


@dataclass(frozen=True)
class Comparison:
    """One comparison behind the recommendation: a ratio's interval against a threshold."""

    what: str
    estimate: RatioEstimate | None
    threshold: float
    level: float = LEVEL  # the level of the estimate's interval
    modes: tuple[str, ...] = ()  # the candidates it compares

    @property
    def settled(self) -> bool:
        e = self.estimate
        if e is None or e.low is None or e.high is None:
            return False
        return e.low > self.threshold or e.high < self.threshold

    def rounds_needed(self, level: float) -> float:
        """Clean rounds that would settle it four times in five at the spread and the gap seen
        so far: the fewest beyond those that left it open (inf if it cannot).

        The rounds ``n`` suffice when ``(t(level, n - 1) + z) * sd / gap <= sqrt(n)``; the left
        side falls and the right grows with ``n``, so the fewest is found by doubling, then
        halving (iterating ``n = f(n)`` instead swings between two counts, one of them the
        rounds already run).
        """
        e = self.estimate
        if self.settled:
            return 0.0
        if e is None or e.low is None or e.high is None or e.n < 2:
            return math.inf
        gap = abs(math.log(e.value / self.threshold))
        if gap <= 0:
            return math.inf
        sd = math.log(e.high / e.value) * math.sqrt(e.n) / t_quantile(self.level, e.n - 1)

        def enough(n: int) -> bool:
            return (t_quantile(level, n - 1) + POWER_Z) * sd / gap <= math.sqrt(n)

        low, high = e.n, e.n + 1  # low: too few (they left it open); high: a candidate
        while not enough(high):
            if high > MAX_PLANNED_ROUNDS:
                return math.inf
            low, high = high, 2 * high
        while high - low > 1:
            mid = (low + high) // 2
            low, high = (low, mid) if enough(mid) else (mid, high)
        return float(high)


@dataclass(frozen=True)
class Decision:
    """The recommendation the speedups point to, and whether it is settled."""

    choice: str | None  # None: the reference (stay as it is)
    comparisons: tuple[Comparison, ...] = field(default_factory=tuple)

    @property
    def settled(self) -> bool:
        return bool(self.comparisons) and all(c.settled for c in self.comparisons)

    @property
    def open(self) -> tuple[str, ...]:
        return tuple(c.what for c in self.comparisons if not c.settled)

    def rounds_needed(self, level: float) -> float:
        """Clean rounds that would settle every open comparison at the spread seen so far."""
        return max((c.rounds_needed(level) for c in self.comparisons), default=0.0)


def decide(reference: dict[int, float], candidates: Sequence[Candidate], level: float) -> Decision:
    """The recommendation from paired rounds, with every comparison that could turn it."""
    speedups = {c.name: _ratio(reference, c.walls, level) for c in candidates}
    values = {n: e.value for n, e in speedups.items() if e is not None}
    gainers = [c for c in candidates if values.get(c.name, 0.0) >= GAIN_THRESHOLD]
    if not gainers:
        return Decision(None, tuple(Comparison(f"{c.name} vs no gain", speedups[c.name],
                                               GAIN_THRESHOLD, level, (c.name,)) for c in candidates))
    best = max(values[c.name] for c in gainers)
    near = [c for c in gainers if values[c.name] >= best * (1 - SIMPLER_WITHIN)]
    choice = min(near, key=lambda c: (c.cost, c.workers, -values[c.name]))
    out = [Comparison(f"{choice.name} vs no gain", speedups[choice.name], GAIN_THRESHOLD, level,
                      (choice.name,))]
    for other in candidates:
        if other is choice:
            continue
        simpler = (other.cost, other.workers) < (choice.cost, choice.workers)
        # other's speedup over the choice's: the choice's walls over the other's, round by round
        threshold = (1 - SIMPLER_WITHIN) if simpler else 1 / (1 - SIMPLER_WITHIN)
        out.append(Comparison(f"{choice.name} vs {other.name}",
                              _ratio(choice.walls, other.walls, level), threshold, level,
                              (choice.name, other.name)))
    est = speedups[choice.name]
    # the verdict claims one thing of a speedup against its bound: the whole interval above it
    # (the bound's model does not fit). Below the bound it says the share reached, no claim: a
    # speedup measured under its bound, or at it within SPLIT_BELOW's margin (a schedule that
    # reaches its bound measures on either side of it), leaves nothing open
    if choice.bound is not None and est is not None and est.value > choice.bound / SPLIT_BELOW:
        out.append(Comparison(f"{choice.name} vs its bound", est, choice.bound, level,
                              (choice.name,)))
    return Decision(choice.name, tuple(out))


def settled_out(verdict: Decision) -> dict[str, tuple[str, ...]]:
    """The candidates that may stop being timed, each with the comparisons that settled it: with
    a mode recommended, every other whose comparisons (against that mode) are all settled."""
    out: dict[str, tuple[str, ...]] = {}
    if verdict.choice is None:  # nothing recommended: every mode's own gain is still in play
        return out
    names = {n for c in verdict.comparisons for n in c.modes} - {verdict.choice}
    for name in sorted(names):
        theirs = [c for c in verdict.comparisons if name in c.modes]
        if theirs and all(c.settled for c in theirs):
            out[name] = tuple(c.what for c in theirs)
    return out


def early_level() -> float:
    """The level of the one early look of a run a cap would end at ``min_rounds``."""
    return 1.0 - LOOK_ALPHA


@dataclass(frozen=True)
class Drop:
    """A contender the rounds stopped timing: after how many clean rounds, the level its interval
    keeps (the look's), and the settled comparisons that made it leave."""

    mode: str
    clean: int
    level: float
    settled: tuple[str, ...]


def _ratio(base: dict[int, float], walls: dict[int, float], level: float) -> RatioEstimate | None:
    common = sorted(set(base) & set(walls))
    return paired_ratio([base[r] for r in common], [walls[r] for r in common], level=level)


def precise(estimates: Sequence[RatioEstimate | None], target: float) -> bool:
    """Every estimate's interval within ``target`` (relative half-width)."""
    widths = [e.half_width if e is not None else None for e in estimates]
    return bool(widths) and all(w is not None and w <= target for w in widths)


@dataclass(frozen=True)
class Stop:
    """How the rounds ended: the rule, the reason, the level of their intervals, the decision."""

    rule: Rule
    reason: Reason
    level: float
    clean: int
    n_looks: int = 1
    decision: Decision | None = None
    #: the rounds' seconds per clean round (set-aside rounds' time included), for the time a
    #: settled answer takes at the machine's load so far
    round_s: float | None = None
    dropped: tuple[Drop, ...] = ()  # contenders timed in fewer rounds, settled early

    def rounds_needed(self) -> int | None:
        """Clean rounds a settled answer would take, if the decision is open and can settle."""
        if self.decision is None or self.decision.settled:
            return None
        needed = self.decision.rounds_needed(look_level(self.n_looks))
        return math.ceil(needed) if math.isfinite(needed) else None

    def time_needed_s(self) -> float | None:
        """Seconds of rounds a settled answer would take, if the decision is open."""
        needed = self.rounds_needed()
        return None if needed is None or self.round_s is None else needed * self.round_s
