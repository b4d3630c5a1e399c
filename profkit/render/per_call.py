"""The ``containers`` timeit table as it was meant: a bar chart of time per call, by builder
and mode.

Used when every task returns seconds (the ``containers`` workload). The chart is HTML
(bars are styled spans), so item names stay text the template escapes; values keep
three significant digits, so 0.31 µs and 0.24 µs do not both read "0.3 µs".
"""

from __future__ import annotations

from typing import Any

from profkit.fmt import fmt_sig


def _name(item_repr: str) -> str:
    """A builder's name from its item repr: quotes dropped from a plain string."""
    text = str(item_repr)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def per_call_chart(items: dict[str, Any] | None) -> dict[str, Any] | None:
    """Bars for the template from the items section's rows, or None when results are not seconds."""
    if not items or not items.get("seconds") or not items.get("rows"):
        return None
    modes: list[str] = list(items["result_modes"])
    rows = []
    for r in items["rows"]:
        bars = []
        for m in modes:
            cell = r["cells"].get(m)
            value = cell.get("result_s") if cell and cell.get("ok") else None
            bars.append({"mode": m, "value": value, "text": fmt_sig(value)})
        rows.append({"item": r["item"], "name": _name(r["repr"]), "bars": bars})
    top = max((b["value"] for row in rows for b in row["bars"] if b["value"] is not None), default=0.0)
    if not top or top <= 0:
        return None
    for row in rows:
        for b in row["bars"]:
            b["pct"] = round(100.0 * b["value"] / top, 2) if b["value"] is not None else 0.0
    return {"modes": modes, "rows": rows, "n": len(rows), "more": items["n"] > len(rows)}
