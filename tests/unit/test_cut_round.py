"""An interrupt that cuts a round short: every mode's median and speedup come from the same
completed rounds, and the report says the cut round is left out."""

import dataclasses

import pandas as pd
import pytest

from profkit.analysis import summary
from profkit.model import RoundInfo, Status
from profkit.render import text as words
from tests.fixtures.records import PROCESS_TRAITS, mode_meta, run_meta

SEQ_TRAITS = dataclasses.replace(PROCESS_TRAITS, parallel=False, ships_pickles=False,
                                 shares_memory=True, reference=True)


def _frames(walls):
    rows = [{"mode": m, "workers": w, "sweep": False, "phase": "map", "repeat": r, "wall_s": s,
             "cpu_s": s, "spoiled": False} for (m, w, r), s in walls.items()]
    tasks = pd.DataFrame({"mode": pd.Series(dtype=str), "sweep": pd.Series(dtype=bool),
                          "item": pd.Series(dtype=int), "ok": pd.Series(dtype=bool)})
    return {"timings": pd.DataFrame(rows), "tasks": tasks}


@pytest.mark.parametrize("cut_by", ["processes", "sequential"])
def test_a_cut_round_gives_no_mode_a_round_its_speedup_cannot_use(cut_by):
    """Round 0 completed (sequential 1.03 s, processes 1.355 s: 0.76×); the interrupt came in
    round 1 after one mode's map. The table said processes 1.16 s (both rounds) beside 0.76×."""
    walls = {("sequential", 1, 0): 1.03, ("processes", 2, 0): 1.355}
    walls[(cut_by, 1 if cut_by == "sequential" else 2, 1)] = 0.965
    meta = run_meta({"sequential": mode_meta(1, SEQ_TRAITS), "processes": mode_meta(2)},
                    interrupted=True,
                    rounds=[RoundInfo(0, ["sequential", "processes"], 2.4, 0.0, False),
                            RoundInfo(1, [cut_by], 1.0, 0.0, False, cut=True)])
    meta.status.update(sequential=Status.OK, processes=Status.INTERRUPTED)
    frames = _frames(walls)
    ref = summary.reference(frames, meta)
    modes, _ = summary.mode_summaries(frames, meta, ref)
    seq, proc = modes["sequential"], modes["processes"]
    assert seq.wall_median_s == pytest.approx(1.03) and proc.wall_median_s == pytest.approx(1.355)
    assert proc.speedup == pytest.approx(seq.wall_median_s / proc.wall_median_s)
    assert proc.repeats == proc.paired_rounds == 1
    facts = summary.rounds_facts(meta)
    assert facts.cut_left_out
    basis = words.rounds_basis(facts)
    assert "cut short is left out" in basis and "same 1 completed round" in basis
    assert "left out of the figures" in words.rounds(facts)


def test_a_run_cut_in_its_first_round_keeps_the_maps_it_has():
    meta = run_meta({"sequential": mode_meta(1, SEQ_TRAITS)}, interrupted=True,
                    rounds=[RoundInfo(0, ["sequential"], 1.0, 0.0, False, cut=True)])
    assert summary.left_out_rounds(meta) == set()
    assert not summary.rounds_facts(meta).cut_left_out
