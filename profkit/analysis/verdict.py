"""One verdict model: work class, per-mode cause, recommendation and advice from the same facts.

:func:`decide` is the only place that draws conclusions. It takes :class:`Facts`
(numbers the analysis measured) and returns a :class:`Verdict`; every sentence
the report shows is written from that verdict, so the advice cannot contradict
the recommendation (``tests/unit/test_verdict.py`` checks every combination).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field, replace
from typing import Any

from profkit.analysis.native import NativeThreads
from profkit.fmt import fmt_interval, fmt_seconds, fmt_slower, fmt_speedup

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


@dataclass(frozen=True)
class Recommendation:
    mode: str
    workers: int
    speedup: float
    ci: tuple[float, float] | None
    clear: bool  # False: no mode is clearly faster, nor clearly slower
    reason: str
    single_map_speedup: float | None = None  # one map, the pool's start-up included
    maps_to_pay_off: int | None = None  # maps per pool before start-up is paid back

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "workers": self.workers, "speedup": self.speedup,
                "speedup_ci": list(self.ci) if self.ci else None, "clear": self.clear,
                "reason": self.reason, "single_map_speedup": self.single_map_speedup,
                "maps_to_pay_off": self.maps_to_pay_off}


@dataclass(frozen=True)
class Advice:
    kind: AdviceKind
    text: str


@dataclass(frozen=True)
class Verdict:
    work: WorkClass | None
    causes: dict[str, Cause]
    recommendation: Recommendation | None
    advice: tuple[Advice, ...] = field(default_factory=tuple)


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


def classify(cpu_ratio: float | None, threads: dict[str, Any] | None,
             queued_share: float = 0.0, gil_enabled: bool = True) -> dict[str, Any] | None:
    """The classification card: kind, GIL-bound and a plain explanation.

    ``cpu_ratio`` is CPU time over the time the tasks were not waiting for a core;
    ``queued_share`` is the share of their wall time they did wait for one.
    ``threads`` may carry ``speedup_ci``, the 95% interval the class is judged on.
    """
    if cpu_ratio is None:
        return None
    t = threads or {}
    ci_raw = t.get("speedup_ci")
    ci = (float(ci_raw[0]), float(ci_raw[1])) if ci_raw else None
    facts = ModeFacts("threads", int(t.get("workers") or 1), speedup=t.get("speedup"), ci=ci,
                      shares_gil=True) if threads else None
    cores = t.get("cores_used")
    if facts is not None and facts.speedup is None and cores is not None and facts.workers > 1:
        facts = replace(facts, speedup=1.0)  # no reference run: judge by the cores alone
    work = work_class(cpu_ratio, facts, cores, gil_enabled)
    assert work is not None
    gil_bound = bool(work is WorkClass.CPU and facts is not None and facts.workers > 1)
    speedup = t.get("speedup")
    measured = (f"{speedup:.2f}×" + (f" (95% CI {fmt_interval(ci)})" if ci else "")
                if speedup is not None else None)
    pct = f"{100 * cpu_ratio:.0f}%"
    if work is WorkClass.CPU:
        text = f"CPU-bound: the tasks spend {pct} of their time computing."
        if gil_bound:
            gives = f" give {measured}" if measured else ""
            busy = f", keeping {cores:.1f} of {facts.workers if facts else '?'} cores busy" \
                if cores else ""
            text += (f" Threads{gives}{busy}: pure Python holds the GIL, so "
                     "only one thread computes at a time.")
    elif work is WorkClass.NO_GIL and cpu_ratio < CPU_BOUND_RATIO:
        text = (f"Mixed: the tasks compute {pct} of the time and wait for the rest; this Python "
                "runs without a GIL, so threads overlap both.")
    elif work is WorkClass.NO_GIL:
        text = (f"CPU-bound: the tasks spend {pct} of their time computing. This Python runs "
                "without a GIL, so threads compute side by side.")
    elif work is WorkClass.GIL_RELEASING:
        text = f"CPU-bound, GIL-releasing: the tasks spend {pct} of their time computing, and "
        if ci is not None and measured:
            text += (f"threads give {measured}, above the {gil_cap(cpu_ratio):.2f}× that threads "
                     "holding the GIL could reach, so the hot code releases the GIL (C code such "
                     "as hashlib, zlib or NumPy).")
        else:
            text += (f"threads give {speedup or 0:.2f}× keeping {cores or 0:.1f} cores busy, so the "
                     "hot code releases the GIL (C code such as hashlib, zlib or NumPy).")
        if cpu_ratio < CPU_BOUND_RATIO:
            text = (f"Mixed, GIL-releasing: the tasks compute {pct} of the time and wait for the "
                    f"rest, and threads give {measured}, above the {gil_cap(cpu_ratio):.2f}× that "
                    "overlapping the waits alone allows: the computing releases the GIL too.")
    elif work is WorkClass.IO:
        text = f"I/O-bound: the tasks compute only {pct} of the time and wait for the rest."
        if speedup is not None:
            text += (f" Threads give {speedup:.2f}×: waiting releases the GIL, so "
                     "threads overlap the waits.")
    else:
        text = (f"Mixed: the tasks compute {pct} of the time and wait for the rest. Threads "
                f"overlap the waits but not the computing: the GIL caps them at about "
                f"{gil_cap(cpu_ratio):.2f}×.")
    if queued_share >= QUEUED_NOTE_SHARE:
        text += (f" Their time leaves out the {100 * queued_share:.0f}% of it they spent "
                 "waiting for a core while other programs had it.")
    kind = "cpu-bound" if work in (WorkClass.GIL_RELEASING, WorkClass.NO_GIL) else work.value
    if work in (WorkClass.GIL_RELEASING, WorkClass.NO_GIL) and cpu_ratio < CPU_BOUND_RATIO:
        kind = WorkClass.MIXED.value
    return {"kind": kind, "work_class": work.value, "cpu_ratio": cpu_ratio, "queued_share": queued_share,
            "threads_speedup": speedup, "gil_enabled": gil_enabled,
            "gil_bound": gil_bound, "explanation": text}


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

    Fewer CPUs than workers for CPU work is tested before overhead and noise: a pool
    that cannot spread its work says nothing about its own costs.
    """
    outcome = m.outcome
    if outcome is Outcome.FAILED:
        return Cause.FAILED
    if m.shares_gil and m.parallel and work is WorkClass.CPU and not m.above_bound:
        return Cause.GIL
    clear_gain = outcome is Outcome.FASTER and (m.speedup or 0) >= GAIN_THRESHOLD
    short = (cpus is not None and cpus < m.workers and m.parallel
             and work in (WorkClass.CPU, WorkClass.GIL_RELEASING, WorkClass.NO_GIL))
    if not clear_gain and (short or (m.capped_by_cpus and m.bound is not None and m.bound < GAIN_THRESHOLD)):
        return Cause.CPUS  # too few CPUs for the workers: tested before any overhead
    if outcome is Outcome.SLOWER or (m.speedup or 0) < 1 / GAIN_THRESHOLD:
        return Cause.OVERHEAD
    if outcome is Outcome.UNCLEAR:
        return Cause.NOISE
    if m.capped_by_cpus and m.bound is not None and m.bound < SPLIT_BELOW * m.workers:
        return Cause.CPUS
    if m.items_cap is not None and m.items_cap < SPLIT_BELOW * m.workers:
        return Cause.ITEMS
    return Cause.SCALES


