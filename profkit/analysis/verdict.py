"""One verdict model: work class, per-mode cause, recommendation and advice from the same facts.

:func:`decide` is the only place that draws conclusions. It takes :class:`Facts`
(numbers the analysis measured) and returns a :class:`Verdict`: causes, the
recommendation with its :class:`Reason`, and :class:`Advice` records, each a kind
with its numbers. :func:`headline` gives the facts of the report's headline. Render
words all of them (:mod:`profkit.render.text`), so the advice cannot contradict the
recommendation (``tests/unit/test_verdict.py`` checks every combination).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field, replace
from typing import Any

from profkit.analysis.gc import GcFacts
from profkit.analysis.native import NativeFacts, NativeThreads
from profkit.model import Status

CPU_BOUND_RATIO = 0.8
IO_BOUND_RATIO = 0.3
#: The classification says how long the tasks waited for a core from this share of their time.
QUEUED_NOTE_SHARE = 0.05
GAIN_THRESHOLD = 1.10  # below this speedup a pool "does not pay"
#: Without an interval (one clean round), a speedup below this is still clearly slower: a busy
#: machine moves a round's wall time by tens of percent, never threefold.
CLEARLY_SLOWER = 1 / 3
GIL_CORES = 1.3  # threads that keep fewer cores than this busy are serialised
#: CPU-bound threads release the GIL only if their interval clears 1x by this factor: a pure-Python
#: map in two threads runs a few percent apart from the sequential one (its own thread, its own
#: timer), which an interval can tell from 1 without any computing side by side.
GIL_MARGIN = 1.05
SIMPLER_WITHIN = 0.05  # prefer a simpler mode within 5% of the best
TINY_TASK_S = 1e-3  # below this per item, dispatch overhead dominates a pool
SORT_GAIN = 0.05  # advise longest-first when it finishes this much sooner
SPLIT_BELOW = 0.9  # advise smaller items when they cap the speedup below 90% of W


class WorkClass(str, enum.Enum):
    """What the tasks spend their time on."""

    CPU = "cpu-bound"  # computing in Python: holds the GIL
    IO = "io-bound"  # waiting: releases the GIL
    MIXED = "mixed"  # both; threads overlap the waits only
    GIL_RELEASING = "gil-releasing"  # computing in C code that releases the GIL
    NO_GIL = "cpu-bound, no GIL"  # computing on a free-threaded build: threads compute side by side

    def holds_gil(self) -> bool:
        """Computing time holds the GIL, so threads run it one at a time."""
        return self in (WorkClass.CPU, WorkClass.MIXED)


class Outcome(str, enum.Enum):
    """What a mode's 95% interval says against the reference."""

    FASTER = "faster"  # the interval is above 1
    UNCLEAR = "unclear"  # the interval includes 1 (or there is none)
    SLOWER = "slower"  # the interval is below 1
    FAILED = "failed"


class Cause(str, enum.Enum):
    """Why a mode got the speedup it got."""

    SCALES = "scales"  # close to what the work allows
    GIL = "the GIL"  # threads on work that holds the GIL
    OVERHEAD = "overhead"  # per-task overhead outweighs the work
    ITEMS = "item sizes"  # uneven items cap the speedup
    CPUS = "CPUs"  # more workers than CPUs for CPU work
    NATIVE = "native threads"  # the sequential map's native threads already fill the CPUs
    NOISE = "noise"  # the interval includes no gain
    FAILED = "failed"


class AdviceKind(str, enum.Enum):
    KEEP_LOOP = "keep-loop"
    SETTLE = "settle"
    USE_THREADS = "use-threads"
    USE_PROCESSES = "use-processes"
    BATCH = "batch"
    SPLIT_ITEMS = "split-items"
    SORT_LONGEST_FIRST = "sort-longest-first"
    REUSE_POOL = "reuse-pool"
    NATIVE_THREADS = "native-threads"
    GC = "gc"  # the garbage collector's share of the map (profkit.analysis.gc)


