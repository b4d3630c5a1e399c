"""The line pass's coverage in words: whole items, partial ones, its cost."""

from __future__ import annotations

from typing import Any

from profkit.model import Traits, WorkerLabel
from profkit.record import ModeMeta
from profkit.render.line_coverage import (
    coverage_summary,
    cut_items,
    line_coverage,
    profile_coverage,
)


def mode(**fields: Any) -> ModeMeta:
    traits = Traits(parallel=False, ships_pickles=False, shares_memory=True, shares_gil=True,
                    worker_label=WorkerLabel.MAIN, honours_chunksize=False, reference=True)
    return ModeMeta(workers=1, traits=traits, **fields)


def test_whole_and_partial_items_and_the_cost():
    info = mode(line_items=[0, 1, 2, 5], line_cut_s={"5": 0.49}, phase_s={"lines": 0.52})
    assert line_coverage(info, 6) == (
        "4 of 6 items traced: items 0, 1, 2 whole, item 5 partial (cut by the budget after 490.0 ms; its "
        "lines are exact up to the cut); the pass took 520.0 ms")


def test_several_partial_items_and_a_long_list():
    both = mode(line_items=[0, 1], line_cut_s={"1": 0.25, "0": 0.26})
    assert line_coverage(both, 2) == (
        "2 of 2 items traced: items 0, 1 partial (cut by the budget after 260.0 ms, 250.0 ms; their "
        "lines are exact up to the cut)")
    many = mode(line_items=list(range(20)))
    assert line_coverage(many, 100) == (
        "20 of 100 items traced: items 0, 1, 2, 3, 4, 5, 6, 7 and 12 more whole")


def test_an_older_run_says_nothing_and_an_empty_pass_says_so():
    assert line_coverage(mode(), 6) is None
    assert line_coverage(mode(line_items=[]), 6) == "no item traced"
    assert cut_items({}) == {}


def test_the_cprofile_coverage_in_the_same_words_and_every_item_when_all_ran_whole():
    info = mode(cprofile_indices=[0, 3], cprofile_cut_s={"3": 0.3}, phase_s={"cprofile": 0.31})
    assert profile_coverage(info, 6) == (
        "2 of 6 items profiled: item 0 whole, item 3 partial (cut by the budget after 300.0 ms; its "
        "calls are exact up to the cut); the pass took 310.0 ms")
    assert profile_coverage(mode(cprofile_indices=[0, 1]), 2) == \
        "every item profiled whole (2 of 2)"
    assert profile_coverage(mode(cprofile_items=6), 6) is None  # a run saved before the budget


def test_modes_that_profiled_no_item_say_none_did():
    """Every mode ended before its cProfile pass: no item in any mode, not 'in every mode'."""
    none = {"sequential": mode(cprofile_indices=[]), "threads": mode(cprofile_indices=[])}
    assert coverage_summary(none, 4) == (
        "Profiles cover: cProfile no item in any mode. The report lists the items.")
