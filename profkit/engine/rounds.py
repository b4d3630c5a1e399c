"""Interleaved rounds: one bare map per mode per round, in a fresh random order.

Load that comes and goes then falls on every mode alike, and each round gives
one paired ratio per mode against the reference. With ``repeat=None`` (auto)
the rounds end at the first look (:func:`profkit.analysis.decision.looks`) at
which the recommendation is settled, or, with ``precision`` set, every estimate
is within it; a cap on rounds or seconds may end them sooner (the seconds cap
only after ``min_rounds``). The intervals then use the level that keeps 95%
whichever way the run ended (:func:`profkit.analysis.decision.level_of`).
Rounds in which other programs used more than ``spoiled_cores`` of a core are
marked spoiled; they do not count, so auto mode runs more rounds to replace them.

A default run (the decision rule) stops timing a mode once every comparison it takes part in
is settled, e.g. threads clearly slower than processes (:func:`early_look`, :func:`leaving`):
the reference and the recommended mode go on, and the mode's interval comes from the rounds
it ran. ``--repeat N`` and ``--precision`` time every mode in every round.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Protocol

from profkit.analysis import decision
from profkit.analysis.decision import Drop, Reason, Rule, Stop
from profkit.analysis.notes import MIN_CLEAN_ROUNDS
from profkit.analysis.stats import RatioEstimate, level_estimate, paired_ratio
from profkit.analysis.verdict import mode_cost
from profkit.engine.load import LoadMeter
from profkit.model import DEFAULT_PRECISION, ModeResult, Precision, RoundInfo, Timing
from profkit.options import Options


class Contender(Protocol):
    """What a round needs of a mode."""

    live: bool
    result: ModeResult

    @property
    def name(self) -> str: ...

    @property
    def reference(self) -> bool: ...

    def attempt(self, action: Callable[[], None]) -> bool: ...

    def time_map(self, items: list[object], task: Callable[[object], object]) -> tuple[float, float]: ...

    @property
    def map_thread_cpu_s(self) -> float:
        """CPU of the one thread that ran the last map's items (sequential), else NaN."""
        ...


def clean_walls(timings: list[Timing], rounds: set[int] | None = None) -> dict[int, float]:
    """Round number -> wall seconds of a mode's timed maps, spoiled rounds left out."""
    return {t.round: t.wall_s for t in timings
            if t.phase == "map" and not t.spoiled and (rounds is None or t.round in rounds)}


def usable_walls(timings: list[Timing]) -> dict[int, float]:
    """The clean walls, or every map's when fewer than two rounds were clean (as the analysis
    does): a decision on a machine busy throughout still pairs each round's maps."""
    clean = clean_walls(timings)
    if len(clean) >= MIN_CLEAN_ROUNDS:
        return clean
    return {t.round: t.wall_s for t in timings if t.phase == "map"}


def estimate(mode: ModeResult, reference: ModeResult | None,
             level: float = decision.LEVEL) -> RatioEstimate | None:
    """The speedup against the reference over clean paired rounds; a wall time if no reference."""
    walls = clean_walls(mode.timings)
    if reference is None or reference is mode:
        return level_estimate(list(walls.values()), level=level)
    ref = clean_walls(reference.timings)
    common = sorted(set(walls) & set(ref))
    return paired_ratio([ref[r] for r in common], [walls[r] for r in common], level=level)


def pair_precision(pairs: list[tuple[Contender, Contender]], target: float,
                   level: float = decision.LEVEL) -> list[Precision]:
    """How precise each pair's B / A ratio is so far, over the clean rounds both ran in."""
    out = []
    for a, b in pairs:
        est = _pair_estimate(a, b, level)
        half = est.half_width if est else None
        out.append(Precision(f"{a.name} vs {b.name}", half, target, half is not None and half <= target))
    return out


