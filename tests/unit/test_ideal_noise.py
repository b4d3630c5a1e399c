"""The 'noise' badge on an interval above the ideal W× shows only an excess the printed
numbers show too."""

import pytest

from profkit.analysis.records import ModeSummary
from profkit.analysis.summary import _mode_notes
from profkit.fmt import fmt_interval
from profkit.model import Status
from profkit.render import console
from profkit.render import text as words
from tests.fixtures.records import PROCESS_TRAITS


def _entry(hi: float, workers: int = 2) -> ModeSummary:
    return ModeSummary(mode="threads", workers=workers, traits=PROCESS_TRAITS, status=Status.OK,
                       speedup=min(hi, workers) - 0.005, speedup_ci=[min(hi, workers) - 0.01, hi])


@pytest.mark.parametrize("hi,workers", [(2.0029, 2), (2.0049, 2), (2.004, 2), (2.02, 2), (2.2, 2),
                                        (16.05, 16), (16.2, 16), (4.0, 4), (1.0049, 1)])
def test_the_noise_badge_only_when_the_printed_upper_end_is_above_the_ideal(hi, workers):
    entry = _entry(hi, workers)
    notes = _mode_notes({"threads": entry})
    printed_hi = float(fmt_interval(entry.speedup_ci).split("–")[1].rstrip("×"))
    shown = printed_hi > workers
    assert entry.crosses_ideal is shown and bool(notes) is shown
    assert (" noise" in console._speedup(entry)) is shown
    for note in notes:  # the note's numbers show the excess too
        assert f"–{hi:.2f}]" in words.note(note) and hi > workers
