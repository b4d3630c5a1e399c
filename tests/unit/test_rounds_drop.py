"""Modes the decision rule stops timing early, with the fake executor: when a mode leaves the
rounds (every comparison it takes part in settled), when it never does (a close contest,
``--repeat N``, ``--precision``), and what the run then says and computes.

The fakes run inline and answer ``time_map`` from a script (see test_runner_fake.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from profkit.analysis import decision
from profkit.analysis.stats import paired_ratio
from profkit.engine.runner import run_workload
from profkit.executors import registry
from profkit.model import ModeSpec
from profkit.options import Options
from profkit.pipeline import build_run
from profkit.rawrun import RawRun
from profkit.render import console
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
    clean rounds, finds fake at 2x clearly ahead of fake_slow at 1x, so fake_slow is timed no
    more; the reference and fake go on to the third round. fake_slow's interval is the paired
    one over its two rounds at the early look's level, and the run says so in words."""
    three["fake"].walls = _scaled(0.5, [1.0, 1.01, 0.99, 1.0])
    three["fake_slow"].walls = _scaled(1.0, [1.0, 0.99, 1.01, 1.0])
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
        ("fake_slow", 2, decision.early_drop_level())]
    assert stop.dropped[0].settled == ("fake vs fake_slow",)
    assert any("fake_slow: timed in no more rounds" in line for line in said)

    run = build_run(raw)
    assert run.meta.stopping is not None
    assert run.meta.stopping["dropped"] == [{"mode": "fake_slow", "clean_rounds": 2,
                                             "level": decision.early_drop_level(),
                                             "settled": ["fake vs fake_slow"]}]
    ref, slow = _walls_of(raw, "fake_ref"), _walls_of(raw, "fake_slow")
    truth = paired_ratio([ref[0], ref[1]], [slow[0], slow[1]], level=decision.early_drop_level())
    fast = paired_ratio(list(ref.values()), list(_walls_of(raw, "fake").values()),
                        level=decision.cap_level())
    entry, chosen = run.analysis.modes["fake_slow"], run.analysis.modes["fake"]
    assert entry.repeats == 2 and chosen.repeats == 3
    assert truth is not None and fast is not None and entry.speedup_ci and chosen.speedup_ci
    assert entry.speedup_ci == pytest.approx([truth.low, truth.high])
    assert chosen.speedup_ci == pytest.approx([fast.low, fast.high])
    text = console.render(run)
    assert ("fake_slow was timed in 2 clean rounds only: after them fake vs fake_slow was "
            "settled") in text and "at 98%" in text


def test_a_close_contest_keeps_every_pool_in_every_round(three):
    """fake at 2x and fake_slow at 1.96x (within the 5% that picks the simpler one, noisy):
    nothing is settled between them, so neither leaves, whichever look comes."""
    three["fake"].walls = _scaled(0.5, [1.0, 1.03, 0.98, 1.02, 0.97, 1.01, 1.0, 0.99])
    three["fake_slow"].walls = _scaled(0.51, [1.02, 0.98, 1.03, 0.97, 1.0, 1.02, 0.99, 1.0])
    for cap_s in (0.0, 60.0):
        raw = _run(max_rounds_s=cap_s, max_rounds=8)
        assert not raw.stops[0].dropped
        everyone = [r.number for r in raw.rounds]
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
    everyone = [r.number for r in raw.rounds]
    assert _rounds_of(raw, "fake_slow") == _rounds_of(raw, "fake") == everyone
    assert len(everyone) >= 3
