"""What ``profkit profile``'s summary says of runs that did not go to plan: modes that failed
or were interrupted, rounds cut short, rounds set aside. Fake executors (see
test_runner_fake.py) give runs of known facts in a fraction of a second; the console, the
report's rounds phrase and ``--json`` are read as a user would."""

from __future__ import annotations

from typing import Any

import pytest

from profkit.analysis.notes import RoundsFacts
from profkit.engine import runner
from profkit.engine.load import LoadMeter
from profkit.model import Status
from profkit.pipeline import build_run
from profkit.record import RunRecord
from profkit.render import console, html
from profkit.render import text as words
from profkit.render.report.summary import rounds as report_rounds
from tests.unit.test_runner_fake import fails_on_five, fakes, run  # noqa: F401 - the fixture


def test_a_run_whose_every_mode_failed_recommends_nothing_and_names_each_mode_once(fakes):  # noqa: F811 - the fixture
    raw = run(task=fails_on_five)
    made = build_run(raw)
    text = console.render(made)
    assert made.analysis.recommendation is None
    assert "No recommendation: no mode finished. fake_ref: failed; fake: failed." in text
    assert "Recommended" not in text and "1 workers" not in text
    errors = [line for line in text.splitlines() if "the task failed on item 4" in line]
    assert sorted(errors) == sorted(m.error for m in raw.modes)
    assert [line.split(": ")[0] for line in sorted(errors)] == ["fake:2", "fake_ref"]
    assert words.analysis_json(made.analysis)["verdict"] == (
        "No recommendation: no mode finished. fake_ref: failed; fake: failed.")


def test_ctrl_c_in_a_round_keeps_the_rounds_before_it_and_says_one_was_cut(fakes):  # noqa: F811
    """The stop lands in the pool's second map, after the reference's (seed 1's order): the
    first round is recorded whole, the second as cut short with the reference's whole map in
    it; every mode that started is interrupted (none recommended), and the summary counts the
    one completed round."""
    fakes["fake"].fail_map = (2, KeyboardInterrupt())
    raw = run(repeat=4, seed=1, spoiled_cores=1e9)
    assert raw.interrupted
    assert [(r.round, r.cut, r.order) for r in raw.rounds] == [
        (0, False, raw.rounds[0].order), (1, True, ["fake_ref"])]
    assert sorted(raw.rounds[0].order) == ["fake", "fake_ref"]
    assert [m.status for m in raw.modes] == [Status.INTERRUPTED, Status.INTERRUPTED]
    ref_maps = [t.round for t in raw.modes[0].timings if t.phase == "map"]
    assert ref_maps == [0, 1]  # the cut round's whole map is kept
    made = build_run(raw)
    a = made.analysis
    assert a.rounds == RoundsFacts(completed=1, cut=True, spoiled=0, every_round=False)
    assert a.recommendation is None
    text = console.render(made)
    assert ("(8 items, 1 interleaved round completed and one cut short by the interrupt, left out "
            "of the figures)") in text
    round0 = next(t.wall_s for t in raw.modes[0].timings if t.phase == "map" and t.round == 0)
    assert a.modes["fake_ref"].wall_median_s == round0  # the cut round's map is kept, not counted
    assert ("warning: The run was interrupted after 1 timing round, and cut the next one short: "
            "the modes it stopped are marked interrupted") in text
    assert "No recommendation: no mode finished. fake_ref: interrupted; fake: interrupted." in text
    assert report_rounds(made.meta, a)["text"].startswith(
        "1 interleaved round completed and one cut short by the interrupt, left out of the figures "
        "(a fixed number)")
    assert _json(made)["rounds"]["text"] == (
        "1 interleaved round completed and one cut short by the interrupt, left out of the figures")


def test_ctrl_c_before_any_map_of_a_round_records_no_cut_round(fakes):  # noqa: F811
    """Seed 2 runs the pool first in the second round: the stop leaves nothing of that round."""
    fakes["fake"].fail_map = (2, KeyboardInterrupt())
    raw = run(repeat=4, seed=2, spoiled_cores=1e9)
    assert [(r.round, r.cut) for r in raw.rounds] == [(0, False)]
    made = build_run(raw)
    text = console.render(made)
    assert "(8 items, 1 interleaved round)" in text
    assert ("warning: The run was interrupted after 1 timing round: the modes it stopped are "
            "marked interrupted") in text


