"""All the report's sentences: the analysis's facts in words, every number through profkit.fmt.

The analysis returns facts (kinds and numbers); this module says them, so a sentence can
never disagree with the number beside it. The console, HTML, notebook and ``--json`` outputs
take their words from here: :func:`analysis_json` gives an analysis as JSON with its words filled in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from profkit.analysis.compare import CompareNote, CompareNoteKind, Comparison
from profkit.analysis.gc import GcFacts
from profkit.analysis.memory import MemoryBasis, MemoryLimit, MemorySummary, MemoryVerdict
from profkit.analysis.native import NativeFacts
from profkit.analysis.notes import BoundKind, GranularityFacts, NoteKind, RoundsFacts, RunNote
from profkit.analysis.prediction import Flattening, Limit
from profkit.analysis.records import Analysis, ModeBounds, RecommendationSummary
from profkit.analysis.verdict import (
    Advice,
    AdviceKind,
    BoundNote,
    Cause,
    ClassFacts,
    Clause,
    ClauseKind,
    HeadKind,
    Headline,
    NoResult,
    Reason,
    ReasonKind,
    WorkClass,
)
from profkit.fmt import (
    MISSING,
    fmt_bytes_coarse,
    fmt_change,
    fmt_counted,
    fmt_decimal,
    fmt_general,
    fmt_interval,
    fmt_level,
    fmt_pct,
    fmt_ratio_pct,
    fmt_seconds,
    fmt_slower,
    fmt_speedup,
)
from profkit.fmt import fmt_noun as _plural
from profkit.model import JSON, Status

count = fmt_counted  # '1 worker', '2 workers'

#: How a mode that did not finish ended, as the headline and the summary say it.
ENDED = {Status.FAILED: "failed", Status.TIMEOUT: "timed out", Status.INTERRUPTED: "interrupted",
         Status.SKIPPED: "skipped", Status.OK: "finished"}


def ended_modes(status: Mapping[str, Status | str]) -> str:
    """The modes that did not finish, by how each ended: '1 mode timed out: threads; 2 modes
    failed: sequential, processes' (empty when every mode finished or was skipped)."""
    groups: dict[str, list[str]] = {}
    for mode, s in status.items():
        st = Status(s)
        if st not in (Status.OK, Status.SKIPPED):
            groups.setdefault(ENDED.get(st, st.value), []).append(mode)
    return "; ".join(f"{count(len(modes), 'mode')} {how}: {', '.join(modes)}"
                     for how, modes in groups.items())


def _times(value: float) -> str:
    """A measured speedup with two decimals: '1.85×'."""
    return fmt_decimal(value) + "×"


def _cpus(cpus: int | None) -> str:
    return f"{cpus} {_plural(cpus, 'CPU')}" if cpus else "too few CPUs"


def _pools(native: NativeFacts) -> str:
    return ", ".join(f"{p.api} with {p.threads} {_plural(p.threads, 'thread')}"
                     for p in native.pools) or "a native thread pool"


def _busy(native: NativeFacts) -> str:
    """'1.88 of 2 CPUs busy'."""
    return f"{fmt_decimal(native.sequential_cores)} of {native.cpus} CPUs busy"


# -- the classification card ------------------------------------------------


def classification(card: ClassFacts) -> str:
    """The classification card's explanation."""
    if card.native is not None:
        return (f"CPU-bound in native threads: the sequential map keeps {_busy(card.native)} by "
                f"itself ({_pools(card.native)}). The hot code runs in the library's own threads, "
                "outside the GIL.")
    pct = fmt_ratio_pct(card.cpu_ratio)
    speedup, ci, cores = card.threads_speedup, card.threads_ci, card.threads_cores
    measured = (_times(speedup) + (f" (95% CI {fmt_interval(ci)})" if ci else "")
                if speedup is not None else None)
    cap = _times(card.gil_cap)
    work = card.work
    if work is WorkClass.CPU:
        text = f"CPU-bound: the tasks spend {pct} of their time computing."
        if card.gil_bound:
            gives = f" give {measured}" if measured else ""
            busy = (f", keeping {fmt_decimal(cores, 1)} of {card.threads_workers or '?'} cores busy"
                    if cores else "")
            text += (f" Threads{gives}{busy}: pure Python holds the GIL, so "
                     "only one thread computes at a time.")
    elif work is WorkClass.NO_GIL and card.mixed:
        text = (f"Mixed: the tasks compute {pct} of the time and wait for the rest; this Python "
                "runs without a GIL, so threads overlap both.")
    elif work is WorkClass.NO_GIL:
        text = (f"CPU-bound: the tasks spend {pct} of their time computing. This Python runs "
                "without a GIL, so threads compute side by side.")
    elif work is WorkClass.GIL_RELEASING and card.mixed:
        text = (f"Mixed, GIL-releasing: the tasks compute {pct} of the time and wait for the "
                f"rest, and threads give {measured}, above the {cap} that "
                "overlapping the waits alone allows: the computing releases the GIL too.")
    elif work is WorkClass.GIL_RELEASING:
        text = f"CPU-bound, GIL-releasing: the tasks spend {pct} of their time computing, and "
        if ci is not None and measured:
            text += (f"threads give {measured}, above the {cap} that threads "
                     "holding the GIL could reach, so the hot code releases the GIL (C code such "
                     "as hashlib, zlib or NumPy).")
        else:
            text += (f"threads give {_times(speedup or 0)} keeping {fmt_decimal(cores or 0, 1)} "
                     "cores busy, so the hot code releases the GIL (C code such as hashlib, zlib "
                     "or NumPy).")
    elif work is WorkClass.IO:
        text = f"I/O-bound: the tasks compute only {pct} of the time and wait for the rest."
        if speedup is not None:
            text += (f" Threads give {_times(speedup)}: waiting releases the GIL, so "
                     "threads overlap the waits.")
    else:
        text = (f"Mixed: the tasks compute {pct} of the time and wait for the rest. Threads "
                f"overlap the waits but not the computing: the GIL caps them at about {cap}.")
    if card.queued_share is not None:
        text += (f" Their time leaves out the {fmt_ratio_pct(card.queued_share)} of it they spent "
                 "waiting for a core while other programs had it.")
    return text


