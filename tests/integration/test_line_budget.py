"""The line and cProfile passes hold their budgets in wall time in every mode, whatever the item's size."""

from __future__ import annotations

import time

from line_profiler import LineProfiler

from profkit.pipeline import profile
from profkit.render.console import render
from profkit.workloads.model import Workload
from tests.fixtures.line_budget_tasks import spin, spin_for, tiny, turns_for

MODES = ("sequential", "threads", "processes")


def test_a_3s_item_with_a_quarter_second_budget_costs_under_3s_of_line_pass_per_mode(tmp_path):
    n = turns_for(3.0)  # about 27 s per mode under line_profiler, were it not cut
    # the traced time per turn, measured here with a plain line_profiler
    probe = LineProfiler(spin)
    t0 = time.perf_counter()
    probe.runcall(spin, 200_000)
    traced_per_turn = (time.perf_counter() - t0) / 200_000

    run = profile(Workload("big", spin, [n]), modes=",".join(MODES), workers=2, repeat=1,
                  line_budget=0.25, profile_budget=0.25, out=tmp_path / "run")

    body = spin.__code__.co_firstlineno + 3
    for mode in MODES:
        assert run.meta["status"][mode] == "ok"
        info = run.meta["modes"][mode]
        task = run.tasks[run.tasks["mode"] == mode]
        assert float((task["end_s"] - task["start_s"]).iloc[0]) > 1.0  # the item is big
        assert info["phase_s"]["lines"] < 3.0, (mode, info["phase_s"])
        assert info["line_items"] == [0]
        cut = info["line_cut_s"]["0"]
        assert 0.2 <= cut <= info["phase_s"]["lines"]
        lines = run.lines[(run.lines["mode"] == mode) & (run.lines["lineno"] == body)]
        hits = int(lines["hits"].iloc[0])
        assert 0 < hits < n
        # the cut's seconds agree with the hits counted at the traced speed measured above
        assert 0.4 < hits * traced_per_turn / cut < 2.5, (mode, hits, traced_per_turn, cut)
        # cProfile: cut at its own budget too, and its self time agrees with the time until the cut
        assert info["phase_s"]["cprofile"] < 3.0, (mode, info["phase_s"])
        assert info["cprofile_indices"] == [0]
        profiled = info["cprofile_cut_s"]["0"]
        assert 0.2 <= profiled <= info["phase_s"]["cprofile"]
        calls = run.functions[(run.functions["mode"] == mode) & (run.functions["name"] == "spin")]
        assert int(calls["ncalls"].iloc[0]) == 1
        assert 0.5 < float(calls["self_s"].iloc[0]) / profiled < 1.1, (mode, profiled)
    text = render(run)
    assert "cProfile (processes): 1 of 1 items profiled: item 0 partial (cut by the budget after" \
        in text
    assert "Line pass (processes): 1 of 1 items traced: item 0 partial (cut by the budget after" in text
    page = (tmp_path / "run" / "index.html").read_text()
    assert "item 0 partial (cut by the budget after" in page


def test_20000_tiny_items_cost_one_dispatch_per_worker_and_hold_the_budget(tmp_path):
    """Per-item dispatch cost seconds here before (one submit per item): now one batch per
    tracing worker, stopped by the budget in wall time."""
    n = 20_000
    t0 = time.perf_counter()
    for i in range(n):
        tiny(i)
    bare = time.perf_counter() - t0
    run = profile(Workload("tiny", tiny, list(range(n))), modes="sequential,processes",
                  workers=2, repeat=1, line_budget=0.2)
    for mode in ("sequential", "processes"):
        info = run.meta["modes"][mode]
        assert info["phase_s"]["lines"] < 0.2 + 1.0, (mode, info["phase_s"])
        assert len(info["line_items"]) > 1000  # many items per dispatch
        assert len(info["line_cut_s"]) <= 2  # at most the item running at each worker's deadline
        body = run.lines[(run.lines["mode"] == mode)
                         & (run.lines["lineno"] == tiny.__code__.co_firstlineno + 2)]
        hits = int(body["hits"].iloc[0])  # each call runs the return line once
        assert len(info["line_items"]) - len(info["line_cut_s"]) <= hits <= len(info["line_items"])
    assert bare < 1.0  # the items are tiny: the pass's cost is not theirs


def test_the_cprofile_budget_covers_items_from_across_the_list_and_all_covers_every_item(tmp_path):
    items = list(range(12))
    budgeted = profile(Workload("spread", spin_for, [0.05] * 12), modes="sequential,processes",
                       workers=2, repeat=1, profile_budget=0.12, line_budget=0.05,
                       out=tmp_path / "budgeted")
    whole = profile(Workload("spread", spin_for, [0.05] * 12), modes="sequential,processes",
                    workers=2, repeat=1, profile_budget="all", line_budget=0.05)
    for mode in ("sequential", "processes"):
        info = budgeted.meta["modes"][mode]
        covered = info["cprofile_indices"]
        assert 0 < len(covered) < len(items), (mode, covered)
        assert covered == sorted(covered) and covered[0] == 0
        assert max(covered) >= len(items) // 2  # not only the start of the list
        calls = budgeted.functions[(budgeted.functions["mode"] == mode)
                                   & (budgeted.functions["name"] == "spin_for")]
        assert int(calls["ncalls"].iloc[0]) == len(covered)
        assert whole.meta["modes"][mode]["cprofile_indices"] == items
        assert whole.meta["modes"][mode]["cprofile_cut_s"] == {}
    assert whole.meta["options"]["profile_budget_s"] is None
    text = render(budgeted)
    assert f"cProfile (sequential): {len(budgeted.meta['modes']['sequential']['cprofile_indices'])}" \
        " of 12 items profiled" in text
    assert "cProfile (" not in render(whole)  # every item whole: nothing to say
    page = (tmp_path / "budgeted" / "index.html").read_text()
    assert "items taken from across the list" in page
