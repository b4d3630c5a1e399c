"""What ``profkit profile``'s summary says of runs that did not go to plan: modes that failed
or were interrupted, rounds cut short, rounds set aside. Fake executors (see
test_runner_fake.py) give runs of known facts in a fraction of a second; the console, the
report's rounds phrase and ``--json`` are read as a user would."""

from __future__ import annotations

from profkit.pipeline import build_run
from profkit.render import console
from profkit.render import text as words
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
