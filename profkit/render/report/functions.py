"""The functions table per mode: the top rows as HTML, the rest as compact JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING

from profkit.render.line_coverage import profile_coverage
from profkit.render.report.compact import Strings, rest_json, string_ids, ticks_list
from profkit.render.report.filters import location
from profkit.render.report.tables import records

if TYPE_CHECKING:
    import pandas as pd

    from profkit.record import RunMeta


#: Rows of a functions table written as HTML; the rest are stored as compact column-oriented
#: JSON and built by the page's script on "show all", filter or sort.
TOP_ROWS = 50


def tables(functions: pd.DataFrame, order: list[str], strings: Strings,
           meta: RunMeta | None = None) -> list[dict[str, object]]:
    """Per mode: the top rows for the template and the rest as compact JSON rows.

    The JSON columns are name, file, line, calls, primitive calls (0 when equal to calls, as
    is usual), self and cumulative time: strings as indexes into the string table, times in
    ticks of 0.1 µs.
    """
    out: list[dict[str, object]] = []
    mode_meta = meta.modes if meta else {}
    n_items = meta.workload.n_items if meta else None
    for mode in order:
        mine = functions[functions["mode"] == mode]
        if mine.empty:
            continue
        mine = mine.sort_values("self_s", ascending=False, kind="stable")
        total = float(mine["self_s"].sum())
        top = records(mine.head(TOP_ROWS))
        for r in top:
            r["location"] = location(str(r["filename"]), r["lineno"])
            r["calls"] = (f"{int(r['ncalls']):,}" if int(r["ncalls"]) == int(r["primitive_calls"])
                          else f"{int(r['ncalls']):,}/{int(r['primitive_calls']):,}")
            r["pct_total"] = 100.0 * float(r["self_s"]) / total if total > 0 else None
        rest = mine.iloc[TOP_ROWS:]
        columns: list[list[int]] = []
        if not rest.empty:
            ncalls = rest["ncalls"].astype("int64")
            primitive = rest["primitive_calls"].astype("int64").where(rest["primitive_calls"] != ncalls, 0)
            columns = [string_ids(rest["name"], strings), string_ids(rest["filename"], strings),
                       rest["lineno"].astype("int64").tolist(), ncalls.tolist(), primitive.tolist(),
                       ticks_list(rest["self_s"]), ticks_list(rest["cumulative_s"])]
        out.append({"idx": len(out) + 1, "mode": mode, "total": total, "n": int(len(mine)), "rows": top,
                    "rest": rest_json(columns), "rest_n": int(len(rest)),
                    "coverage": profile_coverage(info, n_items)
                    if (info := mode_meta.get(mode)) else None})
    return out
