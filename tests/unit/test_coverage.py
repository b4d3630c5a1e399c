"""Which items a profiling pass covers: whole items, every one when cheap, else a fair sample."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from profkit.engine.coverage import (
    AUTO_SHARE,
    CPROFILE_AUTO_FLOOR_S,
    LINE_AUTO_FLOOR_S,
    ONE_ITEM_MAPS,
    SAFETY_FACTOR,
    SAFETY_SLACK_S,
    allowance,
    plan_pass,
    spread_order,
)
from profkit.errors import UsageError
from profkit.model import ALL, AUTO
from profkit.options import parse_budget


def test_spread_order_takes_items_from_across_the_list_and_every_one_once():
    assert spread_order([0, 1, 2, 3, 4, 5]) == [0, 3, 1, 4, 2, 5]
    assert spread_order([10, 20, 30, 40]) == [10, 30, 20, 40]
    order = spread_order(list(range(1000)))
    assert sorted(order) == list(range(1000))
    first = order[:8]  # the first eight reach every eighth of the list
    assert sorted(k // 125 for k in first) == list(range(8))


def test_auto_is_every_item_for_a_small_workload_and_a_share_of_a_big_one():
    assert allowance(AUTO, 1.0, CPROFILE_AUTO_FLOOR_S) == CPROFILE_AUTO_FLOOR_S
    assert allowance(AUTO, 100.0, LINE_AUTO_FLOOR_S) == pytest.approx(AUTO_SHARE * 100.0)
    assert math.isinf(allowance(ALL, 1.0, 1.0))
    assert allowance(0.5, 100.0, 1.0) == 0.5
    primes = {i: d for i, d in enumerate([0.3, 0.3, 0.3, 0.3, 0.3, 0.1])}
    plan = plan_pass(list(primes), primes, 1, allowance(AUTO, sum(primes.values()),
                                                          CPROFILE_AUTO_FLOOR_S), 1.6)
    assert plan.complete and plan.items == list(range(6))


def test_the_floor_buys_completeness_not_a_bigger_sample():
    """Eight 0.8 s items cannot be profiled whole in 3 s a worker: the pass gets a quarter of
    the sequential map (one item a worker), not the floor's two; a pass that fits the floor is
    complete, and one mean item is kept when the quarter would buy none."""
    big = {i: 0.8 for i in range(8)}
    for lanes, taken in ((1, 1), (2, 2)):
        traced = 1.6 * sum(big.values())
        allowed = allowance(AUTO, 6.4, CPROFILE_AUTO_FLOOR_S, whole_s=traced / lanes, item_s=1.6 * 0.8)
        assert allowed == pytest.approx(AUTO_SHARE * 6.4)
        plan = plan_pass(list(big), big, lanes, allowed, 1.6)
        assert len(plan.items) == taken and not plan.complete
    small = {i: 0.25 for i in range(6)}  # 2.4 s traced: complete within the floor
    assert allowance(AUTO, 1.5, CPROFILE_AUTO_FLOOR_S, whole_s=2.4, item_s=0.4) == CPROFILE_AUTO_FLOOR_S
    two = {0: 1.0, 1: 1.0}  # a quarter of 2 s buys no 1.6 s item: one mean item, from the spread order
    allowed = allowance(AUTO, 2.0, CPROFILE_AUTO_FLOOR_S, whole_s=3.2, item_s=1.6)
    assert allowed == pytest.approx(1.6)
    assert plan_pass(list(two), two, 1, allowed, 1.6).items == [0]
    assert plan_pass(list(small), small, 1, CPROFILE_AUTO_FLOOR_S, 1.6).complete


def test_a_sample_is_a_prefix_of_the_spread_order_of_whole_items_never_the_cheapest_first():
    durations = {i: 1.0 + (i % 3) for i in range(16)}  # mean 1.94 s
    plan = plan_pass(list(durations), durations, 2, 5.0, 1.0)
    order = spread_order(list(durations))
    assert plan.items == sorted(order[:5])  # 2 workers x 5 s over the mean item: 5 items
    assert not plan.complete and len(plan.batches) == 2
    # the watchdog only cuts far past the estimate
    assert plan.cap_s == pytest.approx(SAFETY_FACTOR * max(sum(durations[i] for i in b)
                                                           for b in plan.batches) + SAFETY_SLACK_S)


def test_when_no_item_fits_the_cheapest_is_taken_whole_or_none_with_its_cost():
    durations = {0: 2.0, 1: 0.5, 2: 3.0}
    plan = plan_pass([0, 1, 2], durations, 1, 1.0, 9.0)
    assert plan.items == [1] and plan.single and plan.cheapest_s == pytest.approx(4.5)  # the cheapest
    deferred = plan_pass([0, 1, 2], durations, 1, 1.0, 9.0, one_item=False)
    assert deferred.items == [] and deferred.deferred and deferred.cheapest_s == pytest.approx(4.5)
    huge = {0: 60.0}
    plan = plan_pass([0], huge, 1, 1.0, 9.0)
    assert plan.items == [] and plan.cheapest_s == pytest.approx(540.0)
    assert ONE_ITEM_MAPS * 60.0 < 540.0
    assert plan_pass([0], huge, 1, allowance(ALL, 60.0, 1.0), 9.0).items == [0]


def test_every_item_runs_uncut_with_all():
    durations = {i: 5.0 for i in range(4)}
    plan = plan_pass(list(durations), durations, 2, allowance(ALL, 20.0, 1.0), 9.0)
    assert plan.complete and plan.cap_s is None


def test_the_budget_flag_takes_seconds_auto_or_all_and_names_itself_when_wrong():
    assert parse_budget(None, "--line-budget") == AUTO
    assert parse_budget(" ALL ", "--line-budget") == ALL
    assert parse_budget("auto", "--line-budget") == AUTO
    assert parse_budget("0.5", "--line-budget") == 0.5
    for bad in ("lots", "-1", "0", "nan", True):
        with pytest.raises(UsageError, match="--profile-budget"):
            parse_budget(bad, "--profile-budget")  # type: ignore[arg-type]


def _share_from(items: list[int], durations: dict[int, float], share: dict[int, float]) -> float:
    total = sum(durations[i] for i in items)
    return sum(durations[i] * share[i] for i in items) / total


def test_the_sample_s_shares_are_unbiased_where_cheapest_first_is_not():
    """Simulation: item sizes vary, and big items spend more of their time in one function.

    The truth is that function's share of the whole map. The plan's sample (whole items,
    a prefix of the spread order) must be as fair as a simple random sample of the same
    size (whose ratio estimate is itself about 1.6 points low at 12 of 40 items); taking
    the cheapest items first, the old line pass's way, is not; nor is stopping at the
    first item that does not fit (about 3 points lower than random, measured).
    """
    rng = random.Random(20261206)
    plan_errors, random_errors, cheapest_errors = [], [], []
    for _ in range(2000):
        n = 40
        durations = {i: rng.lognormvariate(0.0, 0.8) for i in range(n)}
        share = {i: min(0.95, 0.2 + 0.25 * durations[i]) for i in range(n)}  # grows with size
        truth = _share_from(list(range(n)), durations, share)
        serial = sum(durations.values())
        plan = plan_pass(list(range(n)), durations, 2, 0.3 * serial / 2, 1.0, serial)
        plan_errors.append(_share_from(plan.items, durations, share) - truth)
        simple = rng.sample(range(n), len(plan.items))
        random_errors.append(_share_from(simple, durations, share) - truth)
        cheapest = sorted(durations, key=durations.__getitem__)[:len(plan.items)]
        cheapest_errors.append(_share_from(cheapest, durations, share) - truth)
    bias = statistics.fmean(plan_errors)
    assert abs(bias) < 0.025, bias
    assert abs(bias - statistics.fmean(random_errors)) < 0.005  # as fair as a random sample
    assert statistics.fmean(cheapest_errors) < -0.1  # the cheapest-first sample is 10+ points low