# -- the recommendation, the advice and the headline -------------------------


def reason(r: Reason) -> str:
    """Why the recommendation is what it is (no final full stop)."""
    if r.kind is ReasonKind.UNSETTLED:
        head = f"no mode is clearly faster than {r.reference}: {r.best} {fmt_speedup(r.best_speedup)}"
        if r.best_ci and r.best_clearly_faster:
            return f"{head} [{fmt_interval(r.best_ci)}] is clearly faster but by less than 10%"
        if r.best_ci:
            return (f"{head} is not clearly faster: its 95% interval [{fmt_interval(r.best_ci)}] "
                    "includes no gain")
        return f"{head} is not clearly faster: one clean round gives no interval"
    if r.kind is ReasonKind.NONE_FASTER:
        text = f"no pooled mode is at least 10% faster than {r.reference}"
        if r.why is Cause.NATIVE and r.native is not None:
            text += (f": the sequential map already keeps {_busy(r.native)} through native "
                     "threads")
        elif r.why is Cause.CPUS:
            text += (f": the run had {_cpus(r.cpus)} for {count(r.workers, 'worker')}, so the CPU "
                     "work cannot spread")
        elif r.why is Cause.OVERHEAD:
            text += (f": each task does {fmt_seconds(r.per_task_s)} of work, while a pool "
                     f"adds {fmt_seconds(r.overhead_s)} or more of overhead per task")
        return text
    text = ("the fastest mode, and its 95% interval excludes no gain" if r.kind is ReasonKind.FASTEST
            else f"within 5% of the fastest ({r.best}, {fmt_speedup(r.best_speedup)}) and "
            "cheaper to run; its 95% interval excludes no gain")
    if r.startup_s is not None and r.single_map_speedup is not None:
        if r.maps_to_pay_off is not None and r.maps_to_pay_off > 1:
            text += (f". A single map pays the {fmt_seconds(r.startup_s)} start-up too "
                     f"and gets {fmt_speedup(r.single_map_speedup)}; the start-up is paid back after "
                     f"{r.maps_to_pay_off} maps per pool")
        else:
            text += (f". Even a single map, paying the {fmt_seconds(r.startup_s)} "
                     f"start-up, gets {fmt_speedup(r.single_map_speedup)}")
    return text


def _native_advice(native: NativeFacts) -> str:
    text = (f"The task runs native threads ({_pools(native)}): the sequential map already keeps "
            f"{_busy(native)}, so no pool can beat about {fmt_speedup(native.bound)}. Workers that "
            "each run as many native threads oversubscribe the CPUs. The usual fix is one native "
            "thread per worker: threadpoolctl.threadpool_limits(1) in each worker, or "
            "OMP_NUM_THREADS=1 (and OPENBLAS_NUM_THREADS=1, MKL_NUM_THREADS=1) set before NumPy "
            "is imported.")
    trial = native.trial
    if trial is not None:
        text += (f" Timed here: {trial.mode} with {count(trial.workers, 'worker')} × 1 native thread "
                 f"ran {fmt_speedup(trial.speedup)} against sequential "
                 f"({fmt_speedup(trial.gain)} its own maps' speed).")
    return text


def gc_advice(g: GcFacts) -> str:
    """The advice for a mode whose tasks spend a large share of their time collecting."""
    full = (f"; {g.full_collections} full ones took {fmt_general(g.full_seconds)} s"
            if g.full_collections is not None and g.full_seconds is not None else "")
    return (f"Garbage collection takes {fmt_ratio_pct(g.share)} of the tasks' time in {g.mode} "
            f"({g.collections} collections, {fmt_general(g.seconds)} s{full}): allocate fewer "
            "container objects, or call gc.freeze() after building long-lived data, or raise the "
            "thresholds with gc.set_threshold(). "
            + ("The timed maps ran with GC off (--gc off), so the speedups leave this cost out; "
               "--gc on times them as a plain run."
               if g.gc_off else "The timed maps ran with GC on (--gc on), as a plain run."))


