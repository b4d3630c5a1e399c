"""Modes the decision rule stops timing early.

With the fake executor (it runs inline and answers ``time_map`` from a script, see
test_runner_fake.py): when a mode leaves the rounds (every comparison it takes part in
settled), when it never does (a close contest, ``--repeat N``, ``--precision``), and what the
run then says and computes. Then a simulation: synthetic walls of known truth (lognormal
noise, fixed seeds) through profkit's own ``run_rounds``, measuring the decision's error rate
and the intervals' coverage against the stated ones.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from profkit.analysis import decision
from profkit.analysis.stats import RatioEstimate, paired_ratio
from profkit.engine import rounds
from profkit.engine.rounds import clean_walls, run_rounds
from profkit.engine.runner import run_workload
from profkit.executors import registry
from profkit.model import ModeResult, ModeSpec
from profkit.options import Options
from profkit.pipeline import build_run
from profkit.rawrun import RawRun
from profkit.render import console
from profkit.render.report.summary import rounds as report_rounds
from profkit.workloads.model import Workload
from tests.unit.test_runner_fake import ITEMS, Fake, fakes, square  # noqa: F401 - the fixture

#: The reference's walls round by round, with load that comes and goes (it cancels in the pairs).
REF = [1.0, 1.06, 0.97, 1.03, 0.99, 1.05, 1.0, 0.98]


def _scaled(factor: float, jitter: list[float]) -> list[float]:
    return [factor * r * j for r, j in zip(REF, jitter, strict=False)]


@pytest.fixture
def three(fakes: dict[str, type[Fake]]) -> dict[str, type[Fake]]:  # noqa: F811 - the fixture
    """fake_ref (the reference), fake (a pool) and fake_slow (another pool), one log."""
    slow = type("Slow", (Fake,), {"log": fakes["fake"].log})
    registry.register("fake_slow", slow)
    fakes["fake_ref"].walls = list(REF)
    return {**fakes, "fake_slow": slow}


def _run(**kw: Any) -> RawRun:
    specs = [ModeSpec("fake_ref", 1, parallel=False), ModeSpec("fake", 2), ModeSpec("fake_slow", 2)]
    base: dict[str, Any] = {"modes": specs, "repeat": None, "collectors": ("timing", "tasks"),
                            "memory_interval_s": 0.05, "seed": 3, "spoiled_cores": 1e9}
    return run_workload(Workload("fake", square, list(ITEMS)), Options(**{**base, **kw}))


def _rounds_of(raw: RawRun, kind: str) -> list[int]:
    mode = next(m for m in raw.modes if m.spec.kind == kind)
    return [t.round for t in mode.timings if t.phase == "map"]


def _walls_of(raw: RawRun, kind: str) -> dict[int, float]:
    mode = next(m for m in raw.modes if m.spec.kind == kind)
    return {t.round: t.wall_s for t in mode.timings if t.phase == "map"}


def test_a_clearly_slower_pool_leaves_after_two_rounds_of_a_run_the_time_cap_ends(three):
    """Long rounds (the time cap is spent before the third): the one early look, after two
    clean rounds, finds fake at 2x clearly ahead of fake_slow at 1x, while fake's gain over a
    noisy reference is still open; so fake_slow is timed no more, and the reference and fake go
    on to the third round. fake_slow's interval is the paired one over its two rounds at the
    early look's level, and the run says so in words."""
    three["fake_ref"].walls = [1.0, 1.5, 0.8, 1.2]
    three["fake"].walls = [0.5, 0.5, 0.5, 0.5]
    three["fake_slow"].walls = [1.0, 1.01, 0.99, 1.0]
    said: list[str] = []
    raw = run_workload(Workload("fake", square, list(ITEMS)), Options(
        modes=[ModeSpec("fake_ref", 1, parallel=False), ModeSpec("fake", 2), ModeSpec("fake_slow", 2)],
        repeat=None, collectors=("timing", "tasks"), memory_interval_s=0.05, seed=3,
        spoiled_cores=1e9, max_rounds_s=0.0), said.append)
    assert _rounds_of(raw, "fake_ref") == _rounds_of(raw, "fake") == [0, 1, 2]
    assert _rounds_of(raw, "fake_slow") == [0, 1]
    assert [sorted(r.order) for r in raw.rounds] == [
        ["fake", "fake_ref", "fake_slow"], ["fake", "fake_ref", "fake_slow"], ["fake", "fake_ref"]]
    stop = raw.stops[0]
    assert stop.reason is decision.Reason.TIME and stop.level == decision.cap_level()
    assert [(d.mode, d.clean, d.level) for d in stop.dropped] == [
        ("fake_slow", 2, decision.early_level())]
    assert stop.dropped[0].settled == ("fake vs fake_slow",)
    assert any("fake_slow: timed in no more rounds" in line for line in said)

    run = build_run(raw)
    assert run.meta.stopping is not None
    assert run.meta.stopping["dropped"] == [{"mode": "fake_slow", "clean_rounds": 2,
                                             "level": decision.early_level(),
                                             "settled": ["fake vs fake_slow"]}]
    ref, slow = _walls_of(raw, "fake_ref"), _walls_of(raw, "fake_slow")
    truth = paired_ratio([ref[0], ref[1]], [slow[0], slow[1]], level=decision.early_level())
    fast = paired_ratio(list(ref.values()), list(_walls_of(raw, "fake").values()),
                        level=decision.cap_level())
    entry, chosen = run.analysis.modes["fake_slow"], run.analysis.modes["fake"]
    assert entry.repeats == 2 and chosen.repeats == 3
    assert truth is not None and fast is not None and entry.speedup_ci and chosen.speedup_ci
    assert entry.speedup_ci == pytest.approx([truth.low, truth.high])
    assert chosen.speedup_ci == pytest.approx([fast.low, fast.high])
    said_once = ("fake_slow was timed in 2 clean rounds only: after them fake vs fake_slow was "
                 "settled")
    text = console.render(run)
    assert said_once in text and "at 98%" in text
    assert said_once in report_rounds(run.meta, run.analysis)["text"]


