"""Report sections that show the analysis's estimates: the recommendation's bound and the memory peaks.

The estimates are computed in ``profkit/analysis`` (render only formats them); these tests
check them against numbers worked out here from the same inputs.
"""

from __future__ import annotations

import pandas as pd
import pytest

from profkit.analysis.memory import summarise
from profkit.analysis.records import (
    Analysis,
    Granularity,
    ModeSummary,
    RecommendationSummary,
    Sweep,
    SweepPoint,
)
from profkit.analysis.summary import _recommendation
from profkit.analysis.verdict import Recommendation
from profkit.model import Status
from profkit.render.report.memory import peaks
from profkit.render.report.summary import recommendation
from tests.fixtures.records import PROCESS_TRAITS, mode_meta, run_meta

MIB = 2**20


def rec(mode: str = "processes", workers: int = 2, speedup: float = 1.6) -> Recommendation:
    return Recommendation(mode=mode, workers=workers, speedup=speedup, ci=(1.5, 1.7), clear=True,
                          reason="test")


def summary(mode: str, workers: int, bound: float) -> ModeSummary:
    return ModeSummary(mode=mode, workers=workers, traits=PROCESS_TRAITS, status=Status.OK,
                       bound=bound)


def test_the_bound_comes_from_the_mode_then_the_sweep_then_the_granularity():
    modes = {"processes": summary("processes", 2, 1.8)}
    out = _recommendation(rec(), modes, None, None, "sequential")
    assert out is not None and out.bound == 1.8 and out.of_bound == pytest.approx(1.6 / 1.8)
    sweep = Sweep(points=[SweepPoint(mode="processes", workers=4, wall_median_s=None, speedup=None,
                                     speedup_ci=None, with_main_run=False, bound=3.5)])
    out = _recommendation(rec(workers=4, speedup=3.0), modes, sweep, None, "sequential")
    assert out is not None and out.bound == 3.5 and out.of_bound == pytest.approx(3.0 / 3.5)
    assert out.sweep_point == sweep.points[0]  # only the sweep ran it: render shows its row
    assert _recommendation(rec(), modes, sweep, None, "sequential").sweep_point is None
    grain = Granularity(workers=3, n_items=6, item_s=None, total_s=5.0, largest_item_s=1.0,
                        makespan_s=2.0, in_order_makespan_s=2.0, bound=2.5, optimum=2.5,
                        optimum_exact=True, upper=2.5, dispatch=2.5, chunksize=1)
    out = _recommendation(rec(workers=3, speedup=2.0), modes, sweep, grain, "sequential")
    assert out is not None and out.bound == 2.5 and out.of_bound == pytest.approx(0.8)
    out = _recommendation(rec(workers=8), modes, sweep, grain, "sequential")
    assert out is not None and out.bound is None and out.of_bound is None
    assert _recommendation(None, modes, None, None, "sequential") is None


def test_the_reference_mode_has_no_bound_and_render_passes_the_analysis_through():
    modes = {"sequential": summary("sequential", 1, 1.0)}
    out = _recommendation(rec("sequential", 1, 1.0), modes, None, None, "sequential")
    assert out is not None and out.bound is None and out.of_bound is None
    analysed = Analysis(recommendation=RecommendationSummary(
        mode="processes", workers=2, speedup=1.6, speedup_ci=None, clear=True, reason="test",
        bound=1.8, of_bound=0.9))
    assert recommendation(analysed) == analysed.recommendation
    assert recommendation(Analysis()) is None


def test_memory_peaks_shown_are_the_analysis_peaks_of_the_samples():
    rows = []
    for t, parent, workers in ((0.0, 100, (50, 60)), (0.1, 140, (300, 80)), (0.2, 120, (90, 400))):
        rows.append(("processes", t, 1, "parent", parent * MIB))
        rows += [("processes", t, pid, "worker", rss * MIB) for pid, rss in zip((2, 3), workers,
                                                                                 strict=True)]
    frame = pd.DataFrame(rows, columns=["mode", "t_s", "pid", "role", "rss_bytes"])
    meta = run_meta({"processes": mode_meta(2)},
                    environment={"memory_available_bytes": 64 * 2**30, "cpus_available": 2})
    (shown,) = peaks(frame, ["processes", "threads"], summarise(frame, meta))
    # worked out by hand from the rows above
    assert shown.parent_peak == 140 * MIB
    assert shown.worker_peak == 400 * MIB
    assert shown.total_peak == (120 + 90 + 400) * MIB
    assert shown.total_rise == (120 + 90 + 400 - (100 + 50 + 60)) * MIB
    assert shown.workers == 2 and shown.samples == 3


def test_a_sweep_recommendation_says_where_its_figures_come_from_in_every_renderer():
    from profkit.render import text as words

    point = SweepPoint(mode="threads", workers=4, wall_median_s=0.1, speedup=3.99,
                       speedup_ci=[3.94, 4.03], with_main_run=False, bound=4.0)
    analysed = Analysis(recommendation=RecommendationSummary(
        mode="threads", workers=4, speedup=3.99, speedup_ci=[3.94, 4.03], clear=True,
        reason=Recommendation("threads", 4, 3.99, (3.94, 4.03), True,
                              words.Reason(words.ReasonKind.FASTEST)).reason,
        sweep_point=point))
    said = words.sweep_source(analysed.recommendation)
    assert said.startswith("threads with 4 workers ran only in the worker sweep")
    assert words.analysis_json(analysed)["recommendation"]["source"].startswith(said[:40])
    assert words.profile_of("threads", 2, analysed.recommendation) == \
        "  (the profile of threads with 2 workers)"
    assert words.profile_of("threads", 4, analysed.recommendation) == ""
