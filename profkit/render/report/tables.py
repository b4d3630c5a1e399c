"""A run's frames as the sections read them: every schema column present, rows as dicts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from profkit.record import RunRecord


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as dicts with string keys."""
    if frame.empty:
        return []
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def frame(run: RunRecord, name: str) -> pd.DataFrame:
    """The run's frame ``name`` with every schema column (an empty one if missing)."""
    import pandas as pd

    from profkit.frames import COLUMNS, empty

    frame = (run.frames or {}).get(name)
    if frame is None:
        return empty(name)
    missing = [c for c in COLUMNS[name] if c not in frame.columns]
    if missing:
        frame = frame.assign(**{c: pd.Series(dtype=COLUMNS[name][c][0]) for c in missing})
    return frame
