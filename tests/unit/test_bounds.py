"""The granularity bound and the Amdahl fit, against schedules worked out by hand."""

import numpy as np
import pytest

from profkit.analysis import bounds


def test_seed_primes_on_two_workers_cap_at_about_1_8():
    # Five items of about 0.2 s and one of 0.06 s: 3 x 0.2 on one worker is the best makespan.
    durations = [0.2, 0.2, 0.2, 0.2, 0.2, 0.06]
    assert bounds.lpt_makespan(durations, 2) == pytest.approx(0.6)
    assert bounds.granularity_bound(durations, 2) == pytest.approx(1.06 / 0.6)
    assert 1.7 < bounds.granularity_bound(durations, 2) < 1.8


def test_lpt_beats_the_given_order_when_the_long_item_comes_last():
    durations = [1, 1, 1, 1, 4]
    assert bounds.list_schedule_makespan(durations, 2) == 6  # 1+1 | 1+1 then 4 on either
    assert bounds.lpt_makespan(durations, 2) == 4  # 4 | 1+1+1+1


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
