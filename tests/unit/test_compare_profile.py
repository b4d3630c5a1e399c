"""Hot lines, call trees and the differential icicle, from real cProfile stats and known frames."""

from __future__ import annotations

import cProfile
import pstats
import re

import pandas as pd
import pytest

import profkit
from profkit.analysis.compare import (
    CompareNote,
    CompareNoteKind,
    Comparison,
    FunctionChange,
    RunInfo,
    compare_mode,
)
from profkit.analysis.compare_profile import call_tree, compare_lines, diff_trees
from profkit.analysis.records import Analysis


def spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def part_one(n: int) -> int:
    return spin(n)


def part_two(n: int) -> int:
    return spin(n) if n else 0  # with 0, the path part_two -> spin is absent from the profile


def task(one: int, two: int) -> int:
    return part_one(one) + part_two(two)


def _profile(one: int, two: int) -> pstats.Stats:
    profiler = cProfile.Profile()
    profiler.enable()
    task(one, two)
    profiler.disable()
    return pstats.Stats(profiler)


def _find(node, name):
    if node.name == name:
        return node
    for child in node.children:
        found = _find(child, name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def trees():
    a = _profile(20_000, 20_000)
    b = _profile(20_000, 60_000)  # part_two's spin does three times the work
    return call_tree(a), call_tree(b)


def test_call_tree_splits_a_shared_callee_by_its_callers():
    stats = _profile(20_000, 60_000)
    tree = call_tree(stats)
    (top,) = [c for c in tree.children.values() if c.key[2] == "task"]
    parts = {k[2]: v for k, v in top.children.items()}
    assert set(parts) >= {"part_one", "part_two"}
    edges = {caller[2]: edge[3] for (_, _, name), v in stats.stats.items() if name == "spin"
             for caller, edge in v[4].items()}
    for part in ("part_one", "part_two"):
        (spin_node,) = parts[part].children.values()
        assert spin_node.key[2] == "spin"
        # each path gets its own caller's edge time of spin, not spin's total
        assert spin_node.total_s == pytest.approx(edges[part])
        assert spin_node.self_s == pytest.approx(edges[part])
    assert top.total_s == pytest.approx(sum(c.total_s for c in top.children.values()) + top.self_s, rel=0.05)


def test_diff_tree_points_at_the_path_that_grew():
    # real timings on a shared machine: a preempted call can look slow, so allow fresh profiles
    for _ in range(3):
        diff = diff_trees(call_tree(_profile(50_000, 50_000)), call_tree(_profile(50_000, 150_000)))
        spin_two, spin_one = _find(diff, "part_two").children[0], _find(diff, "part_one").children[0]
        assert spin_two.name == spin_one.name == "spin"
        if spin_two.self_delta_s > 3 * abs(spin_one.self_delta_s) and diff.total_b_s > diff.total_a_s:
            break
    else:
        pytest.fail(f"the grown path is not the one that stands out: {spin_two} vs {spin_one}")


def test_a_path_in_one_tree_only_counts_zero_in_the_other():
    a = call_tree(_profile(20_000, 20_000))
    b = call_tree(_profile(20_000, 0))  # part_two does not call spin: a path in tree a only
    diff = diff_trees(a, b)
    spin_two = _find(diff, "part_two").children
    assert spin_two and spin_two[0].total_b_s == 0.0 and spin_two[0].total_a_s > 0


def _lines(rows):
    return pd.DataFrame([{"mode": "processes", "function": f, "filename": "/w.py", "func_lineno": 1,
                          "lineno": n, "hits": 1, "time_s": t, "pct": 0.0, "source": src}
                         for f, n, src, t in rows])


def test_hot_lines_match_by_source_and_rank_by_share_moved():
    a = _lines([("task", 3, "    x = one()", 1.0), ("task", 4, "    y = two()", 1.0),
                ("task", 5, "    return x + y", 0.0)])
    # B: a comment line above shifts every line down by one; two() now takes 3x the time
    b = _lines([("task", 4, "    x = one()", 1.0), ("task", 5, "    y = two()", 3.0),
                ("task", 6, "    return x + y", 0.0), ("task", 7, "    z = new()", 0.2)])
    changes = compare_lines(a, b)["processes"]
    top = changes[0]
    assert top.source in ("y = two()", "x = one()")
    by_source = {c.source: c for c in changes}
    two = by_source["y = two()"]
    assert (two.lineno_a, two.lineno_b) == (4, 5)
    assert two.share_a_pct == pytest.approx(50.0)
    assert two.share_b_pct == pytest.approx(300 / 4.2)
    assert by_source["x = one()"].delta_pts == pytest.approx(100 / 4.2 - 50)
    assert by_source["z = new()"].status == "new"
    assert "return x + y" not in by_source  # 0% in both: it did not move


def _info(name: str) -> RunInfo:
    return RunInfo(path=f"/tmp/{name}", workload=name, target=name, started_at=None, python="3.11",
                   platform="x", cpus=2, start_method="fork", repeat=5)


def test_compare_html_has_the_rule_the_lines_and_an_offline_icicle(trees):
    from profkit.analysis.compare_profile import LineChange
    from profkit.render.compare_html import GENERATOR, render

    evil = "<script>alert('x')</script>"
    comparison = Comparison(
        run_a=_info(evil), run_b=_info(evil),
        modes=[compare_mode("processes", [1.0, 1.1, 1.2], [1.5, 1.6, 1.7], workers_a=2, workers_b=4)],
        functions={"processes": [FunctionChange(
            mode="processes", function=evil, name=evil, filename="~", lineno=0, self_a_s=0.0,
            self_b_s=0.5, delta_s=0.5, change_pct=None, ncalls_a=0, ncalls_b=3, status="new")]},
        lines={"processes": [LineChange(mode="processes", function=evil, source=f"x = '{evil}'",
                                        lineno_a=3, lineno_b=4, filename="/w.py", time_a_s=1.0, time_b_s=3.0,
                                        share_a_pct=50.0, share_b_pct=75.0, delta_pts=25.0,
                                        status="changed")]},
        trees={"processes": diff_trees(*trees)},
        warnings=[CompareNote(CompareNoteKind.WORKLOADS, a=evil, b="b")],
    )
    html = render(comparison, fail_above=10.0)
    assert evil not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert f'<meta name="generator" content="{GENERATOR} {profkit.__version__}">' in html[:4096]
    assert "2 → 4" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched
    assert "--fail-above 10: exit 1 when a mode is called slower by more than 10%" in html
    assert "A change is called only when the interval excludes 1" in html
    assert "B/A [99% CI]" in html and ">slower<" in html
    assert "3 → 4" in html and "+25.0 pts" in html
    icicle = re.search(r'<svg class="icicle" data-mode="processes".*?</svg>\n</svg>', html, re.S)
    assert icicle, "the differential icicle is inline SVG"
    boxes = re.findall(r'<svg x="([\d.]+)%" y="(\d+)" width="([\d.]+)%".*?fill="rgb\((\d+),(\d+),(\d+)\)"',
                       icicle.group(0), re.S)
    assert len(boxes) >= 5
    assert float(boxes[0][2]) == pytest.approx(100.0)  # the root spans the width
    reddest = max(boxes, key=lambda b: int(b[3]) - int(b[5]))
    assert int(reddest[3]) > int(reddest[5])  # something grew, coloured red
    assert "<script" not in icicle.group(0)


# -- passes of unequal coverage ---------------------------------------------------


def _functions(self_s: float, calls: int) -> pd.DataFrame:
    return pd.DataFrame([{"mode": "sequential", "function": "/w.py:3(spin)", "name": "spin",
                          "filename": "/w.py", "lineno": 3, "ncalls": calls, "self_s": self_s}])


def test_self_times_of_unequal_passes_are_scaled_to_the_whole_map():
    """A covered all 6 items (6 s), B's budget ran out after 2 of 6 at 1.5 s each (3 s): B is
    50% slower per item, not 50% faster in total."""
    from profkit.analysis.compare import Coverage, compare_functions

    coverage = {"sequential": Coverage(share_a=1.0, share_b=2 / 6)}
    spin, = compare_functions(_functions(6.0, 6), _functions(3.0, 2), coverage=coverage)["sequential"]
    assert (spin.self_a_s, spin.self_b_s) == (pytest.approx(6.0), pytest.approx(9.0))
    assert spin.change_pct == pytest.approx(50.0)
    assert (spin.ncalls_a, spin.ncalls_b) == (6, 2)  # counts stay as profiled
    unscaled, = compare_functions(_functions(6.0, 6), _functions(3.0, 2))["sequential"]
    assert unscaled.change_pct == pytest.approx(-50.0)


def test_an_unrecorded_share_leaves_both_sides_unscaled_and_says_so():
    from profkit.analysis.compare import Coverage
    from profkit.render.compare_text import coverage_note

    assert Coverage(None, 0.5).factors() == (1.0, 1.0)
    assert Coverage(0.25, 0.5).factors() == (4.0, 2.0)
    assert coverage_note(Coverage(1.0, 1.0)) is None
    assert coverage_note(Coverage(1.0, 0.4)) == (
        "The cProfile pass covered 100% of A's task time and 40% of B's: self times are scaled to the "
        "whole map; call counts are as profiled.")
    assert coverage_note(Coverage(None, 1.0)) == (
        "The cProfile pass covered an unrecorded share of A's task time and 100% of B's: self times "
        "are as profiled, not scaled, so compare them with care.")


def test_the_call_tree_of_a_partial_pass_is_scaled_too():
    from profkit.analysis.compare_profile import compare_call_trees

    stats = _profile(20_000, 20_000)
    whole = compare_call_trees({"sequential": stats}, {"sequential": stats})["sequential"]
    scaled = compare_call_trees({"sequential": stats}, {"sequential": stats},
                                {"sequential": (1.0, 3.0)})["sequential"]
    assert scaled.total_b_s == pytest.approx(3.0 * whole.total_b_s)
    assert scaled.total_a_s == pytest.approx(whole.total_a_s)
    spin_whole, spin_scaled = _find(whole, "spin"), _find(scaled, "spin")
    assert spin_scaled.self_b_s == pytest.approx(3.0 * spin_whole.self_b_s)


def test_the_share_of_an_older_run_comes_from_its_item_counts():
    from profkit.analysis.compare import profiled_share
    from profkit.model import Traits, WorkerLabel
    from profkit.record import ModeMeta, RunMeta, WorkloadMeta
    from profkit.run import Run

    def run(**info):
        traits = Traits(parallel=False, ships_pickles=False, shares_memory=True, shares_gil=True,
                        worker_label=WorkerLabel.MAIN, honours_chunksize=False, reference=True)
        meta = RunMeta(workload=WorkloadMeta(name="w", n_items=8), status={},
                       modes={"sequential": ModeMeta(workers=1, traits=traits, **info)})
        return Run(meta=meta, analysis=Analysis(), frames={})

    assert profiled_share(run(cprofile_share=0.5, cprofile_items=8), "sequential") == 0.5
    assert profiled_share(run(cprofile_items=2), "sequential") == 0.25
    assert profiled_share(run(cprofile_items=2, cprofile_cut_s={"1": 0.1}), "sequential") is None
    assert profiled_share(run(), "sequential") is None
