"""The analysis of a run as typed records: what ``run.json`` stores and every renderer reads.

:func:`profkit.analysis.analyse` returns an :class:`Analysis`. Each record is a dataclass
written and read by :mod:`profkit.codec`, so its annotations are ``run.json``'s schema and a
file that does not match them is refused with the path of the bad field. Enums stay enums
until the JSON boundary. Every field of :class:`Analysis` has a default: the empty record is
the analysis of a run not analysed (yet), or whose analysis failed.

A step that makes a record of its own defines it beside itself and returns it
(:class:`~profkit.analysis.memory.MemorySummary`, :class:`~profkit.analysis.gc.GcSummary`,
:class:`~profkit.analysis.verdict.Classification`, :class:`~profkit.analysis.prediction.Point`);
this module holds the others and the :class:`Analysis` that gathers them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from profkit.analysis.gc import GcSummary
from profkit.analysis.memory import MemorySummary
from profkit.analysis.notes import BoundKind, GranularityFacts, RoundsFacts, RunNote
from profkit.analysis.prediction import Flattening, Point
from profkit.analysis.verdict import Advice, Cause, Classification, Headline, Reason
from profkit.codec import from_json, to_json
from profkit.model import JSON, Status, Traits


@dataclass
class ModeBounds:
    """What the work allows one pooled mode: the schedule bounds and the cap that binds."""

    optimum: float
    optimum_exact: bool | None
    upper: float
    dispatch: float
    chunksize: int
    cpu_cap: float | None
    cores: float
    capped_by_cpus: bool
    gil: bool
    sort_gain: float
    items_cap: float | None = None
    native_cores: float | None = None
    #: the CPUs the run could use
    cpus: int | None = None
    #: which bound binds (the GIL, the CPUs, native threads, the schedule)
    bound_kind: BoundKind | None = None


@dataclass
class Overheads:
    """A pooled mode's wall time split into start-up, dispatch, compute, imbalance and collect.

    Seconds of wall time averaged over the workers (from the warm-up pass's per-task timeline),
    and the pickled byte counts.
    """

    startup_s: float
    dispatch_s: float
    busy_s: float
    busy_cpu_s: float
    imbalance_s: float
    collect_s: float
    busy_wait_s: float
    pass_wall_s: float
    #: startup + dispatch + busy + imbalance + collect: the pass's wall time, by construction
    parts_total_s: float
    timing_median_s: float | None
    #: startup + the timeit median: what the parts are checked against
    measured_total_s: float | None
    error_pct: float | None
    task_bytes: int
    items_bytes: int
    results_bytes: int


@dataclass
class ChunkTrial:
    """A mode timed again with a larger chunksize in this run: the fix for tiny tasks, measured."""

    mode: str
    chunksize: int
    baseline: int
    chunked_s: float
    baseline_s: float
    gain: float
    speedup: float | None = None
    walls: list[float] = field(default_factory=list)
    baseline_walls: list[float] = field(default_factory=list)


@dataclass
class ModeSummary:
    """One main-run mode: its timings, speedup with interval, bound, overheads and cause."""

    mode: str
    workers: int
    traits: Traits
    status: Status
    error: str | None = None
    wall_median_s: float | None = None
    wall_iqr_s: float | None = None
    wall_min_s: float | None = None
    wall_max_s: float | None = None
    #: IQR / median * 100
    spread_pct: float | None = None
    #: spread_pct above stats.NOISY_SPREAD_PCT
    noisy: bool = False
    repeats: int = 0
    cpu_median_s: float | None = None
    #: median CPU seconds / wall seconds: the parallelism reached
    cores_used: float | None = None
    startup_s: float | None = None
    #: against the reference mode, with its interval at the run's level
    speedup: float | None = None
    speedup_ci: list[float] | None = None
    efficiency: float | None = None
    paired_rounds: int | None = None
    precision: float | None = None
    precision_target: float | None = None
    precision_reached: bool | None = None
    #: what the work allows: the optimum schedule, the CPU or the GIL cap
    bound: float | None = None
    bounds: ModeBounds | None = None
    achieved_over_bound: float | None = None
    cause: Cause | None = None
    #: the interval reaches above W x: that part is noise
    crosses_ideal: bool = False
    overheads: Overheads | None = None
    #: pooled: (median - sequential / workers) / items
    overhead_per_task_s: float | None = None
    line_items: list[int] = field(default_factory=list)
    chunk_trial: ChunkTrial | None = None
    gc: GcSummary | None = None


@dataclass
class Granularity:
    """The item-size card of the widest pool: what its items allow, and why."""

    workers: int
    n_items: int
    #: each item's seconds, for up to summary.GRANULARITY_ITEMS items (the tasks frame has all)
    item_s: list[float] | None
    total_s: float
    largest_item_s: float
    makespan_s: float
    in_order_makespan_s: float
    bound: float
    optimum: float
    optimum_exact: bool | None
    upper: float
    dispatch: float
    chunksize: int
    facts: GranularityFacts | None = None


@dataclass
class Bottleneck:
    """One of a mode's top functions by self time (profkit's own frames left out)."""

    mode: str
    function: str
    name: str
    filename: str
    lineno: int
    ncalls: int
    self_s: float
    self_pct: float
    cumulative_s: float


@dataclass
class HotLine:
    """One of a mode's hottest lines."""

    mode: str
    function: str
    filename: str
    lineno: int
    hits: int
    time_s: float
    #: of the function's line time (None: unknown)
    pct: float | None
    source: str