def test_a_settled_recommendation_ends_a_run_of_long_rounds_at_the_early_look(three):
    """Long rounds, and after two clean rounds fake's 2x is settled against the reference and
    against fake_slow: the run ends there, its intervals at the early look's level."""
    three["fake"].walls = _scaled(0.5, [1.0, 1.01, 0.99, 1.0])
    three["fake_slow"].walls = _scaled(1.0, [1.0, 0.99, 1.01, 1.0])
    raw = _run(max_rounds_s=0.0)
    stop = raw.stops[0]
    assert stop.reason is decision.Reason.SETTLED and stop.clean == 2 and not stop.dropped
    assert stop.level == decision.early_level() and stop.decision is not None
    assert stop.decision.choice == "fake"
    assert _rounds_of(raw, "fake_ref") == _rounds_of(raw, "fake") == _rounds_of(raw, "fake_slow") == [0, 1]
    ref, fast = _walls_of(raw, "fake_ref"), _walls_of(raw, "fake")
    truth = paired_ratio(list(ref.values()), list(fast.values()), level=decision.early_level())
    entry = build_run(raw).analysis.modes["fake"]
    assert truth is not None and entry.speedup_ci == pytest.approx([truth.low, truth.high])


def test_with_nothing_to_recommend_the_early_look_does_not_end_the_run(three):
    """Both pools clearly no faster than the reference after two rounds: that is settled, but
    the early look ends only a run that recommends a pool, so the cap ends this one at 3."""
    three["fake"].walls = _scaled(1.0, [1.0, 1.01, 0.99, 1.0])
    three["fake_slow"].walls = _scaled(1.6, [1.0, 0.99, 1.01, 1.0])
    raw = _run(max_rounds_s=0.0)
    assert raw.stops[0].reason is decision.Reason.TIME and len(raw.rounds) == 3
    assert not raw.stops[0].dropped


def test_a_close_contest_keeps_every_pool_in_every_round(three):
    """fake at 2x and fake_slow at 1.96x (within the 5% that picks the simpler one, noisy):
    nothing is settled between them, so neither leaves, whichever look comes."""
    three["fake"].walls = _scaled(0.5, [1.0, 1.03, 0.98, 1.02, 0.97, 1.01, 1.0, 0.99])
    three["fake_slow"].walls = _scaled(0.51, [1.02, 0.98, 1.03, 0.97, 1.0, 1.02, 0.99, 1.0])
    for cap_s in (0.0, 60.0):
        raw = _run(max_rounds_s=cap_s, max_rounds=8)
        assert not raw.stops[0].dropped
        everyone = [r.round for r in raw.rounds]
        assert len(everyone) >= 3
        assert _rounds_of(raw, "fake_slow") == _rounds_of(raw, "fake") == everyone


