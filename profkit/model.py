"""The typed core that travels from the engine to frames, analysis and the store.

Nothing here imports a pool, a profiler or pandas: these are plain records.
"""

from __future__ import annotations

import enum
import pstats
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, Union

if TYPE_CHECKING:
    from line_profiler import LineStats

#: ``--profile-budget`` / ``--line-budget``: seconds of estimated traced time per profiling worker,
#: every item ("all"), or "auto" (:mod:`profkit.engine.coverage`).
PassBudget: TypeAlias = Union[float, Literal["auto", "all"]]  # noqa: UP007
AUTO: Literal["auto"] = "auto"
ALL: Literal["all"] = "all"

#: What ``run.json`` may hold: JSON values.
JSON: TypeAlias = Union[None, bool, int, float, str, list["JSON"], dict[str, "JSON"]]  # noqa: UP007

#: A workload's task: one item in, one result out. Items and results are the user's objects;
#: profkit only passes them on (and pickles them), so a result is an ``object``. The item
#: parameter stays untyped: a task declares its own item type (``is_prime(n: int)``), and only
#: an untyped parameter accepts every such function.
Task: TypeAlias = Callable[[Any], object]

#: cProfile's function key: file, line, function name.
FuncKey: TypeAlias = tuple[str, int, str]
#: calls, primitive calls, own seconds, cumulative seconds.
FuncCounts: TypeAlias = tuple[int, int, float, float]
#: ``cProfile.Profile.stats`` after ``create_stats()``: per function its counts and, per
#: caller, the counts of the calls from there.
RawStats: TypeAlias = Mapping[FuncKey, tuple[int, int, float, float, Mapping[FuncKey, FuncCounts]]]


class Status(str, enum.Enum):
    """How a mode ended."""

    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"
    INTERRUPTED = "interrupted"
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return self.value


class WorkerLabel(str, enum.Enum):
    """How an executor names the worker that ran a task."""

    MAIN = "main"  # the one worker of a sequential run
    THREAD = "thread"  # the thread's name
    PID = "pid"  # 'pid N'
    ADDRESS = "address"  # the worker's network address (Dask)


@dataclass(frozen=True)
class Traits:
    """What an executor is, so no code outside ``executors/`` compares mode names.

    ``parallel``: its workers can run tasks at the same time.
    ``ships_pickles``: tasks, items and results cross a process boundary.
    ``shares_memory``: its workers live in the parent's process.
    ``shares_gil``: its workers take turns on the parent's GIL (threads).
    ``honours_chunksize``: ``--chunksize`` changes how it hands out items.
    ``reference``: the baseline every speedup is measured against.
    """

    parallel: bool
    ships_pickles: bool
    shares_memory: bool
    shares_gil: bool
    worker_label: WorkerLabel
    honours_chunksize: bool
    reference: bool = False

    def to_json(self) -> dict[str, JSON]:
        return {"parallel": self.parallel, "ships_pickles": self.ships_pickles,
                "shares_memory": self.shares_memory, "shares_gil": self.shares_gil,
                "worker_label": self.worker_label.value,
                "honours_chunksize": self.honours_chunksize, "reference": self.reference}

    @classmethod
    def from_json(cls, data: Mapping[str, JSON]) -> Traits:
        return cls(parallel=bool(data["parallel"]), ships_pickles=bool(data["ships_pickles"]),
                   shares_memory=bool(data["shares_memory"]), shares_gil=bool(data["shares_gil"]),
                   worker_label=WorkerLabel(str(data["worker_label"])),
                   honours_chunksize=bool(data["honours_chunksize"]),
                   reference=bool(data.get("reference", False)))


@dataclass(frozen=True)
class ModeSpec:
    """One way to run the map: an executor kind and its worker count."""

    kind: str
    workers: int
    parallel: bool = True

    @property
    def label(self) -> str:
        return self.kind

    def __str__(self) -> str:
        return f"{self.kind}:{self.workers}" if self.parallel else self.kind