@dataclass(frozen=True)
class ModeFacts:
    """What was measured of one mode (or one sweep point)."""

    mode: str
    workers: int
    ok: bool = True
    #: how the mode ended when it did not finish (failed, timed out, interrupted, skipped)
    status: Status | None = None
    speedup: float | None = None
    ci: tuple[float, float] | None = None
    parallel: bool = True
    reference: bool = False
    shares_gil: bool = False
    shares_memory: bool = False
    cost: int = 2  # machinery: 0 loop, 1 threads, 2 local processes, 3 cluster
    bound: float | None = None  # what the work allows this mode (GIL or CPU cap included)
    capped_by_cpus: bool = False
    items_cap: float | None = None  # the items' schedule cap before CPU caps, at the even end of their noise
    overhead_per_task_s: float | None = None
    startup_s: float | None = None
    wall_s: float | None = None
    sweep: bool = False

    @property
    def above_bound(self) -> bool:
        """The whole 95% interval lies above the bound: the bound's model does not fit this work."""
        return self.bound is not None and self.ci is not None and self.ci[0] > self.bound

    @property
    def label(self) -> str:
        return f"{self.mode}:{self.workers}" if self.sweep else self.mode

    @property
    def outcome(self) -> Outcome:
        if not self.ok or self.speedup is None:
            return Outcome.FAILED
        if self.ci is None:  # one clean round: only a slowdown no machine's noise makes is clear
            return Outcome.SLOWER if self.speedup < CLEARLY_SLOWER else Outcome.UNCLEAR
        if self.ci[0] > 1.0:
            return Outcome.FASTER
        if self.ci[1] < 1.0:
            return Outcome.SLOWER
        return Outcome.UNCLEAR


@dataclass(frozen=True)
class Facts:
    """Everything :func:`decide` may use."""

    work: WorkClass | None
    modes: tuple[ModeFacts, ...]
    reference: str | None = "sequential"
    cpu_ratio: float | None = None
    per_task_s: float | None = None
    n_items: int = 0
    ref_wall_s: float | None = None
    sort_gain: float = 0.0  # longest-first over the pool's in-order hand-out
    chunk_advice: int | None = None  # chunksize worth trying for tiny tasks
    chunk_trial: dict[str, Any] | None = None  # measured in this run: mode, chunksize, gain
    native: NativeThreads | None = None  # the sequential map already runs native threads
    cpus: int | None = None  # the CPUs the run could use


class ReasonKind(str, enum.Enum):
    """Why the recommendation is what it is."""

    FASTEST = "fastest"  # the fastest mode, clearly faster
    NEAR_FASTEST = "near-fastest"  # within 5% of the fastest and cheaper to run
    UNSETTLED = "unsettled"  # no mode is clearly faster: a gain is too small or unclear
    NONE_FASTER = "none-faster"  # no pooled mode is at least 10% faster


@dataclass(frozen=True)
class Reason:
    """The facts behind a recommendation; render words them."""

    kind: ReasonKind
    reference: str | None = None
    #: the fastest mode (NEAR_FASTEST) or the best unclear one (UNSETTLED)
    best: str | None = None
    best_speedup: float | None = None
    best_ci: list[float] | None = None
    best_clearly_faster: bool = False  # UNSETTLED: faster, but by less than 10%
    #: the start-up of the chosen pool, a single map's speedup with it, maps to pay it back
    startup_s: float | None = None
    single_map_speedup: float | None = None
    maps_to_pay_off: int | None = None
    #: NONE_FASTER: what holds the pools back (NATIVE, CPUS, OVERHEAD), with its numbers
    why: Cause | None = None
    native: NativeFacts | None = None
    cpus: int | None = None
    workers: int | None = None
    per_task_s: float | None = None
    overhead_s: float | None = None


@dataclass(frozen=True)
class Recommendation:
    mode: str
    workers: int
    speedup: float
    ci: tuple[float, float] | None
    clear: bool  # False: no mode is clearly faster, nor clearly slower
    reason: Reason
    single_map_speedup: float | None = None  # one map, the pool's start-up included
    maps_to_pay_off: int | None = None  # maps per pool before start-up is paid back


@dataclass(frozen=True)
class ChunkTrial:
    """A chunksize timed in this run: the map with it against the map with the baseline chunksize."""

    mode: str
    chunksize: int
    baseline: int
    gain: float
    chunked_s: float
    baseline_s: float
    speedup: float | None


@dataclass(frozen=True)
class Advice:
    """One piece of advice: its kind and the numbers it rests on (render words it)."""

    kind: AdviceKind
    #: KEEP_LOOP: what holds the pools back (CPUS, OVERHEAD), or None when nothing names it
    why: Cause | None = None
    mode: str | None = None  # the mode the advice names
    workers: int | None = None
    cpus: int | None = None
    per_task_s: float | None = None
    overhead_s: float | None = None
    chunksize: int | None = None
    trial: ChunkTrial | None = None
    n_items: int | None = None
    items_cap: float | None = None
    sort_gain: float | None = None
    work: WorkClass | None = None
    maps: int | None = None
    startup_s: float | None = None
    single_map_speedup: float | None = None
    native: NativeFacts | None = None
    gc: GcFacts | None = None