def _recommend(facts: Facts, causes: dict[str, Cause]) -> Recommendation | None:
    pooled = [m for m in facts.modes if not m.reference and m.parallel and m.ok
              and m.speedup is not None]
    ref = next((m for m in facts.modes if m.reference), None)
    if not pooled and ref is None:
        return None
    ref_name = facts.reference or (ref.mode if ref else "sequential")
    clear = [m for m in pooled if m.outcome is Outcome.FASTER and (m.speedup or 0) >= GAIN_THRESHOLD
             and causes.get(m.label) not in (Cause.GIL, Cause.OVERHEAD, Cause.NOISE)]
    if clear:
        best = max(clear, key=lambda m: m.speedup or 0)
        near = [m for m in clear if (m.speedup or 0) >= (best.speedup or 0) * (1 - SIMPLER_WITHIN)]
        choice = min(near, key=lambda m: (m.cost, m.workers, -(m.speedup or 0)))
        reason = "the fastest mode, and its 95% interval excludes no gain" if choice is best else (
            f"within 5% of the fastest ({best.label}, {fmt_speedup(best.speedup)}) and "
            "cheaper to run; its 95% interval excludes no gain")
        single = pay = None
        if facts.ref_wall_s and choice.wall_s and choice.startup_s is not None:
            single = facts.ref_wall_s / (choice.wall_s + choice.startup_s)
            saved = facts.ref_wall_s - choice.wall_s
            pay = max(1, math.ceil(choice.startup_s / saved)) if saved > 0 else None
            if pay is not None and pay > 1:
                reason += (f". A single map pays the {fmt_seconds(choice.startup_s)} start-up too "
                           f"and gets {fmt_speedup(single)}; the start-up is paid back after "
                           f"{pay} maps per pool")
            else:
                reason += (f". Even a single map, paying the {fmt_seconds(choice.startup_s)} "
                           f"start-up, gets {fmt_speedup(single)}")
        return Recommendation(choice.mode, choice.workers, float(choice.speedup or 0), choice.ci,
                              True, reason, single, pay)
    unclear = [m for m in pooled if m.outcome is not Outcome.SLOWER
               and causes.get(m.label) not in (Cause.GIL, Cause.CPUS, Cause.NATIVE)
               and (m.speedup or 0) >= 1 / GAIN_THRESHOLD]
    if unclear:
        best = max(unclear, key=lambda m: m.speedup or 0)
        ci = f" [{fmt_interval(best.ci)}]" if best.ci else " (no interval)"
        small = best.outcome is Outcome.FASTER
        why = ("is clearly faster but by less than 10%" if small else "includes no gain")
        reason = (f"no mode is clearly faster than {ref_name}: {best.label} "
                  f"{fmt_speedup(best.speedup)}{ci} {why}")
        return Recommendation(ref_name, 1, 1.0, ref.ci if ref else None, False, reason)
    reason = f"no pooled mode is at least 10% faster than {ref_name}"
    short = [m for m in pooled if causes.get(m.label) is Cause.CPUS]
    if facts.native is not None and any(causes.get(m.label) is Cause.NATIVE for m in pooled):
        reason += (f": the sequential map already keeps {facts.native.sequential_cores:.2f} of "
                   f"{facts.native.cpus} CPUs busy through native threads")
    elif short:
        cpus = f"{facts.cpus} CPU{'s' if facts.cpus != 1 else ''}" if facts.cpus else "too few CPUs"
        reason += (f": the run had {cpus} for {max(m.workers for m in short)} workers, so the CPU "
                   "work cannot spread")
    elif pooled and facts.per_task_s is not None:
        overheads = [m.overhead_per_task_s for m in pooled if m.overhead_per_task_s]
        if overheads:
            reason += (f": each task does {fmt_seconds(facts.per_task_s)} of work, while a pool "
                       f"adds {fmt_seconds(min(overheads))} or more of overhead per task")
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
        out.append(_native_advice(facts.native))
    if rec is not None and not parallel_rec:
        if facts.native is not None and facts.native.bound < NATIVE_FULL:
            pass  # more rounds cannot find a gain the CPUs do not have: the advice above says why
        elif not rec.clear:
            out.append(Advice(AdviceKind.SETTLE, (
                "No mode is clearly faster, nor clearly slower. To settle it: run more rounds "
                "(--max-rounds 50 --max-time 120) on a quieter machine to narrow the intervals, "
                "or give each task more work (bigger items) so a gain stands out of the noise.")))
        elif pooled and any(causes.get(m.label) is Cause.CPUS for m in pooled) and all(
                causes.get(m.label) in (Cause.CPUS, Cause.OVERHEAD, Cause.GIL, Cause.NOISE) for m in pooled):
            short = [m for m in pooled if causes.get(m.label) is Cause.CPUS]
            cpus = f"{facts.cpus} CPU{'s' if facts.cpus != 1 else ''}" if facts.cpus else "too few CPUs"
            out.append(Advice(AdviceKind.KEEP_LOOP, (
                f"Do not parallelise this on this machine: the run had {cpus} for "
                f"{max(m.workers for m in short)} workers, so the CPU work cannot spread. "
                "On a machine with more CPUs a pool may pay.")))
        elif pooled and losing and len(losing) == len(pooled) and facts.per_task_s is not None:
            worst = max(losing, key=lambda m: m.overhead_per_task_s or 0)
            out.append(Advice(AdviceKind.KEEP_LOOP, (
                f"Do not parallelise this as it is: each task does {fmt_seconds(facts.per_task_s)} "
                f"of work, while {worst.label} adds about {fmt_seconds(worst.overhead_per_task_s)} "
                "of overhead per task.")))
        elif pooled:
            out.append(Advice(AdviceKind.KEEP_LOOP,
                              "Parallelism does not pay here: keep the plain loop."))
    if facts.chunk_advice and facts.per_task_s is not None and facts.per_task_s < TINY_TASK_S \
            and pooled:
        text = (f"Batch tiny tasks: at {fmt_seconds(facts.per_task_s)} per task, pass "
                f"chunksize={facts.chunk_advice} to executor.map (or --chunksize "
                f"{facts.chunk_advice}) so each dispatch carries real work.")
        trial = facts.chunk_trial
        if trial and trial.get("gain"):
            text += (f" Measured in this run: {trial['mode']} with chunksize={trial['chunksize']} "
                     f"is {fmt_speedup(trial['gain'])} as fast as with chunksize={trial['baseline']} "
                     f"({fmt_seconds(trial['chunked_s'])} per map instead of "
                     f"{fmt_seconds(trial['baseline_s'])}; {fmt_speedup(trial['speedup'])} "
                     "against sequential).")
        out.append(Advice(AdviceKind.BATCH, text))
    cap_modes = [m for m in pooled if m.items_cap is not None and m.workers > 1
                 and m.items_cap < SPLIT_BELOW * m.workers]
    if cap_modes:
        m = max(cap_modes, key=lambda m: m.workers)
        out.append(Advice(AdviceKind.SPLIT_ITEMS, (
            f"Split large items: {facts.n_items} items allow at most {fmt_speedup(m.items_cap)} on "
            f"{m.workers} workers, not {m.workers}×. Smaller, more even items raise that cap.")))
    if facts.sort_gain > SORT_GAIN and pooled:
        out.append(Advice(AdviceKind.SORT_LONGEST_FIRST, (
            f"Submit the longest items first: the pool hands items out in the given order, which "
            f"finishes {100 * facts.sort_gain:.0f}% later than the same pool given the items "
            "sorted longest-first.")))
    if parallel_rec and rec is not None and rec_mode is not None:
        gil_threads = [m for m in pooled if causes.get(m.label) is Cause.GIL]
        if not rec_mode.shares_memory and gil_threads:
            out.append(Advice(AdviceKind.USE_PROCESSES, (
                f"Use processes for CPU-bound Python ({rec.mode}): threads are held back by "
                "the GIL.")))
        if rec_mode.shares_memory and facts.work in (WorkClass.IO, WorkClass.MIXED,
                                                     WorkClass.GIL_RELEASING):
            what = "for I/O" if facts.work is WorkClass.IO else f"({facts.work.value} work)"
            out.append(Advice(AdviceKind.USE_THREADS, (
                f"Use threads {what}: the tasks wait (or release the GIL), threads overlap that "
                "without pickling, and more threads than CPUs keep helping until the CPU work "
                "or the server saturates.")))
        if rec.maps_to_pay_off and rec.maps_to_pay_off > 1:
            out.append(Advice(AdviceKind.REUSE_POOL, (
                f"Keep the pool up for {rec.maps_to_pay_off} or more maps: each start-up costs "
                f"{fmt_seconds(rec_mode.startup_s)}, and a single map would get "
                f"{fmt_speedup(rec.single_map_speedup)}.")))
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