@dataclass
class TaskRecord:
    """One task of a collector pass, as the worker saw it (clock: the parent's perf_counter)."""

    index: int
    pid: int
    thread: str
    start: float
    end: float
    cpu: float
    ok: bool = True
    error: str | None = None
    error_type: str | None = None
    worker: str | None = None
    result_bytes: int | None = None
    result: object = None
    #: What the task printed: its first and last lines, and the bytes in all (probe pass).
    output: str = ""
    output_bytes: int = 0


@dataclass
class TaskNote:
    """What one task of the tasks pass left beyond its times: kept for a few tasks only.

    A note exists for a task that failed, printed, or whose result was sampled.
    """

    ok: bool = True
    error: str | None = None
    error_type: str | None = None
    #: The pickled size of the result and the result itself, for a sampled task.
    result_bytes: int | None = None
    result: object = None
    sampled: bool = False
    output: str = ""
    output_bytes: int = 0


@dataclass(frozen=True)
class TaskWorker:
    """Who ran a batch of tasks: its process, thread and (Dask) address."""

    pid: int
    thread: str
    address: str | None = None


def _doubles() -> array[float]:
    return array("d")


def _ints() -> array[int]:
    return array("q")


@dataclass
class TaskColumns:
    """The tasks pass's per-task records, one array per field, not one object per task.

    ``worker[k]`` indexes ``workers``; ``notes`` holds the few tasks that
    failed, printed, or had their result sampled, by item index.
    """

    index: array[int] = field(default_factory=_ints)
    start: array[float] = field(default_factory=_doubles)
    end: array[float] = field(default_factory=_doubles)
    cpu: array[float] = field(default_factory=_doubles)
    #: Seconds the task was ready to run but waited for a core (NaN where the kernel cannot tell).
    queued: array[float] = field(default_factory=_doubles)
    worker: array[int] = field(default_factory=_ints)
    workers: list[TaskWorker] = field(default_factory=list)
    notes: dict[int, TaskNote] = field(default_factory=dict)
    #: Pickled size of all the results, summed over the batches.
    results_bytes: int = 0

    def __len__(self) -> int:
        return len(self.index)

    def extend(self, other: TaskColumns, shift: float = 0.0) -> None:
        """Append ``other``'s tasks, their times moved by ``-shift``."""
        base = len(self.workers)
        self.workers.extend(other.workers)
        self.index.extend(other.index)
        if shift:
            self.start.extend(t - shift for t in other.start)
            self.end.extend(t - shift for t in other.end)
        else:
            self.start.extend(other.start)
            self.end.extend(other.end)
        self.cpu.extend(other.cpu)
        self.queued.extend(other.queued if len(other.queued) == len(other.index)
                           else [float("nan")] * len(other.index))
        if base:
            self.worker.extend(w + base for w in other.worker)
        else:
            self.worker.extend(other.worker)
        self.notes.update(other.notes)
        self.results_bytes += other.results_bytes

    def shift_worker(self, code: int, offset: float) -> None:
        """Move the times of one worker's tasks by ``-offset`` (a remote clock's offset)."""
        for k, w in enumerate(self.worker):
            if w == code:
                self.start[k] -= offset
                self.end[k] -= offset

    def durations(self) -> dict[int, float]:
        """Seconds per item index."""
        return {i: e - s for i, s, e in zip(self.index, self.start, self.end, strict=True)}

    def own_durations(self) -> dict[int, float]:
        """Seconds per item less the time it waited for a core (other programs had it), never
        below its CPU: what the item takes on a quiet machine, for planning passes under load."""
        queued = self.queued if len(self.queued) == len(self.index) else [0.0] * len(self.index)
        cpu = self.cpu if len(self.cpu) == len(self.index) else [0.0] * len(self.index)
        return {i: max(c if c == c else 0.0, (e - s) - (q if q == q else 0.0))
                for i, s, e, q, c in zip(self.index, self.start, self.end, queued, cpu, strict=True)}

    def failures(self) -> list[tuple[int, TaskNote]]:
        """The failed tasks, by item index."""
        return sorted((i, n) for i, n in self.notes.items() if not n.ok)


