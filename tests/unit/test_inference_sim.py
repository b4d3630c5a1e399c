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
from hypothesis import given, settings
from hypothesis import strategies as st

from profkit.analysis.compare_stats import Verdict, compare_samples, detectable_change_pct
from profkit.render import text as words

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


class _SimMode:
    """A mode as the rounds' stopping rule sees it: its result, with synthetic timed maps."""

    def __init__(self, kind: str, workers: int) -> None:
        from profkit.executors.registry import traits_of
        from profkit.model import ModeResult, ModeSpec

        self.result = ModeResult(spec=ModeSpec(kind, workers), traits=traits_of(kind))
        self.live = True
        self.name = kind
        self.reference = self.result.traits.reference


def _sim_run(rng: np.random.Generator, sigma: float, speedups: dict[str, float], *,
             precision: float | None = None, max_rounds: int = 25, max_time_s: float = math.inf,
             round_s: float = 1.0, bounds: dict[str, float] | None = None):
    """One ``--repeat auto`` run, round by round, ended by profkit's own rule (auto_stop).

    Each round shares one load factor between the modes (it cancels in the pairing) and gives
    each mode its own lognormal noise ``sigma``. Returns the stop and the modes.
    """
    from profkit.analysis.decision import looks
    from profkit.engine.rounds import auto_stop
    from profkit.model import ModeSpec, Timing
    from profkit.options import Options

    modes = [_SimMode("sequential", 1)] + [_SimMode(k, 2) for k in speedups]
    options = Options(modes=[ModeSpec("sequential", 1)], precision=precision, max_rounds=max_rounds,
                      max_rounds_s=max_time_s)
    schedule = looks(options.min_rounds, options.max_rounds)
    for done in range(1, max_rounds + 1):
        load = math.exp(rng.normal(0.0, 0.10))
        for m in modes:
            truth = 1.0 if m.reference else speedups[m.name]
            wall = load * math.exp(rng.normal(0.0, sigma)) / truth
            m.result.timings.append(Timing(phase="map", round=done, wall_s=wall, cpu_s=wall))
        stop = auto_stop(_rule(options), modes, done, done, done * round_s,  # type: ignore[arg-type]
                         options, schedule, bounds=bounds)
        if stop is not None:
            return stop, modes
    raise AssertionError("the rounds never stopped")


def _rule(options):
    from profkit.analysis.decision import Rule

    return Rule.PRECISION if options.precision is not None else Rule.DECISION


def _speedup_interval(modes, name: str, level: float):
    from profkit.analysis.stats import paired_ratio
    from profkit.engine.rounds import clean_walls

    ref = clean_walls(modes[0].result.timings)
    walls = clean_walls(next(m for m in modes if m.name == name).result.timings)
    common = sorted(set(ref) & set(walls))
    return paired_ratio([ref[r] for r in common], [walls[r] for r in common], level=level)


@pytest.mark.parametrize("precision", [None, 0.03])
@pytest.mark.parametrize("sigma", [0.02, 0.05])
def test_auto_stopping_keeps_coverage_early_stops_included(sigma, precision):
    """The speedup intervals at the round ``--repeat auto`` stops at cover the truth at least 95%
    of the time (the simulation's own error allowed), the runs that stop early included.

    Both rules: the decision (the default) and ``--precision``. A time cap ends some runs early
    too (rounds of 1 s; half the runs stop by 4 s, the default --max-time, half by 12 s).
    """
    truths, trials = {"threads": 1.02, "processes": 1.8}, 2000
    rng = np.random.default_rng(int(1000 * sigma) + (7 if precision else 0))
    covered = {name: [] for name in truths}
    rounds = []
    for _ in range(trials):
        stop, modes = _sim_run(rng, sigma, truths, precision=precision,
                               max_time_s=4.0 if len(rounds) % 2 else 12.0)
        rounds.append(stop.clean)
        for name, truth in truths.items():
            e = _speedup_interval(modes, name, stop.level)
            covered[name].append(e.low <= truth <= e.high)
    rounds_arr = np.array(rounds)
    early = rounds_arr <= 5
    assert early.sum() >= 200, "too few early stops to judge them"
    for name in truths:
        c = np.array(covered[name])
        assert c.mean() >= 0.95 - _mc_allowance(0.95, trials), (name, c.mean())
        assert c[early].mean() >= 0.95 - _mc_allowance(0.95, int(early.sum())), (name, c[early].mean())