def _native_advice(native: NativeThreads) -> Advice:
    pools = ", ".join(f"{api} with {threads} thread{'s' if threads != 1 else ''}"
                      for api, threads in native.pools) or "a native thread pool"
    text = (f"The task runs native threads ({pools}): the sequential map already keeps "
            f"{native.sequential_cores:.2f} of {native.cpus} CPUs busy, so no pool can beat about "
            f"{fmt_speedup(native.bound)}. Workers that each run as many native threads "
            "oversubscribe the CPUs. The usual fix is one native thread per worker: "
            "threadpoolctl.threadpool_limits(1) in each worker, or OMP_NUM_THREADS=1 (and "
            "OPENBLAS_NUM_THREADS=1, MKL_NUM_THREADS=1) set before NumPy is imported.")
    trial = native.trial
    if trial and trial.get("speedup") is not None:
        text += (f" Timed here: {trial['mode']} with {trial['workers']} workers × 1 native thread "
                 f"ran {fmt_speedup(float(trial['speedup']))} against sequential "
                 f"({fmt_speedup(float(trial['gain']))} its own maps' speed).")
    return Advice(AdviceKind.NATIVE_THREADS, text)


def sentence(facts: Facts, verdict: Verdict) -> str:
    """The headline: the recommendation, then one clause per main mode."""
    parts = []
    for m in facts.modes:
        if m.reference or m.sweep:
            continue
        if not m.ok or m.speedup is None:
            parts.append(f"{m.mode}: failed" if not m.ok else f"{m.mode}: not measured")
            continue
        cause = verdict.causes.get(m.label)
        where = f"on {m.workers} worker{'s' if m.workers != 1 else ''}"
        ci = f", 95% CI {fmt_interval(m.ci)}" if m.ci else ""
        s = m.speedup
        if cause is Cause.GIL:
            text = (f"{m.mode}: {fmt_speedup(s)} {where}{ci}; the GIL lets only one thread "
                    "compute at a time")
            if m.bound is not None:
                text += f", so the work allows them {fmt_speedup(m.bound)}"
        elif cause is Cause.NATIVE and facts.native is not None:
            text = (f"{m.mode}: {fmt_speedup(s)} {where}{ci}; the task's native threads already keep "
                    f"{facts.native.sequential_cores:.2f} of {facts.native.cpus} CPUs busy")
            if m.bound is not None:
                text += f", so the CPUs allow about {fmt_speedup(m.bound)}"
        elif cause is Cause.CPUS:
            had = (f"the run had {facts.cpus} CPU{'s' if facts.cpus != 1 else ''} for {m.workers} workers"
                   if facts.cpus else "the run had too few CPUs for its workers")
            text = f"{m.mode}: {fmt_speedup(s)} {where}{ci}; {had}"
        elif m.outcome is Outcome.FASTER and s >= GAIN_THRESHOLD:
            text = f"{m.mode}: {fmt_speedup(s)} faster than {facts.reference} {where}{ci}"
            if m.bound is not None and m.above_bound:
                text += (f" (above the {fmt_speedup(m.bound)} bound: its model does not fit "
                         "this work)")
            elif m.bound is not None:
                what = "the CPUs allow" if m.capped_by_cpus else "the items allow"
                text += f" ({100 * s / m.bound:.0f}% of the {fmt_speedup(m.bound)} {what})"
        elif m.outcome is Outcome.SLOWER and s < 1 / GAIN_THRESHOLD:
            text = (f"{m.mode}: {fmt_slower(s)} than {facts.reference} {where}{ci} "
                    f"({cause.value if cause else 'overhead'})")
        else:
            text = f"{m.mode}: no clear gain {where} ({fmt_speedup(s)}{ci})"
        parts.append(text)
    head = ""
    rec = verdict.recommendation
    if rec:
        native = facts.native
        if rec.mode == facts.reference and native is not None and native.bound < NATIVE_FULL:
            head = (f"Recommended: stay {rec.mode}: it already keeps "
                    f"{native.sequential_cores:.2f} of {native.cpus} CPUs busy through native "
                    f"threads, so no pool can beat about {fmt_speedup(native.bound)}. ")
        elif rec.mode == facts.reference:
            head = (f"Recommended: stay {rec.mode}. " if rec.clear else
                    f"No mode is clearly faster: stay {rec.mode} until more rounds settle it. ")
        else:
            ci = f", 95% CI {fmt_interval(rec.ci)}" if rec.ci else ""
            head = (f"Recommended: {rec.mode} with {rec.workers} workers "
                    f"({fmt_speedup(rec.speedup)}{ci}). ")
    return head + ("; ".join(parts) + "." if parts else "Only one mode was measured.")
