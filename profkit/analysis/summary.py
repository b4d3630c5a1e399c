"""analyse(frames, meta) -> the run's :class:`~profkit.analysis.records.Analysis`, in named steps."""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pandas as pd

from profkit.analysis import bounds, overheads, own_frames, prediction, stats, verdict
from profkit.analysis import gc as gc_share
from profkit.analysis import memory as memory_analysis
from profkit.analysis.native import (
    NativeThreads,
    native_threads,
    sequential_cores,
)
from profkit.analysis.notes import (
    MIN_CLEAN_ROUNDS,
    BoundKind,
    GranularityFacts,
    NoteKind,
    Precision,
    RoundsFacts,
    RunNote,
)
from profkit.analysis.records import (
    Amdahl,
    Analysis,
    ChunkTrial,
    Granularity,
    MeasuredPoint,
    ModeBounds,
    ModeSummary,
    NativePoolThreads,
    NativeSummary,
    Prediction,
    PredictionBand,
    PredictionMode,
    RecommendationSummary,
    Sweep,
    SweepPoint,
)
from profkit.codec import from_json, to_json
from profkit.frames import frame_of
from profkit.model import JSON, Status, Traits
from profkit.record import ModeMeta, RunMeta

BUSY_CORES = 0.3  # others' load above which the prediction's calibration allows for lost cores
BUSY_MACHINE_CPUS = 0.5  # warn when others kept more than half a CPU busy before the run
#: The sequential map's CPU may rise this much above its fewest before the note says the cores
#: changed speed: on a host between bursts a 0.25 s map moved up to 12% over 15 rounds, and an
#: 80 ms loop 11%
HOST_DRIFT = 1.25

#: Up to this many items run.json lists each item's seconds under granularity; beyond, the
#: tasks frame holds them (run.json would grow with the item count).
GRANULARITY_ITEMS = 1000
#: an interval's upper end counts as above the ideal W× only past W + this: half the last of
#: the two decimals intervals are printed with, so a badge never sits beside '2.00–2.00×'
IDEAL_MARGIN = 0.005


def _map_walls(timings: pd.DataFrame, mode: str, workers: int, sweep: bool) -> list[float]:
    rows = timings[(timings["mode"] == mode) & (timings["workers"] == workers)
                   & (timings["sweep"] == sweep) & (timings["phase"] == "map")]
    return rows["wall_s"].tolist()


def left_out_rounds(meta: RunMeta) -> set[int]:
    """The main round an interrupt cut short, when a completed round exists: only some modes
    timed a map in it, so counting it would give their medians a round their speedups (paired
    with the reference) cannot use. Its maps stay in the frames."""
    rounds = [r for r in meta.rounds if not r.sweep]
    if not any(not r.cut for r in rounds):
        return set()
    return {r.round for r in rounds if r.cut}


def _round_walls(timings: pd.DataFrame, mode: str, workers: int, sweep: bool,
                 left_out: set[int] | None = None) -> dict[int, float]:
    """Round -> wall seconds of a mode's timed maps, spoiled and ``left_out`` rounds set aside.

    If fewer than two clean rounds remain, every round counts (and a warning says so).
    """
    rows = timings[(timings["mode"] == mode) & (timings["workers"] == workers)
                   & (timings["sweep"] == sweep) & (timings["phase"] == "map")]
    if left_out:
        rows = rows[~rows["repeat"].astype(int).isin(left_out)]
    clean = rows[~rows["spoiled"].astype(bool)] if "spoiled" in rows else rows
    use = clean if len(clean) >= MIN_CLEAN_ROUNDS else rows
    return dict(zip(use["repeat"].astype(int), use["wall_s"].astype(float), strict=True))


def _paired_speedup(ref: dict[int, float], walls: dict[int, float],
                    level: float = 0.95) -> stats.RatioEstimate | None:
    common = sorted(set(ref) & set(walls))
    return stats.paired_ratio([ref[r] for r in common], [walls[r] for r in common], level=level)


def interval_level(meta: RunMeta, mode: str | None = None) -> float:
    """The level of the speedup intervals that keeps 95% whichever way the rounds ended
    (:mod:`profkit.analysis.decision`); 95% for a run that records none. A ``mode`` the rounds
    stopped timing early keeps the level of the look it left at: its interval is the one that
    look saw, whatever the rounds after it did."""
    stopping = meta.stopping
    level = stopping.get("level") if isinstance(stopping, dict) else None
    out = float(level) if isinstance(level, (int, float)) and 0.5 <= level < 1 else 0.95
    return dropped_levels(meta).get(mode, out) if mode is not None else out


def dropped_levels(meta: RunMeta) -> dict[str, float]:
    """Mode -> the level of the look at which the rounds stopped timing it."""
    stopping = meta.stopping
    dropped = stopping.get("dropped") if isinstance(stopping, dict) else None
    out: dict[str, float] = {}
    for d in dropped if isinstance(dropped, list) else []:
        if isinstance(d, dict) and isinstance(d.get("mode"), str) \
                and isinstance(level := d.get("level"), (int, float)) and 0.5 <= level < 1:
            out[str(d["mode"])] = float(level)
    return out


#: The tasks frame's columns the analysis reads (a mode's rows copy only these: a large run's
#: string columns would double the copy).
_TASK_COLUMNS = ["item", "start_s", "end_s", "duration_s", "cpu_s", "queued_s", "pid", "worker", "ok",
                 "item_bytes", "result_bytes"]


