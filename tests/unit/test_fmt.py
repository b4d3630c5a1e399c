"""profkit.fmt: every number a reader sees is turned into text here, the same way everywhere."""

from __future__ import annotations

import pytest

from profkit import fmt


@pytest.mark.parametrize(("value", "out"), [
    (1.5, 1.5), ("2", 2.0), (3, 3.0), (None, None), (True, None), (float("nan"), None),
    (float("inf"), None), ("x", None), ([1], None),
])
def test_num_keeps_finite_numbers_only(value, out):
    assert fmt.num(value) == out


@pytest.mark.parametrize(("seconds", "text"), [
    (2.5, "2.50 s"), (1.0, "1.00 s"), (0.0123, "12.3 ms"), (1e-3, "1.0 ms"), (4.2e-6, "4.2 µs"),
    (None, "–"),
])
def test_fmt_seconds_picks_units(seconds, text):
    assert fmt.fmt_seconds(seconds) == text


@pytest.mark.parametrize(("value", "text"), [
    (0.0123, "12.3 ms"), (None, "–"), ("nope", "–"), (float("nan"), "–"),
])
def test_fmt_seconds_shows_a_dash_for_what_is_not_a_number(value, text):
    assert fmt.fmt_seconds(value) == text


@pytest.mark.parametrize(("seconds", "text"), [
    (3.12e-7, "312 ns"), (2.4e-7, "240 ns"), (1.625e-6, "1.62 µs"), (5.6372e-6, "5.64 µs"),
    (0.0123, "12.3 ms"), (2.5, "2.50 s"), (0.0, "0 s"), (None, "–"), (float("inf"), "–"),
])
def test_fmt_sig_keeps_three_significant_digits(seconds, text):
    assert fmt.fmt_sig(seconds) == text


@pytest.mark.parametrize(("seconds", "text"), [
    (18.0, "18 s"), (0.0, "0 s"), (59.6, "1 min 00 s"), (125, "2 min 05 s"), (3725, "1 h 02 min"),
    (None, "–"), (float("nan"), "–"), (-1, "–"),
])
def test_fmt_duration(seconds, text):
    assert fmt.fmt_duration(seconds) == text


@pytest.mark.parametrize(("value", "text"), [
    (1 / 301, "301× slower"), (0.8, "0.80×"), (0.4, "2.50× slower"), (1.85, "1.85×"),
    (12.345, "12.3×"), (0.0, "–"), (-1.0, "–"), (None, "–"), (float("nan"), "–"),
])
def test_fmt_speedup_reads_slowdowns_as_slower_never_zero(value, text):
    assert fmt.fmt_speedup(value) == text


def test_fmt_slower_uses_thousands_separators_for_big_slowdowns():
    assert fmt.fmt_slower(0.8) == "1.25× slower"
    assert fmt.fmt_slower(1 / 1234) == "1,234× slower"


@pytest.mark.parametrize(("ci", "text"), [
    ((1 / 320, 1 / 280), "280–320× slower"), ((1.7, 1.85), "1.70–1.85×"), (None, ""), ((), ""),
])
def test_fmt_interval_in_the_speedups_sense(ci, text):
    assert fmt.fmt_interval(ci) == text


@pytest.mark.parametrize(("value", "text"), [
    (1.954, "1.95×"), (0.8, "0.80×"), (1 / 301, "301× slower"), (0, "–"), (None, "–"),
    ("1.5", "1.50×"),
])
def test_fmt_speedup_takes_any_value(value, text):
    assert fmt.fmt_speedup(value) == text


@pytest.mark.parametrize(("value", "text"), [
    ([1.7, 1.85], "1.70–1.85"), ((1 / 320, 1 / 280), "280–320× slower"), ([1.0], ""),
    ([None, 2.0], ""), ("1-2", ""),
])
def test_fmt_ci_drops_the_times_sign_when_the_speedup_carries_it(value, text):
    assert fmt.fmt_ci(value) == text


def test_percentages():
    assert fmt.fmt_pct(12.345) == "12.3%"
    assert fmt.fmt_pct(12.345, 0) == "12%"
    assert fmt.fmt_pct(None) == "–"
    assert fmt.fmt_ratio_pct(0.97) == "97%"
    assert fmt.fmt_ratio_pct("x") == "–"
    assert fmt.fmt_change(12.34) == "+12.3%"
    assert fmt.fmt_change(-5.0) == "-5.0%"
    assert fmt.fmt_change(None) == "–"
    assert fmt.fmt_change(None, "n/a") == "n/a"
    assert fmt.fmt_level(0.99) == "99%"
    assert fmt.fmt_level(0.995) == "99.5%"


@pytest.mark.parametrize(("value", "text"), [
    (0.0123, "0.0123"), (0.05, "0.05"), (1.0, "1"), (0.0004, "0.0004"), (0.00001234, "1.2e-05"),
    (None, "–"),
])
def test_fmt_p(value, text):
    assert fmt.fmt_p(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (512, "512 B"), (1536, "1.5 KiB"), (3 * 2**20, "3.0 MiB"), (1.5 * 2**30, "1.5 GiB"),
    (-2048, "-2.0 KiB"), (None, "–"),
])
def test_fmt_bytes_scaled_picks_the_unit_with_one_decimal(value, text):
    assert fmt.fmt_bytes_scaled(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (512 * 2**20, "512 MiB"), (1536 * 2**10, "2 MiB"), (1.5 * 2**30, "1.5 GiB"), (None, "–"),
])
def test_fmt_bytes_coarse_is_whole_mib_below_a_gib(value, text):
    assert fmt.fmt_bytes_coarse(value) == text


def test_fmt_mib_and_count():
    assert fmt.fmt_mib(3 * 2**20 + 2**19) == "3.5 MiB"
    assert fmt.fmt_mib(None) == "–"
    assert fmt.fmt_count(1234567) == "1,234,567"
    assert fmt.fmt_count(float("nan")) == "–"


def test_every_formatter_is_named_fmt_and_shows_one_missing_marker():
    """One naming scheme, and one marker for a missing value unless a caller asks for another."""
    names = [n for n in vars(fmt) if callable(getattr(fmt, n)) and not n.startswith("_")
             and getattr(getattr(fmt, n), "__module__", "") == fmt.__name__]
    assert sorted(n for n in names if not n.startswith("fmt_")) == ["num", "printable"]
    for name in names:
        if name.startswith("fmt_") and name not in ("fmt_slower", "fmt_level", "fmt_interval",
                                                    "fmt_ci", "fmt_decimal", "fmt_general",
                                                    "fmt_noun", "fmt_counted"):
            assert getattr(fmt, name)(None) == fmt.MISSING, name
