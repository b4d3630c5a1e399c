"""Compact JSON for long tables: a string table, times in ticks, column-oriented rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from markupsafe import Markup

from profkit.fmt import num

if TYPE_CHECKING:
    import pandas as pd

TICK = 1e-7  # seconds per unit of the JSON times (0.1 µs)


class Strings:
    """A string table for the compact JSON rows: each distinct string is stored once."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = len(self.index)
        return found

    def to_list(self) -> list[str]:
        return list(self.index)


def ticks(seconds: object) -> int | None:
    """Seconds as whole ticks of :data:`TICK`, or None."""
    v = num(seconds)
    return None if v is None else round(v / TICK)


def ticks_list(values: pd.Series) -> list[int]:
    """A column of seconds as ticks (missing values as 0)."""
    import numpy as np

    scaled = values.astype("float64").fillna(0.0).to_numpy() / TICK
    ticks: list[int] = np.rint(scaled).astype("int64").tolist()
    return ticks


def string_ids(values: pd.Series, strings: Strings) -> list[int]:
    """A column of strings as indexes into the string table."""
    import pandas as pd

    codes, uniques = pd.factorize(values.astype(str))
    ids = [strings(str(u)) for u in uniques]
    return [ids[c] for c in codes.tolist()]


def rest_json(columns: Sequence[Sequence[object]],
              row_classes: list[int | None] | None = None) -> Markup | None:
    """Rows for the JS to build on "show all": column-oriented JSON, safe inside a script element."""
    from jinja2.utils import htmlsafe_json_dumps

    if not columns or not columns[0]:
        return None
    data: dict[str, object] = {"c": columns}
    if row_classes and any(c is not None for c in row_classes):
        data["r"] = row_classes
    return Markup(htmlsafe_json_dumps(data, separators=(",", ":")))
