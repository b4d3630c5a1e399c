"""The report's head: mode order, recommendation, failures, timing rounds, GC and overheads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from profkit.analysis.records import Analysis, ModeSummary, Overheads, RecommendationSummary
from profkit.analysis.summary import rounds_facts
from profkit.model import JSON, Status, Traits
from profkit.render import text as words

if TYPE_CHECKING:
    import pandas as pd

    from profkit.record import RunMeta, RunRecord


def mode_order(run: RunRecord) -> list[str]:
    """The modes in the analysis's order, then any only the metadata names."""
    order = list(run.analysis.modes)
    meta = run.meta
    for source in (meta.status, meta.modes):
        order += [m for m in source if m not in order]
    return order


def recommendation(a: Analysis) -> RecommendationSummary | None:
    """The analysis's recommendation (with the bound of its mode and how close it came)."""
    return a.recommendation


def failures(run: RunRecord, tasks: pd.DataFrame) -> list[dict[str, object]]:
    """One entry per mode that did not finish: status, error, failed item, tracebacks."""
    meta = run.meta
    errors = meta.errors
    out: list[dict[str, object]] = []
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


def timing_rows(a: Analysis, order: list[str]) -> list[ModeSummary]:
    """The analysis's entry of each mode, in order."""
    return [a.modes[m] for m in order if m in a.modes]


def rounds(meta: RunMeta, a: Analysis) -> dict[str, object]:
    """How the timing rounds went, in one phrase, and which rounds the estimates are over."""
    facts = a.rounds or rounds_facts(meta)
    options = meta.options
    stopping: dict[str, JSON] = meta.stopping or {}
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
    text = words.rounds(facts, how)
    fewer = words.fewer_rounds(stopping)
    if fewer:
        text += ". " + " ".join(fewer)
    return {"n": facts.completed, "spoiled": facts.spoiled, "text": text,
            "basis": words.rounds_basis(facts)}


def traits(a: Analysis, mode: str) -> Traits | None:
    """A mode's traits, as the analysis recorded them."""
    entry = a.modes.get(mode)
    return entry.traits if entry else None


@dataclass(frozen=True)
class GcRow:
    """One mode's garbage collection, as the report's table shows it."""

    mode: str
    workers: int
    collections: int
    gen2: int
    seconds: float
    share: float


def gc_rows(a: Analysis, order: list[str]) -> list[GcRow]:
    """One row per mode with measured collections."""
    rows = []
    for mode in order:
        entry = a.modes.get(mode)
        g = entry.gc if entry else None
        if entry is None or g is None:
            continue
        gen2 = g.by_generation.get("2")
        rows.append(GcRow(mode=mode, workers=entry.workers, collections=g.collections,
                          gen2=gen2.collections if gen2 else 0, seconds=g.seconds, share=g.share))
    return rows if any(r.collections for r in rows) else []


@dataclass(frozen=True)
class OverheadRow:
    """One pool's overhead parts and each part's share of the probed wall time (percent)."""

    mode: str
    workers: int
    o: Overheads
    shares: dict[str, float | None]
    pickled: bool


def overheads(a: Analysis, order: list[str]) -> list[OverheadRow]:
    """Per pool: its overhead parts and each part's share of the probed wall time."""
    out = []
    for mode in order:
        entry = a.modes.get(mode)
        if not entry or entry.traits.reference or not entry.overheads:
            continue
        o = entry.overheads
        total = o.parts_total_s
        parts = {"startup_s": o.startup_s, "dispatch_s": o.dispatch_s, "busy_s": o.busy_s,
                 "busy_cpu_s": o.busy_cpu_s, "busy_wait_s": o.busy_wait_s,
                 "imbalance_s": o.imbalance_s, "collect_s": o.collect_s}
        out.append(OverheadRow(
            mode=mode, workers=entry.workers, o=o,
            shares={k: 100.0 * v / total if total > 0 else None for k, v in parts.items()},
            pickled=entry.traits.ships_pickles))
    return out
