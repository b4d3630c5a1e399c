"""The per-worker task timelines (one Gantt chart per pool)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from markupsafe import Markup

from profkit.fmt import num
from profkit.render import charts as svg
from profkit.render.report.summary import traits

if TYPE_CHECKING:
    import pandas as pd

    from profkit.analysis.records import Analysis
    from profkit.record import RunRecord


def gantts(run: RunRecord, a: Analysis, order: list[str],
           tasks: pd.DataFrame) -> list[dict[str, object]]:
    """One timeline per pool that ran tasks (the reference mode has none)."""
    out: list[dict[str, object]] = []
    if tasks.empty:
        return out
    mode_meta = run.meta.modes
    main = tasks.loc[~tasks["sweep"].astype(bool),  # the columns a chart reads: a huge run's
                     ["mode", "worker", "start_s", "end_s", "duration_s", "ok", "item"]]  # copy
    for mode in order:
        if (t := traits(a, mode)) and t.reference:
            continue
        mine = main[main["mode"] == mode]
        if mine.empty:
            continue
        info = mode_meta.get(mode)
        wall = info.tasks_wall_s if info else None
        chart = svg.gantt_chart(mine, mode, num(wall))
        if chart:
            workers = info.workers if info else mine["worker"].nunique()
            out.append({"mode": mode, "svg": Markup(chart), "workers": workers,
                        "used": int(mine["worker"].nunique()), "wall": num(wall),
                        "n": int(len(mine))})
    return out