class ClauseKind(str, enum.Enum):
    """What the headline says of one main mode."""

    FAILED = "failed"
    NOT_MEASURED = "not-measured"
    GIL = "gil"
    NATIVE = "native"
    CPUS = "cpus"
    FASTER = "faster"
    SLOWER = "slower"
    NO_GAIN = "no-gain"


class BoundNote(str, enum.Enum):
    """How a clearly faster mode stands against its bound."""

    ABOVE = "above"  # the interval lies above the bound: its model does not fit the work
    CPUS = "cpus"  # a share of what the CPUs allow
    ITEMS = "items"  # a share of what the items allow


@dataclass(frozen=True)
class Clause:
    """One main mode in the headline."""

    kind: ClauseKind
    mode: str
    workers: int
    speedup: float | None = None
    ci: list[float] | None = None
    bound: float | None = None
    bound_note: BoundNote | None = None
    of_bound: float | None = None  # the speedup over the bound
    cause: Cause | None = None
    status: Status | None = None  # FAILED: how the mode ended


class NoResult(str, enum.Enum):
    """Why nothing is recommended."""

    NO_MODE = "no-mode"  # no mode finished
    NO_REFERENCE = "no-reference"  # the reference did not finish: no speedup to judge by
    NO_POOL = "no-pool"  # only the reference finished: nothing to compare it with


class HeadKind(str, enum.Enum):
    """What the headline recommends."""

    NONE = "none"  # nothing: see :class:`NoResult`
    STAY_NATIVE = "stay-native"  # stay: native threads already fill the CPUs
    STAY = "stay"
    UNSETTLED = "unsettled"  # stay until more rounds settle it
    USE = "use"


@dataclass(frozen=True)
class Headline:
    """The facts of the verdict's headline: the recommendation, then one clause per main mode."""

    reference: str | None
    clauses: list[Clause]
    head: HeadKind | None = None
    mode: str | None = None
    workers: int | None = None
    speedup: float | None = None
    ci: list[float] | None = None
    cpus: int | None = None
    native: NativeFacts | None = None
    no_result: NoResult | None = None  # NONE: why nothing is recommended


