"""Interleaved rounds: one bare map per mode per round, in a fresh random order.

Load that comes and goes then falls on every mode alike, and each round gives
one paired ratio per mode against the reference. With ``repeat=None`` (auto)
Stein's two-stage rule sets how many rounds to run: the first ``min_rounds``
clean rounds are a pilot, whose spread gives the rounds that bring every
estimate within ``precision`` (and at least two more); a cap on rounds or
seconds may end the run sooner (the seconds cap only after ``min_rounds``).
Later rounds never stop the run early, so the intervals of short runs keep
their level. Rounds in
which other programs used more than ``spoiled_cores`` of a core are marked
spoiled; they do not count towards the precision, so auto mode runs more rounds
to replace them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from profkit.analysis.stats import RatioEstimate, level_estimate, paired_ratio, stein_rounds
from profkit.engine.load import LoadMeter
from profkit.model import ModeResult, Precision, RoundInfo, Timing
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

    def time_map(self, items: list[Any], task: Callable[[Any], Any]) -> tuple[float, float]: ...

    @property
    def map_thread_cpu_s(self) -> float:
        """CPU of the one thread that ran the last map's items (sequential), else NaN."""
        ...


def clean_walls(timings: list[Timing], rounds: set[int] | None = None) -> dict[int, float]:
    """Round number -> wall seconds of a mode's timed maps, spoiled rounds left out."""
    return {t.round: t.wall_s for t in timings
            if t.phase == "map" and not t.spoiled and (rounds is None or t.round in rounds)}


def estimate(mode: ModeResult, reference: ModeResult | None) -> RatioEstimate | None:
    """The speedup against the reference over clean paired rounds; a wall time if no reference."""
    walls = clean_walls(mode.timings)
    if reference is None or reference is mode:
        return level_estimate(list(walls.values()))
    ref = clean_walls(reference.timings)
    common = sorted(set(walls) & set(ref))
    return paired_ratio([ref[r] for r in common], [walls[r] for r in common])


def pair_precision(pairs: list[tuple[Contender, Contender]], target: float) -> list[Precision]:
    """How precise each pair's B / A ratio is so far, over the clean rounds both ran in."""
    out = []
    for a, b in pairs:
        walls_a, walls_b = clean_walls(a.result.timings), clean_walls(b.result.timings)
        common = sorted(set(walls_a) & set(walls_b))
        est = paired_ratio([walls_b[r] for r in common], [walls_a[r] for r in common])
        half = est.half_width if est else None
        out.append(Precision(f"{a.name} vs {b.name}", half, target, half is not None and half <= target))
    return out


def precision_of(contenders: list[Contender], target: float) -> list[Precision]:
    """How precise each mode's estimate is so far (the reference only when it stands alone)."""
    reference = next((c.result for c in contenders if c.reference and c.live), None)
    out = []
    for c in contenders:
        if c.reference and len(contenders) > 1:
            continue
        est = estimate(c.result, reference)
        half = est.half_width if est else None
        out.append(Precision(c.name, half, target, half is not None and half <= target))
    return out


def run_rounds(contenders: list[Contender], items: list[Any], task: Callable[[Any], Any],
               options: Options, progress: Callable[[str], None], rng: random.Random, *,
               first_round: int = 0, sweep: bool = False, label: str = "",
               pairs: list[tuple[Contender, Contender]] | None = None,
               foreign_pids: set[int] | None = None) -> list[RoundInfo]:
    """Time the rounds Stein's rule plans, or until a cap (or exactly ``options.repeat``)."""
    rounds: list[RoundInfo] = []
    max_rounds = options.repeat if options.repeat is not None else options.max_rounds
    t_start = time.perf_counter()
    meter = LoadMeter(foreign_pids=foreign_pids)
    planned: int | None = None
    while len(rounds) < max_rounds:
        live = [c for c in contenders if c.live]
        if not live:
            break
        number = first_round + len(rounds)
        order = list(live)
        rng.shuffle(order)
        new: list[tuple[str, Timing]] = []
        t0 = time.perf_counter()
        meter.start()
        for position, c in enumerate(order):
            c.attempt(partial(_time_one, c, items, task, number, position, new))
        others = meter.stop()
        spoiled = others > options.spoiled_cores
        for _, timing in new:
            timing.others_cpu, timing.spoiled = others, spoiled
        rounds.append(RoundInfo(number=number, order=[c.name for c in order],
                                wall_s=time.perf_counter() - t0, others_cpu=others,
                                spoiled=spoiled, sweep=sweep))
        precision = (pair_precision([(a, b) for a, b in pairs if a.live and b.live], options.precision)
                     if pairs is not None else
                     precision_of([c for c in contenders if c.live], options.precision))
        progress(_describe(label, len(rounds), max_rounds, options, new, spoiled, others, precision))
        if options.repeat is not None:
            continue
        clean = sum(1 for r in rounds if not r.spoiled)
        if planned is None and clean >= options.min_rounds:
            planned = max((stein_rounds(p.half_width, clean, options.precision) for p in precision),
                          default=clean)
        if planned is not None and clean >= planned:
            break
        if time.perf_counter() - t_start >= options.max_rounds_s and len(rounds) >= options.min_rounds:
            break
    return rounds


def _time_one(c: Contender, items: list[Any], task: Callable[[Any], Any], number: int,
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
        text += f"; precision ±{100 * max(widths):.1f}% (target ±{100 * options.precision:g}%)"
    if spoiled:
        text += f"; set aside: other programs used {others:.2f} cores"
    return text