def advice(a: Advice) -> str:
    """One piece of advice in words."""
    kind = a.kind
    if kind is AdviceKind.NATIVE_THREADS and a.native is not None:
        return _native_advice(a.native)
    if kind is AdviceKind.GC and a.gc is not None:
        return gc_advice(a.gc)
    if kind is AdviceKind.SETTLE:
        return ("No mode is clearly faster, nor clearly slower. To settle it: run more rounds "
                "(--max-rounds 50 --max-time 120) on a quieter machine to narrow the intervals, "
                "or give each task more work (bigger items) so a gain stands out of the noise.")
    if kind is AdviceKind.KEEP_LOOP and a.why is Cause.CPUS:
        return (f"Do not parallelise this on this machine: the run had {_cpus(a.cpus)} for "
                f"{count(a.workers, 'worker')}, so the CPU work cannot spread. "
                "On a machine with more CPUs a pool may pay.")
    if kind is AdviceKind.KEEP_LOOP and a.why is Cause.OVERHEAD:
        return (f"Do not parallelise this as it is: each task does {fmt_seconds(a.per_task_s)} "
                f"of work, while {a.mode} adds about {fmt_seconds(a.overhead_s)} "
                "of overhead per task.")
    if kind is AdviceKind.KEEP_LOOP:
        return "Parallelism does not pay here: keep the plain loop."
    if kind is AdviceKind.BATCH:
        text = (f"Batch tiny tasks: at {fmt_seconds(a.per_task_s)} per task, pass "
                f"chunksize={a.chunksize} to executor.map (or --chunksize "
                f"{a.chunksize}) so each dispatch carries real work.")
        t = a.trial
        if t is not None:
            text += (f" Measured in this run: {t.mode} with chunksize={t.chunksize} "
                     f"is {fmt_speedup(t.gain)} as fast as with chunksize={t.baseline} "
                     f"({fmt_seconds(t.chunked_s)} per map instead of "
                     f"{fmt_seconds(t.baseline_s)}; {fmt_speedup(t.speedup)} "
                     "against sequential).")
        return text
    if kind is AdviceKind.SPLIT_ITEMS:
        return (f"Split large items: {count(a.n_items, 'item')} allow at most "
                f"{fmt_speedup(a.items_cap)} on {count(a.workers, 'worker')}, not {a.workers}×. "
                "Smaller, more even items raise that cap.")
    if kind is AdviceKind.SORT_LONGEST_FIRST:
        return (f"Submit the longest items first: the pool hands items out in the given order, "
                f"which finishes {fmt_ratio_pct(a.sort_gain)} later than the same pool given the "
                "items sorted longest-first.")
    if kind is AdviceKind.USE_PROCESSES:
        return (f"Use processes for CPU-bound Python ({a.mode}): threads are held back by "
                "the GIL.")
    if kind is AdviceKind.USE_THREADS:
        what = ("for I/O" if a.work is WorkClass.IO
                else f"({a.work.value if a.work else 'this'} work)")
        return (f"Use threads {what}: the tasks wait (or release the GIL), threads overlap that "
                "without pickling, and more threads than CPUs keep helping until the CPU work "
                "or the server saturates.")
    if kind is AdviceKind.REUSE_POOL:
        return (f"Keep the pool up for {count(a.maps, 'map')} or more: each start-up costs "
                f"{fmt_seconds(a.startup_s)}, and a single map would get "
                f"{fmt_speedup(a.single_map_speedup)}.")
    return str(kind.value)


def _clause(c: Clause, h: Headline) -> str:
    if c.kind is ClauseKind.FAILED:
        return f"{c.mode}: {ENDED[c.status or Status.FAILED]}"
    if c.kind is ClauseKind.NOT_MEASURED or c.speedup is None:  # it ran: its map was timed
        against = f"without {h.reference}" if h.reference else "without a reference mode"
        return f"{c.mode}: timed, but no speedup {against}"
    where = f"on {count(c.workers, 'worker')}"
    ci = f", 95% CI {fmt_interval(c.ci)}" if c.ci else ""
    s = fmt_speedup(c.speedup)
    if c.kind is ClauseKind.GIL:
        text = f"{c.mode}: {s} {where}{ci}; the GIL lets only one thread compute at a time"
        if c.bound is not None:
            text += f", so the work allows them {fmt_speedup(c.bound)}"
    elif c.kind is ClauseKind.NATIVE and h.native is not None:
        text = (f"{c.mode}: {s} {where}{ci}; the task's native threads already keep "
                f"{_busy(h.native)}")
        if c.bound is not None:
            text += f", so the CPUs allow about {fmt_speedup(c.bound)}"
    elif c.kind is ClauseKind.CPUS:
        had = (f"the run had {_cpus(h.cpus)} for {count(c.workers, 'worker')}" if h.cpus
               else "the run had too few CPUs for its workers")
        text = f"{c.mode}: {s} {where}{ci}; {had}"
    elif c.kind is ClauseKind.FASTER:
        text = f"{c.mode}: {s} faster than {h.reference} {where}{ci}"
        if c.bound_note is BoundNote.ABOVE:
            text += (f" (above the {fmt_speedup(c.bound)} bound: its model does not fit "
                     "this work)")
        elif c.bound_note is not None and c.of_bound is not None:
            what = "the CPUs allow" if c.bound_note is BoundNote.CPUS else "the items allow"
            text += f" ({fmt_ratio_pct(c.of_bound)} of the {fmt_speedup(c.bound)} {what})"
    elif c.kind is ClauseKind.SLOWER:
        text = (f"{c.mode}: {fmt_slower(c.speedup)} than {h.reference} {where}{ci} "
                f"({c.cause.value if c.cause else 'overhead'})")
    else:
        text = f"{c.mode}: no clear gain {where} ({s}{ci})"
    return text


