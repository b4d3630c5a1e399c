"""The item table: per item, its result and its time in each mode; long tables as compact JSON."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from markupsafe import Markup

from profkit.fmt import num
from profkit.render.report import scale
from profkit.render.report.compact import Strings, rest_json, ticks
from profkit.render.report.tables import records

if TYPE_CHECKING:
    import pandas as pd


#: Rows of the item table written as HTML; the rest are built by the page's script.
TOP_ITEMS = 25


def seconds_results(values: list[str]) -> bool:
    """True when every result is a float in [0, 1): a task that returns seconds (containers)."""
    if not values:
        return False
    for text in values:
        if not re.fullmatch(r"-?\d+\.\d*(e-?\d+)?|\d+e-?\d+", text or ""):
            return False
        v = float(text)
        if not 0 <= v < 1:
            return False
    return True


@dataclass(frozen=True)
class ItemCell:
    """One item in one mode: its time, worker and result."""

    duration: float | None
    worker: str
    ok: bool
    result: str
    #: the result read as seconds, when every result is seconds
    result_s: float | None
    output: str
    output_bytes: int


@dataclass(frozen=True)
class ItemRow:
    """One item's row of the table, written as HTML (None: the item did not run in a mode)."""

    item: int
    repr: str
    cells: dict[str, ItemCell | None]
    failed: bool


@dataclass(frozen=True)
class ItemTable:
    """The item table: its first rows as HTML, the rest as compact JSON the page's script builds."""

    modes: list[str]
    #: the mode whose results and durations lead (the single-worker one, else the first)
    ref: str
    #: every result is seconds per call (the ``containers`` workload)
    seconds: bool
    result_modes: list[str]
    rows: list[ItemRow]
    n: int
    rest: Markup | None
    rest_n: int
    #: mode -> the columns of the rest's JSON its duration (and worker) come from
    duration_src: dict[str, str]
    limit: int
    #: the items of the run; ``n`` of them are listed when the table is ``cut``
    total: int
    cut: bool
    edge: int


def table(tasks: pd.DataFrame, order: list[str], strings: Strings,
           single: dict[str, bool]) -> ItemTable | None:
    """The item table; ``single`` marks the modes with one worker, whose worker column is left out."""
    if tasks.empty:
        return None
    not_sweep = ~tasks["sweep"].astype(bool)
    present = set(tasks.loc[not_sweep, "mode"].astype(str).unique())
    modes = [m for m in order if m in present]
    if not modes:
        return None
    ref = next((m for m in modes if single.get(m)), modes[0])
    main, cut, n_items = scale.table_rows(tasks, not_sweep, ref)
    per_mode = {m: {int(r["item"]): r for r in records(main[main["mode"] == m])} for m in modes}
    items = cut or sorted({i for rows in per_mode.values() for i in rows})
    ok_results = [str(r["result_repr"]) for r in per_mode[ref].values() if r["ok"]]
    seconds = seconds_results(ok_results)
    result_modes = modes if seconds else [ref]
    rows: list[ItemRow] = []
    n_cols = 2 + len(result_modes) + sum(1 if single.get(m) else 2 for m in modes)
    columns: list[list[str | int | None]] = [[] for _ in range(n_cols)]
    classes: list[int | None] = []
    for n, i in enumerate(items):
        first = next(per_mode[m][i] for m in modes if i in per_mode[m])
        cells: dict[str, ItemCell | None] = {}
        for m in modes:
            r = per_mode[m].get(i)
            if r is None:
                cells[m] = None
                continue
            result_value = None
            if seconds and r["ok"] and r["result_repr"]:
                result_value = num(float(r["result_repr"]))
            cells[m] = ItemCell(duration=num(r["duration_s"]), worker=str(r["worker"]),
                                ok=bool(r["ok"]), result=str(r["result_repr"]),
                                result_s=result_value, output=str(r.get("output") or ""),
                                output_bytes=int(r.get("output_bytes") or 0))
        failed = any(c and not c.ok for c in cells.values())
        if n < TOP_ITEMS:
            rows.append(ItemRow(item=i, repr=str(first["item_repr"]), cells=cells, failed=failed))
            continue
        values: list[str | int | None] = [i, strings(str(first["item_repr"]))]
        for m in result_modes:
            c = cells[m]
            if c is None or not c.ok:
                values.append(None)
            else:
                values.append(ticks(c.result_s) if seconds else strings(c.result))
        for m in modes:
            c = cells[m]
            values.append(ticks(c.duration) if c else None)
            if not single.get(m):
                values.append(strings(c.worker) if c else None)
        for column, value in zip(columns, values, strict=True):
            column.append(value)
        classes.append(strings("failed") if failed else None)
    sources, k = [], 2 + len(result_modes)
    for m in modes:
        sources.append(str(k) if single.get(m) else f"{k},{k + 1}")
        k += 1 if single.get(m) else 2
    return ItemTable(modes=modes, ref=ref, seconds=seconds, result_modes=result_modes, rows=rows,
                     n=len(items), rest=rest_json(columns, classes), rest_n=len(columns[0]),
                     duration_src=dict(zip(modes, sources, strict=True)), limit=TOP_ITEMS,
                     total=n_items, cut=cut is not None, edge=scale.EDGE_ROWS)