#: Truths and the recommendation they call for: the fastest pool that gains 10%, a simpler one
#: within 5% of it, else the reference (None).
DECISION_CASES = [
    ({"threads": 1.0, "processes": 1.8}, "processes"),
    ({"threads": 1.20, "processes": 1.25}, "threads"),  # within 5%: the simpler one
    ({"threads": 1.10, "processes": 1.40}, "processes"),
    ({"threads": 0.98, "processes": 0.60}, None),
    ({"threads": 1.0, "processes": 1.16}, "processes"),  # near the 10% gain
]


@pytest.mark.parametrize(("truths", "right"), DECISION_CASES)
def test_decision_driven_stopping_keeps_its_error_rate(truths, right):
    """A run the decision rule ends as settled gives the wrong recommendation at most 5% of the
    time (the simulation's own error allowed), on truths near the rule's thresholds too; a run
    that cannot settle says so instead of recommending."""
    trials, sigma = 2000, 0.05
    rng = np.random.default_rng(sum(int(100 * v) for v in truths.values()))
    wrong = settled = 0
    for _ in range(trials):
        stop, _modes = _sim_run(rng, sigma, truths, max_time_s=40.0)
        if stop.decision is not None and stop.decision.settled:
            settled += 1
            wrong += stop.decision.choice != right
    assert wrong / trials <= 0.05 + _mc_allowance(0.05, trials), (wrong, settled)
    if right == "processes" and truths["processes"] >= 1.4:
        assert settled / trials >= 0.95, settled  # a clear case settles within the time


def test_an_open_decision_says_how_long_a_settled_one_would_take():
    """Pools that 10% noise keeps apart for 4 s of rounds: the stop says the decision is open and
    how many seconds of rounds would settle it; given that time, most such runs settle."""
    rng = np.random.default_rng(11)
    truths = {"threads": 1.0, "processes": 1.25}
    given = settled = 0
    for _ in range(30):
        stop, _modes = _sim_run(rng, 0.10, truths, max_time_s=4.0)
        need = stop.time_needed_s()
        if stop.decision is None or stop.decision.settled or need is None:
            continue
        assert stop.decision.open and need > 4.0
        for _ in range(10):
            given += 1
            settled += _sim_run(rng, 0.10, truths, max_time_s=need, max_rounds=1000)[0].decision.settled
    assert given >= 200, given
    assert settled / given >= 0.6, (settled, given)


# -- the schedule bound ----------------------------------------------------------------


def test_grahams_worst_case_gives_the_optimum_not_lpt():
    """17 items on 8 workers (Graham 1969): LPT takes 31, the optimum 24, so the items allow 8.0x."""
    from profkit.analysis import bounds

    w = 8
    items = sorted([2 * w - 1 - k for k in range(w) for _ in (0, 1)] + [w], reverse=True)
    assert bounds.lpt_makespan(items, w) == 31
    assert bounds.optimal_makespan(items, w) == (24.0, True)
    sb = bounds.schedule_bounds(items, w)
    assert sb.optimum_exact and sb.optimum == pytest.approx(8.0)


def test_the_bound_is_never_below_the_true_optimum():
    """Exact or not, the optimum reported is never above the true optimal makespan (so its speedup
    is one no schedule beats): brute force on small cases, LPT-hard cases past the search's reach."""
    import itertools

    from profkit.analysis import bounds

    rng = np.random.default_rng(17)
    for _ in range(150):
        n, w = int(rng.integers(1, 8)), int(rng.integers(1, 4))
        items = list(rng.choice([1.0, 2.0, 3.0, 5.0], n) * rng.uniform(0.5, 1.5, n))
        truth = min(max(sum(d for d, k in zip(items, a, strict=True) if k == j) for j in range(w))
                    for a in itertools.product(range(w), repeat=n))
        value, exact = bounds.optimal_makespan(items, w)
        assert exact and value == pytest.approx(truth)
    w = 8
    graham = sorted([2 * w - 1 - k for k in range(w) for _ in (0, 1)] + [w], reverse=True)
    padded = graham + [w / 1000.0] * 4  # 21 items: past the exact search
    value, exact = bounds.optimal_makespan(padded, w)
    assert not exact and value <= 24.004 + 1e-9 and value >= bounds.lower_makespan(padded, w)