def test_ctrl_c_after_the_rounds_keeps_every_mode_ok_and_the_recommendation(fakes, monkeypatch):  # noqa: F811
    """The stop lands in the cProfile pass: the timings are complete, so the modes stay ok, the
    pool's 2x is recommended, and the warning says only the profiles may be missing."""
    def stopped(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_cprofile", stopped)
    raw = run(repeat=3, collectors=("timing", "tasks", "cprofile"), spoiled_cores=1e9)
    assert raw.interrupted and len(raw.rounds) == 3 and not any(r.cut for r in raw.rounds)
    assert [m.status for m in raw.modes] == [Status.OK, Status.OK]
    assert [m.error for m in raw.modes] == [None, None]
    made = build_run(raw)
    assert made.analysis.recommendation is not None
    assert made.analysis.recommendation.mode == "fake"
    text = console.render(made)
    assert "(8 items, 3 interleaved rounds)" in text and "Recommended: fake with 2 workers" in text
    assert ("warning: The run was interrupted after its timing rounds: the timings and the "
            "recommendation are complete, the profiles may not be") in text


def _json(made: RunRecord) -> dict[str, Any]:
    out = words.analysis_json(made.analysis)
    assert isinstance(out, dict)
    return out


def _busy(monkeypatch: Any, cores: float) -> None:
    """Other programs keep ``cores`` busy during every round (and the run)."""
    monkeypatch.setattr(LoadMeter, "start", lambda self: None)
    monkeypatch.setattr(LoadMeter, "stop", lambda self: cores)


@pytest.mark.parametrize("pool_s", [0.5, 1.0], ids=["a clear 2x", "no gain"])
def test_a_recommendation_on_rounds_all_set_aside_is_warned_once_and_says_what_it_is_over(
        fakes, monkeypatch, pool_s):  # noqa: F811 - the fixture
    """Every round set aside: the estimates use every round, and the report says so rather
    than 'over the clean rounds'. Whether or not those rounds seemed to settle the decision
    (a steady 2x does, with its interval; no gain does not), the recommendation rests on rounds
    other programs disturbed: one 'not settled' warning, with the fix, either way."""
    _busy(monkeypatch, 1.5)
    fakes["fake"].walls = [pool_s]
    raw = run(repeat=3)
    assert len(raw.rounds) == 3 and all(r.spoiled for r in raw.rounds)
    made = build_run(raw)
    a = made.analysis
    assert a.rounds == RoundsFacts(completed=3, cut=False, spoiled=3, every_round=True)
    assert a.recommendation is not None
    warned = [w for w in console.render(made).splitlines() if w.startswith("warning: ")]
    unsure = [w for w in warned if "The recommendation is not settled" in w]
    assert unsure == ["warning: The recommendation is not settled: other programs kept the CPUs "
                      "busy during 3 of the 3 timing rounds, too few clean ones were left. "
                      "Rerun on a quieter machine."], warned
    basis = report_rounds(made.meta, a)["basis"]
    assert basis == ("Wall times are medians over every round, the set-aside ones too, since "
                     "fewer than two rounds were clean; IQR is their spread.")
    page = html.render(made)
    assert basis in page and "medians over the clean rounds" not in page
    # the medians shown are indeed over every round: the set-aside ones are all there is
    assert a.modes["fake"].wall_median_s == pool_s and a.modes["fake"].repeats == 3


def test_with_clean_rounds_the_medians_are_over_them(fakes):  # noqa: F811 - the fixture
    made = build_run(run(repeat=3, spoiled_cores=1e9))
    assert report_rounds(made.meta, made.analysis)["basis"] == (
        "Wall times are medians over the rounds; IQR is their spread.")


def test_the_report_of_an_interrupted_run_says_what_the_console_says_once(fakes):  # noqa: F811
    """The banner of a run cut in its rounds words the same warning as the console, once, and
    marks the interrupted modes."""
    fakes["fake"].fail_map = (2, KeyboardInterrupt())
    made = build_run(run(repeat=4, seed=1, spoiled_cores=1e9))
    warning = next(words.note(w) for w in made.analysis.warnings)
    page = html.render(made)
    assert page.count("The run was interrupted after 1 timing round, and cut the next one short") == 1
    assert warning in page and "Marked: <b>fake_ref</b> interrupted, <b>fake</b> interrupted." in page