def _mode_tasks(tasks: pd.DataFrame, mode: str, sweep: bool = False) -> pd.DataFrame:
    rows = (tasks["mode"] == mode) & (tasks["sweep"] == sweep)
    return tasks.loc[rows, [c for c in _TASK_COLUMNS if c in tasks.columns]]


def _granularity(durations: list[float], workers: int, chunksize: int,
                 sb: bounds.ScheduleBounds) -> Granularity:
    """The item-size card: the optimum, the upper bound and the pool's in-order schedule."""
    total, largest, n = sb.total_s, sb.largest_s, len(durations)
    card = GranularityFacts(
        workers, n, sb.optimum >= 0.97 * workers, sb.optimum, sb.optimum_exact, min(durations),
        largest, total, sb.optimum_makespan_s, sb.upper, sb.dispatch, chunksize,
        bounds.EXACT_MAX_ITEMS, sb.cpu_cap if sb.capped_by_cpus else None,
        sb.cores if sb.capped_by_cpus and sb.cpu_cap is not None else None)
    return Granularity(
        workers=workers, n_items=n, item_s=durations if n <= GRANULARITY_ITEMS else None,
        total_s=total, largest_item_s=largest, makespan_s=sb.optimum_makespan_s,
        in_order_makespan_s=sb.dispatch_makespan_s, bound=sb.best, optimum=sb.optimum,
        optimum_exact=sb.optimum_exact, upper=sb.upper, dispatch=sb.dispatch,
        chunksize=chunksize, facts=card)


def _mode_summary(mode: str, workers: int, traits: Traits, status: Status,
                  error: str | None,
                  walls_by_round: dict[int, float], ref_by_round: dict[int, float] | None,
                  cpu: list[float], walls_all: list[float], startup: float | None,
                  target_precision: float | None, level: float = 0.95) -> ModeSummary:
    walls = list(walls_by_round.values())
    summary = stats.summarise(walls)
    spread = summary["spread_pct"]
    entry = ModeSummary(
        mode=mode, workers=workers, traits=traits, status=status, error=error,
        wall_median_s=summary["median"], wall_iqr_s=summary["iqr"],
        wall_min_s=summary["min"], wall_max_s=summary["max"], spread_pct=spread,
        noisy=bool(spread is not None and spread > stats.NOISY_SPREAD_PCT),
        repeats=len(walls),
        cpu_median_s=stats.summarise(cpu)["median"],
        cores_used=stats.summarise([c / w for c, w in zip(cpu, walls_all, strict=False)
                                    if w > 0])["median"],
        startup_s=startup, precision_target=target_precision)
    if traits.reference and walls:
        entry.speedup, entry.efficiency = 1.0, 1.0
        alone = stats.level_estimate(walls, level=level)
        if alone is not None and ref_by_round is None:
            entry.precision = alone.half_width
    elif ref_by_round and walls:
        ratio = _paired_speedup(ref_by_round, walls_by_round, level)
        if ratio is not None:
            entry.speedup = ratio.value
            entry.speedup_ci = [ratio.low, ratio.high] \
                if ratio.low is not None and ratio.high is not None else None
            entry.efficiency = ratio.value / workers
            entry.precision = ratio.half_width
            entry.paired_rounds = ratio.n
    elif walls:
        alone = stats.level_estimate(walls, level=level)
        entry.precision = alone.half_width if alone else None
    if entry.precision is not None and target_precision is not None:
        entry.precision_reached = bool(entry.precision <= target_precision)
    return entry


def _sweep(timings: pd.DataFrame, ref_mode: str | None, durations: list[float],
           cpus: int, main: dict[tuple[str, int], dict[int, float]],
           level: float = 0.95) -> Sweep | None:
    """Sweep points; a point that repeats a main mode pools both sets of paired rounds.

    The Amdahl fit uses only points at or below the CPU count: beyond it, workers
    share cores and the fit would read that as a serial part.
    """
    swept = timings[timings["sweep"] & (timings["phase"] == "map")]
    if swept.empty or ref_mode is None:
        return None
    ref_rows = timings[(timings["mode"] == ref_mode) & ~timings["sweep"] & (timings["phase"] == "map")]
    ref_by_round = dict(zip(ref_rows["repeat"].astype(int), ref_rows["wall_s"].astype(float),
                            strict=True))
    points: list[SweepPoint] = []
    amdahl: dict[str, Amdahl] = {}
    for raw_mode, by_mode in swept.groupby("mode", sort=False):
        mode = str(raw_mode)
        per_count: dict[int, Sequence[float]] = {}
        ref_walls: list[float] = []
        for workers in sorted(by_mode["workers"].unique()):
            walls_by_round = _round_walls(timings, mode, int(workers), True)
            pooled = {**walls_by_round, **main.get((mode, int(workers)), {})}
            if int(workers) <= cpus:
                per_count[int(workers)] = list(pooled.values())
                ref_walls += [ref_by_round[r] for r in pooled if r in ref_by_round]
            ratio = _paired_speedup(ref_by_round, pooled, level)
            points.append(SweepPoint(
                mode=mode, workers=int(workers),
                wall_median_s=stats.summarise(list(pooled.values()))["median"],
                speedup=ratio.value if ratio else None,
                speedup_ci=[ratio.low, ratio.high]
                if ratio and ratio.low is not None and ratio.high is not None else None,
                with_main_run=(mode, int(workers)) in main,
                bound=bounds.granularity_bound(durations, int(workers)) if durations else None))
        if len([w for w in per_count if w > 1]) >= 2 and ref_walls:  # one pooled count fits anything
            s, (lo, hi) = bounds.fit_amdahl_bootstrap(
                ref_walls, {k: tuple(v) for k, v in per_count.items()})
            amdahl[mode] = Amdahl(serial_fraction=s, ci=[lo, hi],
                                  max_speedup=(1.0 / s) if s > 0 else None,
                                  workers_used=sorted(per_count), cpus=cpus)
    return Sweep(points=points, amdahl=amdahl)