_NO_RESULT = {
    NoResult.NO_MODE: "no mode finished",
    NoResult.NO_REFERENCE: "{ref}, which every speedup is measured against, did not finish",
    NoResult.NO_POOL: "only {ref} finished, so there is nothing to compare it with",
}


def headline(h: Headline) -> str:
    """The verdict: the recommendation, then one clause per main mode."""
    parts = [_clause(c, h) for c in h.clauses]
    head = ""
    if h.head is HeadKind.NONE:
        why = h.no_result or NoResult.NO_MODE
        head = "No recommendation: " + (
            "no reference mode ran, so no speedup was measured" if h.reference is None
            and why is not NoResult.NO_MODE else _NO_RESULT[why].format(ref=h.reference)) + ". "
    elif h.head is HeadKind.STAY_NATIVE and h.native is not None:
        head = (f"Recommended: stay {h.mode}: it already keeps {_busy(h.native)} through native "
                f"threads, so no pool can beat about {fmt_speedup(h.native.bound)}. ")
    elif h.head is HeadKind.STAY:
        head = f"Recommended: stay {h.mode}. "
    elif h.head is HeadKind.UNSETTLED:
        head = f"No mode is clearly faster: stay {h.mode} until more rounds settle it. "
    elif h.head is HeadKind.USE:
        ci = f", 95% CI {fmt_interval(h.ci)}" if h.ci else ""
        head = f"Recommended: {h.mode} with {count(h.workers, 'worker')} ({fmt_speedup(h.speedup)}{ci}). "
    return head + ("; ".join(parts) + "." if parts else "Only one mode was measured.")


# -- prediction and memory ---------------------------------------------------


def flattening(f: Flattening) -> str:
    """Where the predicted speedup flattens, and what holds it there."""
    if f.cores_lost is None:
        lost = ""
    elif f.shared_by is not None:
        lost = (f", which its {count(f.shared_by, 'worker')} shared: switching between them left about "
                f"{fmt_decimal(f.cores_lost, 1)} CPU for the work")
    else:
        lost = f", of which other programs left it about {fmt_decimal(f.cores_lost, 1)} during the run"
    reasons = {
        Limit.ITEMS: (f"item granularity: {count(f.n_items, 'item')} of which the largest is "
                      f"{fmt_ratio_pct(f.largest_share)} of the work, "
                      "so extra workers find nothing left to take"),
        Limit.OVERHEAD: (f"per-task overhead: the parent hands out each chunk in about "
                         f"{fmt_decimal(1e6 * f.per_chunk_s, 0)} µs, one at a time, and that serial "
                         "dispatch outlasts the work"),
        Limit.CPUS: (f"the CPUs: the work computes {fmt_ratio_pct(f.cpu_share)} of "
                     f"the time and this machine lets the process use {f.cpus} CPUs{lost}"),
        Limit.GIL: "the GIL: threads compute one at a time, so only the waiting overlaps",
        Limit.SERIAL: (f"the Amdahl serial part: {fmt_decimal(1e3 * f.per_map_s, 1)} ms per map of "
                       "collecting results that no worker count shortens"),
        Limit.WORKERS: f"the worker count: it still scales at {count(f.max_workers, 'worker')}",
    }
    return (f"{f.mode}: the predicted speedup flattens at {f.workers} "
            f"{_plural(f.workers, 'worker')} ({fmt_speedup(f.speedup)}; "
            f"{fmt_speedup(f.best)} at most up to {f.max_workers}), held by {reasons[f.limit]}.")


_BASIS = {MemoryBasis.WORKER_PEAK: "peak RSS per worker process",
          MemoryBasis.PARENT_RISE_PER_THREAD: "of the parent's rise per thread",
          MemoryBasis.PARENT_RISE_PER_WORKER: "of the parent's rise per worker"}


def memory_limit(m: MemoryLimit) -> str:
    """Whether the RAM free at the start limits a mode's workers."""
    head = (f"{fmt_bytes_coarse(m.per_worker_bytes)} {_BASIS[m.basis]}: the "
            f"{fmt_bytes_coarse(m.available_bytes)} of RAM free at the start holds {m.fits} such "
            f"{_plural(m.fits, 'worker')}")
    if m.verdict is MemoryVerdict.LIMITS_WORKERS:
        return f"Memory, not CPU, limits this mode: {head}, fewer than the {m.workers} it ran."
    if m.verdict is MemoryVerdict.LIMITS_BEFORE_CPUS:
        return f"Memory limits this mode before the CPUs do: {head}, fewer than the {m.cpus} CPUs."
    return f"Memory is not the limit: {head}."


# -- warnings, notes and the item-size card ------------------------------------


