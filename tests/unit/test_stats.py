import time

import pytest

from profkit.analysis import stats


def test_summary_of_known_values():
    s = stats.summarise([1.0, 2.0, 3.0, 4.0, 5.0])
    assert s["median"] == 3.0
    assert s["iqr"] == 2.0
    assert s["spread_pct"] == pytest.approx(200 / 3)


def test_bootstrap_ratio_interval_brackets_the_ratio_and_is_reproducible():
    a = [2.0, 2.02, 1.98, 2.01, 1.99]
    b = [1.0, 1.01, 0.99, 1.0, 1.02]
    lo, hi = stats.bootstrap_ratio_ci(a, b)
    assert lo <= 2.0 / 1.0 <= hi
    assert hi - lo < 0.1
    assert stats.bootstrap_ratio_ci(a, b) == (lo, hi)


def test_empty_samples_have_no_interval():
    assert stats.bootstrap_ratio_ci([], [1.0]) is None
    assert stats.summarise([])["median"] is None


def test_t_quantile_beyond_the_exact_series_agrees_with_it_and_returns_at_once():
    """A planner on a noisy run asked for df of 1.3 billion: the exact series would never end."""
    from profkit.analysis import stats

    for level in (0.8, 0.95, 0.99, 0.996):
        exact = stats.t_quantile.__wrapped__(level, stats.EXACT_T_DF)  # the series at its limit
        expanded = stats.t_quantile(level, stats.EXACT_T_DF + 1)  # the expansion, one df on
        assert expanded < exact  # the quantile falls with df
        assert abs(expanded - exact) / exact < 1e-5, (level, exact, expanded)
    started = time.perf_counter()
    huge = stats.t_quantile(0.95, 1_331_367_157)
    assert time.perf_counter() - started < 0.5
    assert abs(huge - 1.959964) < 1e-5  # the normal quantile