def test_equal_items_with_noisy_times_get_no_split_advice():
    """8 equal items on 8 workers, each item timed with 10% noise: "split items" in under 5% of runs."""
    from profkit.analysis import bounds, verdict

    rng = np.random.default_rng(8)
    trials, w, rounds, split = 1000, 8, 5, 0
    for _ in range(trials):
        probe = list(np.exp(rng.normal(0.0, 0.10, w)))
        maps = list(np.exp(rng.normal(0.0, 0.10, (rounds, w))).sum(axis=1))
        sb = bounds.schedule_bounds(probe, w, noise=bounds.item_noise(maps, probe))
        pool = verdict.ModeFacts("processes", w, speedup=6.5, ci=(6.0, 7.0), cost=2, wall_s=0.15,
                                 items_cap=sb.items_cap, bound=sb.best)
        seq = verdict.ModeFacts("sequential", 1, speedup=1.0, parallel=False, reference=True, cost=0,
                                wall_s=1.0)
        facts = verdict.Facts(work=verdict.WorkClass.CPU, modes=(seq, pool), per_task_s=0.125, n_items=w,
                              ref_wall_s=1.0)
        split += verdict.AdviceKind.SPLIT_ITEMS in {a.kind for a in verdict.decide(facts).advice}
    assert split / trials <= 0.05, split / trials


def test_uneven_items_still_get_split_advice():
    """One item 4x the others on 8 workers: the items cap the speedup and the advice says so."""
    from profkit.analysis import bounds

    rng = np.random.default_rng(9)
    hits = 0
    for _ in range(200):
        truth = np.array([4.0] + [1.0] * 7)
        probe = list(truth * np.exp(rng.normal(0.0, 0.10, 8)))
        maps = list((truth * np.exp(rng.normal(0.0, 0.10, (5, 8)))).sum(axis=1))
        sb = bounds.schedule_bounds(probe, 8, noise=bounds.item_noise(maps, probe))
        hits += sb.items_cap < 0.9 * 8
    assert hits >= 190


# -- the GIL sentence against the threads measurement ---------------------------------------

_RATIO = st.floats(min_value=0.31, max_value=1.0)
_SPEEDUP = st.floats(min_value=0.3, max_value=6.0)
_WIDTH = st.floats(min_value=0.0, max_value=0.5)


def _gil_claims(text: str) -> list[float]:
    """Every X in "the GIL caps them at about X×" and "the GIL ... allows them X×"."""
    import re

    found = re.findall(r"GIL caps them at about ([0-9.]+)×", text)
    found += re.findall(r"the GIL lets only one thread compute at a time, so the work allows them ([0-9.]+)×",
                        text)
    return [float(x) for x in found]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(ratio=_RATIO, speedup=_SPEEDUP, width=_WIDTH, workers=st.integers(2, 8),
       bound=st.floats(min_value=0.8, max_value=2.5), cores=st.floats(min_value=0.5, max_value=4.0))
def test_no_text_caps_threads_below_their_measured_interval(ratio, speedup, width, workers, bound, cores):
    from profkit.analysis import verdict

    ci = (speedup * (1 - width), speedup * (1 + width))
    c = verdict.classify(ratio, verdict.ModeFacts("threads", workers, speedup=speedup, ci=ci,
                                                  shares_gil=True), threads_cores=cores)
    work = c.work_class
    threads = verdict.ModeFacts("threads", workers, speedup=speedup, ci=ci, shares_gil=True,
                                shares_memory=True, cost=1, bound=bound, wall_s=1.0 / speedup)
    seq = verdict.ModeFacts("sequential", 1, speedup=1.0, parallel=False, reference=True, cost=0, wall_s=1.0)
    facts = verdict.Facts(work=work, modes=(seq, threads), cpu_ratio=ratio, per_task_s=0.01, n_items=8,
                          ref_wall_s=1.0)
    decision = verdict.decide(facts)
    text = " ".join([words.classification(c.facts), words.headline(verdict.headline(facts, decision)),
                     *(words.advice(a) for a in decision.advice)])
    for cap in _gil_claims(text):
        assert ci[0] <= cap + 0.005, (cap, ci, text)  # the cap is printed to 2 decimals


