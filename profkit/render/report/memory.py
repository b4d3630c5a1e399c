"""The memory sections: peaks per mode and memory_profiler's lines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from profkit.store import Run

from profkit.render.report.filters import location, num


def peaks(memory: pd.DataFrame, order: list[str],
                  analysed: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    out = []
    for mode in order:
        mine = memory[memory["mode"] == mode]
        if mine.empty:
            continue
        extra = ((analysed or {}).get("modes") or {}).get(mode) or {}
        parent = mine[mine["role"] == "parent"]["rss_bytes"]
        workers = mine[mine["role"] != "parent"]
        total = mine.groupby("t_s")["rss_bytes"].sum()
        out.append({
            "mode": mode,
            "parent_peak": float(parent.max()) if not parent.empty else None,
            "worker_peak": float(workers["rss_bytes"].max()) if not workers.empty else None,
            "workers": int(workers["pid"].nunique()),
            "total_peak": float(total.max()),
            "samples": int(mine["t_s"].nunique()),
            "total_rise": extra.get("total_rise_bytes"),
            "worker_rise": extra.get("worker_rise_bytes"),
            "parent_rise": extra.get("parent_rise_bytes"),
            "per_worker": extra.get("per_worker_bytes"),
            "fits": extra.get("fits"),
            "limited": bool(extra.get("limited")),
            "text": extra.get("text"),
        })
    return out


def lines(run: Run, frame: pd.DataFrame, order: list[str]) -> list[dict[str, Any]]:
    """Per mode: memory_profiler's lines, which items it covered, what it cost, or why not."""
    meta = run.meta or {}
    names = (meta.get("options") or {}).get("memory_line_functions") or []
    if not names:
        return []
    n_items = (meta.get("workload") or {}).get("n_items")
    out = []
    for mode in order:
        info = (meta.get("modes") or {}).get(mode) or {}
        mine = frame[frame["mode"] == mode] if not frame.empty else frame
        if "memory_line_items" not in info:
            continue
        ran = mine[mine["occurrences"] > 0] if not mine.empty else mine
        top = float(ran["increment_bytes"].max()) if not ran.empty else None
        rows = []
        for r in ran.sort_values(["filename", "func_lineno", "lineno"]).to_dict("records"):
            rows.append({**r, "location": location(str(r["filename"]), r["lineno"]),
                         "top": top is not None and top > 0 and r["increment_bytes"] == top})
        out.append({"mode": mode, "rows": rows, "covered": info.get("memory_line_items") or [],
                    "n_items": n_items, "cost": num((info.get("phase_s") or {}).get("memory_lines")),
                    "estimate": num(info.get("memory_lines_estimate_s")),
                    "note": info.get("memory_lines_note")})
    return out