def _settled(n: RunNote) -> str:
    what = "; ".join(n.open) if n.open else "the modes"
    text = (f"The recommendation is not settled: after {count(n.clean, 'clean round')}, {what} "
            f"{'is' if len(n.open) == 1 else 'are'} still within the noise.")
    if n.need_s is not None:
        seconds = f"{n.need_s} s"
        if n.repeat_rule:
            return text + (f" A settled answer needs about {count(n.rounds_needed, 'round')} ({seconds}): "
                           f"rerun with --repeat {n.rounds_needed}, or with --repeat auto "
                           f"--max-time {n.need_s}.")
        return text + (f" A settled answer needs about {seconds} of timing rounds: rerun with "
                       f"--max-time {n.need_s}.")
    return text + (" They are about as far apart as the margin that tells them apart (5% between "
                   "pools, a 10% gain), so either answer is about as good.")


def note(n: RunNote) -> str:
    """One warning or note on the measurement."""
    kind = n.kind
    if kind is NoteKind.SPOILED_ROUNDS:
        limit = fmt_general(n.limit_cores, 6) if n.limit_cores is not None else "?"
        were = "was" if n.spoiled == 1 else "were"
        return (f"{n.spoiled} of {count(n.rounds, 'timing round')} {were} set aside: other programs "
                f"kept up to {fmt_decimal(n.worst_cores or 0)} cores busy during them (the limit is "
                f"{limit} of a core); "
                + ("the estimates use the other rounds." if n.enough_clean else
                   "too few clean rounds were left, so the estimates use every round."))
    if kind is NoteKind.BUSY_MACHINE:
        return (f"The machine was busy: other programs kept {fmt_decimal(n.busy_cores or 0, 1)} of "
                f"{n.cpus_total} CPUs busy on average during the run, so timings, "
                "speedups and the CPU/wait split may be distorted. Re-run on a quiet machine "
                "for numbers you can trust.")
    if kind is NoteKind.UNSTEADY_HOST:
        low, high = n.cpu_low_s or 0.0, n.cpu_high_s or 0.0
        moved = fmt_pct(100 * (high / low - 1) if low else 0, 0)
        return (f"The same {n.mode} map took {fmt_seconds(low)} to {fmt_seconds(high)} of CPU "
                f"over {count(n.rounds, 'timing round')} (+{moved}): the cores ran at changing "
                "speeds (another tenant of a virtual machine's host, or CPU frequency), or the "
                "task's work changes from round to round. The load meter sees other programs' "
                "CPU only, not this: the walls, and the speedups from them, carry that noise.")
    if kind is NoteKind.ONE_ROUND:
        text = ("The recommendation is not settled: one timing round gives no interval. Rerun "
                "with --repeat 3 or more, or --repeat auto.")
    elif kind is NoteKind.BUSY_ROUNDS:
        text = (f"The recommendation is not settled: other programs kept the CPUs busy during "
                f"{n.spoiled} of the {count(n.rounds, 'timing round')}, too few clean ones "
                "were left. Rerun on a quieter machine.")
    elif kind is NoteKind.WITHIN_NOISE:
        text = _settled(n)
    elif kind is NoteKind.ABOVE_IDEAL:
        ci = n.ci or [0.0, 0.0]
        return (f"{n.mode}: {_times(n.speedup or 0)} [{fmt_decimal(ci[0])}–{fmt_decimal(ci[1])}] "
                f"reaches above the ideal {n.workers}× on {count(n.workers, 'worker')}, which no schedule "
                "can beat: the interval is that wide because of noise (load from other programs), "
                "not a real gain. More rounds on a quieter machine narrow it.")
    elif kind is NoteKind.PRECISION:
        return ("Not within the --precision asked: "
                + ", ".join(f"{m.mode} ±{fmt_pct(100 * m.precision)}" for m in n.missed)
                + f" (target ±{fmt_general(100 * (n.target or 0), 6)}%) after "
                f"{count(n.repeats, 'round')}; raise --max-time or --max-rounds, or run on a "
                "quieter machine.")
    else:
        return interrupted(n)
    return text + (" " + note(n.busy) if n.busy is not None else "")


def interrupted(n: RunNote) -> str:
    """The warning of an interrupted run: after its timing rounds, or during them."""
    if n.timed:
        return ("The run was interrupted after its timing rounds: the timings and the "
                "recommendation are complete, the profiles may not be (the report lists the "
                "items each covers).")
    done = count(n.rounds or 0, "timing round")
    cut = ", and cut the next one short" if n.cut else ""
    return (f"The run was interrupted after {done}{cut}: the modes it stopped are marked "
            "interrupted, keep the whole maps they timed, and are not recommended.")


def rounds(r: RoundsFacts, how: str | None = None) -> str:
    """How many interleaved rounds ran (and ``how`` they were planned): completed, cut short by
    an interrupt, set aside."""
    text = count(r.completed, "interleaved round")
    if r.cut:
        text += " completed and one cut short by the interrupt" + (
            ", left out of the figures" if r.cut_left_out else "")
    if how:
        text += f" ({how})"
    if r.spoiled:
        text += f", {r.spoiled} set aside because other programs were busy"
    return text


