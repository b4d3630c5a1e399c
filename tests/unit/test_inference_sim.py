"""profkit's inference against synthetic data of known truth: error rates and coverage.

Each test feeds profkit's own functions with simulated timings (lognormal
noise, fixed seeds) whose true answer is known, and measures the real rate
at which they err against the rate they state. A simulated rate carries its
own sampling error; where the stated rate is exactly what the method spends,
the check allows the simulation two and a half standard errors above it, and
says so.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from profkit.analysis.compare_stats import Verdict, compare_samples, detectable_change_pct

MODES = 3


def _mc_allowance(rate: float, trials: int) -> float:
    """Two and a half standard errors of a simulated rate: the simulation's own noise."""
    return 2.5 * math.sqrt(rate * (1.0 - rate) / trials)


def _paired_family(rng: np.random.Generator, trials: int, n: int, sigma: float, effect: float,
                   level: float = 0.99) -> tuple[float, float]:
    """Share of trials in which the gate called any of 3 modes, and called any slower."""
    load = np.exp(rng.normal(0.0, 0.10, (trials, MODES, n)))  # shared by A and B within a round
    a = load * np.exp(rng.normal(0.0, sigma, (trials, MODES, n)))
    b = load * (1.0 + effect) * np.exp(rng.normal(0.0, sigma, (trials, MODES, n)))
    called = slower = 0
    for t in range(trials):
        verdicts = [compare_samples(list(a[t, m]), list(b[t, m]), paired=True, level=level,
                                    family=MODES).verdict for m in range(MODES)]
        called += any(v in (Verdict.SLOWER, Verdict.FASTER) for v in verdicts)
        slower += Verdict.SLOWER in verdicts
    return called / trials, slower / trials


@pytest.mark.parametrize("sigma", [0.05, 0.15])
@pytest.mark.parametrize("n", [3, 5, 10])
def test_ab_gate_false_alarms_hold_family_wise(n, sigma):
    """A/A: no mode changed; the gate may call some mode at most 1% of the time, slower at most 0.5%."""
    trials = 20000
    rng = np.random.default_rng(1000 * n + int(100 * sigma))
    called, slower = _paired_family(rng, trials, n, sigma, 0.0)
    assert called <= 0.01 + _mc_allowance(0.01, trials), called
    assert slower <= 0.005 + _mc_allowance(0.005, trials), slower


def test_ab_gate_false_alarms_at_a_95_percent_setting():
    trials = 4000
    called, slower = _paired_family(np.random.default_rng(95), trials, 5, 0.15, 0.0, level=0.95)
    assert called <= 0.05 + _mc_allowance(0.05, trials), called
    assert slower <= 0.025 + _mc_allowance(0.025, trials), slower


def test_ab_gate_finds_thirty_percent_at_five_rounds():
    """+30% in every mode at 5 rounds, 5% noise: at least 80% of modes called slower."""
    trials = 1000
    rng = np.random.default_rng(30)
    load = np.exp(rng.normal(0.0, 0.10, (trials, 5)))
    a = load * np.exp(rng.normal(0.0, 0.05, (trials, 5)))
    b = load * 1.3 * np.exp(rng.normal(0.0, 0.05, (trials, 5)))
    found = sum(compare_samples(list(a[t]), list(b[t]), paired=True, family=MODES).verdict is Verdict.SLOWER
                for t in range(trials))
    assert found / trials >= 0.80, found / trials


def test_the_detectable_change_the_docs_print_is_found_that_often():
    """detectable_change_pct's promise (80% power) holds in simulation, within its approximation."""
    trials, n, sigma = 1000, 5, 0.05
    change = detectable_change_pct(n, 100 * sigma * math.sqrt(2), family=MODES)
    rng = np.random.default_rng(80)
    a = np.exp(rng.normal(0.0, sigma, (trials, n)))
    b = (1 + change / 100) * np.exp(rng.normal(0.0, sigma, (trials, n)))
    found = sum(compare_samples(list(a[t]), list(b[t]), paired=True, family=MODES).verdict is Verdict.SLOWER
                for t in range(trials))
    assert 0.76 <= found / trials <= 0.84, (change, found / trials)


# -- adaptive stopping (--repeat auto) --------------------------------------------------


def _auto_run(rng: np.random.Generator, sigma: float, truth: float, target: float = 0.03,
              pilot: int = 3, cap: int = 25):
    """One ``--repeat auto`` run as engine/rounds.py does it: a pilot, then Stein's planned rounds."""
    from profkit.analysis.stats import paired_ratio, stein_rounds

    ref = list(np.exp(rng.normal(0.0, sigma, cap)))
    mode = list(np.exp(rng.normal(0.0, sigma, cap)) / truth)
    first = paired_ratio(ref[:pilot], mode[:pilot])
    planned = min(cap, stein_rounds(first.half_width if first else None, pilot, target))
    return paired_ratio(ref[:planned], mode[:planned])


@pytest.mark.parametrize("sigma", [0.01, 0.02, 0.03, 0.05])
def test_auto_stopping_keeps_coverage_early_stops_included(sigma):
    """The 95% speedup interval at the rounds ``--repeat auto`` stops at covers the truth >= 93%."""
    truth, trials = 1.8, 3000
    rng = np.random.default_rng(int(1000 * sigma))
    runs = [_auto_run(rng, sigma, truth) for _ in range(trials)]
    covered = np.array([e.low <= truth <= e.high for e in runs])
    early = np.array([e.n <= 5 for e in runs])
    assert covered.mean() >= 0.93 - _mc_allowance(0.93, trials), covered.mean()
    if early.sum() >= 100:  # the runs that stopped at the fewest rounds Stein's rule allows
        assert covered[early].mean() >= 0.75, covered[early].mean()