@dataclass(frozen=True)
class Verdict:
    work: WorkClass | None
    causes: dict[str, Cause]
    recommendation: Recommendation | None
    advice: tuple[Advice, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ClassFacts:
    """What the classification card says: the work class and the numbers behind it."""

    work: WorkClass
    cpu_ratio: float
    gil_cap: float  # what threads reach when only their waiting overlaps
    mixed: bool  # the tasks wait a good part of their time
    gil_bound: bool
    threads_workers: int | None = None
    threads_speedup: float | None = None
    threads_ci: list[float] | None = None
    threads_cores: float | None = None
    #: the share of their time the tasks waited for a core, when large enough to say
    queued_share: float | None = None
    native: NativeFacts | None = None  # the work runs in native threads


@dataclass
class Classification:
    """CPU-bound, I/O-bound or mixed, from the tasks' CPU time and waits."""

    #: "cpu-bound", "io-bound" or "mixed"
    kind: str
    work_class: WorkClass
    #: CPU / the time not spent waiting for a core
    cpu_ratio: float
    #: that wait, over the tasks' wall time
    queued_share: float
    threads_speedup: float | None
    gil_bound: bool
    gil_enabled: bool = True
    native_threads: bool = False
    facts: ClassFacts | None = None


# -- the work class --------------------------------------------------------


def gil_cap(cpu_ratio: float) -> float:
    """What threads can reach when only their waiting overlaps: wall / CPU of one task."""
    return 1.0 / max(cpu_ratio, 1e-9)


def work_class(cpu_ratio: float | None, threads: ModeFacts | None,
               threads_cores: float | None = None, gil_enabled: bool = True) -> WorkClass | None:
    """CPU, I/O, mixed or GIL-releasing: from CPU / wall per task and what threads reached.

    Threads whose whole 95% interval lies above what a GIL-bound model allows
    (:func:`gil_cap`) computed side by side: the work releases the GIL, whatever
    the cores counted. Without an interval, the cores they kept busy decide. On a
    free-threaded build there is no GIL to hold.
    """
    if cpu_ratio is None:
        return None
    if cpu_ratio <= IO_BOUND_RATIO:
        return WorkClass.IO
    if not gil_enabled:
        return WorkClass.NO_GIL
    low = None if threads is None or threads.workers <= 1 else (
        threads.ci[0] if threads.ci is not None else threads.speedup)
    beats_gil = low is not None and low > gil_cap(cpu_ratio) and (
        threads is not None and (threads.ci is not None or cpu_ratio < CPU_BOUND_RATIO))
    if cpu_ratio < CPU_BOUND_RATIO:
        return WorkClass.GIL_RELEASING if beats_gil else WorkClass.MIXED
    if beats_gil and low is not None and low > GIL_MARGIN * gil_cap(cpu_ratio):
        return WorkClass.GIL_RELEASING
    if threads is not None and threads.workers > 1 and threads.speedup is not None and threads.ci is None:
        # no interval: CPU seconds per wall second tell the GIL apart from noise in the speedup
        scaled = (threads_cores >= GIL_CORES if threads_cores is not None
                  else threads.speedup >= GAIN_THRESHOLD)
        if scaled:
            return WorkClass.GIL_RELEASING
    return WorkClass.CPU


def classify(cpu_ratio: float | None, threads: ModeFacts | None, threads_cores: float | None = None,
             queued_share: float = 0.0, gil_enabled: bool = True) -> Classification | None:
    """The classification card: kind, GIL-bound and the facts its explanation words.

    ``cpu_ratio`` is CPU time over the time the tasks were not waiting for a core;
    ``queued_share`` is the share of their wall time they did wait for one.
    ``threads`` is the mode whose threads share the GIL, if any: its speedup's interval is
    what the class is judged on, and ``threads_cores`` the cores it kept busy.
    """
    if cpu_ratio is None:
        return None
    speedup = threads.speedup if threads is not None else None
    judged = threads
    if judged is not None and speedup is None and threads_cores is not None and judged.workers > 1:
        judged = replace(judged, speedup=1.0)  # no reference run: judge by the cores alone
    work = work_class(cpu_ratio, judged, threads_cores, gil_enabled)
    assert work is not None
    gil_bound = bool(work is WorkClass.CPU and judged is not None and judged.workers > 1)
    ci = list(threads.ci) if threads is not None and threads.ci else None
    card = ClassFacts(work, cpu_ratio, gil_cap(cpu_ratio), cpu_ratio < CPU_BOUND_RATIO, gil_bound,
                      threads.workers if threads is not None else None, speedup, ci,
                      threads_cores if threads is not None else None,
                      queued_share if queued_share >= QUEUED_NOTE_SHARE else None)
    kind = "cpu-bound" if work in (WorkClass.GIL_RELEASING, WorkClass.NO_GIL) else work.value
    if work in (WorkClass.GIL_RELEASING, WorkClass.NO_GIL) and cpu_ratio < CPU_BOUND_RATIO:
        kind = WorkClass.MIXED.value
    return Classification(kind, work, cpu_ratio, queued_share, speedup, gil_bound, gil_enabled,
                          facts=card)


def native_classification(card: Classification, native: NativeThreads) -> Classification:
    """The classification card of work done in native threads: no GIL claim, the cores named.

    The thread that calls the native library holds no GIL while the library computes, and
    the library's own threads add cores: neither is what pure Python does.
    """
    return replace(card, kind="cpu-bound", work_class=WorkClass.GIL_RELEASING, gil_bound=False,
                   native_threads=True,
                   facts=replace(card.facts, native=native.facts()) if card.facts is not None else None)


def mode_cost(traits: dict[str, Any]) -> int:
    """How much machinery a mode needs: the plain loop, threads, local processes, a cluster."""
    if traits.get("reference"):
        return 0
    if traits.get("shares_memory"):
        return 1
    if traits.get("worker_label") == "address":
        return 3
    return 2


def advised_chunksize(n_items: int, workers: int) -> int:
    """Four chunks per worker: few enough hand-outs, enough to even out the load."""
    return max(1, math.ceil(n_items / (4 * max(1, workers))))


# -- the decision ----------------------------------------------------------


def cause_of(m: ModeFacts, work: WorkClass | None, cpus: int | None = None) -> Cause:
    """Why this mode got its speedup; the same facts the recommendation uses.

    CPUs that leave no gain to find (one CPU, or a bound under the gain threshold) are
    tested before overhead and noise: a pool that cannot spread its work says nothing about
    its own costs. More workers than CPUs alone is no such cause: 4 workers on 2 CPUs still
    spread over 2, so an interval that includes no gain there is noise.
    """
    outcome = m.outcome
    if outcome is Outcome.FAILED:
        return Cause.FAILED
    if m.shares_gil and m.parallel and work is WorkClass.CPU and not m.above_bound:
        return Cause.GIL
    clear_gain = outcome is Outcome.FASTER and (m.speedup or 0) >= GAIN_THRESHOLD
    short = (cpus is not None and cpus < m.workers and cpus < GAIN_THRESHOLD and m.parallel
             and work in (WorkClass.CPU, WorkClass.GIL_RELEASING, WorkClass.NO_GIL))
    if not clear_gain and (short or (m.capped_by_cpus and m.bound is not None and m.bound < GAIN_THRESHOLD)):
        return Cause.CPUS  # too few CPUs for the workers: tested before any overhead
    if outcome is Outcome.SLOWER or (m.speedup or 0) < 1 / GAIN_THRESHOLD:
        return Cause.OVERHEAD
    if outcome is Outcome.UNCLEAR:
        return Cause.NOISE
    if clear_gain and m.capped_by_cpus and m.bound is not None and m.bound < SPLIT_BELOW * m.workers:
        return Cause.CPUS  # a gain the CPUs cap: the pool spread as far as they allow
    if m.items_cap is not None and m.items_cap < SPLIT_BELOW * m.workers:
        return Cause.ITEMS
    return Cause.SCALES


def no_result(facts: Facts) -> NoResult | None:
    """Why no mode can be recommended, or None when one can: only a mode that finished is ever
    recommended, and only against a reference that finished."""
    main = [m for m in facts.modes if not m.sweep]
    ref = next((m for m in main if m.reference), None)
    if not any(m.ok for m in main):
        return NoResult.NO_MODE
    if ref is None or not ref.ok:
        return NoResult.NO_REFERENCE
    others = [m for m in main if not m.reference]
    if others and not any(m.ok and m.speedup is not None for m in others):
        return NoResult.NO_POOL
    return None


def _recommend(facts: Facts, causes: dict[str, Cause]) -> Recommendation | None:
    pooled = [m for m in facts.modes if not m.reference and m.parallel and m.ok
              and m.speedup is not None]
    ref = next((m for m in facts.modes if m.reference), None)
    if ref is None or no_result(facts) is not None:
        return None
    ref_name = facts.reference or (ref.mode if ref else "sequential")
    clear = [m for m in pooled if m.outcome is Outcome.FASTER and (m.speedup or 0) >= GAIN_THRESHOLD
             and causes.get(m.label) not in (Cause.GIL, Cause.OVERHEAD, Cause.NOISE)]
    if clear:
        best = max(clear, key=lambda m: m.speedup or 0)
        near = [m for m in clear if (m.speedup or 0) >= (best.speedup or 0) * (1 - SIMPLER_WITHIN)]
        choice = min(near, key=lambda m: (m.cost, m.workers, -(m.speedup or 0)))
        reason = Reason(ReasonKind.FASTEST) if choice is best else Reason(
            ReasonKind.NEAR_FASTEST, best=best.label, best_speedup=best.speedup)
        single = pay = None
        if facts.ref_wall_s and choice.wall_s and choice.startup_s is not None:
            single = facts.ref_wall_s / (choice.wall_s + choice.startup_s)
            saved = facts.ref_wall_s - choice.wall_s
            pay = max(1, math.ceil(choice.startup_s / saved)) if saved > 0 else None
            reason = replace(reason, startup_s=choice.startup_s, single_map_speedup=single,
                             maps_to_pay_off=pay)
        return Recommendation(choice.mode, choice.workers, float(choice.speedup or 0), choice.ci,
                              True, reason, single, pay)
    unclear = [m for m in pooled if m.outcome is not Outcome.SLOWER
               and causes.get(m.label) not in (Cause.GIL, Cause.CPUS, Cause.NATIVE)
               and (m.speedup or 0) >= 1 / GAIN_THRESHOLD]
    if unclear:
        best = max(unclear, key=lambda m: m.speedup or 0)
        reason = Reason(ReasonKind.UNSETTLED, ref_name, best.label, best.speedup,
                        list(best.ci) if best.ci else None, best.outcome is Outcome.FASTER)
        return Recommendation(ref_name, 1, 1.0, ref.ci if ref else None, False, reason)
    reason = Reason(ReasonKind.NONE_FASTER, ref_name)
    short = [m for m in pooled if causes.get(m.label) is Cause.CPUS]
    if facts.native is not None and any(causes.get(m.label) is Cause.NATIVE for m in pooled):
        reason = replace(reason, why=Cause.NATIVE, native=facts.native.facts())
    elif short:
        reason = replace(reason, why=Cause.CPUS, cpus=facts.cpus,
                         workers=max(m.workers for m in short))
    elif pooled and facts.per_task_s is not None:
        overheads = [m.overhead_per_task_s for m in pooled if m.overhead_per_task_s]
        if overheads:
            reason = replace(reason, why=Cause.OVERHEAD, per_task_s=facts.per_task_s,
                             overhead_s=min(overheads))
    return Recommendation(ref_name, 1, 1.0, ref.ci if ref else None, True, reason)


def _advise(facts: Facts, causes: dict[str, Cause], rec: Recommendation | None) -> list[Advice]:
    out: list[Advice] = []
    pooled = [m for m in facts.modes if not m.reference and m.parallel and m.ok
              and m.speedup is not None]
    by_label = {m.label: m for m in facts.modes}
    rec_mode = by_label.get(rec.mode) if rec else None
    if rec_mode is None and rec is not None:
        rec_mode = next((m for m in facts.modes if m.mode == rec.mode
                         and m.workers == rec.workers), None)
    parallel_rec = bool(rec and rec.clear and rec_mode is not None and not rec_mode.reference)
    losing = [m for m in pooled if causes.get(m.label) is Cause.OVERHEAD
              or m.outcome is Outcome.SLOWER]

    if facts.native is not None:
        out.append(Advice(AdviceKind.NATIVE_THREADS, native=facts.native.facts()))
    if rec is not None and not parallel_rec:
        if facts.native is not None and facts.native.bound < NATIVE_FULL:
            pass  # more rounds cannot find a gain the CPUs do not have: the advice above says why
        elif not rec.clear:
            out.append(Advice(AdviceKind.SETTLE))
        elif pooled and any(causes.get(m.label) is Cause.CPUS for m in pooled) and all(
                causes.get(m.label) in (Cause.CPUS, Cause.OVERHEAD, Cause.GIL, Cause.NOISE) for m in pooled):
            short = [m for m in pooled if causes.get(m.label) is Cause.CPUS]
            out.append(Advice(AdviceKind.KEEP_LOOP, why=Cause.CPUS, cpus=facts.cpus,
                              workers=max(m.workers for m in short)))
        elif pooled and losing and len(losing) == len(pooled) and facts.per_task_s is not None:
            worst = max(losing, key=lambda m: m.overhead_per_task_s or 0)
            out.append(Advice(AdviceKind.KEEP_LOOP, why=Cause.OVERHEAD, mode=worst.label,
                              per_task_s=facts.per_task_s, overhead_s=worst.overhead_per_task_s))
        elif pooled:
            out.append(Advice(AdviceKind.KEEP_LOOP))
    # a chunksize of 1 is no batching: too few items to hand out more than one at a time
    if facts.chunk_advice and facts.chunk_advice > 1 and facts.per_task_s is not None \
            and facts.per_task_s < TINY_TASK_S and pooled:
        trial = facts.chunk_trial
        measured = (ChunkTrial(str(trial["mode"]), int(trial["chunksize"]), int(trial["baseline"]),
                               float(trial["gain"]), float(trial["chunked_s"]),
                               float(trial["baseline_s"]),
                               None if trial.get("speedup") is None else float(trial["speedup"]))
                    if trial and trial.get("gain") else None)
        out.append(Advice(AdviceKind.BATCH, per_task_s=facts.per_task_s,
                          chunksize=facts.chunk_advice, trial=measured))
    cap_modes = [m for m in pooled if m.items_cap is not None and m.workers > 1
                 and m.items_cap < SPLIT_BELOW * m.workers]
    if cap_modes:
        m = max(cap_modes, key=lambda m: m.workers)
        out.append(Advice(AdviceKind.SPLIT_ITEMS, n_items=facts.n_items, items_cap=m.items_cap,
                          workers=m.workers))
    if facts.sort_gain > SORT_GAIN and pooled:
        out.append(Advice(AdviceKind.SORT_LONGEST_FIRST, sort_gain=facts.sort_gain))
    if parallel_rec and rec is not None and rec_mode is not None:
        gil_threads = [m for m in pooled if causes.get(m.label) is Cause.GIL]
        if not rec_mode.shares_memory and gil_threads:
            out.append(Advice(AdviceKind.USE_PROCESSES, mode=rec.mode))
        if rec_mode.shares_memory and facts.work in (WorkClass.IO, WorkClass.MIXED,
                                                     WorkClass.GIL_RELEASING):
            out.append(Advice(AdviceKind.USE_THREADS, work=facts.work))
        if rec.maps_to_pay_off and rec.maps_to_pay_off > 1:
            out.append(Advice(AdviceKind.REUSE_POOL, maps=rec.maps_to_pay_off,
                              startup_s=rec_mode.startup_s,
                              single_map_speedup=rec.single_map_speedup))
    return out


def decide(facts: Facts) -> Verdict:
    """The whole verdict from one set of facts."""
    causes = {m.label: cause_of(m, facts.work, facts.cpus) for m in facts.modes if not m.reference}
    if facts.native is not None:  # native threads run outside the GIL: the CPUs are what is short
        causes = {label: Cause.NATIVE if cause in (Cause.GIL, Cause.CPUS) else cause
                  for label, cause in causes.items()}
    rec = _recommend(facts, causes)
    return Verdict(facts.work, causes, rec, tuple(_advise(facts, causes, rec)))


#: Below this bound (CPUs over the cores the sequential map keeps busy) the machine is full.
NATIVE_FULL = 1.25


def headline(facts: Facts, verdict: Verdict) -> Headline:
    """The facts of the headline: the recommendation, then one clause per main mode."""
    clauses = []
    for m in facts.modes:
        if m.sweep or (m.reference and m.ok):
            continue
        ci = list(m.ci) if m.ci else None
        base = Clause(ClauseKind.NO_GAIN, m.mode, m.workers, m.speedup, ci)
        if not m.ok or m.speedup is None:
            clauses.append(replace(base, kind=ClauseKind.FAILED, status=m.status or Status.FAILED)
                           if not m.ok else replace(base, kind=ClauseKind.NOT_MEASURED))
            continue
        cause = verdict.causes.get(m.label)
        s = m.speedup
        if cause is Cause.GIL:
            clause = replace(base, kind=ClauseKind.GIL, bound=m.bound)
        elif cause is Cause.NATIVE and facts.native is not None:
            clause = replace(base, kind=ClauseKind.NATIVE, bound=m.bound)
        elif cause is Cause.CPUS:
            clause = replace(base, kind=ClauseKind.CPUS)
        elif m.outcome is Outcome.FASTER and s >= GAIN_THRESHOLD:
            clause = replace(base, kind=ClauseKind.FASTER, bound=m.bound)
            if m.bound is not None and m.above_bound:
                clause = replace(clause, bound_note=BoundNote.ABOVE)
            elif m.bound is not None:
                clause = replace(clause, of_bound=s / m.bound,
                                 bound_note=BoundNote.CPUS if m.capped_by_cpus else BoundNote.ITEMS)
        elif m.outcome is Outcome.SLOWER and s < 1 / GAIN_THRESHOLD:
            clause = replace(base, kind=ClauseKind.SLOWER, cause=cause)
        else:
            clause = base
        clauses.append(clause)
    native = facts.native.facts() if facts.native is not None else None
    ref = facts.reference or next((m.mode for m in facts.modes if m.reference), None)
    out = Headline(ref, clauses, cpus=facts.cpus, native=native)
    rec = verdict.recommendation
    missing = no_result(facts)
    if missing is not None:
        out = replace(out, head=HeadKind.NONE, no_result=missing)
    elif rec:
        if rec.mode == facts.reference and native is not None and native.bound < NATIVE_FULL:
            head = HeadKind.STAY_NATIVE
        elif rec.mode == facts.reference:
            head = HeadKind.STAY if rec.clear else HeadKind.UNSETTLED
        else:
            head = HeadKind.USE
        out = replace(out, head=head, mode=rec.mode, workers=rec.workers, speedup=rec.speedup,
                      ci=list(rec.ci) if rec.ci else None)
    return out
