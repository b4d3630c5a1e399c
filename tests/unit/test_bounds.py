"""Schedule bounds and the Amdahl fit, against schedules worked out by hand."""

import itertools
import random

import numpy as np
import pytest

from profkit.analysis import bounds


def test_seed_primes_on_two_workers_cap_at_about_1_8():
    # Five items of about 0.2 s and one of 0.06 s: 3 x 0.2 on one worker is the best makespan.
    durations = [0.2, 0.2, 0.2, 0.2, 0.2, 0.06]
    assert bounds.lpt_makespan(durations, 2) == pytest.approx(0.6)
    assert bounds.granularity_bound(durations, 2) == pytest.approx(1.06 / 0.6)
    assert 1.7 < bounds.granularity_bound(durations, 2) < 1.8


def test_3_3_2_2_2_has_an_optimum_of_2x_where_lpt_gives_1_71x():
    durations = [3, 3, 2, 2, 2]
    makespan, exact = bounds.optimal_makespan(durations, 2)
    assert exact and makespan == 6  # 3+3 | 2+2+2
    assert bounds.granularity_bound(durations, 2) == pytest.approx(2.0)
    assert 12 / bounds.lpt_makespan(durations, 2) == pytest.approx(12 / 7)  # LPT: 3+2+2 | 3+2
    sb = bounds.schedule_bounds(durations, 2)
    assert sb.optimum == pytest.approx(2.0) and sb.optimum_exact
    assert sb.upper == pytest.approx(2.0)
    assert sb.optimum_name() == "the optimal schedule"


def _brute_force(durations, workers):
    best = float("inf")
    for assignment in itertools.product(range(workers), repeat=len(durations)):
        loads = [0.0] * workers
        for d, w in zip(durations, assignment, strict=True):
            loads[w] += d
        best = min(best, max(loads))
    return best


@pytest.mark.parametrize("seed", range(12))
def test_branch_and_bound_matches_brute_force(seed):
    rng = random.Random(seed)
    workers = rng.choice([2, 3])
    durations = [rng.choice([1, 2, 3, 5, 7, 8]) * 0.01 for _ in range(rng.randint(4, 8))]
    makespan, exact = bounds.optimal_makespan(durations, workers)
    assert exact
    assert makespan == pytest.approx(_brute_force(durations, workers))


def test_many_items_fall_back_to_lpt_or_better_within_four_thirds():
    rng = random.Random(3)
    durations = [rng.random() for _ in range(bounds.EXACT_MAX_ITEMS + 10)]
    makespan, exact = bounds.optimal_makespan(durations, 3)
    assert not exact
    assert makespan <= bounds.lpt_makespan(durations, 3)
    assert makespan <= bounds.LPT_RATIO * bounds.lower_makespan(durations, 3) + 1e-9


def test_upper_bound_is_total_over_max_of_share_and_largest():
    sb = bounds.schedule_bounds([10, 1, 1], 8)
    assert sb.upper == pytest.approx(12 / 10)
    sb = bounds.schedule_bounds([1.0] * 8, 4)
    assert sb.upper == pytest.approx(4.0)


def test_dispatch_order_with_chunksize_and_the_sort_gain():
    durations = [1, 1, 1, 1, 4]
    assert bounds.dispatch_makespan(durations, 2) == 6  # 1+1 | 1+1, then 4 on either
    assert bounds.lpt_makespan(durations, 2) == 4  # 4 | 1+1+1+1
    assert bounds.dispatch_makespan(durations, 2, chunksize=2) == 6  # [1,1] [1,1] [4]
    assert bounds.dispatch_makespan([1, 1, 1, 1], 2, chunksize=3) == 3  # [1,1,1] | [1]
    sb = bounds.schedule_bounds(durations, 2)
    assert sb.dispatch == pytest.approx(8 / 6)
    assert sb.sort_gain == pytest.approx(0.5)


def test_16_workers_on_2_cpus_are_capped_for_cpu_bound_work():
    durations = [0.1] * 48
    uncapped = bounds.schedule_bounds(durations, 16)
    assert uncapped.best == pytest.approx(16.0)
    sb = bounds.schedule_bounds(durations, 16, cpu_s=4.8, cores=2)
    assert sb.capped_by_cpus
    assert sb.best == pytest.approx(2.0)
    # sleeping work uses no CPU: nothing caps it
    io = bounds.schedule_bounds(durations, 16, cpu_s=0.01, cores=2)
    assert io.best == pytest.approx(16.0) and not io.capped_by_cpus


def test_gil_bound_for_threads_on_cpu_bound_work_is_about_one():
    durations = [0.2, 0.2, 0.2, 0.2, 0.2, 0.06]
    sb = bounds.schedule_bounds(durations, 2, cpu_s=0.99 * sum(durations), cores=1)
    assert sb.best == pytest.approx(1 / 0.99)


def test_even_items_reach_the_ideal():
    assert bounds.granularity_bound([0.1] * 8, 4) == pytest.approx(4.0)


def test_one_huge_item_caps_everything():
    assert bounds.granularity_bound([10, 1, 1], 8) == pytest.approx(1.2)


def test_single_worker_is_one():
    assert bounds.granularity_bound([3, 1, 2], 1) == pytest.approx(1.0)


@pytest.mark.parametrize("serial", [0.0, 0.05, 0.2, 0.5])
def test_amdahl_fit_recovers_the_serial_fraction(serial):
    workers = [1, 2, 4, 8]
    speedups = bounds.amdahl_speedup(workers, serial)
    assert bounds.fit_amdahl(workers, speedups) == pytest.approx(serial, abs=1e-3)


def test_amdahl_bootstrap_interval_contains_the_truth():
    rng = np.random.default_rng(1)
    serial, t1 = 0.1, 1.0
    reference = t1 * (1 + 0.01 * rng.standard_normal(7))
    points = {n: (t1 / bounds.amdahl_speedup([n], serial)[0]) * (1 + 0.01 * rng.standard_normal(7))
              for n in (1, 2, 4)}
    estimate, (lo, hi) = bounds.fit_amdahl_bootstrap(reference, points, resamples=200)
    assert lo <= serial <= hi
    assert estimate == pytest.approx(serial, abs=0.03)
