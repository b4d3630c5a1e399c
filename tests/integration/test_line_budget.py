"""The line and cProfile passes cover whole items: every one when cheap, else a sample, and
an item is cut only when it runs far past its estimate (the watchdog's safety net)."""

from __future__ import annotations

import time

import pytest

from profkit.analysis.own_frames import own_mask
from profkit.engine.coverage import SAFETY_FACTOR, SAFETY_SLACK_S
from profkit.pipeline import profile
from profkit.render.console import render
from profkit.workloads.model import Workload
from tests.fixtures.line_budget_tasks import slow_when_traced, spin, spin_for, tiny, turns_for

MODES = ("sequential", "threads", "processes")


def test_a_big_item_is_profiled_whole_and_a_line_pass_it_cannot_afford_says_why(tmp_path):
    n = turns_for(3.0)  # about 27 s under line_profiler: more than the one-item limit of 10 s
    run = profile(Workload("big", spin, [n]), modes=",".join(MODES), workers=2, repeat=1,
                  out=tmp_path / "run")
    for mode in MODES:
        assert run.meta.status[mode] == "ok"
        info = run.meta.modes[mode]
        # cProfile: the one item, whole (its calls and self time are the whole item's)
        assert info.cprofile_indices == [0] and info.cprofile_cut_s == {}
        calls = run.functions[(run.functions["mode"] == mode) & (run.functions["name"] == "spin")]
        assert int(calls["ncalls"].iloc[0]) == 1
        # line_profiler: not run, and run.json says what one item would cost
        assert info.line_items == [] and info.line_cheapest_s > 10.0, info
        assert "lines" not in info.phase_s
    text = render(run)
    assert "Profiles cover: cProfile every item; line_profiler no item" in text
    page = (tmp_path / "run" / "index.html").read_text()
    assert "every item profiled whole (1 of 1)" in page


@pytest.mark.matrix
def test_an_item_far_slower_than_its_estimate_is_cut_by_the_safety_net(tmp_path):
    """10 ms in the probe, 30 s under a profiler: the pass cuts it at 4x its estimate + 1 s."""
    t0 = time.perf_counter()
    run = profile(Workload("liar", slow_when_traced, [30.0]), modes="sequential,processes",
                  workers=1, repeat=1, out=tmp_path / "run")
    took = time.perf_counter() - t0
    cap = SAFETY_FACTOR * 0.01 * 9 + SAFETY_SLACK_S  # the line pass's: 9x the 10 ms estimate
    for mode in ("sequential", "processes"):
        info = run.meta.modes[mode]
        assert info.line_items == [0] and 0.9 * SAFETY_SLACK_S <= info.line_cut_s["0"] < 3 * cap
        assert info.cprofile_indices == [0] and info.cprofile_cut_s["0"] < 3 * cap
        # the cut item's time until the cut stays in the profile (a pool worker runs no other
        # thread than the watchdog's)
        functions = run.functions[run.functions["mode"] == mode]
        task_s = functions[~own_mask(functions["filename"], functions["name"])]["self_s"].sum()
        assert 0.5 < task_s / info.cprofile_cut_s["0"] < 1.1, (mode, task_s, info.cprofile_cut_s)
    assert took < 30.0  # no pass ran the 30 s item to its end
    assert "cut short" in render(run)


def test_20000_tiny_items_are_a_whole_item_sample_in_one_dispatch_per_worker(tmp_path):
    n = 20_000
    t0 = time.perf_counter()
    for i in range(n):
        tiny(i)
    bare = time.perf_counter() - t0
    run = profile(Workload("tiny", tiny, list(range(n))), modes="sequential,processes",
                  workers=2, repeat=1, line_budget=0.05)
    for mode in ("sequential", "processes"):
        info = run.meta.modes[mode]
        assert info.phase_s["lines"] < 0.05 * 2 + 1.5, (mode, info.phase_s)
        assert 1000 < len(info.line_items) < n  # a sample, many items per dispatch
        assert info.line_cut_s == {}
        body = run.lines[(run.lines["mode"] == mode)
                         & (run.lines["lineno"] == tiny.__code__.co_firstlineno + 2)]
        assert int(body["hits"].iloc[0]) == len(info.line_items)  # each item whole
        items = info.line_items
        assert min(items) == 0 and max(items) >= n // 2  # from across the list
    assert bare < 1.0  # the items are tiny: the pass's cost is not theirs


def test_a_budget_takes_whole_items_from_across_the_list_and_all_covers_every_item(tmp_path):
    items = list(range(12))
    budgeted = profile(Workload("spread", spin_for, [0.05] * 12), modes="sequential,processes",
                       workers=2, repeat=1, profile_budget=0.2, line_budget=0.05,
                       out=tmp_path / "budgeted")
    whole = profile(Workload("spread", spin_for, [0.05] * 12), modes="sequential,processes",
                    workers=2, repeat=1, profile_budget="all", line_budget=0.05)
    for mode in ("sequential", "processes"):
        info = budgeted.meta.modes[mode]
        covered = info.cprofile_indices
        assert 0 < len(covered) < len(items), (mode, covered)
        assert info.cprofile_cut_s == {} and info.cprofile_complete is False
        assert covered[0] == 0 and max(covered) >= len(items) // 2  # not only the start
        calls = budgeted.functions[(budgeted.functions["mode"] == mode)
                                   & (budgeted.functions["name"] == "spin_for")]
        assert int(calls["ncalls"].iloc[0]) == len(covered)
        assert whole.meta.modes[mode].cprofile_indices == items
        assert whole.meta.modes[mode].cprofile_cut_s == {}
    assert whole.meta.options["profile_budget_s"] == "all"
    n_seq = len(budgeted.meta.modes["sequential"].cprofile_indices)
    assert f"Profiles cover: cProfile items of 12: sequential {n_seq}" in render(budgeted) or \
        f"Profiles cover: cProfile {n_seq} of 12 items" in render(budgeted)
    page = (tmp_path / "budgeted" / "index.html").read_text()
    assert f"{n_seq} of 12 items profiled" in page and "taken from across the list" in page