@dataclass
class GcEvent:
    """One garbage collection: when (the parent's perf_counter clock), how long, how much."""

    pid: int
    thread: str
    start: float
    duration: float
    generation: int
    collected: int


@dataclass
class Payload:
    """What ``run_batch`` returns from a worker: the records and the batch's stats."""

    records: list[TaskRecord]
    profile: RawStats | None = None
    #: The tasks pass's records, in columns (``records`` stays empty then).
    tasks: TaskColumns | None = None
    lines: LineStats | None = None
    gc: list[GcEvent] = field(default_factory=list)
    #: memory_profiler's per-line results: one row per line of the named functions.
    memory_lines: list[MemoryLine] = field(default_factory=list)
    #: Items a budgeted pass cut short: index -> seconds profiled until the cut.
    cut: dict[int, float] = field(default_factory=dict)


@dataclass
class Timing:
    """One timed bare map (or a pool start-up) of one mode.

    ``round`` numbers the interleaved round; ``order`` is the mode's place in it.
    ``others_cpu`` is CPU that other programs used during the round, in cores;
    a ``spoiled`` round is set aside by the analysis.
    """

    phase: str  # 'startup' or 'map'
    round: int
    wall_s: float
    cpu_s: float
    order: int = 0
    others_cpu: float = float("nan")
    spoiled: bool = False
    #: CPU of the one thread that ran the items, where a map runs them in one thread of this
    #: process (sequential); NaN elsewhere. Beside ``cpu_s`` it shows native threads at work.
    thread_cpu_s: float = float("nan")


@dataclass
class MemorySample:
    """The RSS of one process at one moment of the probe pass."""

    t_s: float
    pid: int
    role: str
    rss_bytes: int


@dataclass
class MemoryLine:
    """memory_profiler's result for one source line, summed over the calls that ran it."""

    filename: str
    function: str
    func_lineno: int
    lineno: int
    increment_mib: float
    peak_mib: float
    occurrences: int


@dataclass
class Dispatch:
    """Pickled sizes of what a pool ships, and the parent's time to pickle the items."""

    task_bytes: int = 0
    #: Pickled size of the whole item list, from one ``pickle.dumps``.
    items_bytes: int = 0
    pickle_items_s: float = 0.0


@dataclass(frozen=True)
class NativePool:
    """A native thread pool loaded in the task's process (threadpoolctl's view)."""

    api: str  # "openblas", "mkl", "openmp", ...
    library: str  # the shared library's name, e.g. "libopenblas"
    threads: int


@dataclass(frozen=True)
class PassPlan:
    """The whole items a pass profiles, per profiling worker, and the watchdog's safety cut."""

    batches: list[list[int]]
    #: estimated traced seconds per worker the plan aimed at (inf: every item)
    allowance_s: float
    #: the watchdog's cut per worker, seconds of wall time (None: never cut)
    cap_s: float | None
    #: every item is in the plan
    complete: bool
    #: estimated traced seconds of the one item, when the plan takes it alone or takes none
    cheapest_s: float | None = None
    #: none taken here only because one whole item is traced in the first mode instead
    deferred: bool = False
    #: no item fit the allowance, so one whole item was taken alone
    single: bool = False

    @property
    def items(self) -> list[int]:
        return sorted(i for batch in self.batches for i in batch)