def test_a_mode_leaves_at_a_look_while_the_recommendation_stays_open(three):
    """Short rounds (no time cap): at the first look, 3 clean rounds, fake is clearly ahead of
    fake_slow but its gain over the noisy reference is not yet settled; fake_slow leaves at the
    look's level and the reference and fake go on."""
    fakes_walls = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    three["fake_ref"].walls = [0.56, 1.3, 0.6, 1.2, 1.25, 0.6, 1.3, 0.62]
    three["fake"].walls = fakes_walls
    three["fake_slow"].walls = [1.0, 1.01, 0.99, 1.0]
    raw = _run(max_rounds_s=60.0, max_rounds=8)
    schedule = decision.looks(3, 8)
    stop = raw.stops[0]
    assert [(d.mode, d.clean, d.level) for d in stop.dropped] == [
        ("fake_slow", 3, decision.look_level(len(schedule)))]
    assert _rounds_of(raw, "fake_slow") == [0, 1, 2]
    assert len(_rounds_of(raw, "fake")) == len(raw.rounds) > 3


@pytest.mark.parametrize("kw", [{"repeat": 3}, {"precision": 0.5}], ids=["--repeat 3", "--precision"])
def test_repeat_and_precision_time_every_mode_every_round(three, kw):
    """The same clear case as above: with --repeat N, or --precision, no mode leaves."""
    three["fake"].walls = _scaled(0.5, [1.0, 1.01, 0.99, 1.0])
    three["fake_slow"].walls = _scaled(1.0, [1.0, 0.99, 1.01, 1.0])
    raw = _run(max_rounds_s=0.0, max_rounds=4, **kw)
    assert not raw.stops[0].dropped
    everyone = [r.round for r in raw.rounds]
    assert _rounds_of(raw, "fake_slow") == _rounds_of(raw, "fake") == everyone
    assert len(everyone) >= 3


# -- simulation: synthetic walls of known truth through profkit's own rounds -----------------


class _Synthetic:
    """A contender whose k-th map takes the round's shared load times its own lognormal noise,
    over its true speedup: a mode the rounds time without any pool."""

    map_thread_cpu_s = math.nan

    def __init__(self, kind: str, workers: int, truth: float, loads: np.ndarray,
                 noise: np.ndarray) -> None:
        self.result = ModeResult(spec=ModeSpec(kind, workers), traits=registry.traits_of(kind))
        self.live, self.name, self.truth = True, kind, truth
        self.reference = self.result.traits.reference
        self._loads, self._noise, self._maps = loads, noise, 0

    def attempt(self, action: Callable[[], None]) -> bool:
        action()
        return True

    def time_map(self, items: list[object], task: Callable[[object], object]) -> tuple[float, float]:
        k, self._maps = self._maps, self._maps + 1  # a mode times no map after it leaves
        wall = float(self._loads[k] * math.exp(self._noise[k]) / self.truth)
        return wall, wall


class _QuietMeter:
    """No other programs: the simulated rounds are never spoiled (the load is in the walls)."""

    def __init__(self, extra_pids: list[int] | None = None,
                 foreign_pids: set[int] | None = None) -> None:
        pass

    def start(self) -> None:
        pass

    def stop(self) -> float:
        return 0.0