def precision_of(contenders: list[Contender], target: float,
                 level: float = decision.LEVEL) -> list[Precision]:
    """How precise each mode's estimate is so far (the reference only when it stands alone;
    a chunksize trial never holds the rounds up)."""
    contenders = [c for c in contenders if not getattr(c, "trial", False)]
    reference = next((c.result for c in contenders if c.reference and c.live), None)
    out = []
    for c in contenders:
        if c.reference and len(contenders) > 1:
            continue
        est = estimate(c.result, reference, level)
        half = est.half_width if est else None
        out.append(Precision(c.name, half, target, half is not None and half <= target))
    return out


def run_rounds(contenders: list[Contender], items: list[object], task: Callable[[object], object],
               options: Options, progress: Callable[[str], None], rng: random.Random, *,
               first_round: int = 0, sweep: bool = False, label: str = "",
               pairs: list[tuple[Contender, Contender]] | None = None,
               foreign_pids: set[int] | None = None, own_pids: set[int] | None = None,
               bounds: dict[str, float] | None = None,
               stops: list[Stop] | None = None,
               prior: Sequence[RoundInfo] = (),
               record: list[RoundInfo] | None = None) -> list[RoundInfo]:
    """Time rounds until the decision settles (or ``--precision`` is reached) at a look, a cap
    ends them, or exactly ``options.repeat``; ``stops`` gets how they ended.

    ``prior``: rounds already timed (the probe round), whose maps are in the contenders'
    timings; they count towards every cap, look and ``options.repeat``. ``own_pids``: the
    pools' workers that are not this process's children, whose CPU is the modes' own work.
    ``record`` gets each new round as it ends, so an interrupt loses none: a round it cuts
    short is recorded as ``cut`` when it holds a whole map. Returns the new rounds.
    """
    kept = record if record is not None else []
    rounds: list[RoundInfo] = list(prior)
    first_round += len(prior)
    max_rounds = options.repeat if options.repeat is not None else options.max_rounds
    rule = (Rule.REPEAT if options.repeat is not None else
            Rule.PRECISION if pairs is not None or options.precision is not None else Rule.DECISION)
    target = options.precision if options.precision is not None else DEFAULT_PRECISION
    schedule = decision.looks(options.min_rounds, options.max_rounds)
    t_start = time.perf_counter() - sum(r.wall_s for r in prior)
    meter = LoadMeter(extra_pids=sorted(own_pids or ()), foreign_pids=foreign_pids)
    stop: Stop | None = None
    dropped: dict[str, Drop] = {}
    early_spent = False
    for done, info in enumerate(prior, 1):  # said as every round is, so progress counts it
        timed = [(c.name, t) for name in info.order for c in contenders if c.name == name
                 for t in c.result.timings if t.phase == "map" and t.round == info.round]
        progress(_describe(label, done, max_rounds, options, timed, info.spoiled,
                           info.others_cpu, []))
    while len(rounds) < max_rounds:
        live = [c for c in contenders if c.live]
        if not live:
            stop = Stop(rule, Reason.NONE_LEFT, decision.cap_level(), 0, len(schedule))
            break
        number = first_round + len(rounds) - len(prior)
        order = [c for c in live if c.name not in dropped]
        rng.shuffle(order)
        new: list[tuple[str, Timing]] = []
        t0 = time.perf_counter()
        meter.start()
        try:
            for position, c in enumerate(order):
                c.attempt(partial(_time_one, c, items, task, number, position, new))
        except KeyboardInterrupt:
            if new:
                kept.append(_ended(number, order, new, meter.stop(), options, t0, sweep, cut=True))
            raise
        info = _ended(number, order, new, meter.stop(), options, t0, sweep)
        spoiled, others = info.spoiled, info.others_cpu
        rounds.append(info)
        kept.append(info)
        live = [c for c in contenders if c.live]
        clean = sum(1 for r in rounds if not r.spoiled)
        elapsed = time.perf_counter() - t_start
        early = early_look(rule, clean, len(rounds), elapsed, options, early_spent, sweep=sweep)
        early_spent = early_spent or early
        stop = auto_stop(rule, live, clean, len(rounds), elapsed, options, schedule,
                         pairs=pairs, bounds=bounds, early=early)
        # at the level a stop at a look would report, so "reached" here is what ends the rounds
        shown = decision.look_level(len(schedule)) if rule is Rule.PRECISION else decision.LEVEL
        precision = (pair_precision([(a, b) for a, b in pairs if a.live and b.live], target, shown)
                     if pairs is not None else precision_of(live, target, shown))
        progress(_describe(label, len(rounds), max_rounds, options, new, spoiled, others,
                           precision if rule is Rule.PRECISION else []))
        if stop is not None:
            break
        if rule is Rule.DECISION and not sweep and (early or clean in schedule):
            level = decision.early_level() if early else decision.look_level(len(schedule))
            for drop in leaving(live, dropped, clean, level, bounds):
                dropped[drop.mode] = drop
                progress(f"{label + ': ' if label else ''}{drop.mode}: timed in no more rounds, "
                         f"settled after {clean} clean rounds ({'; '.join(drop.settled)}, at "
                         f"{100 * level:.4g}%)")
    if stop is None:  # --repeat N, or no round could run
        reason = Reason.REPEAT if rule is Rule.REPEAT else Reason.ROUNDS
        level = decision.level_of(reason, len(schedule))
        elapsed = time.perf_counter() - t_start
        stop = Stop(rule, reason, level, sum(1 for r in rounds if not r.spoiled), len(schedule),
                    settle([c for c in contenders if c.live], level, bounds),
                    elapsed / len(rounds) if rounds else None)
    if dropped:
        stop = replace(stop, dropped=tuple(dropped.values()))
    if stops is not None:
        stops.append(stop)
    return rounds[len(prior):]