def _round_warnings(meta: RunMeta) -> list[RunNote]:
    """What the rounds say about other programs' load during the run."""
    rounds = meta.rounds
    spoiled = [r for r in rounds if r.spoiled]
    out = []
    if spoiled:
        limit = meta.options.get("spoiled_cores")
        out.append(RunNote(NoteKind.SPOILED_ROUNDS, len(rounds), len(spoiled),
                           max(r.others_cpu for r in spoiled),
                           limit if isinstance(limit, (int, float)) else None,
                           len(rounds) - len(spoiled) >= MIN_CLEAN_ROUNDS))
    clean = [r.others_cpu for r in rounds if not r.spoiled and r.others_cpu == r.others_cpu]
    env = meta.environment
    during = env.get("others_cpu_during_run")
    if rounds and len(spoiled) * 2 > len(rounds) or (
            isinstance(during, (int, float)) and during == during and during > BUSY_MACHINE_CPUS):
        busy = during if isinstance(during, (int, float)) and during == during else \
            (max(clean) if clean else 0.0)
        total = env.get("cpus_total")
        out.insert(0, RunNote(NoteKind.BUSY_MACHINE, busy_cores=float(busy),
                              cpus_total=total if isinstance(total, int) else None))
    return out


def host_drift(timings: pd.DataFrame) -> RunNote | None:
    """The sequential map's CPU moving between rounds by more than ``HOST_DRIFT``, or None.

    The sequential map does the same work in one thread each round, so its CPU time holds
    still whatever the load (waits for a core are not CPU). When it moves, the cores ran at
    changing speeds (another tenant of a virtual machine's host: measured here, a fixed loop
    at 82 ms, then 145 ms for a second or two, no other program on the machine, no steal
    counted; or CPU frequency), or the task's work changes from round to round. The load
    meter cannot see it, and the walls carry it. Pools are not judged: their CPU moves with
    their own contention (threads taking turns at the GIL moved 46% on a steady host), and a
    worker's CPU is read in 10 ms ticks. A map that mostly waits is not judged either. The
    rounds are those the estimates use: the clean ones, or all when fewer than
    ``MIN_CLEAN_ROUNDS`` were clean.
    """
    if timings.empty:
        return None
    maps = timings[(timings["phase"] == "map") & ~timings["sweep"].astype(bool)
                   & (timings["mode"] == "sequential")]
    clean = maps[~maps["spoiled"].astype(bool)]
    if clean["repeat"].nunique() >= MIN_CLEAN_ROUNDS:
        maps = clean
    cpu = maps["cpu_s"].dropna().astype(float)
    if len(cpu) < 2 or float(cpu.median()) < 0.5 * float(maps["wall_s"].median()):
        return None
    low, high = float(cpu.min()), float(cpu.max())
    if low <= 0 or high <= HOST_DRIFT * low:
        return None
    return RunNote(NoteKind.UNSTEADY_HOST, rounds=int(maps["repeat"].nunique()), mode="sequential",
                   cpu_low_s=low, cpu_high_s=high)


def rounds_facts(meta: RunMeta) -> RoundsFacts:
    """How the main timing rounds went: completed, cut short by an interrupt, set aside."""
    rounds = [r for r in meta.rounds if not r.sweep]
    clean = sum(1 for r in rounds if not r.spoiled)
    return RoundsFacts(completed=sum(1 for r in rounds if not r.cut),
                       cut=any(r.cut for r in rounds), spoiled=sum(1 for r in rounds if r.spoiled),
                       every_round=bool(rounds) and clean < MIN_CLEAN_ROUNDS)


def _interrupted(meta: RunMeta, rounds: RoundsFacts) -> RunNote:
    """The warning of an interrupted run: after its timing rounds, or during them."""
    return RunNote(NoteKind.INTERRUPTED, rounds=rounds.completed, cut=rounds.cut,
                   timed=meta.stopping is not None)