@pytest.fixture
def quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rounds read no machine load (reading it is most of a simulated run's time)."""
    monkeypatch.setattr(rounds, "LoadMeter", _QuietMeter)


def _simulated_run(rng: np.random.Generator, sigma: float, truths: dict[str, float],
                   max_time_s: float, max_rounds: int = 25) -> tuple[decision.Stop, list[_Synthetic]]:
    """One default run through profkit's own run_rounds: a time cap of 0 s is a run of long
    rounds (the cap ends it at min_rounds, after the one early look); inf, one the looks end."""
    loads = np.exp(rng.normal(0.0, 0.10, max_rounds))
    modes = [_Synthetic("sequential", 1, 1.0, loads, rng.normal(0.0, sigma, max_rounds))]
    modes += [_Synthetic(k, 2, v, loads, rng.normal(0.0, sigma, max_rounds)) for k, v in truths.items()]
    options = Options(modes=[ModeSpec("sequential", 1)], repeat=None, max_rounds=max_rounds,
                      max_rounds_s=max_time_s)
    stops: list[decision.Stop] = []
    run_rounds(list(modes), [0], square, options, lambda line: None, random.Random(0), stops=stops)
    return stops[0], modes


def _reported(stop: decision.Stop, modes: list[_Synthetic], name: str) -> RatioEstimate | None:
    """A mode's speedup interval as the run reports it: over the rounds it ran, at its level."""
    level = max([stop.level, *(d.level for d in stop.dropped if d.mode == name)])
    ref = clean_walls(modes[0].result.timings)
    walls = clean_walls(next(m for m in modes if m.name == name).result.timings)
    common = sorted(set(ref) & set(walls))
    return paired_ratio([ref[r] for r in common], [walls[r] for r in common], level=level)


def _mc_allowance(rate: float, trials: int) -> float:
    """Two and a half standard errors of a simulated rate: the simulation's own noise."""
    return 2.5 * math.sqrt(rate * (1.0 - rate) / trials)


#: Truths, the recommendation they call for (the fastest pool that gains 10%, a simpler one
#: within 5% of it), and the regime: long rounds the time cap ends at 3 (one early look after
#: 2), or short ones the looks end.
DROP_CASES = [
    ({"threads": 1.0, "processes": 1.9}, "processes", 0.0),  # the big items' case
    ({"threads": 1.0, "processes": 1.16}, "processes", 0.0),  # a pool barely ahead
    ({"threads": 1.10, "processes": 1.40}, "processes", 0.0),
    ({"threads": 1.20, "processes": 1.25}, "threads", 0.0),  # within 5%: the simpler one
    ({"threads": 1.0, "processes": 1.9}, "processes", math.inf),
    ({"threads": 1.20, "processes": 1.25}, "threads", math.inf),
]


@pytest.mark.parametrize(("truths", "right", "cap_s"), DROP_CASES)
def test_dropping_keeps_the_decisions_error_rate_and_every_intervals_level(quiet, truths, right, cap_s):
    """With modes leaving the rounds, a settled recommendation is wrong at most 5% of the time;
    every mode's reported interval (a dropped one's over its rounds, at its look's level) covers
    the truth at least 95% of the time, over all runs and over the runs that dropped it (the
    simulation's own error allowed)."""
    trials, sigma = 4000, 0.05
    rng = np.random.default_rng(int(100 * sum(truths.values())) + (0 if cap_s == 0 else 1))
    wrong = 0
    covered: dict[str, list[bool]] = {k: [] for k in truths}
    covered_dropped: dict[str, list[bool]] = {k: [] for k in truths}
    for _ in range(trials):
        stop, modes = _simulated_run(rng, sigma, truths, cap_s)
        if stop.decision is not None and stop.decision.settled:
            wrong += stop.decision.choice != right
        left = {d.mode for d in stop.dropped}
        for name, truth in truths.items():
            e = _reported(stop, modes, name)
            assert e is not None and e.low is not None and e.high is not None
            covered[name].append(e.low <= truth <= e.high)
            if name in left:
                covered_dropped[name].append(covered[name][-1])
    assert wrong / trials <= 0.05 + _mc_allowance(0.05, trials), wrong
    for name in truths:
        rate = float(np.mean(covered[name]))
        assert rate >= 0.95 - _mc_allowance(0.95, trials), (name, rate)
        n = len(covered_dropped[name])
        if n >= 50:
            rate = float(np.mean(covered_dropped[name]))
            assert rate >= 0.95 - _mc_allowance(0.95, n), (name, n, rate)


def test_the_big_items_case_mostly_saves_maps_and_its_early_answers_keep_their_level(quiet):
    """The big items' case (threads 1.0x, processes 1.9x, 2% noise per map) in long rounds: the
    early look after two rounds ends most runs (a settled recommendation) or drops threads, so
    on average well under the 3 rounds' 7.6 serial maps are timed (threads and sequential 1
    each, processes 1 / 1.9); in the runs it ends, each mode's interval still covers the truth
    95% of the time (each interval's claim; both at once is no claim, and is about 93%)."""
    rng = np.random.default_rng(19)
    truths = {"threads": 1.0, "processes": 1.9}
    trials, maps, early = 2000, [], []
    for _ in range(trials):
        stop, modes = _simulated_run(rng, 0.02, truths, 0.0)
        timed = {m.name: len([t for t in m.result.timings if t.phase == "map"]) for m in modes}
        assert timed["sequential"] == timed["processes"] <= 3
        assert timed["threads"] == (2 if stop.dropped or stop.clean == 2 else 3)
        assert stop.decision is not None and (stop.decision.choice == "processes"
                                              or not stop.decision.settled)
        maps.append(timed["sequential"] + timed["threads"] + timed["processes"] / 1.9)
        if stop.reason is decision.Reason.SETTLED:
            assert stop.clean == 2 and stop.level == decision.early_level()
            early.append({k: _covers(_reported(stop, modes, k), v) for k, v in truths.items()})
    assert float(np.mean(maps)) <= 0.85 * 3 * (2 + 1 / 1.9), np.mean(maps)
    assert len(early) >= 0.25 * trials, len(early)
    for name in truths:
        rate = float(np.mean([covered[name] for covered in early]))
        assert rate >= 0.95 - _mc_allowance(0.95, len(early)), (name, rate)


def _covers(e: RatioEstimate | None, truth: float) -> bool:
    return e is not None and e.low is not None and e.high is not None and e.low <= truth <= e.high