def early_look(rule: Rule, clean: int, done: int, elapsed_s: float, options: Options,
               spent: bool, *, sweep: bool = False) -> bool:
    """Whether the decision rule looks now, once, before ``min_rounds``: after two clean rounds
    of a run a cap will end at ``min_rounds`` whatever the data (its rounds are long), where no
    planned look can stop it, so the looks' share of the error rate is free for this one."""
    if rule is not Rule.DECISION or sweep or spent or clean < 2 or done >= options.min_rounds:
        return False
    return elapsed_s >= options.max_rounds_s or options.min_rounds >= options.max_rounds


def leaving(live: list[Contender], dropped: dict[str, Drop], clean: int, level: float,
            bounds: dict[str, float] | None = None) -> list[Drop]:
    """The modes whose every comparison is settled at ``level``, to be timed no more (not the
    reference, nor the recommended mode, nor a mode whose chunksize trial pairs with its maps)."""
    verdict = settle(live, level, bounds)
    if verdict is None:
        return []
    paired = {str(m.name) for c in live
              if getattr(c, "trial", False) and (m := getattr(c, "mode", None)) is not None}
    return [Drop(name, clean, level, settled)
            for name, settled in decision.settled_out(verdict).items()
            if name not in dropped and name not in paired]


def auto_stop(rule: Rule, live: list[Contender], clean: int, done: int, elapsed_s: float,
              options: Options, schedule: tuple[int, ...], *,
              pairs: list[tuple[Contender, Contender]] | None = None,
              bounds: dict[str, float] | None = None, early: bool = False) -> Stop | None:
    """After a round of an auto run: how the rounds end now, or None to go on. ``early``: this
    round is the one early look of a run of long rounds (:func:`early_look`)."""
    if rule is Rule.REPEAT:
        return None
    cap = (Reason.ROUNDS if done >= options.max_rounds else
           Reason.TIME if elapsed_s >= options.max_rounds_s and done >= options.min_rounds else None)
    at_look = clean in schedule or early
    if cap is None and not at_look:
        return None
    level = (decision.cap_level() if cap is not None else
             decision.early_level() if early else decision.look_level(len(schedule)))
    # the rounds' time per clean round: at the machine's load so far, the set-aside rounds come
    # with each clean one
    round_s = elapsed_s / clean if clean else None
    if rule is Rule.PRECISION:
        target = options.precision if options.precision is not None else DEFAULT_PRECISION
        if pairs is not None:
            ests = [_pair_estimate(a, b, level) for a, b in pairs if a.live and b.live]
        else:
            modes = [c for c in live if not getattr(c, "trial", False)]
            reference = next((c.result for c in modes if c.reference), None)
            ests = [estimate(c.result, reference, level) for c in modes
                    if not (c.reference and len(modes) > 1)]
        if at_look and cap is None and decision.precise(ests, target):
            return Stop(rule, Reason.PRECISE, level, clean, len(schedule), round_s=round_s)
        return Stop(rule, cap, level, clean, len(schedule), round_s=round_s) if cap else None
    verdict = settle(live, level, bounds)
    # None: nothing to decide. The early look ends only a run that recommends a pool: with
    # nothing recommended, every mode's own gain is in play, and two rounds that happen to
    # look alike would make those intervals too short more often than they may be
    ends = verdict.choice is not None if early and verdict is not None else not early
    if at_look and cap is None and (verdict is None or verdict.settled) and ends:
        return Stop(rule, Reason.SETTLED, level, clean, len(schedule), verdict, round_s)
    return Stop(rule, cap, level, clean, len(schedule), verdict, round_s) if cap else None


