"""Run a workload in every mode under every collector; return the raw measurements.

The pools of a run stay up together, so their timings can interleave:

1. every executor starts and waits until each worker is ready (start-up);
   executors that fork start first, before any thread exists;
2. the probe round: per mode, in a random order, the tasks pass (per-item start,
   end, CPU, worker) with the memory sampler watching the parent and the workers;
   when its maps are the rounds' maps but for bookkeeping lost in the noise
   (:func:`probe_counts`), it counts as the first timed round;
3. interleaved rounds: each round times one bare map per mode, in a fresh
   random order, with no profiler and GC off (:mod:`profkit.engine.rounds`);
4. per mode, the cProfile pass, the line_profiler pass and, with
   ``--memory-lines``, the memory_profiler line pass, inside the workers;
5. with ``--sweep``, each sweep point in turn, paired with the reference.

A mode that fails keeps what it measured and leaves the rounds; the others go on.
"""

from __future__ import annotations

import pickle
import random
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from functools import partial

from profkit import interrupts
from profkit.analysis.bounds import granularity_bound
from profkit.collectors import merge, output
from profkit.collectors.memory import MemorySampler
from profkit.collectors.worker import (
    CPROFILE,
    LINES,
    MEMORY_LINES,
    TASKS,
    resolve_line_functions,
    run_batch,
)
from profkit.engine import chunks, guard, heap, native
from profkit.engine.coverage import (
    CPROFILE_AUTO_FLOOR_S,
    CPROFILE_SLOWDOWN,
    LINE_AUTO_FLOOR_S,
    LINE_SLOWDOWN,
    allowance,
    plan_pass,
)
from profkit.engine.environment import environment
from profkit.engine.load import LoadMeter, current_children
from profkit.engine.mode import Mode, ProbeMap
from profkit.engine.rounds import Contender, run_rounds
from profkit.errors import ModeFailed
from profkit.executors.base import Settings, processes_cpu
from profkit.executors.registry import available_cpus, traits_of
from profkit.executors.shipping import cannot_ship, shipped_size
from profkit.fmt import fmt_counted
from profkit.model import (
    Dispatch,
    MemorySample,
    ModeSpec,
    PassBudget,
    PassPlan,
    Payload,
    RoundInfo,
    Status,
    TaskColumns,
    Timing,
)
from profkit.options import Options
from profkit.rawrun import RawRun
from profkit.workloads.model import Workload

Progress = Callable[[str], None]


