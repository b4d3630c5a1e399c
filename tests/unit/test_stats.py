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