def _open_decision(meta: RunMeta, recommended: bool) -> RunNote | None:
    """The one warning of a run whose recommendation is unsure, with the fix.

    A recommendation that rests on set-aside rounds (fewer than two were clean) is unsure
    whatever those rounds seemed to settle: other programs' load, not the modes, may have
    decided it. Otherwise it is unsure when the rounds could not settle it.
    """
    rounds = [r for r in meta.rounds if not r.sweep]
    clean = sum(1 for r in rounds if not r.spoiled)
    if not recommended:
        return None
    if len(rounds) >= MIN_CLEAN_ROUNDS and clean < MIN_CLEAN_ROUNDS:
        return RunNote(NoteKind.BUSY_ROUNDS, len(rounds), len(rounds) - clean)
    stopping = meta.stopping
    if not isinstance(stopping, dict) or stopping.get("rule") not in ("decision", "repeat") \
            or stopping.get("settled") is not False:
        return None
    if len(rounds) < MIN_CLEAN_ROUNDS:
        return RunNote(NoteKind.ONE_ROUND)
    need = stopping.get("settled_after_s")
    needed = stopping.get("settled_after_rounds")
    still_open = stopping.get("open")
    return RunNote(NoteKind.WITHIN_NOISE, clean=clean,
                   open=[str(p) for p in still_open] if isinstance(still_open, list) else [],
                   need_s=math.ceil(need) if isinstance(need, (int, float)) and need == need else None,
                   rounds_needed=int(needed) if isinstance(needed, (int, float)) else None,
                   repeat_rule=stopping.get("rule") == "repeat")


def _ideal_noise(entry: ModeSummary) -> RunNote | None:
    """A warning when a speedup interval reaches above the ideal W×: that part is noise."""
    ci, workers = entry.speedup_ci, entry.workers or 1
    if not ci or entry.traits.reference or ci[1] <= workers + IDEAL_MARGIN:
        return None
    entry.crosses_ideal = True
    return RunNote(NoteKind.ABOVE_IDEAL, mode=entry.mode, speedup=entry.speedup,
                   ci=[float(ci[0]), float(ci[1])], workers=workers)


def _mode_bounds(entry: ModeSummary, durations: list[float], cpu_s: float, cpus: int,
                 work: verdict.WorkClass | None, chunksize: int,
                 noise: float | None = None,
                 native: NativeThreads | None = None) -> bounds.ScheduleBounds:
    """The bounds of one mode: GIL-bound threads get one core, the rest the CPUs they may use;
    ``noise`` (of one item's time) gives the items' cap its upper end.

    When the sequential map already keeps c cores busy with native threads (which run
    outside the GIL), every pool shares the CPUs as if it had N / c of them.
    """
    gil = bool(entry.traits.shares_gil and work is not None and work.holds_gil()) and native is None
    cores = 1.0 if gil else float(cpus) if native is None else native.bound
    sb = bounds.schedule_bounds(durations, entry.workers, chunksize=chunksize, cpu_s=cpu_s,
                                cores=cores, noise=noise)
    entry.bound = sb.best
    entry.achieved_over_bound = entry.speedup / sb.best if entry.speedup else None
    entry.bounds = ModeBounds(
        optimum=sb.optimum, optimum_exact=sb.optimum_exact, upper=sb.upper,
        dispatch=sb.dispatch, chunksize=sb.chunksize, cpu_cap=sb.cpu_cap,
        cores=cores, capped_by_cpus=sb.capped_by_cpus, gil=gil,
        sort_gain=sb.sort_gain, items_cap=sb.items_cap,
        native_cores=native.sequential_cores if native else None, cpus=cpus,
        bound_kind=(BoundKind.GIL if gil and sb.capped_by_cpus else
                    BoundKind.NATIVE if native is not None and sb.capped_by_cpus else
                    BoundKind.CPUS if sb.capped_by_cpus else
                    BoundKind.OPTIMUM if sb.optimum_exact else BoundKind.SCHEDULE))
    return sb


def _facts_of(entry: ModeSummary, sb: bounds.ScheduleBounds | None,
              sweep: bool = False) -> verdict.ModeFacts:
    traits, ci = entry.traits, entry.speedup_ci
    return verdict.ModeFacts(
        mode=entry.mode, workers=int(entry.workers), ok=entry.status is Status.OK,
        status=None if entry.status is Status.OK else entry.status,
        speedup=entry.speedup, ci=(float(ci[0]), float(ci[1])) if ci else None,
        parallel=traits.parallel, reference=traits.reference,
        shares_gil=traits.shares_gil, shares_memory=traits.shares_memory,
        cost=verdict.mode_cost(dict(traits.to_json())), bound=sb.best if sb else entry.bound,
        capped_by_cpus=bool(sb and sb.capped_by_cpus), items_cap=sb.items_cap if sb else None,
        overhead_per_task_s=entry.overhead_per_task_s, startup_s=entry.startup_s,
        wall_s=entry.wall_median_s, sweep=sweep)