@dataclass
class SweepPoint:
    """One worker count of the sweep; a point that repeats a main mode pools both sets of rounds."""

    mode: str
    workers: int
    wall_median_s: float | None
    speedup: float | None
    speedup_ci: list[float] | None
    with_main_run: bool
    bound: float | None


@dataclass
class Amdahl:
    """Amdahl's law fitted to a mode's sweep points at or below the CPU count."""

    serial_fraction: float
    ci: list[float]
    max_speedup: float | None
    workers_used: list[int]
    cpus: int


@dataclass
class Sweep:
    """The speedup at each swept worker count, and the Amdahl fit per mode."""

    points: list[SweepPoint] = field(default_factory=list)
    amdahl: dict[str, Amdahl] = field(default_factory=dict)


@dataclass
class RecommendationSummary:
    """The mode to use, with the bound at its worker count and the share of it reached."""

    mode: str
    workers: int
    speedup: float
    speedup_ci: list[float] | None
    #: False: no mode is clearly faster, nor clearly slower
    clear: bool
    reason: Reason
    #: one map, the pool's start-up included
    single_map_speedup: float | None = None
    #: maps per pool before start-up is paid back
    maps_to_pay_off: int | None = None
    bound: float | None = None
    #: speedup / bound
    of_bound: float | None = None
    #: the worker sweep's point this recommends, when no main mode ran with its worker count:
    #: its figures come from the sweep's rounds, and it was timed, never profiled
    sweep_point: SweepPoint | None = None


@dataclass
class MeasuredPoint:
    """A measured speedup the prediction was calibrated against."""

    workers: int
    speedup: float | None
    speedup_ci: list[float] | None


@dataclass
class PredictionBand:
    """The curves of the models calibrated at the ends of the speedup interval."""

    this_machine: list[list[float]] | None = None
    own_cores: list[list[float]] | None = None


@dataclass
class PredictionMode:
    """One parallel mode's predicted curve, its measured points and the model's costs."""

    points: list[Point]
    measured: list[MeasuredPoint]
    flat_at: int
    limit: str
    flattening: Flattening
    per_chunk_s: float
    per_map_s: float
    cores: float | None
    calibrated_at: int
    measured_workers: list[int]
    #: on a machine with a core per worker
    own_cores: list[Point] = field(default_factory=list)
    band: PredictionBand = field(default_factory=PredictionBand)


@dataclass
class Prediction:
    """Predicted speedups at 1..64 workers per parallel mode."""

    cpus: int
    modes: dict[str, PredictionMode] = field(default_factory=dict)


@dataclass
class NativePoolThreads:
    """A native thread pool loaded in the sequential mode's process."""

    api: str
    threads: int


@dataclass
class NativeSummary:
    """The sequential map runs native threads: the cores it fills, and the fix as timed."""

    sequential_cores: float
    cpus: int
    #: no pool beats the CPUs over the cores the sequential map already uses
    bound: float
    pools: list[NativePoolThreads] = field(default_factory=list)
    trial: dict[str, JSON] | None = None


@dataclass
class Analysis:
    """A run's analysis: speedups with intervals, bounds, bottlenecks, prediction, verdict."""

    reference_mode: str | None = None
    #: one entry per main-run mode (not sweep points), in the run's order
    modes: dict[str, ModeSummary] = field(default_factory=dict)
    granularity: Granularity | None = None
    classification: Classification | None = None
    #: top 10 per mode
    bottlenecks: list[Bottleneck] = field(default_factory=list)
    hot_lines: list[HotLine] = field(default_factory=list)
    sweep: Sweep | None = None
    recommendation: RecommendationSummary | None = None
    advice: list[Advice] = field(default_factory=list)
    prediction: Prediction | None = None
    verdict: Headline | None = None
    warnings: list[RunNote] = field(default_factory=list)
    notes: list[RunNote] = field(default_factory=list)
    #: how the main timing rounds went (None in a run saved before it was recorded)
    rounds: RoundsFacts | None = None
    memory: MemorySummary = field(default_factory=MemorySummary)
    native_threads: NativeSummary | None = None
    #: ``profkit run``: the program's and its pool sites' facts (profkit.program.analysis)
    program: dict[str, Any] | None = None

    def to_json(self) -> dict[str, JSON]:
        out = to_json(self)
        assert isinstance(out, dict)
        return out

    @classmethod
    def from_json(cls, data: object, where: str = "analysis") -> Analysis:
        return from_json(cls, data, where)
