"""Two versions of a task raced in one run: ``profkit ab``.

Each mode starts one pool, and A and B share it: the probe, the interleaved
rounds (A and B in a fresh random order each round, beside every other mode)
and the profiling passes all run on the same started workers. Drift on a
shared machine then falls on both versions alike, which no comparison of two
separate runs can promise. The result is two raw runs whose rounds line up.
"""

from __future__ import annotations

import pickle
import random
from datetime import datetime, timezone

from profkit import interrupts
from profkit.analysis.decision import Stop
from profkit.collectors import output
from profkit.engine import guard
from profkit.engine.environment import environment
from profkit.engine.load import LoadMeter, current_children
from profkit.engine.mode import Mode
from profkit.engine.rounds import Contender, run_rounds
from profkit.engine.runner import (
    Progress,
    _cprofile,
    _dispatch_sizes,
    _lines,
    _probe,
    _start,
    _start_order,
    pool_workers,
    settings_for,
)
from profkit.errors import WorkloadError
from profkit.model import Status, Timing
from profkit.options import Options
from profkit.rawrun import RawRun
from profkit.workloads.model import Workload


def same_items(items_a: list[object], items_b: list[object]) -> bool:
    """True if both targets map over the same items (equal, or equal when pickled)."""
    if len(items_a) != len(items_b):
        return False
    try:
        return bool(items_a == items_b)
    except Exception:  # noqa: BLE001 - items whose == raises: compare their pickles
        try:
            return pickle.dumps(items_a) == pickle.dumps(items_b)
        except Exception:  # noqa: BLE001
            return False


def run_ab(workload_a: Workload, workload_b: Workload, options: Options,
           progress: Progress | None = None,
           file_modules: dict[str, str] | None = None) -> tuple[RawRun, RawRun]:
    """Run A and B in every mode on shared pools; return their raw runs (same rounds)."""
    say: Progress = progress or (lambda message: None)
    settings = settings_for(options, file_modules)
    rng = random.Random(options.seed)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    env = environment(options.start_method)
    raws = [RawRun(workload=w, items=[], options=options, modes=[], environment=dict(env),
                   started_at=started) for w in (workload_a, workload_b)]
    interrupts.taken()  # a stop an earlier run (in this process) saved for is not this run's
    foreign = current_children()
    meter = LoadMeter(foreign_pids=foreign)
    meter.start()
    pairs: list[tuple[Mode, Mode]] = []
    try:
        with guard.protected(), output.routed(), workload_a.session(), workload_b.session():
            items = workload_a.resolve_items()
            items_b = workload_b.resolve_items()
            if not same_items(items, items_b):
                differ = (f"{len(items)} and {len(items_b)} items" if len(items) != len(items_b)
                          else f"{len(items)} items each, not the same ones")
                raise WorkloadError(
                    f"the two targets map over different items ({workload_a.name!r} and "
                    f"{workload_b.name!r}: {differ}): race versions of one task over the "
                    "same items, or use profkit compare for two separate runs")
            for raw in raws:
                raw.items = items
            for spec in options.modes:
                a = Mode(spec, settings, options, label=f"A {spec.kind}", task=workload_a.task)
                b = Mode(spec, settings, options, executor=a.executor, label=f"B {spec.kind}",
                         task=workload_b.task)
                a.partner, b.partner = b, a
                pairs.append((a, b))
            raws[0].modes = [a.result for a, _ in pairs]
            raws[1].modes = [b.result for _, b in pairs]
            _race(pairs, workload_a, workload_b, items, options, say, raws, rng, foreign, meter)
    except KeyboardInterrupt:
        interrupts.taken()
        for raw in raws:
            raw.interrupted = True
        for mode in (m for pair in pairs for m in pair):
            if mode.result.status is Status.OK:
                mode.result.status, mode.result.error = Status.INTERRUPTED, f"{mode.name}: interrupted"
    finally:
        for a, b in pairs:
            killed = Status.OK not in (a.result.status, b.result.status)
            b.closed = True  # B borrows A's pool: closing A closes it
            a.close(kill=killed)
    others = meter.stop()
    for raw in raws:
        raw.environment["others_cpu_during_run"] = others
        raw.environment["abandoned_threads"] = any(a.executor.abandoned for a, _ in pairs)
        raw.finished_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return raws[0], raws[1]


def _race(pairs: list[tuple[Mode, Mode]], workload_a: Workload, workload_b: Workload,
          items: list[object], options: Options, say: Progress, raws: list[RawRun],
          rng: random.Random, foreign: set[int], run_meter: LoadMeter) -> None:
    for workload, side in ((workload_a, 0), (workload_b, 1)):
        dispatch, unpicklable = _dispatch_sizes(workload.task, items)
        for pair in pairs:
            pair[side].result.dispatch = dispatch
            if unpicklable and pair[side].executor.traits.ships_pickles:
                pair[side].result.fail(Status.FAILED, f"{pair[side].name}: {unpicklable}")
    by_a = {id(a): b for a, b in pairs}
    for a in _start_order([a for a, _ in pairs]):
        b = by_a[id(a)]
        if a.result.status is not Status.OK or b.result.status is not Status.OK:
            continue
        _start(a, workload_a, say)
        b.live = a.live
        if a.live:  # B's pool is A's: the same start-up, the same workers
            b.spec = b.result.spec = a.spec
            b.result.startup_s, b.result.pool = a.result.startup_s, a.result.pool
            b.result.timings.append(Timing(phase="startup", round=0, wall_s=a.result.startup_s or 0.0,
                                           cpu_s=float("nan")))
        else:
            b.result.fail(a.result.status, a.result.error or f"{b.name}: the pool did not start")

    own = pool_workers([a for a, _ in pairs])
    run_meter.adopt(own)
    modes = [(m, w) for a, b in pairs for m, w in ((a, workload_a), (b, workload_b))]
    for mode, workload in modes:
        if mode.live:
            say(f"{mode.name}: warm-up, probing each task, sampling memory")
            mode.attempt(lambda m=mode, w=workload: _probe(m, w, items, options))  # type: ignore[misc]
    contenders: list[Contender] = [m for m, _ in modes if m.live]
    stops: list[Stop] = []
    rounds = run_rounds(contenders, items, workload_a.task, options, say, rng,
                        pairs=[(a, b) for a, b in pairs], foreign_pids=foreign, own_pids=own,
                        stops=stops)
    for raw in raws:
        raw.rounds, raw.stops = rounds, list(stops)
    for mode, _ in modes:
        mode.result.phases["timing"] = sum(t.wall_s for t in mode.result.timings if t.phase == "map")
    for mode, workload in modes:
        durations = mode.result.tasks.own_durations()
        if "cprofile" in options.collectors and mode.live:
            say(f"{mode.name}: cProfile inside the workers")
            mode.attempt(lambda m=mode, w=workload, d=durations:  # type: ignore[misc]
                         _cprofile(m, w, items, options, d))
        if "lines" in options.collectors and mode.live:
            say(f"{mode.name}: line_profiler on whole items")
            mode.attempt(lambda m=mode, w=workload, d=durations:  # type: ignore[misc]
                         _lines(m, w, items, options, d))