def _prediction(modes: dict[str, ModeSummary], mode_meta: dict[str, ModeMeta],
                durations: list[float], cpu: list[float], ref_wall: float | None, cpus: int,
                work: verdict.WorkClass | None, sweep: Sweep | None,
                load: float) -> Prediction | None:
    """Predicted speedup at 1..64 workers per parallel mode, with the measured points."""
    if not durations or not ref_wall:
        return None
    # An item needs a core for its CPU seconds. Work that is not I/O-bound needs one for its
    # whole wall time: on a busy machine the gap between its wall and CPU time is mostly spent
    # waiting for a core (a lone thread got about cpus / (load + 1) of one).
    share = min(1.0, cpus / (load + 1.0))
    demand = ([min(d, c / share) for d, c in zip(durations, cpu, strict=True)]
              if work is verdict.WorkClass.IO else list(durations))
    gil_demand = [min(d, c / share) for d, c in zip(durations, cpu, strict=True)]
    ref_cpu = next((e.cpu_median_s for e in modes.values() if e.traits.reference), None)
    out = Prediction(cpus=cpus)
    for mode, entry in modes.items():
        traits = entry.traits
        if traits.reference or not traits.parallel or entry.status is not Status.OK \
                or not entry.wall_median_s:
            continue
        info = mode_meta.get(mode)
        chunks = (info.dispatch_chunksizes or [info.chunksize or 1]) if info else [1]
        gil = bool(traits.shares_gil and work is not None and work.holds_gil())
        measured = [MeasuredPoint(int(entry.workers), entry.speedup, entry.speedup_ci)]
        measured += [MeasuredPoint(p.workers, p.speedup, p.speedup_ci)
                     for p in (sweep.points if sweep else []) if p.mode == mode
                     and p.workers != entry.workers and p.speedup]

        def fit(speedup: float | None, at: int, entry: ModeSummary = entry, mode: str = mode,
                gil: bool = gil, chunks: list[int] = chunks) -> prediction.PoolModel:
            assert ref_wall is not None and entry.wall_median_s is not None
            return prediction.calibrate(
                durations, gil_demand if gil else demand, mode=mode, reference_s=ref_wall,
                measured_wall_s=ref_wall / speedup if speedup else entry.wall_median_s,
                measured_workers=at,
                collect_s=entry.overheads.collect_s if entry.overheads else 0.0,
                busy=load > BUSY_CORES,
                extra_cpu_s=max(0.0, (entry.cpu_median_s or 0.0) - ref_cpu) if ref_cpu else 0.0,
                startup_s=entry.startup_s, cpus=cpus,
                gil=gil, chunksizes=[int(c) for c in chunks])

        # calibrated at each measured worker count; the model that best meets all of them is kept
        scored = []
        for m in measured:
            candidate = fit(m.speedup, m.workers)
            miss = sum(math.log(ref_wall / candidate.wall(other.workers) / other.speedup) ** 2
                       for other in measured if other.speedup)
            scored.append((miss, candidate, m))
        _, model, chosen = min(scored, key=lambda item: item[0])
        ci, at = chosen.speedup_ci, chosen.workers
        ends = [fit(float(ci[0]), at), fit(float(ci[1]), at)] if ci else []
        band = PredictionBand(
            this_machine=[[p.speedup for p in prediction.predict(m)] for m in ends] or None,
            own_cores=[[p.speedup for p in prediction.predict(m, own_cores=True)]
                       for m in ends] or None)
        own = prediction.predict(model, own_cores=True)
        points = prediction.predict(model)
        flat_at, limit, flat = prediction.flattening(model, points)
        out.modes[mode] = PredictionMode(
            points=points, measured=measured,
            flat_at=flat_at, limit=str(limit), flattening=flat,
            per_chunk_s=model.per_chunk_s, per_map_s=model.per_map_s, cores=model.core_cap,
            calibrated_at=at, measured_workers=sorted({m.workers for m in measured}),
            own_cores=own, band=band)
    return out if out.modes else None


def prediction_frame(predicted: Prediction | None) -> pd.DataFrame:
    """The analysis's prediction curve, one row per mode and worker count."""
    rows = []
    for mode, entry in (predicted.modes if predicted else {}).items():
        measured = {m.workers: m.speedup for m in entry.measured if m.speedup is not None}
        band = entry.band.this_machine or [[], []]
        own = {p.workers: p.speedup for p in entry.own_cores}
        for k, p in enumerate(entry.points):
            single = p.single_map_speedup
            rows.append({"mode": mode, "workers": p.workers, "predicted_speedup": p.speedup,
                         "predicted_wall_s": p.wall_s,
                         "single_map_speedup": float("nan") if single is None else single,
                         "limit": p.limit,
                         "measured_speedup": measured.get(p.workers, float("nan")),
                         "cpus": predicted.cpus if predicted else 1,
                         "low_speedup": min(band[0][k], band[1][k]) if len(band[0]) > k else float("nan"),
                         "high_speedup": max(band[0][k], band[1][k]) if len(band[0]) > k else float("nan"),
                         "own_cores_speedup": own.get(p.workers, float("nan"))})
    return frame_of("prediction", rows)


@dataclass(frozen=True)
class Reference:
    """The reference mode's rounds and items: what every speedup and bound is measured against."""

    mode: str | None
    by_round: dict[int, float] | None
    walls: list[float] | None
    wall: float | None
    tasks: pd.DataFrame
    #: each item's seconds and CPU seconds in the reference's warm-up, in item order (empty
    #: when an item failed there)
    durations: list[float]
    item_cpu: list[float]


@dataclass(frozen=True)
class WorkKind:
    """What the tasks spend their time on: the classification card and the facts under it."""

    classification: verdict.Classification | None
    work: verdict.WorkClass | None
    cpu_ratio: float | None
    native: NativeThreads | None
    #: the CPU seconds the items need: what a pool of any size has to spend
    cpu_total: float


def _cpus(meta: RunMeta) -> int:
    seen = meta.environment.get("cpus_available") or meta.environment.get("cpus_total")
    return int(seen) if isinstance(seen, (int, float)) else 1


def _target_precision(meta: RunMeta) -> float | None:
    """The --precision asked, or None: then the rounds went on until the decision settled."""
    precision = meta.options.get("precision")
    return float(precision) if isinstance(precision, (int, float)) and precision else None