def _short_repr(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "unknown error"


def _dispatch_sizes(task: Callable[[object], object], items: list[object]) -> tuple[Dispatch, str | None]:
    """Pickled sizes of the task and items; why the modes that ship pickles cannot run, if so.

    The problem names a task that nothing can ship (not even cloudpickle) or the
    first item that cannot be pickled. The items are pickled in one call; only
    when that fails is each one tried.
    """
    task_bytes = shipped_size(task)
    problem = cannot_ship(task)
    t0 = time.perf_counter()
    try:
        return Dispatch(task_bytes, len(pickle.dumps(items)), time.perf_counter() - t0), problem
    except Exception:  # noqa: BLE001 - pickle raises many kinds; find the item below
        pass
    for index, item in enumerate(items):
        try:
            pickle.dumps(item)
        except Exception as exc:  # noqa: BLE001 - pickle raises many kinds
            problem = problem or (f"item {index} ({_short_repr(item)}) cannot be pickled for the "
                                  f"workers: {type(item).__name__} object ({exc})")
            break
    return Dispatch(task_bytes, 0, time.perf_counter() - t0), problem


#: Above this many items, reprs and pickled sizes cover a sample: every k-th item, so that
#: about this many are covered, plus each batch's slowest and fastest few.
SAMPLE_ITEMS = 1000
#: The tasks pass hands each worker about this many batches (fewer when items are few).
PROBE_BATCHES_PER_WORKER = 32
#: Above this many items, cProfile covers every k-th item, about this many in all.
CPROFILE_ITEMS = 20_000


def sample_every(n_items: int, wanted: int = SAMPLE_ITEMS) -> int:
    """The stride of a sample of about ``wanted`` of ``n_items`` items (1: all of them)."""
    return max(1, -(-n_items // wanted))


def probe_batch_size(n_items: int, workers: int, chunksize: int | None) -> int:
    """Items per batch of the tasks pass: the map's chunksize, or more when items are many,
    so the records come back in a few batches per worker, never one round trip per task."""
    return max(chunksize or 1, -(-n_items // (PROBE_BATCHES_PER_WORKER * max(workers, 1))))


def _batches(items: list[object], indices: list[int], size: int) -> Iterator[list[tuple[int, object]]]:
    for k in range(0, len(indices), size):
        yield [(i, items[i]) for i in indices[k:k + size]]


def profile_batch_size(n_items: int, workers: int) -> int:
    """Few enough batches to keep stats traffic small, enough to keep workers busy."""
    return max(1, -(-n_items // (4 * max(workers, 1))))


def run_pass(mode: Mode, workload: Workload, items: list[object], indices: list[int],
             collector: str, options: Options, batch_size: int,
             names: tuple[str, ...] | None = None,
             one_at_a_time: bool = False, every: int = 1) -> tuple[list[Payload], float, float]:
    """Submit the batches to the mode's workers; return payloads, the pass's start and wall time.

    ``one_at_a_time`` waits for each batch before the next (workers that share
    one process's memory would otherwise mix their RSS readings). ``every``
    is the tasks pass's result sample stride.
    """
    executor = mode.executor
    line_names = options.line_names if names is None else names
    t0 = time.perf_counter()
    payloads: list[Payload] = []
    handles = []
    for batch in _batches(items, indices, batch_size):
        handle = executor.submit(partial(run_batch, sample_every=every), workload.task, batch,
                                 collector, line_names, executor.traits.ships_pickles)
        if one_at_a_time:
            payloads.append(handle.result(timeout=mode.deadline.remaining()))
        else:
            handles.append(handle)
    payloads += [h.result(timeout=mode.deadline.remaining()) for h in handles]
    return payloads, t0, time.perf_counter() - t0


#: What the line pass costs per item beyond the item (its record, the traced wrapper): 16 µs,
#: timed over 20,000 tiny items on CPython 3.11.
LINE_ITEM_S = 16e-6
#: Seconds memory_profiler adds per traced line of a named function: it reads the RSS each
#: time (about 24 µs on CPython 3.11; rounded up).
MEMORY_LINE_COST_S = 3e-5
#: Without line counts from the line pass: how much slower an item may run under memory_profiler.
MEMORY_LINE_SLOWDOWN = 1000.0


def memory_line_subset(durations: dict[int, float], n_items: int, workers: int, budget_s: float,
                       lines_per_s: float | None, parallel: bool = True) -> tuple[list[int], float]:
    """The cheapest items whose memory_profiler run should fit the budget, and the estimate.

    An item's cost is its plain time plus ``MEMORY_LINE_COST_S`` per traced
    line; ``lines_per_s`` (lines of the named functions per second of plain
    time, from the line pass) gives the count. Unlike the line pass, no item
    is taken when even the cheapest does not fit: the list is then empty and
    the estimate is that item's cost.
    """
    def cost(index: int) -> float:
        plain = durations.get(index, 0.0)
        if lines_per_s is None:
            return plain * MEMORY_LINE_SLOWDOWN
        return plain * (1.0 + lines_per_s * MEMORY_LINE_COST_S)

    allowance = budget_s * (min(workers, n_items) if parallel else 1)
    order = sorted(range(n_items), key=lambda i: (cost(i), i))
    if not order:
        return [], 0.0
    chosen: list[int] = []
    spent = 0.0
    for index in order:
        if spent + cost(index) > allowance:
            break
        chosen.append(index)
        spent += cost(index)
    if not chosen:
        return [], cost(order[0])
    workers_used = min(workers, len(chosen)) if parallel else 1
    return sorted(chosen), spent / workers_used


def memory_sampler(mode: Mode, workload: Workload, options: Options) -> MemorySampler:
    """The sampler of a mode's probe: the parent and the mode's workers."""
    return MemorySampler(interval=options.memory_interval_s, extra_pids=mode.executor.worker_pids(),
                         title=f"profkit {workload.name} {mode.name}")


def _probe(mode: Mode, workload: Workload, items: list[object], options: Options,
           sampler: MemorySampler | None = None, order: int = 0) -> None:
    """The tasks pass: per-item timeline with memory sampling; raise on the first failed item.

    ``sampler``: one already started (and booted), or None. ``order``: the mode's place in
    the probe round.
    """
    result = mode.result
    sampler = sampler or memory_sampler(mode, workload, options)
    size = probe_batch_size(len(items), mode.spec.workers, options.chunksize)
    pids = mode.executor.worker_pids()
    with sampler:
        cpu0, workers0 = time.process_time(), processes_cpu(pids)
        payloads, t0, wall = run_pass(mode, workload, items, list(range(len(items))), TASKS,
                                      options, size, every=sample_every(len(items)))
        cpu = time.process_time() - cpu0 + processes_cpu(pids) - workers0
    result.memory = [MemorySample(**s) for s in sampler.samples]
    result.memory_dat = sampler.dat
    result.memory_error = sampler.error
    result.tasks_wall_s = wall
    result.phases["warmup"] = wall
    tasks = TaskColumns()
    for payload in payloads:
        if payload.tasks is not None:
            tasks.extend(payload.tasks, shift=t0)
        for event in payload.gc:
            event.start -= t0
            result.gc.append(event)
    result.tasks = tasks
    traits = mode.executor.traits
    in_one_thread = not traits.parallel and not traits.ships_pickles
    mode.probe = ProbeMap(wall, cpu, float(sum(tasks.cpu)) if in_one_thread else float("nan"),
                          size, order)
    failures = tasks.failures()
    if failures:
        index, first = failures[0]
        result.failed_item = index
        raise ModeFailed(f"{mode.spec}: the task failed on item {index} "
                         f"({_short_repr(items[index])}): {_last_line(first.error)}")


#: What the cProfile pass costs per item beyond the item: 6 µs, timed as for LINE_ITEM_S.
CPROFILE_ITEM_S = 6e-6


def cprofile_items(n_items: int) -> list[int]:
    """The items the cProfile pass may cover: all of them, or every k-th of a huge count."""
    return list(range(0, n_items, sample_every(n_items, CPROFILE_ITEMS)))


def covered_seconds(durations: dict[int, float], items: Sequence[int], cut: dict[int, float],
                    slowdown: float) -> float:
    """The plain task seconds a pass covered: an item cut short counts for its profiled
    seconds over the pass's ``slowdown``."""
    return sum(min(durations.get(i, 0.0), cut[i] / slowdown) if i in cut
               else durations.get(i, 0.0) for i in items)


def _run_budgeted(mode: Mode, workload: Workload, items: list[object], batches: list[list[int]],
                  collector: str, names: tuple[str, ...],
                  budget_s: float | None) -> tuple[list[Payload], float]:
    """One batch per profiling worker, each cut at ``budget_s`` (None: never); payloads and wall time."""
    traits = mode.executor.traits
    t0 = time.perf_counter()
    handles = [mode.executor.submit(run_batch, workload.task, [(i, items[i]) for i in batch],
                                    collector, names, traits.ships_pickles, budget_s)
               for batch in batches]
    payloads = [h.result(timeout=mode.deadline.remaining()) for h in handles]
    return payloads, time.perf_counter() - t0


def _plan(mode: Mode, items: list[object], indices: list[int], durations: dict[int, float],
          budget: PassBudget, floor_s: float, slowdown: float, per_item_s: float,
          one_item: bool = True, floor_for_whole: bool = False) -> PassPlan:
    """The whole items a pass covers in ``mode``: every one when cheap, else a spread sample.
    ``floor_for_whole``: the auto floor is spent only on a complete pass (cProfile's), not on a
    bigger sample (line_profiler's floor is its sample's least size)."""
    traits = mode.executor.traits
    lanes = mode.spec.workers if traits.parallel and not traits.shares_gil else 1
    serial_s = sum(durations.values())
    traced_s = sum(durations.get(i, 0.0) * slowdown + per_item_s for i in indices)
    whole_s = traced_s / max(1, min(lanes, len(indices))) if floor_for_whole else None
    allowed = allowance(budget, serial_s, floor_s, whole_s=whole_s,
                        item_s=traced_s / max(1, len(indices)))
    return plan_pass(indices, durations, lanes, allowed, slowdown, serial_s, one_item=one_item,
                     per_item_s=per_item_s)


def _cprofile(mode: Mode, workload: Workload, items: list[object], options: Options,
              durations: dict[int, float]) -> None:
    """cProfile inside the workers: every item when cheap, else whole items from across the map."""
    chosen = cprofile_items(len(items))
    plan = _plan(mode, items, chosen, durations, options.profile_budget_s, CPROFILE_AUTO_FLOOR_S,
                 CPROFILE_SLOWDOWN, CPROFILE_ITEM_S, floor_for_whole=True)
    result = mode.result
    result.profile_plan = plan
    if plan.cap_s is None and plan.complete:
        size = profile_batch_size(len(chosen), mode.spec.workers)
        # from CPython 3.12 cProfile is one profiler per interpreter (sys.monitoring): workers
        # that share one (threads) take turns, as they take turns on the GIL anyway
        payloads, _, wall = run_pass(mode, workload, items, chosen, CPROFILE, options, size,
                                     one_at_a_time=mode.executor.traits.shares_gil)
    else:
        payloads, wall = _run_budgeted(mode, workload, items, plan.batches, CPROFILE, (), plan.cap_s)
    result.phases["cprofile"] = wall
    result.profile_items = array("q", sorted(r.index for p in payloads for r in p.records))
    result.profile_cut = {i: s for p in payloads for i, s in p.cut.items()}
    total = sum(durations.values())
    if total > 0:
        covered = covered_seconds(durations, result.profile_items, result.profile_cut, CPROFILE_SLOWDOWN)
        result.profile_share = min(1.0, covered / total)
    result.profile = merge.merge_profiles([p.profile for p in payloads if p.profile])


def _lines(mode: Mode, workload: Workload, items: list[object], options: Options,
           durations: dict[int, float], first: PassPlan | None = None) -> None:
    """line_profiler inside the workers, on whole items: every one when cheap, else a spread sample.

    When not even one item fits the budget, only the first mode's pass traces one whole
    item, and the modes after it (``first`` is its plan) trace none: the lines of a task
    are the same in every mode.
    """
    if first is not None and (first.single or first.deferred):
        plan = replace(first, batches=[], cap_s=None, complete=False, single=False, deferred=True)
    else:
        plan = _plan(mode, items, list(range(len(items))), durations, options.line_budget_s,
                     LINE_AUTO_FLOOR_S, LINE_SLOWDOWN, LINE_ITEM_S, one_item=first is None)
    result = mode.result
    result.line_plan = plan
    if not plan.batches:
        return
    names = tuple(dict.fromkeys([*options.line_names, *options.memory_line_names]))
    payloads, result.phases["lines"] = _run_budgeted(mode, workload, items, plan.batches, LINES,
                                                     names, plan.cap_s)
    result.line_items = array("q", sorted(r.index for p in payloads for r in p.records))
    result.line_cut = {i: s for p in payloads for i, s in p.cut.items()}
    result.lines = merge.merge_lines([p.lines for p in payloads])
    total = sum(durations.values())
    if total > 0:
        covered = covered_seconds(durations, result.line_items, result.line_cut, LINE_SLOWDOWN)
        result.line_share = min(1.0, covered / total)


def _lines_per_second(mode: Mode, workload: Workload, options: Options,
                      durations: dict[int, float]) -> float | None:
    """Lines of the memory-lines functions run per second of plain time, from the line pass."""
    stats = mode.result.lines
    cut = mode.result.line_cut
    # an item cut short ran about its traced time over the slowdown in plain time
    covered = covered_seconds(durations, mode.result.line_items, cut, LINE_SLOWDOWN)
    if stats is None or covered <= 0:
        return None
    try:
        functions = resolve_line_functions(workload.task, options.memory_line_names,
                                           with_task=False)
    except Exception:  # noqa: BLE001 - the workers report a bad name when they resolve it
        return None
    wanted = {(f.__code__.co_filename, f.__code__.co_firstlineno, f.__code__.co_name)
              for f in functions if hasattr(f, "__code__")}
    found = [entries for key, entries in stats.timings.items() if tuple(key) in wanted]
    if len(found) < len(wanted):
        return None
    return float(sum(hits for entries in found for _, hits, _ in entries)) / covered


def _memory_lines(mode: Mode, workload: Workload, items: list[object], options: Options,
                  durations: dict[int, float], traced: Sequence[Mode] = ()) -> None:
    """memory_profiler's line profiler on the named functions, on the items that fit the budget.

    The lines run per second are the task's, not the mode's: a mode whose line pass traced
    nothing takes them from one (``traced``) that did.
    """
    traits = mode.executor.traits
    result = mode.result
    apart = traits.parallel and not traits.shares_memory
    rate = next((r for m in (mode, *traced)
                 if (r := _lines_per_second(m, workload, options, durations)) is not None), None)
    chosen, estimate = memory_line_subset(durations, len(items), mode.spec.workers,
                                          options.memory_line_budget_s, rate, parallel=apart)
    result.memory_lines_estimate_s = estimate
    if not chosen:
        task_named = any(f is workload.task for f in resolve_line_functions(
            workload.task, options.memory_line_names, with_task=False))
        hint = ("name a function the task calls that allocates, not the task itself, or raise "
                "--memory-line-budget" if task_named else "raise --memory-line-budget")
        result.memory_lines_note = (
            f"not run: even the cheapest item would take about {estimate:.3g} s under "
            f"memory_profiler, over the {options.memory_line_budget_s:g} s budget; {hint}")
        return
    result.memory_line_items = chosen
    payloads, _, wall = run_pass(mode, workload, items, chosen, MEMORY_LINES, options, 1,
                                 names=options.memory_line_names, one_at_a_time=not apart)
    result.phases["memory_lines"] = wall
    result.memory_lines = merge.merge_memory_lines([p.memory_lines for p in payloads])
    failed = [r for p in payloads for r in p.records if not r.ok]
    if failed:
        result.memory_lines_note = (f"item {failed[0].index} raised under memory_profiler: "
                                    f"{_last_line(failed[0].error)}")


#: Above this many items the decision takes the workers (or CPUs) as a mode's bound: the
#: schedule of so many items is that even.
BOUND_ITEMS = 1000


def decision_bounds(modes: Sequence[Mode]) -> dict[str, float]:
    """What the items allow each pool (capped at the CPUs unless it shares the GIL), from the
    reference's probe: the bound the decision checks the recommended mode against."""
    reference = next((m for m in modes if m.reference and m.live), None)
    durations = list(reference.result.tasks.own_durations().values()) if reference else []
    out: dict[str, float] = {}
    for mode in modes:
        if mode.reference or not mode.live or not durations or mode.executor.traits.shares_gil:
            continue
        workers = mode.spec.workers
        items = (granularity_bound(durations, workers) if len(durations) <= BOUND_ITEMS
                 else float(min(workers, len(durations))))
        out[mode.name] = min(items, float(available_cpus()))
    return out


#: The probe round counts as a timed round only when its maps are the rounds' maps but for
#: bookkeeping lost in the noise: items of at least this many seconds (the tasks pass adds about
#: 3 µs per item, 0.06% of such an item; the memory sampler takes about 1.5% of one core) ...
PROBE_ROUND_ITEM_S = 5e-3
#: ... results of at most this many pickled bytes per item (the tasks pass pickles them once
#: per batch; a map in this process does not: about 10 µs at most) ...
PROBE_ROUND_RESULT_BYTES = 10_000
#: ... and, when the rounds run with GC off, collections of at most this share of the tasks' time.
PROBE_ROUND_GC_SHARE = 0.01


def most_at_once(tasks: TaskColumns) -> int:
    """The most tasks that ran at the same moment."""
    edges = sorted([(e, -1) for e in tasks.end] + [(s, 1) for s in tasks.start])  # ends first
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


def probe_counts(mode: Mode, n_items: int, options: Options) -> bool:
    """Whether the mode's tasks pass timed the same work as one of its bare maps.

    The pass runs every item once, in the same pool, handed out as the map hands
    them out (a pool's schedule depends on it) to no more workers at once, warm
    where the map is warm (the workers loaded the task when the pool started).
    What differs is bookkeeping: per-item clock reads, the results pickled once
    per batch, the memory sampler, and GC left on. The pass counts when each is
    a small share of the items' time.
    """
    probe, result = mode.probe, mode.result
    tasks = result.tasks
    if probe is None or not mode.live or result.sweep or len(tasks) != n_items or not n_items:
        return False
    executor = mode.executor
    unit = executor.dispatch_chunksize(executor.settings.chunksize, n_items, mode.spec.workers)
    if executor.traits.parallel and probe.batch_size != unit:
        return False
    if most_at_once(tasks) > mode.spec.workers:  # an executor whose submit is not its map's pool
        return False
    spans = sorted(tasks.durations().values())
    if spans[len(spans) // 2] < PROBE_ROUND_ITEM_S:
        return False
    if tasks.results_bytes > PROBE_ROUND_RESULT_BYTES * n_items:
        return False
    collected_s = sum(event.duration for event in result.gc)
    return options.gc_timed or collected_s <= PROBE_ROUND_GC_SHARE * sum(spans)


def probe_round(order: Sequence[Mode], n_items: int, options: Options, wall_s: float,
                others: float) -> list[RoundInfo]:
    """The probe round as the first timed round, when every mode's probe counts; else none.

    ``order`` is the order the probes ran in (a random one, under the load meter). Each
    mode's map then holds its pass's wall and CPU, paired with the others' as in any round."""
    live = [m for m in order if m.live]
    if not live or not any(m.reference for m in live) or not all(
            probe_counts(m, n_items, options) for m in live):
        return []
    spoiled = others > options.spoiled_cores
    for mode in live:
        probe = mode.probe
        assert probe is not None
        mode.result.timings.append(Timing(
            phase="map", round=0, wall_s=probe.wall_s, cpu_s=probe.cpu_s, order=probe.order,
            others_cpu=others, spoiled=spoiled, thread_cpu_s=probe.thread_cpu_s))
    return [RoundInfo(round=0, order=[m.name for m in live], wall_s=wall_s, others_cpu=others,
                      spoiled=spoiled)]


def _start_order(modes: list[Mode]) -> list[Mode]:
    """Executors that fork start first: a fork after threads exist can deadlock the child."""
    return sorted(modes, key=lambda m: not m.executor.starts_by_fork)


def _start(mode: Mode, workload: Workload, progress: Progress) -> None:
    def start() -> None:
        sweep = "sweep point " if mode.result.sweep else ""
        progress(f"{sweep}{mode.spec}: starting {fmt_counted(mode.spec.workers, 'worker')}")
        mode.result.startup_s = mode.executor.start(workload.task)
        if mode.executor.workers != mode.spec.workers:  # an external cluster brings its own size
            mode.spec = mode.result.spec = replace(mode.spec, workers=mode.executor.workers)
        mode.result.pool = mode.executor.describe()
        mode.result.timings.append(Timing(phase="startup", round=0, wall_s=mode.result.startup_s,
                                          cpu_s=float("nan")))

    mode.live = True
    mode.attempt(start)


def settings_for(options: Options, file_modules: dict[str, str] | None) -> Settings:
    """What the executors need of the run's options."""
    return Settings(start_method=options.start_method, chunksize=options.chunksize,
                    scheduler=options.scheduler, file_modules=dict(file_modules or {}),
                    gc_timed=options.gc_timed)


def sweep_specs(cpus: int) -> list[ModeSpec]:
    """processes and threads at 1..cpus workers, plus 2x cpus for oversubscription."""
    counts = sorted(set(range(1, cpus + 1)) | {2 * cpus})
    return [ModeSpec(kind, n) for kind in ("processes", "threads") for n in counts]


def _sweep(reference: Mode | None, workload: Workload, items: list[object], options: Options,
           settings: Settings, progress: Progress, raw: RawRun, rng: random.Random,
           foreign: set[int]) -> None:
    """Each sweep point in turn, its rounds paired with the reference mode's."""
    for spec in sweep_specs(available_cpus()):
        point = Mode(spec, settings, options, sweep=True)
        raw.modes.append(point.result)
        try:
            _start(point, workload, progress)
            point.attempt(lambda p=point: p.result.phases.update(  # type: ignore[misc]
                warmup=p.time_map(items, workload.task)[0]))
            contenders: list[Contender] = [point]
            if reference is not None and reference.live:
                contenders.insert(0, reference)
            run_rounds(contenders, items, workload.task, options, progress, rng,
                       first_round=len(raw.rounds), sweep=True, record=raw.rounds,
                       label=f"sweep {spec}", foreign_pids=foreign, stops=raw.stops)
        finally:
            point.close()


def run_workload(workload: Workload, options: Options, progress: Progress | None = None,
                 file_modules: dict[str, str] | None = None) -> RawRun:
    """Run every mode (and the sweep, if asked) and return the raw measurements.

    On Ctrl-C the run stops, marks itself interrupted and returns what is done.
    """
    say: Progress = progress or (lambda message: None)
    settings = settings_for(options, file_modules)
    rng = random.Random(options.seed)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    raw = RawRun(workload=workload, items=[], options=options, modes=[],
                 environment=environment(options.start_method), started_at=started)
    interrupts.taken()  # a stop an earlier run (in this process) saved for is not this run's
    foreign = current_children()  # a notebook's or a test's own children are not profkit's
    meter = LoadMeter(foreign_pids=foreign)
    meter.start()
    modes: list[Mode] = []
    try:
        with guard.protected(), output.routed(), workload.session():
            raw.items = workload.resolve_items()  # bad items: WorkloadError, before any mode
            modes = [Mode(spec, settings, options) for spec in options.modes]
            raw.modes = [m.result for m in modes]
            _run_modes(modes, workload, raw.items, options, settings, say, raw, rng, foreign,
                       meter)
            interrupts.check()  # a stop whose exception was dropped in the last step
    except KeyboardInterrupt:
        interrupts.taken()
        raw.interrupted = True
        _mark_interrupted(modes, timed=bool(raw.stops))
    finally:
        for mode in modes:
            killed = mode.result.status is not Status.OK
            if not mode.closed:
                say(f"{mode.spec}: closing the pool")
            mode.close(kill=killed)
    raw.environment["others_cpu_during_run"] = meter.stop()
    raw.environment["abandoned_threads"] = any(m.executor.abandoned for m in modes)
    raw.finished_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return raw


def _mark_interrupted(modes: Sequence[Mode], *, timed: bool) -> None:
    """How each mode ended when the run was interrupted. ``timed``: the timing rounds had ended.

    A mode whose timing rounds had ended keeps ``ok``: its speedup is complete (a profile the
    interrupt cut shows in what the profiles cover). A mode that had not started is
    ``skipped``; any other is ``interrupted``, and keeps the whole maps it timed.
    """
    for mode in modes:
        result = mode.result
        mapped = any(t.phase == "map" for t in result.timings)
        if timed and mapped and result.status in (Status.OK, Status.INTERRUPTED):
            result.status, result.error = Status.OK, None
        elif result.status is Status.OK and not mapped and not len(result.tasks):
            result.status = Status.SKIPPED
            result.error = f"{mode.spec}: interrupted before it ran"
        elif result.status is Status.OK and (mode.live or not timed):
            result.status, result.error = Status.INTERRUPTED, f"{mode.spec}: interrupted"


def pool_workers(modes: Sequence[Mode]) -> set[int]:
    """The started pools' workers on this host: an external cluster's are not this process's
    children, yet their CPU is the mode's own work, not other programs' load."""
    return {pid for m in modes if m.live for pid in m.executor.worker_pids()}


def _run_modes(modes: list[Mode], workload: Workload, items: list[object], options: Options,
               settings: Settings, say: Progress, raw: RawRun, rng: random.Random,
               foreign: set[int], run_meter: LoadMeter) -> None:
    dispatch, unpicklable = _dispatch_sizes(workload.task, items)
    for mode in modes:
        mode.result.dispatch = dispatch
    for mode in _start_order(modes):
        if unpicklable and mode.executor.traits.ships_pickles:
            mode.result.fail(Status.FAILED, f"{mode.spec}: {unpicklable}")
            continue
        _start(mode, workload, say)
    pool_pids = pool_workers(modes)
    run_meter.adopt(pool_pids)

    # every probe's sampler boots at once, and has booted before the first probe: a boot's
    # imports would take CPU from the probe that a timed round may count
    samplers = {id(m): memory_sampler(m, workload, options).start() for m in modes if m.live}
    order = [m for m in modes if m.live]
    rng.shuffle(order)
    meter = LoadMeter(extra_pids=sorted(pool_pids), foreign_pids=foreign)
    try:
        for sampler in samplers.values():
            sampler.wait_booted()
        t0 = time.perf_counter()
        meter.start()
        for position, mode in enumerate(order):
            if mode.live:
                say(f"{mode.spec}: warm-up, probing each task, sampling memory")
                mode.attempt(lambda m=mode, k=position: _probe(  # type: ignore[misc]
                    m, workload, items, options, samplers[id(m)], k))
        others = meter.stop()
        probe_wall = time.perf_counter() - t0
    finally:
        for sampler in samplers.values():
            sampler.close()

    heap.release()  # the probes' payloads are merged: the maps start from what is live
    if options.chunksize_auto:
        chunks.apply_auto(modes, len(items), say)
    prior = probe_round(order, len(items), options, probe_wall, others)
    raw.rounds = list(prior)
    trials = chunks.advised_trials(modes, len(items), say)
    live: list[Contender] = [*[m for m in modes if m.live], *trials]
    run_rounds(live, items, workload.task, options, say, rng, foreign_pids=foreign,
               own_pids=pool_pids, bounds=decision_bounds(modes), stops=raw.stops, prior=prior,
               record=raw.rounds)
    heap.release()
    chunks.record_trials(trials, next((m for m in modes if m.reference and m.live), None))
    native.try_one_thread(modes, items, workload.task, say)
    counted = {r.round for r in prior}
    for mode in modes:  # the probe round's maps are the warm-up's time, not counted twice
        mode.result.phases["timing"] = sum(t.wall_s for t in mode.result.timings
                                           if t.phase == "map" and t.round not in counted)

    heap.release()  # the maps' futures are gone: the passes start from what is live
    reference = next((m for m in modes if m.reference and m.live), None)
    native.record_pools(reference)
    # what each item takes on a quiet machine: a busy one must not shrink the profiles
    durations = reference.result.tasks.own_durations() if reference is not None else {}
    for mode in modes:
        if "cprofile" in options.collectors and mode.live:
            own = durations or mode.result.tasks.own_durations()
            say(f"{mode.spec}: cProfile inside the workers, on whole items")
            mode.attempt(lambda m=mode, d=own: _cprofile(m, workload, items, options, d))  # type: ignore[misc]
        if "lines" in options.collectors and mode.live:
            own = durations or mode.result.tasks.own_durations()
            say(f"{mode.spec}: line_profiler on whole items")
            first = next((m.result.line_plan for m in modes if m.result.line_plan is not None), None)
            mode.attempt(lambda m=mode, d=own, f=first: _lines(m, workload, items, options, d, f))  # type: ignore[misc]
        if options.memory_line_names and mode.live:
            own = durations or mode.result.tasks.own_durations()
            say(f"{mode.spec}: memory_profiler on {', '.join(options.memory_line_names)}, on the "
                f"items that fit {options.memory_line_budget_s:g} s")
            mode.attempt(lambda m=mode, d=own: _memory_lines(  # type: ignore[misc]
                m, workload, items, options, d, [t for t in modes if t.result.lines is not None]))
    if options.sweep:
        _sweep(reference, workload, items, options, settings, say, raw, rng, foreign)
    for mode in modes:
        if mode is not reference:
            mode.close()
    del durations
    heap.release()  # the passes' payloads are merged: frames and report start from what is live


__all__ = ["Mode", "Progress", "run_workload", "traits_of"]
