"""The memory sections: peaks per mode and memory_profiler's lines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from profkit.fmt import num
from profkit.render.report.filters import location
from profkit.render.text import memory_limit

if TYPE_CHECKING:
    import pandas as pd

    from profkit.analysis.memory import MemorySummary
    from profkit.record import RunRecord


@dataclass(frozen=True)
class PeakRow:
    """One mode's row of the memory table (None: the analysis has no entry for the mode)."""

    mode: str
    parent_peak: float | None = None
    worker_peak: float | None = None
    workers: int = 0
    total_peak: float | None = None
    samples: int | None = None
    total_rise: float | None = None
    worker_rise: float | None = None
    parent_rise: float | None = None
    per_worker: float | None = None
    fits: int | None = None
    limited: bool = False
    text: str | None = None


def peaks(memory: pd.DataFrame, order: list[str],
          analysed: MemorySummary | None = None) -> list[PeakRow]:
    """Per mode with samples: the analysis's peaks, rises and fit (profkit.analysis.memory)."""
    out = []
    for mode in order:
        if memory[memory["mode"] == mode].empty:
            continue
        e = analysed.modes.get(mode) if analysed else None
        out.append(PeakRow(mode) if e is None else PeakRow(
            mode=mode, parent_peak=e.parent_peak_bytes, worker_peak=e.worker_peak_bytes,
            workers=len(e.processes), total_peak=e.total_peak_bytes, samples=e.samples,
            total_rise=e.total_rise_bytes, worker_rise=e.worker_rise_bytes,
            parent_rise=e.parent_rise_bytes, per_worker=e.per_worker_bytes, fits=e.fits,
            limited=e.limited, text=memory_limit(e.limit) if e.limit else None))
    return out


def lines(run: RunRecord, frame: pd.DataFrame, order: list[str]) -> list[dict[str, object]]:
    """Per mode: memory_profiler's lines, which items it covered, what it cost, or why not."""
    meta = run.meta
    if not meta.options.get("memory_line_functions"):
        return []
    n_items = meta.workload.n_items
    out = []
    for mode in order:
        info = meta.modes.get(mode)
        mine = frame[frame["mode"] == mode] if not frame.empty else frame
        if info is None:
            continue
        ran = mine[mine["occurrences"] > 0] if not mine.empty else mine
        top = float(ran["increment_bytes"].max()) if not ran.empty else None
        rows = []
        for r in ran.sort_values(["filename", "func_lineno", "lineno"]).to_dict("records"):
            rows.append({**r, "location": location(str(r["filename"]), r["lineno"]),
                         "top": top is not None and top > 0 and r["increment_bytes"] == top})
        out.append({"mode": mode, "rows": rows, "covered": info.memory_line_items,
                    "n_items": n_items, "cost": num(info.phase_s.get("memory_lines")),
                    "estimate": num(info.memory_lines_estimate_s),
                    "note": info.memory_lines_note})
    return out