def reference(frames: dict[str, pd.DataFrame], meta: RunMeta) -> Reference:
    """The reference mode (sequential) of a run, if it ran, with its rounds and items."""
    timings, tasks = frames["timings"], frames["tasks"]
    ref = next((m for m, info in meta.modes.items() if info.traits.reference
                and meta.status.get(m) in (Status.OK, Status.INTERRUPTED)), None)
    by_round = _round_walls(timings, ref, 1, False, left_out_rounds(meta)) if ref else None
    walls = list(by_round.values()) if by_round else None
    seq_tasks = _mode_tasks(tasks, ref) if ref else tasks.iloc[0:0]
    seq_ok = not seq_tasks.empty and bool(seq_tasks["ok"].all())
    ordered = seq_tasks.sort_values("item") if seq_ok else seq_tasks
    return Reference(
        mode=ref, by_round=by_round, walls=walls,
        wall=stats.summarise(walls)["median"] if walls else None, tasks=seq_tasks,
        durations=ordered["duration_s"].astype(float).tolist() if seq_ok else [],
        item_cpu=ordered["cpu_s"].astype(float).tolist() if seq_ok else [])


def mode_summaries(frames: dict[str, pd.DataFrame], meta: RunMeta, ref: Reference
                   ) -> tuple[dict[str, ModeSummary], dict[tuple[str, int], dict[int, float]]]:
    """Each main mode's timings, speedup, overheads and GC; and its wall time per round."""
    timings, tasks = frames["timings"], frames["tasks"]
    modes: dict[str, ModeSummary] = {}
    main_walls: dict[tuple[str, int], dict[int, float]] = {}
    left_out = left_out_rounds(meta)
    for mode, info in meta.modes.items():
        workers = info.workers
        by_round = _round_walls(timings, mode, workers, False, left_out)
        main_walls[(mode, int(workers))] = by_round
        cpu_rows = timings[(timings["mode"] == mode) & ~timings["sweep"]
                           & (timings["phase"] == "map") & ~timings["repeat"].isin(left_out)]
        entry = _mode_summary(mode, workers, info.traits,
                              meta.status.get(mode, Status.OK), meta.errors.get(mode),
                              by_round, None if len(meta.modes) == 1 else ref.by_round,
                              cpu_rows["cpu_s"].tolist(), cpu_rows["wall_s"].tolist(),
                              info.startup_s, _target_precision(meta), interval_level(meta, mode))
        entry.line_items = info.line_items or []
        entry.chunk_trial = from_json(ChunkTrial, info.chunk_trial, f"modes.{mode}.chunk_trial") \
            if info.chunk_trial else None
        if not info.traits.reference and entry.status is Status.OK:
            entry.overheads = overheads.decompose(
                _mode_tasks(tasks, mode), workers=workers, startup_s=info.startup_s,
                pass_wall_s=info.tasks_wall_s, timing_median_s=entry.wall_median_s,
                task_bytes=info.task_bytes, items_bytes=info.items_bytes,
                results_bytes=info.results_bytes)
            if ref.wall and entry.wall_median_s is not None:
                entry.overhead_per_task_s = max(
                    0.0, entry.wall_median_s - ref.wall / workers) / max(1, meta.workload.n_items)
        if "gc" in frames:
            entry.gc = gc_share.gc_summary(frames["gc"], tasks, mode)
        modes[mode] = entry
    return modes, main_walls


def _pool_sweep(modes: dict[str, ModeSummary], sweep: Sweep | None) -> None:
    """A sweep point that repeats a main mode gives it the estimate of all their paired rounds."""
    for p in sweep.points if sweep else []:
        matching = modes.get(p.mode)
        if p.with_main_run and matching and matching.workers == p.workers and p.speedup:
            matching.speedup, matching.speedup_ci = p.speedup, p.speedup_ci
            matching.efficiency = p.speedup / p.workers


def _mode_notes(modes: dict[str, ModeSummary]) -> list[RunNote]:
    """Intervals that reach past the ideal: noise, said in the report's details."""
    return [note for note in map(_ideal_noise, modes.values()) if note]


def _precision_warnings(modes: dict[str, ModeSummary],
                        target_precision: float | None) -> list[RunNote]:
    """One warning, when --precision was asked and some estimate missed it."""
    unprecise = [e for e in modes.values() if e.precision_reached is False]
    if not unprecise or target_precision is None:
        return []
    return [RunNote(NoteKind.PRECISION,
                    missed=[Precision(e.mode, e.precision or 0.0) for e in unprecise],
                    target=target_precision, repeats=max(e.repeats for e in unprecise))]