@dataclass
class ModeResult:
    """Everything measured for one mode (or one sweep point)."""

    spec: ModeSpec
    traits: Traits
    sweep: bool = False
    status: Status = Status.OK
    error: str | None = None
    failed_item: int | None = None
    startup_s: float | None = None
    timings: list[Timing] = field(default_factory=list)
    tasks: TaskColumns = field(default_factory=TaskColumns)
    tasks_wall_s: float | None = None
    profile: pstats.Stats | None = None
    #: Items the cProfile pass covered (whole or cut short); empty if it did not run.
    profile_items: Sequence[int] = field(default_factory=list)
    #: Of ``profile_items``, those the budget cut short: index -> seconds profiled until the cut.
    profile_cut: dict[int, float] = field(default_factory=dict)
    #: The share of the map's plain task time the cProfile pass covered (1.0: the whole map).
    profile_share: float | None = None
    #: The whole items the cProfile pass set out to cover, and why no more (None: it did not run).
    profile_plan: PassPlan | None = None
    lines: LineStats | None = None
    #: Items the line pass covered, sorted (an ``array('q')`` from a run: no object per item).
    line_items: Sequence[int] = field(default_factory=list)
    #: Of ``line_items``, those the budget cut short: index -> seconds traced until the cut.
    line_cut: dict[int, float] = field(default_factory=dict)
    #: The whole items the line pass set out to cover (None: it did not run).
    line_plan: PassPlan | None = None
    #: The share of the map's plain task time the line pass covered.
    line_share: float | None = None
    #: Native thread pools (BLAS, OpenMP) loaded in the process after the task ran (the reference).
    native_pools: list[NativePool] = field(default_factory=list)
    #: The mode's maps with one native thread per worker, timed against its own in the same run
    native_trial: dict[str, JSON] | None = None
    memory: list[MemorySample] = field(default_factory=list)
    gc: list[GcEvent] = field(default_factory=list)
    #: The probe pass's samples in mprof's ``.dat`` format (``mprof plot`` opens it).
    memory_dat: str = ""
    memory_error: str | None = None
    memory_lines: list[MemoryLine] = field(default_factory=list)
    memory_line_items: list[int] = field(default_factory=list)
    #: Why the memory-lines pass did not run (or ran less than asked), in plain words.
    memory_lines_note: str | None = None
    memory_lines_estimate_s: float | None = None
    pool: dict[str, JSON] = field(default_factory=dict)
    dispatch: Dispatch = field(default_factory=Dispatch)
    phases: dict[str, float] = field(default_factory=dict)
    traceback: str | None = None
    #: the chunksize this mode's maps used when it differs from the option (``--chunksize auto``)
    chunksize: int | None = None
    #: the advised chunksize, timed against the mode's own in the same run
    chunk_trial: dict[str, JSON] | None = None

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def fail(self, status: Status, message: str) -> None:
        """Mark the mode as ended badly, keeping the first reason."""
        if self.status is Status.OK:
            self.status, self.error = status, message


@dataclass
class RoundInfo:
    """One interleaved round: the order the modes ran in and the load from other programs.

    The engine makes it and run.json's record (:class:`profkit.record.RunMeta`) keeps it.
    """

    round: int
    order: list[str]
    wall_s: float
    others_cpu: float
    spoiled: bool
    sweep: bool = False
    #: the round an interrupt cut short: the maps it holds are whole, the modes after them did
    #: not run in it
    cut: bool = False


@dataclass
class Precision:
    """How precise a mode's estimate got: the relative half-width of its 95% interval."""

    mode: str
    half_width: float | None
    target: float
    reached: bool


#: The line pass's and the cProfile pass's budgets: "auto" profiles every item when that is cheap,
#: else a sample of whole items whose cost grows with the work (:mod:`profkit.engine.coverage`).
DEFAULT_LINE_BUDGET_S: PassBudget = AUTO
DEFAULT_PROFILE_BUDGET_S: PassBudget = AUTO
#: Seconds the memory-lines pass (memory_profiler, far slower) may take per mode.
DEFAULT_MEMORY_LINE_BUDGET_S = 2.0
#: Seconds between two memory samples.
DEFAULT_MEMORY_INTERVAL_S = 0.02
DEFAULT_PRECISION = 0.03
DEFAULT_MIN_ROUNDS = 3
DEFAULT_MAX_ROUNDS = 25
#: Auto mode starts no new round after this many seconds of rounds (once it has ``min_rounds``).
DEFAULT_MAX_ROUNDS_S = 4.0
#: ``profkit ab`` is a gate: a change must be told from noise, so its rounds may go on longer.
DEFAULT_AB_MAX_ROUNDS_S = 10.0
#: A round is spoiled when other programs used more than this share of a core during it.
DEFAULT_SPOILED_CORES = 0.35