# -- the prediction ------------------------------------------------------------------------


def test_a_one_cpu_calibration_predicts_a_machine_with_more_cores():
    """8 equal CPU-bound items measured at 2 processes on 1 CPU (1.0x): on this machine the curve
    stays at 1x; on a machine with a core per worker it follows the items (2x at 2, 8x at 8)."""
    from profkit.analysis import prediction

    items = [0.1] * 8
    model = prediction.calibrate(items, items, mode="processes", reference_s=0.8, measured_wall_s=0.8,
                                 measured_workers=2, collect_s=0.0, startup_s=None, cpus=1, gil=False,
                                 chunksizes=[1] * 64, busy=False)
    here = {p.workers: p.speedup for p in prediction.predict(model)}
    there = {p.workers: p.speedup for p in prediction.predict(model, own_cores=True)}
    assert here[2] == pytest.approx(1.0, rel=0.01) and here[8] == pytest.approx(1.0, rel=0.01)
    assert there[2] == pytest.approx(2.0, rel=0.01) and there[8] == pytest.approx(8.0, rel=0.01)
    gil = prediction.calibrate(items, items, mode="threads", reference_s=0.8, measured_wall_s=0.8,
                               measured_workers=2, collect_s=0.0, startup_s=None, cpus=1, gil=True,
                               chunksizes=[1] * 64, busy=False)
    assert max(p.speedup for p in prediction.predict(gil, own_cores=True)) == pytest.approx(1.0, rel=0.01)


def test_gil_contention_is_not_read_as_dispatch():
    """Threads on pure Python measured at 0.8x on 2 workers (GIL hand-offs): the loss goes to the
    GIL, so one thread is still predicted at 1x and no per-chunk cost is invented."""
    from profkit.analysis import prediction

    items = [0.1] * 6
    model = prediction.calibrate(items, items, mode="threads", reference_s=0.6, measured_wall_s=0.75,
                                 measured_workers=2, collect_s=0.0, startup_s=None, cpus=2, gil=True,
                                 chunksizes=[1] * 64, busy=False)
    points = {p.workers: p.speedup for p in prediction.predict(model)}
    assert model.per_chunk_s == pytest.approx(0.0, abs=1e-6)
    assert points[1] == pytest.approx(1.0, rel=0.01) and points[2] == pytest.approx(0.8, rel=0.01)


def test_the_time_a_settled_answer_takes_counts_the_rounds_set_aside_beside_the_clean_ones():
    """Eight rounds in 8 s, four of them set aside: at that load a clean round costs 2 s, so the
    time quoted for a settled answer (rerun with --max-time) is twice what clean rounds alone
    would take."""
    from profkit.analysis.decision import looks
    from profkit.engine.rounds import auto_stop
    from profkit.model import ModeSpec, Timing
    from profkit.options import Options

    rng = np.random.default_rng(0)
    modes = [_SimMode("sequential", 1), _SimMode("processes", 2)]
    for done in range(1, 5):
        for m in modes:  # 1.2x under 10% noise: "processes vs no gain" stays open at 4 rounds
            wall = math.exp(rng.normal(0.0, 0.10)) / (1.0 if m.reference else 1.2)
            m.result.timings.append(Timing(phase="map", round=done, wall_s=wall, cpu_s=wall))
    options = Options(modes=[ModeSpec("sequential", 1)], max_rounds_s=8.0)
    schedule = looks(options.min_rounds, options.max_rounds)
    stops = {clean: auto_stop(_rule(options), modes, clean, 8, 8.0, options, schedule)  # type: ignore[arg-type]
             for clean in (4, 8)}
    busy, quiet = stops[4], stops[8]
    assert busy is not None and quiet is not None and busy.decision is not None
    assert not busy.decision.settled
    assert busy.round_s == pytest.approx(2.0) and quiet.round_s == pytest.approx(1.0)
    needed, quiet_needed = busy.time_needed_s(), quiet.time_needed_s()
    assert needed is not None and quiet_needed is not None
    assert needed == pytest.approx(2 * quiet_needed) and needed > options.max_rounds_s
