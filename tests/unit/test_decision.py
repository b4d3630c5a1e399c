"""The decision-driven stopping rule's pieces, and the one warning an open decision gives."""

from __future__ import annotations

import math

from profkit.analysis import decision
from profkit.analysis.stats import t_quantile
from profkit.analysis.summary import _open_decision
from profkit.model import RoundInfo
from profkit.record import RunMeta, WorkloadMeta
from profkit.render import text as words


def test_the_looks_grow_by_half_and_stop_below_the_round_cap():
    assert decision.looks(3, 25) == (3, 5, 8, 12, 18)
    assert decision.looks(3, 4) == (3,)
    assert decision.look_level(5) == 1 - 0.02 / 5
    assert decision.level_of(decision.Reason.REPEAT, 5) == 0.95
    assert decision.level_of(decision.Reason.TIME, 5) == decision.cap_level() == 0.97
    assert decision.LOOK_ALPHA + decision.CAP_ALPHA <= 1 - decision.LEVEL + 1e-12


def _walls(base: float, jitter: list[float]) -> dict[int, float]:
    return {r: base * (1 + j) for r, j in enumerate(jitter)}


def test_a_clear_gain_settles_and_a_simpler_mode_within_five_percent_is_chosen():
    ref = _walls(1.0, [0.0, 0.01, -0.01, 0.0, 0.02])
    fast = decision.Candidate("processes", _walls(0.5, [0.0, 0.01, -0.01, 0.0, 0.02]), cost=2,
                              workers=2)
    slow = decision.Candidate("threads", _walls(1.0, [0.01, 0.0, 0.0, -0.01, 0.02]), cost=1,
                              workers=2)
    d = decision.decide(ref, [slow, fast], 0.99)
    assert d.choice == "processes" and d.settled and not d.open
    near = decision.Candidate("threads", _walls(0.51, [0.0, 0.01, -0.01, 0.0, 0.02]), cost=1,
                              workers=2)
    assert decision.decide(ref, [near, fast], 0.99).choice == "threads"


def test_no_gain_is_the_reference_and_an_unclear_one_stays_open():
    ref = _walls(1.0, [0.0, 0.05, -0.05, 0.02])
    flat = decision.Candidate("threads", _walls(1.0, [0.04, -0.03, 0.05, -0.04]))
    d = decision.decide(ref, [flat], 0.99)
    assert d.choice is None and not d.settled and d.open == ("threads vs no gain",)
    assert d.rounds_needed(0.99) > 4


def _meta(**stopping: object) -> RunMeta:
    rounds = [RoundInfo(round=r, order=[], wall_s=1.0, others_cpu=0.0, spoiled=False)
              for r in range(4)]
    return RunMeta(workload=WorkloadMeta(name="w", n_items=4), status={}, rounds=rounds,
                   stopping={"rule": "decision", "clean_rounds": 4, **stopping})


def _said(meta: RunMeta) -> str | None:
    note = _open_decision(meta, True)
    return words.note(note) if note is not None else None


def test_an_open_decision_warns_once_with_the_time_it_needs_and_a_settled_one_not_at_all():
    assert _open_decision(_meta(settled=True), True) is None
    assert _open_decision(_meta(rule="precision", settled=False), True) is None
    # no recommendation (no mode finished, or the stop came during the rounds): nothing to doubt
    assert _open_decision(_meta(settled=False, open=["processes vs threads"]), False) is None
    text = _said(_meta(settled=False, open=["processes vs threads"],
                 settled_after_s=42.5, settled_after_rounds=12))
    assert text is not None
    assert "not settled" in text and "processes vs threads" in text
    assert "--max-time 43" in text
    equal = _said(_meta(settled=False, open=["processes vs threads"]))
    assert equal is not None and "either answer" in equal
    repeat = _said(_meta(rule="repeat", settled=False, open=["threads vs no gain"],
                   settled_after_s=30.0, settled_after_rounds=9))
    assert repeat is not None and "--repeat 9" in repeat


def test_a_speedup_near_its_bound_is_settled_and_one_that_may_pass_it_is_not():
    """The verdict's one claim against the bound is a speedup above it: a choice measured under
    its bound, or at it within 10%, leaves nothing open, even when its interval reaches past
    it; one measured clearly above it stays open until its whole interval lies above."""
    ref = _walls(1.0, [0.0, 0.04, -0.04, 0.02, -0.02])
    pool = _walls(1 / 1.67, [0.03, -0.03, 0.04, -0.03, 0.0])
    for bound in (1.82, 1.6):  # the speedup under its bound, and 4% above it
        near = decision.decide(ref, [decision.Candidate("processes", pool, workers=2, bound=bound)],
                               0.99)
        assert near.choice == "processes" and near.settled, (bound, near.open)
    above = decision.decide(ref, [decision.Candidate("processes", pool, workers=2, bound=1.48)],
                            0.99)
    assert above.open == ("processes vs its bound",)
    clear = _walls(1 / 1.9, [0.01, -0.01, 0.0, 0.01, -0.01])
    fits_not = decision.decide(ref, [decision.Candidate("processes", clear, workers=2, bound=1.5)],
                               0.99)
    assert fits_not.settled  # its whole interval lies above the bound: the model does not fit


def _planned_power(e: decision.RatioEstimate, threshold: float, level: float, n: int) -> bool:
    """Whether ``n`` clean rounds at ``e``'s spread put its interval clear of ``threshold``
    at 80% power: the planner's own criterion, evaluated directly at one round count."""
    gap = abs(math.log(e.value / threshold))
    sd = math.log(e.high / e.value) * math.sqrt(e.n) / t_quantile(decision.LEVEL, e.n - 1)
    return (t_quantile(level, n - 1) + decision.POWER_Z) * sd / gap <= math.sqrt(n)


def test_the_rounds_a_settled_answer_needs_are_more_than_ran_and_the_fewest_that_suffice():
    # after 2 rounds a 2.3% gap with a 95% interval of ±5% is open; the answer is the
    # smallest round count (above the 2 that did not settle it) whose interval would clear
    # the threshold at the spread seen, whatever the spread
    for n_ran, half in [(2, 0.05), (2, 0.2), (3, 0.04), (4, 0.03), (5, 0.5)]:
        value, threshold = 1.0, 1.0 / 1.023
        sd = math.log(1 + half) * math.sqrt(n_ran) / t_quantile(decision.LEVEL, n_ran - 1)
        width = t_quantile(decision.LEVEL, n_ran - 1) * sd / math.sqrt(n_ran)
        e = decision.RatioEstimate(value, value * math.exp(-width), value * math.exp(width), n_ran)
        c = decision.Comparison("threads vs processes", e, threshold)
        assert not c.settled
        level = decision.look_level(1)
        needed = c.rounds_needed(level)
        assert needed == int(needed) and needed > n_ran, (n_ran, half, needed)
        n = int(needed)
        assert _planned_power(e, threshold, level, n), (n_ran, half, n)
        assert n - 1 <= n_ran or not _planned_power(e, threshold, level, n - 1), (n_ran, half, n)