def rounds_basis(r: RoundsFacts) -> str:
    """Which rounds the wall times and speedups are over."""
    cut = (" The round the interrupt cut short is left out: wall times and speedups are over "
           f"the same {count(r.completed, 'completed round')}." if r.cut_left_out else "")
    if r.every_round and r.spoiled:
        return ("Wall times are medians over every round, the set-aside ones too, since fewer "
                "than two rounds were clean; IQR is their spread." + cut)
    return (f"Wall times are medians over the {'clean ' if r.spoiled else ''}rounds; IQR is "
            "their spread." + cut)


def granularity(g: GranularityFacts) -> str:
    """The item-size card's explanation."""
    optimum_name = ("the optimal schedule" if g.optimum_exact else
                    "a proven lower bound on the optimal schedule (the search did not finish)")
    if g.workers <= 1:
        text = "One worker: no parallel speedup is possible."
    elif g.even:
        text = (f"{count(g.n_items, 'item')} on {count(g.workers, 'worker')} can be spread evenly: "
                f"{optimum_name} "
                f"gives {_times(g.optimum)}, close to the ideal {g.workers}×.")
    else:
        text = (f"{g.n_items} items of uneven size ({fmt_seconds(g.smallest_s)} to "
                f"{fmt_seconds(g.largest_s)}, {fmt_seconds(g.total_s)} in all) cannot be "
                f"split evenly over {count(g.workers, 'worker')}: {optimum_name} ends after "
                f"{fmt_seconds(g.makespan_s)}, so the items allow at most "
                f"{_times(g.optimum)}, not {g.workers}×.")
    text += (" Upper bound total ÷ max(total/W, largest item, W-th and (W+1)-th largest items "
             f"together): {_times(g.upper)}. In the pool's "
             f"dispatch order (item order, chunksize {g.chunksize}) the items allow "
             f"{_times(g.dispatch)}.")
    if g.optimum_exact is False:
        text += (f" The optimum is searched exactly up to {g.exact_max_items} items; here the "
                 "search did not finish, so the proven lower bound on the makespan stands in: the "
                 "items may allow less.")
    if g.cpu_cap is not None and g.cores is not None:
        text += (f" The CPU seconds cap it lower: {_times(g.cpu_cap)} on the "
                 f"{fmt_general(g.cores)} core{'s' if g.cores != 1 else ''} the workers "
                 "can use.")
    return text


def bound_name(kind: BoundKind, native_cores: float | None, cpus: int | None) -> str:
    """Which bound holds a mode, in words."""
    if kind is BoundKind.GIL:
        return "the GIL bound"
    if kind is BoundKind.NATIVE:
        return (f"the native-thread bound (sequential already keeps "
                f"{fmt_decimal(native_cores or 0)} of {cpus} CPUs busy)")
    if kind is BoundKind.CPUS:
        return f"the CPU bound ({cpus} CPUs)"
    return "the optimum schedule" if kind is BoundKind.OPTIMUM else "the schedule bound"


# -- a profkit run's pool sites ---------------------------------------------

#: A pool site's advice, by :class:`profkit.analysis.verdict.AdviceKind`, filled in from its facts.
_SITE_ADVICE = {
    "keep-loop": "The pool does not pay here: its tasks' times summed ({task}) come to about "
                 "its wall ({wall}) or less, so a plain loop would do as well.",
    "batch": "Batch tiny tasks: at {per_task} per task, pass chunksize={chunksize} (about four "
             "chunks per worker) so each trip to a process carries real work.",
    "split-items": "Split large items: these tasks allow at most {items_cap} on {workers} "
                   "workers, not {workers}×. Smaller, more even items raise that cap.",
    "sort-longest-first": "Submit the longest items first: in the order given, the pool "
                          "finishes about {gain} later than with them sorted longest first.",
    "use-processes": "Use processes: the tasks compute in Python ({work}), and threads share "
                     "one GIL, so only one of them computes at a time.",
    "use-threads": "Use threads: the tasks mostly wait ({work}), and threads overlap waits "
                   "without pickling items and results.",
}


def site_advice(site: Mapping[str, JSON]) -> list[str]:
    """A ``profkit run`` pool site's advice (its facts as the program analysis stores them)."""
    def seconds(key: str) -> str:
        value = site.get(key)
        return fmt_seconds(float(value)) if isinstance(value, (int, float)) else MISSING

    cap, gain = site.get("items_cap"), site.get("sort_gain")
    values = {"task": seconds("task_sum_s"), "wall": seconds("wall_s"),
              "per_task": seconds("per_task_s"), "chunksize": site.get("advised_chunksize"),
              "items_cap": fmt_speedup(float(cap)) if isinstance(cap, (int, float)) else MISSING,
              "workers": site.get("workers"),
              "gain": fmt_ratio_pct(float(gain) if isinstance(gain, (int, float)) else 0.0),
              "work": site.get("work") or "unknown"}
    kinds = site.get("advice")
    return [_SITE_ADVICE[str(k)].format(**values) for k in kinds if str(k) in _SITE_ADVICE] \
        if isinstance(kinds, list) else []


