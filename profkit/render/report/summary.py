"""The report's head: mode order, recommendation, failures, timing rounds, GC and overheads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from profkit.fmt import num
from profkit.model import Status

if TYPE_CHECKING:
    import pandas as pd

    from profkit.record import RunMeta, RunRecord


def mode_order(run: RunRecord) -> list[str]:
    """The modes in the analysis's order, then any only the metadata names."""
    a, meta = run.analysis or {}, run.meta
    order = list((a.get("modes") or {}).keys())
    for source in (meta.status, meta.modes):
        order += [m for m in source if m not in order]
    return order


def recommendation(a: dict[str, Any]) -> dict[str, Any] | None:
    """The analysis's recommendation (with the bound of its mode and how close it came)."""
    rec = a.get("recommendation")
    return dict(rec) if rec else None


def failures(run: RunRecord, tasks: pd.DataFrame) -> list[dict[str, Any]]:
    """One entry per mode that did not finish: status, error, failed item, tracebacks."""
    meta = run.meta
    errors = meta.errors
    out = []
    for mode, status in meta.status.items():
        if status in (Status.OK, Status.SKIPPED):
            continue
        info = meta.modes.get(mode)
        failed_item = info.failed_item if info else None
        mine = tasks[(tasks["mode"] == mode) & ~tasks["sweep"].astype(bool)] if not tasks.empty else tasks
        bad = mine[~mine["ok"].astype(bool)] if not mine.empty else mine
        tracebacks = [str(e) for e in bad["error"].tolist() if isinstance(e, str) and e.strip()][:3]
        if info and info.traceback and info.traceback not in tracebacks:
            tracebacks.append(info.traceback)
        item_repr = None
        if failed_item is not None and not mine.empty:
            match = mine[mine["item"] == failed_item]
            if not match.empty:
                item_repr = str(match["item_repr"].iloc[0])
        out.append({"mode": mode, "status": status, "error": errors.get(mode),
                    "failed_item": failed_item, "item_repr": item_repr, "tracebacks": tracebacks,
                    "failed_tasks": int(len(bad))})
    return out


def timing_rows(a: dict[str, Any], order: list[str]) -> list[dict[str, Any]]:
    """The analysis's entry of each mode, in order."""
    modes = a.get("modes") or {}
    return [modes[m] for m in order if m in modes]


def rounds(meta: RunMeta) -> dict[str, Any]:
    """How the timing rounds went, in one phrase."""
    rounds = [r for r in meta.rounds if not r.sweep]
    options = meta.options
    spoiled = sum(1 for r in rounds if r.spoiled)
    stopping: dict[str, Any] = meta.stopping or {}
    reason = stopping.get("reason")
    level = stopping.get("level")
    if options.get("repeat") != "auto":
        how = "a fixed number"
    elif isinstance(precision := options.get("precision"), (int, float)) and precision:
        how = f"auto: until every speedup is within ±{100 * float(precision):g}%"
    else:
        how = "auto: until the recommendation is settled"
    if reason in ("time", "rounds"):
        how += f"; stopped by --max-{'time' if reason == 'time' else 'rounds'}"
    if isinstance(level, (int, float)) and level > 0.95 + 1e-9:
        how += (f"; the intervals are {100 * level:.4g}% ones, which keeps 95% for a run whose "
                "rounds stop when the data look settled")
    text = f"{len(rounds)} interleaved timing round{'s' if len(rounds) != 1 else ''} ({how})"
    if spoiled:
        text += f", {spoiled} set aside because other programs were busy"
    return {"n": len(rounds), "spoiled": spoiled, "text": text}


def trait(a: dict[str, Any], mode: str, name: str) -> bool:
    """A trait of a mode, as the analysis recorded it."""
    entry = (a.get("modes") or {}).get(mode) or {}
    return bool((entry.get("traits") or {}).get(name))


def gc_rows(a: dict[str, Any], order: list[str]) -> list[dict[str, Any]]:
    """One row per mode with measured collections."""
    rows = []
    for mode in order:
        entry = (a.get("modes") or {}).get(mode) or {}
        g = entry.get("gc")
        if not g:
            continue
        gen2 = (g.get("by_generation") or {}).get("2") or (g.get("by_generation") or {}).get(2) or {}
        rows.append({"mode": mode, "workers": entry.get("workers"), "collections": g["collections"],
                     "gen2": gen2.get("collections", 0), "seconds": g["seconds"], "share": g["share"]})
    return rows if any(r["collections"] for r in rows) else []


def overheads(a: dict[str, Any], order: list[str]) -> list[dict[str, Any]]:
    """Per pool: its overhead parts and each part's share of the probed wall time."""
    out = []
    for mode in order:
        entry = (a.get("modes") or {}).get(mode)
        if not entry or trait(a, mode, "reference") or not entry.get("overheads"):
            continue
        o = entry["overheads"]
        total = num(o.get("parts_total_s")) or 0.0

        def share(value: Any, total: float = total) -> float | None:
            v = num(value)
            return 100.0 * v / total if v is not None and total > 0 else None

        out.append({
            "mode": mode, "workers": entry.get("workers"), "o": o,
            "shares": {k: share(o.get(k)) for k in ("startup_s", "dispatch_s", "busy_s", "busy_cpu_s",
                                                   "busy_wait_s", "imbalance_s", "collect_s")},
            "pickled": trait(a, mode, "ships_pickles"),
        })
    return out
