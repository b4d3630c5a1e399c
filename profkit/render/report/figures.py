"""The report's charts as SVG: speedup, scaling, prediction and memory, plus the timelines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from markupsafe import Markup

from profkit.model import Status
from profkit.render import charts as svg
from profkit.render.report import timeline
from profkit.render.report.summary import timing_rows

if TYPE_CHECKING:
    import pandas as pd

    from profkit.analysis.records import Analysis
    from profkit.record import RunRecord


def charts(run: RunRecord, a: Analysis, order: list[str], tasks: pd.DataFrame,
           memory: pd.DataFrame) -> dict[str, object]:
    """Every chart the report shows, as markup (None where a chart has nothing to show)."""
    rows = timing_rows(a, order)
    out: dict[str, object] = {"speedup": None, "scaling": None, "gantt": [], "memory": None,
                           "prediction": None}
    pred = a.prediction
    if pred and pred.modes:
        out["prediction"] = svg.prediction_chart(pred)
    out["speedup"] = svg.speedup_chart([r for r in rows if r.status is Status.OK])
    sweep = a.sweep
    if sweep and sweep.points:
        out["scaling"] = svg.scaling_chart(sweep.points, sweep.amdahl)
    out["gantt"] = timeline.gantts(run, a, order, tasks)
    if a.memory.moved or not a.memory.modes:  # a flat chart says nothing the table does not
        out["memory"] = svg.memory_chart(memory, order)
    for key in ("speedup", "scaling", "memory", "prediction"):
        if out[key]:
            out[key] = Markup(out[key])
    return out
