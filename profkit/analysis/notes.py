"""Facts the report's warnings, notes and cards are worded from: the rounds' load, an open
decision, an interval past the ideal, a missed precision, the item-size card and which
bound holds a mode. Render words them (:mod:`profkit.render.text`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class NoteKind(str, enum.Enum):
    """What a warning or a note on the measurement says."""

    SPOILED_ROUNDS = "spoiled-rounds"  # rounds set aside: other programs were busy
    BUSY_MACHINE = "busy-machine"  # other programs kept the machine busy during the run
    UNSTEADY_HOST = "unsteady-host"  # the sequential map's CPU time moved between rounds
    ONE_ROUND = "one-round"  # not settled: one round gives no interval
    BUSY_ROUNDS = "busy-rounds"  # not settled: too few clean rounds
    WITHIN_NOISE = "within-noise"  # not settled: the open comparisons are within the noise
    ABOVE_IDEAL = "above-ideal"  # a speedup's interval reaches past the ideal W×
    PRECISION = "precision"  # --precision was asked and some estimates missed it
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Precision:
    """One mode's relative precision (a fraction) where it missed the target."""

    mode: str
    precision: float


@dataclass(frozen=True)
class RunNote:
    """One warning or note on the measurement, with the numbers it rests on."""

    kind: NoteKind
    rounds: int | None = None  # the timing rounds
    spoiled: int | None = None  # of them set aside (or, BUSY_ROUNDS, not clean)
    worst_cores: float | None = None  # the most cores other programs kept busy in one
    limit_cores: int | float | None = None  # the share of a core that spoils a round
    enough_clean: bool = False  # at least two clean rounds were left
    busy_cores: float | None = None  # BUSY_MACHINE: the cores other programs kept busy
    cpus_total: int | None = None
    clean: int | None = None  # WITHIN_NOISE: the clean rounds
    open: list[str] = field(default_factory=list)  # the comparisons still open
    need_s: int | None = None  # the seconds of rounds a settled answer needs
    rounds_needed: int | None = None
    repeat_rule: bool = False  # the run stopped at a fixed --repeat
    mode: str | None = None  # ABOVE_IDEAL: the mode, its speedup and interval, its workers
    speedup: float | None = None
    ci: list[float] | None = None
    workers: int | None = None
    missed: list[Precision] = field(default_factory=list)  # PRECISION
    target: float | None = None
    repeats: int | None = None
    #: UNSTEADY_HOST: the fewest and the most CPU seconds the sequential map took
    cpu_low_s: float | None = None
    cpu_high_s: float | None = None
    #: an open decision on a busy machine: what the load was
    busy: RunNote | None = None
    #: INTERRUPTED: the timing rounds had ended (else ``rounds`` of them completed, and a
    #: further one was ``cut`` short)
    timed: bool = False
    cut: bool = False


#: Below this many clean rounds a mode's estimates use every round, set-aside ones too.
MIN_CLEAN_ROUNDS = 2


@dataclass(frozen=True)
class RoundsFacts:
    """How the main timing rounds went: what the summary's rounds phrase says."""

    completed: int  # rounds that ran to their end, set-aside ones included
    cut: bool  # a further round an interrupt cut short: its whole maps are kept in the frames
    spoiled: int  # rounds set aside: other programs were busy during them
    #: the estimates (wall medians, speedups) use every round, set-aside ones too: fewer than
    #: MIN_CLEAN_ROUNDS were clean
    every_round: bool

    @property
    def cut_left_out(self) -> bool:
        """The cut round is left out of the estimates (summary.left_out_rounds): a completed
        round exists, so every median and speedup is over the same completed rounds."""
        return self.cut and self.completed > 0


class BoundKind(str, enum.Enum):
    """Which bound holds a mode."""

    GIL = "gil"
    NATIVE = "native"  # the CPUs over the cores the sequential map already keeps busy
    CPUS = "cpus"
    OPTIMUM = "optimum"  # the optimal schedule of the items
    SCHEDULE = "schedule"  # a proven lower bound on it (the search did not finish)


@dataclass(frozen=True)
class GranularityFacts:
    """The item-size card: how evenly the items spread over the widest pool's workers."""

    workers: int
    n_items: int
    even: bool  # the optimum is close to the ideal
    optimum: float
    optimum_exact: bool | None
    smallest_s: float
    largest_s: float
    total_s: float
    makespan_s: float
    upper: float
    dispatch: float
    chunksize: int
    exact_max_items: int  # the exact search's limit
    cpu_cap: float | None = None  # the CPU seconds cap it lower ...
    cores: float | None = None  # ... on this many cores
