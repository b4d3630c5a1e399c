"""The compare decision rule (profkit/analysis/compare_stats.py) on fixed and simulated samples."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from profkit.analysis.compare_stats import (
    DEFAULT_LEVEL,
    DEFAULT_MIN_EFFECT_PCT,
    Reason,
    Verdict,
    _u_counts,
    compare_samples,
    exact_p_value,
    mann_whitney_u,
    smallest_p_value,
)
from tests.conftest import require

A3 = [1.00, 1.02, 0.99]
A5 = [1.00, 1.02, 0.99, 1.01, 1.03]


# -- the rule ---------------------------------------------------------------------


def test_three_vs_three_thirty_percent_slower_is_called():
    result = compare_samples(A3, [1.3 * x for x in A3])
    assert result.verdict is Verdict.SLOWER and result.called
    assert result.reason is Reason.CALLED
    assert result.change_pct == pytest.approx(30.0)
    # the U test cannot reach 0.01 at 3 vs 3: information only, not shown
    assert result.mann_whitney_p is None and result.mann_whitney_min_p == pytest.approx(0.1)


def test_the_interval_is_welchs_t_interval_on_log_times():
    require("scipy")
    import scipy.stats as scipy_stats

    rng = random.Random(7)
    for _ in range(50):
        a = [rng.uniform(0.5, 2.0) for _ in range(rng.randint(2, 8))]
        b = [rng.uniform(0.5, 2.0) for _ in range(rng.randint(2, 8))]
        la, lb = np.log(a), np.log(b)
        va, vb = la.var(ddof=1) / len(a), lb.var(ddof=1) / len(b)
        df = math.floor((va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)))
        half = scipy_stats.t.ppf(0.995, max(1, df)) * math.sqrt(va + vb)
        lo, hi = compare_samples(a, b).ci
        assert math.log(lo) == pytest.approx(lb.mean() - la.mean() - half, rel=1e-6, abs=1e-9)
        assert math.log(hi) == pytest.approx(lb.mean() - la.mean() + half, rel=1e-6, abs=1e-9)


def test_paired_interval_is_the_t_interval_of_the_log_ratios_bonferroni_over_the_family():
    require("scipy")
    import scipy.stats as scipy_stats

    a = [1.00, 1.10, 0.95, 1.05, 1.02]
    b = [1.21, 1.30, 1.18, 1.24, 1.27]
    logs = np.log(np.array(b) / np.array(a))
    for family in (1, 3):
        result = compare_samples(a, b, paired=True, family=family)
        assert result.mode_level == pytest.approx(1 - 0.01 / family)
        half = scipy_stats.t.ppf(1 - 0.01 / family / 2, 4) * logs.std(ddof=1) / math.sqrt(5)
        assert math.log(result.ratio) == pytest.approx(logs.mean())
        assert np.log(result.ci) == pytest.approx([logs.mean() - half, logs.mean() + half])


def test_faster_is_called_too():
    result = compare_samples(A5, [0.7 * x for x in A5])
    assert result.verdict is Verdict.FASTER and result.change_pct == pytest.approx(-30.0)
    assert result.ci[1] < 1.0


def test_identical_samples_are_not_a_change():
    result = compare_samples(A5, A5)
    assert result.verdict is Verdict.SAME and result.reason is Reason.INTERVAL_HAS_ONE
    assert result.ratio == 1.0 and result.change_pct == 0.0
    assert result.mann_whitney_p == 1.0  # 5 vs 5 can reach 0.01, so the test is shown
    constant = compare_samples([2.0] * 3, [2.0] * 3)
    assert constant.ci == (1.0, 1.0) and constant.verdict is Verdict.SAME


def test_a_clear_but_small_change_is_below_the_minimum_effect():
    a = [1.000, 1.001, 1.002, 1.001, 1.000]
    b = [1.030, 1.031, 1.032, 1.031, 1.030]  # 3% slower, no overlap at all
    result = compare_samples(a, b)
    assert result.ci[0] > 1.0
    assert result.verdict is Verdict.SAME and result.reason is Reason.BELOW_MIN_EFFECT
    assert compare_samples(a, b, min_effect_pct=2.0).verdict is Verdict.SLOWER


def test_overlapping_samples_are_not_called_however_large_the_median_change():
    a = [1.0, 1.1, 2.0]
    b = [1.05, 1.9, 2.1]  # medians 1.1 -> 1.9, but the samples overlap
    result = compare_samples(a, b)
    assert result.median_b / result.median_a > 1.5 and result.change_pct > 20
    assert result.verdict is Verdict.SAME and result.reason is Reason.INTERVAL_HAS_ONE


def test_one_repeat_calls_nothing_and_no_timings_is_missing():
    one = compare_samples([1.0], [2.0])
    assert one.verdict is Verdict.TOO_FEW and one.ci is None and one.ratio == 2.0
    assert compare_samples([1.0, 1.0], [2.0]).verdict is Verdict.TOO_FEW
    assert compare_samples([], [1.0]).verdict is Verdict.MISSING
    assert compare_samples([1.0, float("nan")], []).verdict is Verdict.MISSING
    # 2 vs 2 gives an interval; with one degree of freedom only a change far beyond the spread is called
    assert compare_samples([1.0, 1.1], [2.0, 2.1]).verdict is Verdict.SAME
    assert compare_samples([1.0, 1.001], [2.0, 2.002]).verdict is Verdict.SLOWER


def test_the_answer_is_reproducible():
    b = [1.1 * x + 0.01 * k for k, x in enumerate(A5)]
    assert compare_samples(A5, b) == compare_samples(A5, b)


def test_paired_rounds_use_the_per_round_ratios():
    drift = [1.0, 1.4, 0.8, 1.2, 1.0]  # the machine's speed changes round to round
    a = [d * 1.00 for d in drift]
    b = [d * 1.15 for d in drift]  # but B is always 15% slower in the same round
    paired = compare_samples(a, b, paired=True)
    assert paired.paired and paired.ratio == pytest.approx(1.15)
    assert paired.ci == pytest.approx((1.15, 1.15))
    assert paired.verdict is Verdict.SLOWER and paired.mann_whitney_p is None
    # unpaired, the drift hides the change
    assert compare_samples(a, b).verdict is Verdict.SAME
    with pytest.raises(ValueError, match="equal lengths"):
        compare_samples([1.0, 2.0], [1.0], paired=True)


def test_level_is_checked():
    with pytest.raises(ValueError, match="level"):
        compare_samples(A3, A3, level=1.0)


def test_cli_defaults_match_the_rule():
    from profkit.cli import compare as cli

    assert cli.DEFAULT_MIN_EFFECT_PCT == DEFAULT_MIN_EFFECT_PCT
    assert abs(cli.DEFAULT_ALPHA - (1.0 - DEFAULT_LEVEL)) < 1e-12


@pytest.mark.parametrize("n, change", [(3, 1.30), (5, 1.15), (10, 1.15)])
def test_pure_noise_is_rarely_called_and_a_change_is_found(n, change):
    """Simulated repeats with 3% noise (lognormal): what the bench measures on real runs.

    At 3 vs 3 the t interval has few degrees of freedom, so a 15% change is found
    less than half the time, 30% nearly always. From 5 repeats a side 15% is found.
    """
    rng = np.random.default_rng(n)
    trials = 200
    false_calls = gate_failures = detections = 0
    for _ in range(trials):
        a, b = rng.lognormal(0, 0.03, n), rng.lognormal(0, 0.03, n)
        same = compare_samples(list(a), list(b))
        false_calls += same.called
        gate_failures += same.verdict is Verdict.SLOWER and same.change_pct > 10
        detections += compare_samples(list(a), list(change * b)).verdict is Verdict.SLOWER
    assert false_calls <= 0.02 * trials
    assert gate_failures <= 0.01 * trials
    assert detections >= (0.85 if n == 3 else 0.95) * trials


# -- Mann-Whitney U, information only, against hand-computed values and scipy ------------


def test_exact_p_for_fully_separated_samples():
    result = mann_whitney_u([1, 2, 3], [4, 5, 6])
    assert (result.u, result.method) == (0.0, "exact")
    assert result.p == pytest.approx(0.1)
    assert mann_whitney_u([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]).p == pytest.approx(2 / 252)
    assert mann_whitney_u([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]).u == 25.0


def test_exact_p_for_overlapping_samples():
    assert _u_counts(2, 2) == (1, 1, 2, 1, 1)
    assert mann_whitney_u([1, 3], [2, 4]).p == pytest.approx(4 / 6)
    assert mann_whitney_u([1, 4], [2, 3]).p == 1.0


@pytest.mark.parametrize("m, n", [(1, 1), (2, 3), (5, 5), (4, 9), (12, 7)])
def test_u_distribution_counts_every_ordering_once_and_is_symmetric(m, n):
    counts = _u_counts(m, n)
    assert len(counts) == m * n + 1
    assert sum(counts) == math.comb(m + n, m)
    assert counts == counts[::-1] == _u_counts(n, m)


def test_smallest_p_tells_what_a_repeat_count_can_show():
    assert smallest_p_value(5, 5) == pytest.approx(2 / 252)
    assert smallest_p_value(3, 3) == pytest.approx(0.1)
    assert smallest_p_value(2, 2) == pytest.approx(1 / 3)
    assert exact_p_value(0, 5, 5) == smallest_p_value(5, 5)


def test_ties_fall_back_to_the_normal_approximation():
    assert mann_whitney_u([1, 2, 2, 3], [2, 3, 4, 4]).method == "normal"
    assert mann_whitney_u([5.0] * 4, [5.0] * 4).p == 1.0
    with pytest.raises(ValueError, match="ties"):
        mann_whitney_u([1, 2], [2, 3], method="exact")
    with pytest.raises(ValueError, match="at least one"):
        mann_whitney_u([], [1.0])
    with pytest.raises(ValueError, match="method"):
        mann_whitney_u([1.0], [2.0], method="permutation")


def test_agrees_with_scipy():
    require("scipy")
    import scipy.stats as scipy_stats

    rng = random.Random(4)
    for _ in range(300):
        m, n = rng.randint(1, 12), rng.randint(1, 12)
        a = [rng.gauss(0, 1) for _ in range(m)]
        b = [rng.gauss(0.7, 1) for _ in range(n)]
        if rng.random() < 0.3:
            a, b = [round(x) for x in a], [round(x) for x in b]
        ours = mann_whitney_u(a, b)
        theirs = scipy_stats.mannwhitneyu(
            a, b, alternative="two-sided", method="exact" if ours.method == "exact" else "asymptotic")
        assert ours.u == pytest.approx(theirs.statistic)
        assert ours.p == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-12)


# -- wall or CPU time -------------------------------------------------------------------


def test_wall_per_cpu_is_the_median_ratio_and_skips_missing_cpu():
    from profkit.analysis.compare_stats import wall_per_cpu

    assert wall_per_cpu([2.0, 3.0, 4.0], [1.0, 1.0, 1.0]) == 3.0
    assert wall_per_cpu([2.0, 3.0], [1.0, float("nan")]) == 2.0
    assert wall_per_cpu([1.0], [0.0]) is None


def test_measure_is_wall_unless_the_runs_waited_differently():
    from profkit.analysis.compare_stats import Measure, choose_measure

    assert choose_measure(1.01, 1.02) is Measure.WALL
    assert choose_measure(1.0, 3.0) is Measure.CPU       # B's run shared its core with other work
    assert choose_measure(0.55, 0.50) is Measure.CPU      # a pool that got fewer cores in B
    assert choose_measure(None, 3.0) is Measure.WALL      # no CPU times: wall it is
    assert choose_measure(1.0, 1.04, min_effect_pct=5.0) is Measure.WALL
    # the same median wait in both runs, but B's repeats waited unevenly: load came and went
    assert choose_measure(2.0, 2.0, spreads=[1.0, 30.0]) is Measure.CPU
    assert choose_measure(2.0, 2.0, spreads=[1.0, None]) is Measure.WALL


def test_wait_spread_is_the_iqr_of_wall_per_cpu():
    from profkit.analysis.compare_stats import wait_spread_pct

    assert wait_spread_pct([1.0, 1.0, 1.0], [1.0, 1.0, 1.0]) == 0.0
    assert wait_spread_pct([1.0, 2.0, 3.0, 4.0, 5.0], [1.0] * 5) == pytest.approx(100 * 2 / 3)
    assert wait_spread_pct([1.0], [1.0]) is None


def test_a_busy_machine_during_b_is_not_a_regression_but_more_cpu_work_is():
    from profkit.analysis.compare import compare_mode

    cpu = [0.050, 0.051, 0.049, 0.050, 0.052]
    quiet = [c * 1.01 for c in cpu]
    busy = [c * k for c, k in zip(cpu, (3.1, 4.0, 2.6, 3.5, 3.0), strict=True)]  # waited for a core
    same = compare_mode("sequential", quiet, busy, cpus_a=cpu, cpus_b=cpu)
    assert same.measure == "cpu" and same.verdict == Verdict.SAME.value
    assert same.wall_change_pct > 100 and same.wall_per_cpu_b > 2.5
    forced = compare_mode("sequential", quiet, busy, cpus_a=cpu, cpus_b=cpu, measure=None)
    assert forced.measure == "cpu"

    heavier = [c * 1.15 for c in cpu]  # B does 15% more work, and the machine was busy too
    slower = compare_mode("sequential", quiet, [c * 3 for c in heavier], cpus_a=cpu, cpus_b=heavier)
    assert slower.measure == "cpu" and slower.verdict == Verdict.SLOWER.value
    assert slower.change_pct == pytest.approx(15.0, abs=1.0)

    # on a quiet machine, more work shows in wall time and is judged on it
    plain = compare_mode("sequential", quiet, [c * 1.01 for c in heavier], cpus_a=cpu, cpus_b=heavier)
    assert plain.measure == "wall" and plain.verdict == Verdict.SLOWER.value


def test_cpu_time_in_coarse_ticks_is_not_preferred_to_a_steadier_wall_time():
    from profkit.analysis.compare import compare_mode

    # a pool: wall time steady, worker CPU time in 10 ms ticks, so its wall / CPU spreads widely
    walls_a = [0.0074, 0.0075, 0.0073]
    walls_b = [0.0131, 0.0130, 0.0133]
    cpus_a = [0.010, 0.020, 0.010]
    cpus_b = [0.020, 0.030, 0.020]
    result = compare_mode("processes", walls_a, walls_b, cpus_a=cpus_a, cpus_b=cpus_b)
    assert result.measure == "wall" and result.verdict == Verdict.SLOWER.value


def test_the_docs_table_of_rounds_needed_is_what_the_rule_computes():
    from pathlib import Path

    from profkit.analysis.compare_stats import rounds_needed

    text = Path(__file__).resolve().parents[2].joinpath("docs", "compare.md").read_text(encoding="utf-8")
    table = text.split("**Rounds needed.**", 1)[1].split("\n\n", 2)[1]
    rows = [line.strip("| ").split(" | ") for line in table.splitlines()[2:]]
    assert len(rows) == 4
    for row in rows:
        change = float(row[0].rstrip("%"))
        for noise, cell in zip((2, 5, 10, 15), row[1:], strict=True):
            assert rounds_needed(change, noise * math.sqrt(2), family=3) == int(cell), (change, noise)


def test_the_waited_note_says_whether_the_runs_differ_or_a_run_waited_unevenly():
    """A run compared with itself cannot have "waited differently": when its own repeats' wall /
    CPU spread chose CPU time, the note says the repeats within a run waited unevenly, with
    each run's spread; when the runs' medians differ, that the runs waited differently."""
    from profkit.analysis.compare import RunInfo, _warnings, compare_mode
    from profkit.analysis.compare_stats import wait_spread_pct
    from profkit.render.text import compare_note

    cpu = [0.050, 0.051, 0.049, 0.050, 0.052, 0.050]
    uneven = [c * k for c, k in zip(cpu, (1.0, 1.6, 1.1, 2.0, 1.0, 1.3), strict=True)]
    info = RunInfo(None, "w", "w", None, "3.11", "linux", 2, "fork", 5)
    same = compare_mode("sequential", uneven, uneven, cpus_a=cpu, cpus_b=cpu)
    assert same.measure == "cpu" and same.wait_spread_a_pct == wait_spread_pct(uneven, cpu)
    (note,) = [n for n in _warnings(info, info, [same]) if n.kind.value == "waited"]
    assert note.uneven_only
    text = compare_note(note)
    spread = f"{same.wait_spread_a_pct:.0f}"
    assert text.startswith("sequential: the repeats within a run waited unevenly (wall / CPU "
                           f"spread {spread}% in A and {spread}% in B"), text
    assert "waited differently" not in text
    loaded = [c * k for c, k in zip(cpu, (3.1, 4.0, 2.6, 3.5, 3.0, 3.2), strict=True)]
    busy = compare_mode("sequential", [c * 1.01 for c in cpu], loaded, cpus_a=cpu, cpus_b=cpu)
    (note,) = [n for n in _warnings(info, info, [busy]) if n.kind.value == "waited"]
    assert not note.uneven_only
    assert compare_note(note).startswith("sequential: the runs waited differently (median wall / "
                                         f"CPU 1.01 in A, {busy.wall_per_cpu_b:.2f} in B")


def test_the_table_shows_the_means_the_change_is_the_ratio_of():
    """B/A is the ratio of geometric means: the table shows those, so a change can never
    disagree in sign with the two times beside it (the medians here say +10%, the change -6%)."""
    from profkit.analysis.compare import compare_mode

    a = [1.0, 1.0, 1.0, 1.5, 1.5, 1.5, 1.0]
    b = [1.1] * 7
    m = compare_mode("sequential", a, b)
    assert m.median_b_s / m.median_a_s == pytest.approx(1.1)  # what a median table would show
    assert m.mean_a_s is not None and m.mean_b_s is not None and m.ratio is not None
    assert m.mean_b_s / m.mean_a_s == pytest.approx(m.ratio) and m.change_pct < 0
    paired = compare_mode("sequential", a, b, paired=True)
    assert paired.mean_b_s / paired.mean_a_s == pytest.approx(paired.ratio)