def work_kind(frames: dict[str, pd.DataFrame], meta: RunMeta, ref: Reference,
              modes: dict[str, ModeSummary]) -> WorkKind:
    """CPU-bound, I/O-bound or mixed, from the tasks' CPU and waits; native threads if any."""
    timings, tasks = frames["timings"], frames["tasks"]
    cpus = _cpus(meta)
    cpu_source = ref.tasks if not ref.tasks.empty else tasks[~tasks["sweep"] & tasks["ok"]]
    # A task's time is computing, waiting for a core (other programs had it), or waiting
    # for something else: only the last tells I/O-bound work from CPU-bound on a busy machine.
    walls = float(cpu_source["duration_s"].sum()) if not cpu_source.empty else 0.0
    queued = (float(cpu_source["queued_s"].fillna(0.0).sum())
              if "queued_s" in cpu_source and not cpu_source.empty else 0.0)
    cpu_ratio = (min(1.0, float(cpu_source["cpu_s"].sum()) / (walls - queued))
                 if walls - queued > 0 else None)
    gil_sharing = next((m for m in modes.values() if m.traits.shares_gil and m.traits.parallel),
                       None)
    card = verdict.classify(cpu_ratio, _threads_facts(gil_sharing),
                            gil_sharing.cores_used if gil_sharing is not None else None,
                            queued / walls if walls > 0 else 0.0,
                            gil_enabled=bool(meta.environment.get("gil_enabled", True)))

    durations, item_cpu = ref.durations, ref.item_cpu
    cpu_total = min(sum(item_cpu), sum(durations)) if durations else 0.0
    ref_cpu = timings[(timings["mode"] == ref.mode) & ~timings["sweep"]
                      & (timings["phase"] == "map")] if ref.mode else timings.iloc[0:0]
    # runs saved before each map kept its thread's CPU: the probe's items stand in for it
    thread_cpu = (ref_cpu["thread_cpu_s"].astype(float).tolist() if "thread_cpu_s" in ref_cpu
                  else [sum(item_cpu)] * len(ref_cpu))
    native = native_threads(sequential_cores(ref_cpu["cpu_s"].astype(float).tolist(),
                                             ref_cpu["wall_s"].astype(float).tolist(), thread_cpu),
                            cpus, meta.modes)
    if native is not None:  # the items' thread CPU misses the native threads: they fill the map
        cpu_total = sum(durations)
        if card is not None:
            card = verdict.native_classification(card, native)
    work = card.work_class if card else None
    return WorkKind(card, work, cpu_ratio, native, cpu_total)


def _threads_facts(threads: ModeSummary | None) -> verdict.ModeFacts | None:
    """What the classification reads of the GIL-sharing mode."""
    if threads is None:
        return None
    ci = threads.speedup_ci
    return verdict.ModeFacts(threads.mode, threads.workers, speedup=threads.speedup,
                             ci=(float(ci[0]), float(ci[1])) if ci else None, shares_gil=True)


def schedule_bounds(meta: RunMeta, ref: Reference, modes: dict[str, ModeSummary],
                    kind: WorkKind) -> dict[str, bounds.ScheduleBounds]:
    """What each pooled mode's workers could reach with these items (GIL and CPU caps included)."""
    if not ref.durations:
        return {}
    noise = bounds.item_noise(ref.walls, ref.durations) if ref.walls else None
    out = {}
    for mode, entry in modes.items():
        if entry.traits.reference:
            continue
        chunks = meta.modes[mode].chunksize or 1 if mode in meta.modes else 1
        out[mode] = _mode_bounds(entry, ref.durations, kind.cpu_total, _cpus(meta), kind.work,
                                 int(chunks), noise, kind.native)
    return out


def granularity(ref: Reference, modes: dict[str, ModeSummary],
                mode_bounds: dict[str, bounds.ScheduleBounds]) -> Granularity | None:
    """The item-size card of the widest pool, one whose workers compute side by side first
    (a GIL-sharing pool's card would show the GIL's 1x cap, not what the items allow)."""
    pooled = [m for m in modes.values() if not m.traits.reference]
    if not pooled or not ref.durations:
        return None
    widest = max(pooled, key=lambda m: (m.workers, not m.traits.shares_gil))
    sb = mode_bounds[widest.mode]
    return _granularity(ref.durations, widest.workers, sb.chunksize, sb)


def facts(meta: RunMeta, ref: Reference, modes: dict[str, ModeSummary], sweep: Sweep | None,
          kind: WorkKind, mode_bounds: dict[str, bounds.ScheduleBounds]) -> verdict.Facts:
    """What the verdict decides from: each mode's and sweep point's measurements and bounds."""
    cpus, n_items, durations = _cpus(meta), meta.workload.n_items, ref.durations
    per_task = float(ref.tasks["duration_s"].median()) if not ref.tasks.empty else None
    facts_modes = [_facts_of(e, mode_bounds.get(m)) for m, e in modes.items()]
    sweep_facts = []
    for p in sweep.points if sweep else []:
        if p.with_main_run or p.mode not in modes:
            continue
        e = dataclasses.replace(modes[p.mode], workers=p.workers, speedup=p.speedup,
                                speedup_ci=p.speedup_ci, wall_median_s=p.wall_median_s,
                                overhead_per_task_s=None)
        own = mode_bounds.get(p.mode)
        sb = bounds.schedule_bounds(durations, p.workers, cpu_s=kind.cpu_total,
                                    cores=1.0 if own and own.cores == 1.0 else float(cpus)) \
            if durations else None
        sweep_facts.append(_facts_of(e, sb, sweep=True))
    pooled = [m for m in modes.values() if not m.traits.reference]
    trials = [trial for m, info in meta.modes.items() if m in modes
              for trial in [info.chunk_trial] if trial]
    widest_workers = max((m.workers for m in pooled), default=1)
    return verdict.Facts(
        work=kind.work, modes=tuple(facts_modes + sweep_facts), reference=ref.mode,
        cpu_ratio=kind.cpu_ratio, per_task_s=per_task, n_items=n_items, ref_wall_s=ref.wall,
        sort_gain=max((b.sort_gain for b in mode_bounds.values()), default=0.0),
        chunk_advice=verdict.advised_chunksize(n_items, widest_workers)
        if per_task is not None and per_task < verdict.TINY_TASK_S else None,
        chunk_trial=max(trials, key=_gain) if trials else None, cpus=cpus,
        native=kind.native)