def fewer_rounds(stopping: Mapping[str, JSON] | None) -> list[str]:
    """One sentence per mode the rounds stopped timing early: how many rounds, and why."""
    dropped = (stopping or {}).get("dropped")
    out = []
    for d in dropped if isinstance(dropped, list) else []:
        if not isinstance(d, dict):
            continue
        level, settled, clean = d.get("level"), d.get("settled"), d.get("clean_rounds")
        what = "; ".join(str(x) for x in settled) if isinstance(settled, list) else MISSING
        rounds = count(clean if isinstance(clean, int) else None, "clean round")
        out.append(f"{d.get('mode')} was timed in {rounds} only: after them "
                   f"{what} was settled, so more rounds of it could not change the "
                   f"recommendation; its interval is from those rounds, at "
                   f"{fmt_level(float(level)) if isinstance(level, (int, float)) else MISSING}.")
    return out


# -- comparing two runs --------------------------------------------------------

_DIFFERS = {"python": "Python", "platform": "platform", "cpus": "CPU count",
            "start_method": "start method"}


def compare_note(n: CompareNote) -> str:
    """One thing that makes two runs hard to compare."""
    kind, mode = n.kind, n.mode
    if kind is CompareNoteKind.NO_COMMON_MODE:
        return "the runs have no mode in common: nothing to compare"
    if kind is CompareNoteKind.WORKLOADS:
        return f"the runs are of different workloads ({n.a} vs {n.b}): compare with care"
    if kind is CompareNoteKind.DIFFERS:
        return f"{_DIFFERS.get(n.what or '', n.what)} differs: {n.a} in A, {n.b} in B"
    if kind is CompareNoteKind.WORKERS:
        return f"{mode}: {n.workers_a} worker(s) in A, {n.workers_b} in B"
    if kind is CompareNoteKind.NO_TIMINGS:
        return f"{mode}: no timings in run {n.side} (status {n.status}): not compared"
    if kind is CompareNoteKind.PARTIAL:
        bad = ", ".join(f"{s} in {side}" for side, s in n.statuses.items())
        return f"{mode}: the mode {bad}: its timings may be partial"
    if kind is CompareNoteKind.WAITED and n.uneven_only:
        spreads = [f"{fmt_pct(pct, 0)} in {side}" for side, pct in
                   (("A", n.wait_spread_a_pct), ("B", n.wait_spread_b_pct)) if pct is not None]
        return (f"{mode}: the repeats within a run waited unevenly (wall / CPU spread "
                f"{' and '.join(spreads)}, IQR over median; the runs' medians agree: "
                f"{fmt_decimal(n.wall_per_cpu_a or 0)} in A, {fmt_decimal(n.wall_per_cpu_b or 0)} "
                "in B): the machine's load came and went during the run, so the rule compared "
                "CPU time, which cannot see a change in waiting or parallelism. Compare runs on a "
                "quiet machine")
    if kind is CompareNoteKind.WAITED:
        return (f"{mode}: the runs waited differently (median wall / CPU "
                f"{fmt_decimal(n.wall_per_cpu_a or 0)} in A, "
                f"{fmt_decimal(n.wall_per_cpu_b or 0)} in B; wall time "
                f"{fmt_change(n.wall_change_pct, 'n/a')}): the machine's "
                "load changed, or B waits more (sleep, I/O, locks); the rule compared CPU time, "
                "which cannot see a change in waiting or parallelism. Compare runs on a quiet "
                "machine")
    if kind is CompareNoteKind.TOO_FEW and n.tasks:
        return (f"{mode}: {n.repeats_a} vs {n.repeats_b} tasks: the rule needs at least "
                f"{n.min_samples} on each side, so no change is called: time the task with "
                "repeats (profkit profile FILE.py:TASK --repeat 5, or profkit ab to race two versions)")
    if kind is CompareNoteKind.FEW_REPEATS and n.tasks:
        return (f"{mode}: {n.repeats_a} vs {n.repeats_b} tasks: the t interval has few degrees "
                "of freedom, so only a large change is called")
    if kind is CompareNoteKind.SITE_DIFFERS:
        return (f"{mode} is {n.a} in A and {n.b} in B (sites are numbered in the order the "
                "program first calls them): check that they are the same call")
    if kind is CompareNoteKind.TASKS_DIFFER:
        return (f"{mode}: {n.repeats_a} tasks in A, {n.repeats_b} in B: the runs mapped different "
                "items, so their task times compare different work")
    if kind is CompareNoteKind.TOO_FEW:
        return (f"{mode}: {n.repeats_a} vs {n.repeats_b} repeats: the rule needs at least "
                f"{n.min_samples} on each side, so no change is called: {_rerun(n)} --repeat 3 "
                "or more")
    if kind is CompareNoteKind.FEW_REPEATS:
        return (f"{mode}: {n.repeats_a} vs {n.repeats_b} repeats: the t interval has few degrees "
                f"of freedom, so only a large change is called; {_rerun(n)} --repeat 5 or more "
                "for a finer test")
    return _set_aside(n)


def _rerun(n: CompareNote) -> str:
    """How to get more repeats: another ab race, or profiles with more rounds."""
    return "rerun profkit ab with" if n.paired else "profile with"


