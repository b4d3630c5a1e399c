"""The ``containers`` timeit table as it was meant: a bar chart of time per call, by builder
and mode.

Used when every task returns seconds (the ``containers`` workload). The chart is HTML
(bars are styled spans), so item names stay text the template escapes; values keep
three significant digits, so 0.31 µs and 0.24 µs do not both read "0.3 µs".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from profkit.fmt import fmt_sig

if TYPE_CHECKING:
    from profkit.render.report.items import ItemTable


def _name(item_repr: str) -> str:
    """A builder's name from its item repr: quotes dropped from a plain string."""
    text = str(item_repr)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


@dataclass
class Bar:
    """One mode's bar of an item: seconds per call, its text, and its length in percent."""

    mode: str
    value: float | None
    text: str
    pct: float = 0.0


@dataclass(frozen=True)
class BarRow:
    item: int
    name: str
    bars: list[Bar]


@dataclass(frozen=True)
class PerCallChart:
    """The chart: one row per item listed, one bar per mode; ``more``: the table lists more."""

    modes: list[str]
    rows: list[BarRow]
    n: int
    more: bool


def per_call_chart(items: ItemTable | None) -> PerCallChart | None:
    """Bars for the template from the items section's rows, or None when results are not seconds."""
    if not items or not items.seconds or not items.rows:
        return None
    modes = list(items.result_modes)
    rows = []
    for r in items.rows:
        bars = []
        for m in modes:
            cell = r.cells.get(m)
            value = cell.result_s if cell and cell.ok else None
            bars.append(Bar(mode=m, value=value, text=fmt_sig(value)))
        rows.append(BarRow(item=r.item, name=_name(r.repr), bars=bars))
    top = max((b.value for row in rows for b in row.bars if b.value is not None), default=0.0)
    if not top or top <= 0:
        return None
    for row in rows:
        for b in row.bars:
            b.pct = round(100.0 * b.value / top, 2) if b.value is not None else 0.0
    return PerCallChart(modes=modes, rows=rows, n=len(rows), more=items.n > len(rows))