def settle(live: list[Contender], level: float,
           bounds: dict[str, float] | None = None) -> decision.Decision | None:
    """The recommendation the live modes' clean rounds point to (None without a reference)."""
    reference = next((c for c in live if c.reference), None)
    others = [c for c in live if c is not reference and not getattr(c, "trial", False)]
    if reference is None or not others:
        return None
    candidates = [decision.Candidate(c.name, usable_walls(c.result.timings),
                                     mode_cost(c.result.traits.to_json()), c.result.spec.workers,
                                     (bounds or {}).get(c.name)) for c in others]
    return decision.decide(usable_walls(reference.result.timings), candidates, level)


def _ended(number: int, order: list[Contender], new: list[tuple[str, Timing]], others: float,
           options: Options, t0: float, sweep: bool, *, cut: bool = False) -> RoundInfo:
    """A round that ended (or that an interrupt cut short), its maps marked with its load."""
    spoiled = others > options.spoiled_cores
    for _, timing in new:
        timing.others_cpu, timing.spoiled = others, spoiled
    names = [c.name for c in order]
    ran = {name for name, _ in new}
    return RoundInfo(round=number, order=[n for n in names if n in ran] if cut else names,
                     wall_s=time.perf_counter() - t0, others_cpu=others, spoiled=spoiled,
                     sweep=sweep, cut=cut)


def _pair_estimate(a: Contender, b: Contender, level: float) -> RatioEstimate | None:
    walls_a, walls_b = clean_walls(a.result.timings), clean_walls(b.result.timings)
    common = sorted(set(walls_a) & set(walls_b))
    return paired_ratio([walls_b[r] for r in common], [walls_a[r] for r in common], level=level)


def _time_one(c: Contender, items: list[object], task: Callable[[object], object], number: int,
              position: int, new: list[tuple[str, Timing]]) -> None:
    wall, cpu = c.time_map(items, task)
    timing = Timing(phase="map", round=number, wall_s=wall, cpu_s=cpu, order=position,
                    thread_cpu_s=c.map_thread_cpu_s)
    c.result.timings.append(timing)
    new.append((c.name, timing))


def _describe(label: str, done: int, cap: int, options: Options, new: list[tuple[str, Timing]],
              spoiled: bool, others: float, precision: list[Precision]) -> str:
    of = f"/{cap}" if options.repeat is not None else ""
    parts = [f"{name} {t.wall_s:.3g} s" for name, t in new]
    text = f"{label + ': ' if label else ''}round {done}{of}: " + ", ".join(parts)
    widths = [p.half_width for p in precision if p.half_width is not None]
    if widths:
        text += f"; precision ±{100 * max(widths):.1f}% (target ±{100 * precision[0].target:g}%)"
    if spoiled:
        text += f"; set aside: other programs used {others:.2f} cores"
    return text
