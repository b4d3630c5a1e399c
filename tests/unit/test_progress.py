"""The progress tracker reads the runner's lines into mode, pass, round, precision and time left."""

from __future__ import annotations

import io

import pytest

from profkit.cli.progress import Lines, Plan, Quiet, Tracker, make_progress
from profkit.engine.coverage import CPROFILE_SLOWDOWN


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _tracker(**plan: object) -> tuple[Tracker, Clock]:
    clock = Clock()
    return Tracker(Plan(n_modes=2, **plan), clock=clock), clock  # type: ignore[arg-type]


def test_steps_name_the_mode_and_the_pass():
    t, clock = _tracker()
    t.update("processes:2: starting 2 workers")
    assert t.headline() == "processes:2 · start-up"
    t.update("sequential: warm-up, probing each task, sampling memory")
    assert t.headline() == "sequential · warm-up and task probe"
    assert t.seconds_left() is None
    assert t.timing() == "0.0 s elapsed · time left known after the first round"


def test_fixed_repeat_estimates_rounds_then_passes():
    t, clock = _tracker(repeat=5, line_budget=0.5)
    clock.now += 2.0
    t.update("round 1/5: sequential 0.6 s, processes 0.4 s")
    assert t.headline() == "timing rounds · round 1/5"
    assert t.rounds_left() == 4
    # 4 rounds of 1 s, then 4 passes (cProfile and lines for 2 modes) of (slowdown*0.5 + 0.5)/2 s
    assert t.seconds_left() == pytest.approx(4 * 1.0 + 4 * (CPROFILE_SLOWDOWN * 0.5 + 0.5) / 2)
    clock.now += 1.0
    t.update("round 2/5: processes 0.4 s, sequential 0.6 s; precision ±2.1% (target ±3%)")
    assert "precision ±2.1% (target ±3%)" in t.headline()
    assert t.rounds_left() == 3


def test_auto_rounds_follow_the_precision():
    t, clock = _tracker(max_rounds=25, max_time_s=1000)
    for n, width in enumerate([None, 12.0, 6.0], start=1):
        clock.now += 1.0
        tail = f"; precision ±{width}% (target ±3%)" if width else ""
        t.update(f"round {n}: sequential 0.5 s, threads 0.5 s{tail}")
    # ±6% after 3 rounds: (6/3)^2 * 3 = 12 rounds in all
    assert t.rounds_left() == 9
    assert "round 3 (auto, at most 25)" in t.headline()
    clock.now += 1.0
    t.update("round 4: sequential 0.5 s, threads 0.5 s; precision ±2.5% (target ±3%)")
    assert t.rounds_left() == 0


def test_auto_rounds_stop_at_the_time_cap_and_skip_set_aside_rounds():
    t, clock = _tracker(max_rounds=25, max_time_s=10)
    for n in range(1, 4):
        clock.now += 2.0
        t.update(f"round {n}: sequential 1 s, threads 1 s; set aside: other programs used 0.9 cores")
    assert t.set_aside == 3 and "3 set aside" in t.headline()
    # no clean round yet: rounds go on until --max-time (10 s; 6 s spent, 2 s a round)
    assert t.rounds_left() == 2


def test_closing_means_done():
    t, clock = _tracker(repeat=1)
    clock.now += 1
    t.update("round 1/1: sequential 0.5 s")
    t.update("sequential: closing the pool")
    assert t.seconds_left() == 0.0 and t.timing().endswith("finishing")


def test_sweep_rounds_have_no_estimate():
    t, clock = _tracker()
    clock.now += 1
    t.update("sweep processes:1: round 2: sequential 0.5 s, processes:1 0.5 s")
    assert t.label == "sweep processes:1" and t.seconds_left() is None


def test_choice_of_display():
    assert isinstance(make_progress(True), Quiet)
    stream = io.StringIO()
    display = make_progress(False, stream=stream)
    assert isinstance(display, Lines)
    display("round 1/3: sequential 0.5 s")
    assert stream.getvalue().endswith("] round 1/3: sequential 0.5 s\n")