def _gain(trial: dict[str, JSON]) -> float:
    gain = trial.get("gain")
    return float(gain) if isinstance(gain, (int, float)) else 0.0


def _others_load(meta: RunMeta) -> float:
    """The median CPUs other programs kept busy during the rounds (or the run)."""
    raw_loads: list[JSON] = [r.others_cpu for r in meta.rounds if not r.sweep] \
        or [meta.environment.get("others_cpu_during_run")]
    loads = [float(x) for x in raw_loads if isinstance(x, (int, float)) and x == x]
    return float(statistics.median(loads)) if loads else 0.0


def analyse(frames: dict[str, pd.DataFrame], meta: RunMeta) -> Analysis:
    """Speedups with intervals, bounds, overheads, bottlenecks, prediction and the verdict."""
    ref = reference(frames, meta)
    modes, main_walls = mode_summaries(frames, meta, ref)
    sweep = _sweep(frames["timings"], ref.mode, ref.durations, _cpus(meta), main_walls,
                   interval_level(meta))
    _pool_sweep(modes, sweep)
    kind = work_kind(frames, meta, ref, modes)
    mode_bounds = schedule_bounds(meta, ref, modes, kind)
    grain = granularity(ref, modes, mode_bounds)
    run_facts = facts(meta, ref, modes, sweep, kind, mode_bounds)
    decision = verdict.decide(run_facts)
    for mode, cause in decision.causes.items():
        if mode in modes:
            modes[mode].cause = cause
    predicted = _prediction(modes, meta.modes, ref.durations, ref.item_cpu, ref.wall, _cpus(meta),
                            kind.work, sweep, _others_load(meta))
    load_notes = _round_warnings(meta)
    warnings = _precision_warnings(modes, _target_precision(meta))
    open_decision = _open_decision(meta, decision.recommendation is not None)
    if open_decision:
        busy = next((n for n in load_notes if n.kind is NoteKind.BUSY_MACHINE), None)
        warnings.insert(0, replace(open_decision, busy=busy)
                        if busy and open_decision.kind is not NoteKind.BUSY_ROUNDS else open_decision)
    drift = host_drift(frames["timings"])
    notes = [*load_notes, *([drift] if drift else []), *_mode_notes(modes)]
    rounds = rounds_facts(meta)
    if meta.interrupted:
        warnings.append(_interrupted(meta, rounds))
    gc_advice = gc_share.gc_advice({m: e.gc for m, e in modes.items()},
                                   str(meta.options.get("gc", "off")))
    return Analysis(
        reference_mode=ref.mode,
        notes=notes,
        modes=modes,
        granularity=grain,
        classification=kind.classification,
        bottlenecks=own_frames.top_functions(own_frames.drop_own_functions(frames["functions"])),
        hot_lines=own_frames.top_lines(own_frames.drop_own_lines(frames["lines"]), meta),
        sweep=sweep,
        recommendation=_recommendation(decision.recommendation, modes, sweep, grain, ref.mode),
        advice=[*decision.advice,
                *(verdict.Advice(verdict.AdviceKind.GC, mode=g.mode, gc=g) for g in gc_advice)],
        prediction=predicted,
        verdict=verdict.headline(run_facts, decision),
        warnings=warnings,
        rounds=rounds,
        memory=memory_analysis.summarise(frames.get("memory"), meta),
        native_threads=_native(kind.native))


def _native(native: NativeThreads | None) -> NativeSummary | None:
    if native is None:
        return None
    trial = to_json(native.trial) if native.trial else None
    return NativeSummary(
        sequential_cores=native.sequential_cores, cpus=native.cpus, bound=native.bound,
        pools=[NativePoolThreads(api, threads) for api, threads in native.pools],
        trial=trial if isinstance(trial, dict) else None)


def _recommendation(rec: verdict.Recommendation | None, modes: dict[str, ModeSummary],
                    sweep: Sweep | None, grain: Granularity | None,
                    ref: str | None) -> RecommendationSummary | None:
    """The recommendation with the bound of its mode and worker count, and the share of it reached.

    The bound is the mode's own when its worker count matches, else a sweep point's, else
    the granularity estimate's; the reference mode has none.
    """
    if rec is None:
        return None
    bound = None
    entry = modes.get(rec.mode)
    main_run = entry is not None and entry.workers == rec.workers
    if entry and main_run:
        bound = entry.bound
    point = next((p for p in (sweep.points if sweep else [])
                  if p.mode == rec.mode and p.workers == rec.workers), None)
    if bound is None and point is not None:
        bound = point.bound
    if bound is None and grain and grain.workers == rec.workers:
        bound = grain.bound
    if rec.mode == ref:
        bound = None
    finite = bound is not None and math.isfinite(bound) and bound > 0
    return RecommendationSummary(
        mode=rec.mode, workers=rec.workers, speedup=rec.speedup,
        speedup_ci=list(rec.ci) if rec.ci else None, clear=rec.clear, reason=rec.reason,
        single_map_speedup=rec.single_map_speedup, maps_to_pay_off=rec.maps_to_pay_off,
        bound=bound, of_bound=rec.speedup / bound if finite and bound and rec.speedup else None,
        sweep_point=point if point is not None and not main_run and rec.mode != ref else None)
