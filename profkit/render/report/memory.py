"""The memory sections: peaks per mode and memory_profiler's lines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from profkit.fmt import num
from profkit.render.report.filters import location

if TYPE_CHECKING:
    import pandas as pd

    from profkit.record import RunRecord


def peaks(memory: pd.DataFrame, order: list[str],
          analysed: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Per mode with samples: the analysis's peaks, rises and fit (profkit.analysis.memory)."""
    out = []
    for mode in order:
        if memory[memory["mode"] == mode].empty:
            continue
        entry = ((analysed or {}).get("modes") or {}).get(mode) or {}
        out.append({
            "mode": mode,
            "parent_peak": entry.get("parent_peak_bytes"),
            "worker_peak": entry.get("worker_peak_bytes"),
            "workers": len(entry.get("processes") or []),
            "total_peak": entry.get("total_peak_bytes"),
            "samples": entry.get("samples"),
            "total_rise": entry.get("total_rise_bytes"),
            "worker_rise": entry.get("worker_rise_bytes"),
            "parent_rise": entry.get("parent_rise_bytes"),
            "per_worker": entry.get("per_worker_bytes"),
            "fits": entry.get("fits"),
            "limited": bool(entry.get("limited")),
            "text": entry.get("text"),
        })
    return out


def lines(run: RunRecord, frame: pd.DataFrame, order: list[str]) -> list[dict[str, Any]]:
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