def _set_aside(n: CompareNote) -> str:
    """Repeats the runs set aside (other programs were busy), and whether they were compared."""
    if not (n.set_aside_used_a or n.set_aside_used_b):
        return (f"{n.mode}: {n.set_aside_a} repeat(s) of A and {n.set_aside_b} of B were set aside "
                "because other programs were busy during them; they are not compared")
    sides = [("A's", "A", n.set_aside_a, n.set_aside_used_a, n.repeats_a),
             ("B's", "B", n.set_aside_b, n.set_aside_used_b, n.repeats_b)]
    if sides[0][2:] == sides[1][2:]:  # the same on both sides (ab's shared rounds): say it once
        sides = [("each side's", "each side", *sides[0][2:])]
    parts = []
    for whose, side, aside, used, repeats in sides:
        if used:
            parts.append(f"other programs were busy during {aside} of {whose} {repeats} repeats, too "
                         f"few clean ones were left, so all {repeats} are compared")
        elif aside:
            parts.append(f"{aside} repeat(s) of {side} were set aside because other programs were "
                         "busy during them; they are not compared")
    return (f"{n.mode}: " + "; ".join(parts) + ": the change may be the machine's, not the code's; "
            "compare runs made on a quiet machine")


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    """A comparison as JSON values, its notes in words."""
    return {**comparison.to_dict(), "warnings": [compare_note(n) for n in comparison.warnings]}


# -- the analysis with its words ------------------------------------------


def verdict(a: Analysis) -> str:
    """The verdict's headline, or why there is none."""
    return headline(a.verdict) if a.verdict is not None else "No verdict: no mode finished."


def sweep_source(rec: RecommendationSummary | None, where: str = "the sweep table") -> str:
    """Where a recommended worker count that only the sweep ran gets its figures ('' otherwise)."""
    p = rec.sweep_point if rec is not None else None
    if p is None:
        return ""
    return (f"{p.mode} with {count(p.workers, 'worker')} ran only in the worker sweep: its "
            f"figures are the sweep's ({where}), and it was timed, not profiled.")


def profile_of(mode: str, workers: int, rec: RecommendationSummary | None) -> str:
    """Which configuration a profile pointer opens, said when it is not the recommended one."""
    if rec is None or (rec.mode == mode and rec.workers == workers):
        return ""
    return f"  (the profile of {mode} with {count(workers, 'worker')})"


def mode_bound(b: ModeBounds) -> str:
    """Which bound holds a mode, in words ("" for a record that does not say)."""
    return bound_name(b.bound_kind, b.native_cores, b.cpus) if b.bound_kind is not None else ""


def memory_limits(memory: MemorySummary) -> list[str]:
    """One line per mode the free RAM limits: the mode and how many workers it holds."""
    return [f"{mode}: {memory_limit(limit)}" for mode in memory.limited
            for limit in [memory.modes[mode].limit if mode in memory.modes else None] if limit]


def analysis_json(a: Analysis) -> dict[str, JSON]:
    """The analysis as JSON values with its words: the verdict, advice, warnings, notes and the
    recommendation's reason as sentences; the cards, each prediction and each mode's bound
    keep their facts beside an ``explanation`` (``bound_name``), each memory mode its ``text``
    and the memory ``limits``."""
    out = a.to_json()
    out["verdict"] = headline(a.verdict) if a.verdict is not None else None
    out["advice"] = [advice(x) for x in a.advice]
    out["warnings"] = [note(n) for n in a.warnings]
    out["notes"] = [note(n) for n in a.notes]
    rounds_out = out.get("rounds")
    if a.rounds is not None and isinstance(rounds_out, dict):
        rounds_out["text"] = rounds(a.rounds)
    rec, grain, card = out.get("recommendation"), out.get("granularity"), out.get("classification")
    if a.recommendation and isinstance(rec, dict):
        rec["reason"] = reason(a.recommendation.reason)
        if a.recommendation.sweep_point is not None:
            rec["source"] = sweep_source(a.recommendation, "analysis.sweep.points")
    if a.granularity and a.granularity.facts and isinstance(grain, dict):
        grain["explanation"] = granularity(a.granularity.facts)
    if a.classification and a.classification.facts and isinstance(card, dict):
        card["explanation"] = classification(a.classification.facts)
    modes = out.get("modes")
    for mode, m in a.modes.items():
        entry = modes.get(mode) if isinstance(modes, dict) else None
        bounds = entry.get("bounds") if isinstance(entry, dict) else None
        if m.bounds is not None and isinstance(bounds, dict):
            bounds["bound_name"] = mode_bound(m.bounds)
    predicted = out.get("prediction")
    for mode, p in a.prediction.modes.items() if a.prediction else ():
        p_modes = predicted.get("modes") if isinstance(predicted, dict) else None
        entry = p_modes.get(mode) if isinstance(p_modes, dict) else None
        if isinstance(entry, dict):
            entry["explanation"] = flattening(p.flattening)
    memory = out.get("memory")
    if isinstance(memory, dict):
        m_modes = memory.get("modes")
        for mode, mem in a.memory.modes.items():
            entry = m_modes.get(mode) if isinstance(m_modes, dict) else None
            if isinstance(entry, dict):
                entry["text"] = memory_limit(mem.limit) if mem.limit else None
        memory["limits"] = list(memory_limits(a.memory))
    return out


def worded_json(data: object) -> dict[str, JSON]:
    """:func:`analysis_json` of an analysis as run.json stores it, read and checked first."""
    return analysis_json(Analysis.from_json(data))
